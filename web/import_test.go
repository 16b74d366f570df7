package web_test

import (
	"bytes"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/xuri/excelize/v2"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// uploadImport posts file (named name) and fields to /workloads/import as
// a browser sends a file: multipart, the anti-forgery token among the
// fields.
func (h *harness) uploadImport(name string, file []byte, fields url.Values) *httptest.ResponseRecorder {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", h.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		h.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/workloads/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", (&http.Cookie{Name: web.SessionCookie, Value: h.cookie}).String())
	return h.do(req)
}

// importFile checks file on the page, then imports it with the confirm
// form as a person does, and requires the redirect back to the page.
func (h *harness) importFile(name string, file []byte) {
	h.t.Helper()
	rec := h.uploadImport(name, file, nil)
	wantStatus(h.t, "dry run of "+name, rec, http.StatusOK)
	doc := parse(h.t, rec)
	form := doc.Find(tid("confirm-form"))
	if form.Length() == 0 {
		h.t.Fatalf("dry run of %s: no confirm form; page:\n%s", name, snippet(rec.Body.String()))
	}
	sum := form.Find(`input[name="sha256"]`).AttrOr("value", "")
	rec = h.uploadImport(name, file, url.Values{"confirm": {"1"}, "sha256": {sum}})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/workloads/import?") {
		h.t.Fatalf("import of %s: status %d, Location %q; body:\n%s", name, rec.Code, rec.Header().Get("Location"), snippet(rec.Body.String()))
	}
}

// importSource is a portfolio with the customer's work in every form the
// exports carry: owners, completion, notes, evidence, not applicable with
// its reason, overrides with theirs, and a description with a formula.
func importSource(t *testing.T, h *harness) []srm.Workload {
	t.Helper()
	ctx := storetest.Context(t)
	chart := h.baselineID("azure-chart")
	var ws []srm.Workload
	for _, w := range []srm.Workload{
		{Name: "Payroll", Description: "Pays people, monthly.", Model: srm.IaaS, BaselineID: chart},
		{Name: "Shop front", Description: "=HYPERLINK(\"x\")", Model: srm.PaaS, BaselineID: chart},
		{Name: "Mail", Model: srm.SaaS, BaselineID: chart},
	} {
		if err := h.st.CreateWorkload(ctx, &w); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	cs, err := h.st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	team, err := h.st.EnsureOwner(ctx, srm.Owner{Name: "Platform team", Kind: srm.Team})
	if err != nil {
		t.Fatal(err)
	}
	// A team: the exports do not carry an owner's kind, and the import
	// makes teams.
	ana, err := h.st.EnsureOwner(ctx, srm.Owner{Name: "Ana Lima", Kind: srm.Team})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range ws {
		for k, c := range cs[i : i+6] {
			st := srm.Status{OwnerID: team.ID}
			switch k {
			case 0:
				st.Complete, st.Note = true, "Done in the sprint; see the wiki."
			case 1:
				st.OwnerID, st.Evidence, st.Note = ana.ID, "https://example.com/evidence/"+c.Title, "+1 from security"
			case 2:
				st.NotApplicable, st.NAReason = true, "No such hardware here."
			case 3:
				st.OwnerID, st.Complete = ana.ID, true
			case 4:
				st.OwnerID = 0
				st.Note = "@mention the owner"
			}
			if k == 5 {
				if err := h.st.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: c.ID, Party: srm.Shared, Reason: "Our contract shares it."}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := h.st.SaveStatus(ctx, w.ID, c.ID, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ws
}

// exports are the portfolio and every workload's checklist as CSV.
func exports(t *testing.T, h *harness) (portfolio []byte, checklists [][]byte) {
	t.Helper()
	rec := h.get("/portfolio.csv")
	wantStatus(t, "portfolio export", rec, http.StatusOK)
	portfolio = rec.Body.Bytes()
	list, err := h.st.Workloads(storetest.Context(t), storeQueryAll())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range list.Items {
		rec := h.get(workloadPath(w.ID) + "/checklist.csv")
		wantStatus(t, "checklist export", rec, http.StatusOK)
		checklists = append(checklists, rec.Body.Bytes())
	}
	return portfolio, checklists
}

// withoutColumn is a CSV file's records without the column headed col.
func withoutColumn(t *testing.T, file []byte, col string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(recs[0], col)
	for k, r := range recs {
		if i >= 0 {
			recs[k] = slices.Delete(slices.Clone(r), i, i+1)
		}
	}
	return recs
}

// joinCSV is the checklists as one file: the first header, then every row.
func joinCSV(files [][]byte) []byte {
	var out []byte
	for i, f := range files {
		if i > 0 {
			_, f, _ = bytes.Cut(f, []byte("\n"))
		}
		out = append(out, f...)
	}
	return out
}

// TestImportRoundTrip: a portfolio with statuses, owners, notes, evidence,
// not-applicable reasons and overrides, exported as CSV (the portfolio,
// then every checklist in one file) and imported into an empty database
// through the import page, exports the same files again: the same
// workloads, descriptions, parties, owners, completion with who and when,
// notes, evidence, reasons and progress. Only the status versions differ
// (the new database counts its own). The owners are created.
func TestImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := newHarness(t)
	importSource(t, src)
	portfolio, checklists := exports(t, src)

	dst := newHarness(t) // its own, empty database
	dst.importFile("portfolio.csv", portfolio)
	dst.importFile("checklists.csv", joinCSV(checklists))

	gotPortfolio, gotChecklists := exports(t, dst)
	if !bytes.Equal(gotPortfolio, portfolio) {
		t.Errorf("portfolio after the round trip:\n%s\nwant:\n%s", gotPortfolio, portfolio)
	}
	if len(gotChecklists) != len(checklists) {
		t.Fatalf("%d checklists after the round trip, want %d", len(gotChecklists), len(checklists))
	}
	for i := range checklists {
		got, want := withoutColumn(t, gotChecklists[i], "version"), withoutColumn(t, checklists[i], "version")
		if !slices.EqualFunc(got, want, slices.Equal) {
			for k := range min(len(got), len(want)) {
				if !slices.Equal(got[k], want[k]) {
					t.Errorf("checklist %d row %d:\n got %q\nwant %q", i, k+1, got[k], want[k])
				}
			}
			if len(got) != len(want) {
				t.Errorf("checklist %d: %d rows, want %d", i, len(got), len(want))
			}
		}
	}
	owners, err := dst.st.Owners(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range owners {
		names = append(names, o.Name)
	}
	if !slices.Equal(names, []string{"Ana Lima", "Platform team"}) {
		t.Errorf("owners after the round trip = %q", names)
	}
	// Their progress too, as the owners page shows it.
	if got, want := text(dst.page("/owners").Find("main table")), text(src.page("/owners").Find("main table")); got != want || want == "" {
		t.Errorf("owners page after the round trip:\n%s\nwant:\n%s", got, want)
	}
	// The import is in the audit trail as the admin's, with a row of its own.
	as, err := dst.st.Audit(storetest.Context(t), store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	imported, statuses := 0, 0
	for _, a := range as.Entries {
		switch {
		case a.Action == "workloads.imported" && a.Actor == dst.user.Email:
			imported++
		case a.Action == "status.created" && a.Actor == dst.user.Email:
			statuses++
		}
	}
	if imported != 2 || statuses != 15 {
		t.Errorf("audit: %d workloads.imported rows and %d status.created rows by %s, want 2 and 15", imported, statuses, dst.user.Email)
	}

	// Importing the same checklists again changes nothing, though their
	// versions are the source's: each row is as stored now.
	rec := dst.uploadImport("checklists.csv", joinCSV(checklists), nil)
	wantStatus(t, "dry run of the same file again", rec, http.StatusOK)
	if s := text(parse(t, rec).Find(tid("import-summary"))); !strings.Contains(s, "0 controls' statuses to save") || !strings.Contains(s, "0 workloads to create") {
		t.Errorf("the same file again: summary %q, want nothing to save", s)
	}
}

// problemsOf is the problems table of an import page: row, column, text.
func problemsOf(doc *goquery.Document) [][3]string {
	var out [][3]string
	doc.Find(tid("import-problem-row")).Each(func(_ int, s *goquery.Selection) {
		td := s.Find("td")
		out = append(out, [3]string{text(td.Eq(0)), text(td.Eq(1)), text(td.Eq(2))})
	})
	return out
}

// workloadCount is how many workloads the database holds.
func workloadCount(t *testing.T, h *harness) int {
	t.Helper()
	list, err := h.st.Workloads(storetest.Context(t), storeQueryAll())
	if err != nil {
		t.Fatal(err)
	}
	return list.Total
}

// TestImportDryRunListsEveryProblemAndWritesNothing: a file with good rows
// and bad ones is refused as a whole, whatever is sent: the dry run lists
// every problem with its row and column in a table with headers, and
// nothing is written, not even with confirm (the file is checked again).
func TestImportDryRunListsEveryProblemAndWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	file := []byte("workload,model,baseline,layer,control,owner,complete,note\n" +
		"Good one,IaaS,Azure chart,,,,,\n" +
		"Bad model,Cloudy,Azure chart,,,,,\n" +
		"Good two,PaaS,Azure chart,,,,,\n" +
		"Unknown control,PaaS,Azure chart,Data,No such control anywhere,Ana,yes,\n" +
		"Bad baseline,SaaS,Google chart,,,,,\n")
	rec := h.uploadImport("bad.csv", file, nil)
	wantStatus(t, "dry run of a bad file", rec, http.StatusUnprocessableEntity)
	doc := parse(t, rec)
	got := problemsOf(doc)
	want := [][3]string{{"3", "model", "On-premises, IaaS, PaaS or SaaS"}, {"6", "baseline", "no baseline called “Google chart”"}}
	if len(got) != len(want) {
		t.Fatalf("problems = %q, want rows 3 and 6", got)
	}
	for i, w := range want {
		if got[i][0] != w[0] || got[i][1] != w[1] || !strings.Contains(got[i][2], w[2]) {
			t.Errorf("problem %d = %q, want row %s, column %s, saying %q", i, got[i], w[0], w[1], w[2])
		}
	}
	if doc.Find(tid("import-problems")+" thead th[scope=col]").Length() != 3 || doc.Find(tid("import-problems")+" caption").Length() != 1 {
		t.Error("the problems table has no caption or column headers")
	}
	if doc.Find(tid("import-problems-summary")+"[role=alert]").Length() != 1 || doc.Find(tid("confirm-form")).Length() != 0 {
		t.Error("a file with problems: want an alert summing them up and no confirm form")
	}
	// Confirmed anyway: refused, nothing written.
	rec = h.uploadImport("bad.csv", file, url.Values{"confirm": {"1"}, "sha256": {strings.Repeat("0", 64)}})
	wantStatus(t, "confirm of a bad file", rec, http.StatusUnprocessableEntity)
	if n := workloadCount(t, h); n != 0 {
		t.Errorf("%d workloads after a refused import, want 0", n)
	}

	// The database's own problem (a control srm does not have) stops the
	// rows that are fine too.
	file = []byte("workload,model,baseline,layer,control,owner,complete\n" +
		"Good one,IaaS,Azure chart,,,,\n" +
		"Good two,PaaS,Azure chart,Data,No such control anywhere,Ana,yes\n")
	rec = h.uploadImport("control.csv", file, nil)
	wantStatus(t, "dry run with an unknown control", rec, http.StatusUnprocessableEntity)
	if got := problemsOf(parse(t, rec)); len(got) != 1 || got[0][0] != "3" || got[0][1] != "control" || !strings.Contains(got[0][2], "no control") {
		t.Errorf("problems = %q, want row 3, column control, no such control", got)
	}
	owners, _ := h.st.Owners(storetest.Context(t))
	if n := workloadCount(t, h); n != 0 || len(owners) != 0 {
		t.Errorf("%d workloads and %d owners after a refused import, want none", n, len(owners))
	}

	// A good file's dry run says what it would do and writes nothing.
	file = []byte("workload,model,baseline,layer,control,owner,complete\nGood one,IaaS,Azure chart,,Patching of systems,New team,yes\n")
	rec = h.uploadImport("good.csv", file, nil)
	wantStatus(t, "dry run of a good file", rec, http.StatusOK)
	s := text(parse(t, rec).Find(tid("import-summary")))
	for _, w := range []string{"1 workload to create", "1 control's status to save", "1 owner to add"} {
		if !strings.Contains(s, w) {
			t.Errorf("dry run summary %q lacks %q", s, w)
		}
	}
	owners, _ = h.st.Owners(storetest.Context(t))
	if n := workloadCount(t, h); n != 0 || len(owners) != 0 {
		t.Errorf("%d workloads and %d owners after a dry run, want none", n, len(owners))
	}
	// Confirmed with another file than the one checked: checked, not imported.
	other := append(slices.Clone(file), []byte("Other,SaaS,Azure chart,,,,\n")...)
	rec = h.uploadImport("good.csv", other, url.Values{"confirm": {"1"}, "sha256": {parse(t, rec).Find(`input[name="sha256"]`).AttrOr("value", "")}})
	wantStatus(t, "confirm with another file", rec, http.StatusOK)
	if parse(t, rec).Find(tid("import-mismatch")).Length() != 1 || workloadCount(t, h) != 0 {
		t.Error("a file other than the one checked was imported, or the page did not say so")
	}
}

// TestImportRefusesAStaleVersion: a checklist exported, then changed in
// srm by someone, then imported with a change of its own, is refused on
// that row's version cell, and what the other person saved stays.
func TestImportRefusesAStaleVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Payroll", srm.IaaS)
	cid := h.controlID("Patching of systems")
	ctx := storetest.Context(t)
	if err := h.st.SaveStatus(ctx, w.ID, cid, srm.Status{Note: "First."}); err != nil {
		t.Fatal(err)
	}
	rec := h.get(workloadPath(w.ID) + "/checklist.csv")
	wantStatus(t, "checklist export", rec, http.StatusOK)
	exported := rec.Body.String()
	if err := h.st.SaveStatus(ctx, w.ID, cid, srm.Status{Note: "Theirs, saved after the export."}); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(exported, "First.", "Mine from the file.", 1)
	rec = h.uploadImport("checklist.csv", []byte(changed), nil)
	wantStatus(t, "dry run of a stale file", rec, http.StatusUnprocessableEntity)
	got := problemsOf(parse(t, rec))
	if len(got) != 1 || got[0][1] != "version" || !strings.Contains(got[0][2], "version 2") || !strings.Contains(got[0][2], "Export the checklist again") {
		t.Fatalf("problems = %q, want one on the version column saying srm holds version 2", got)
	}
	if note := h.status(w.ID, cid).Note; note != "Theirs, saved after the export." {
		t.Errorf("note = %q after a refused import, want theirs kept", note)
	}
	// The current export, changed, is imported; the status moves on a version.
	rec = h.get(workloadPath(w.ID) + "/checklist.csv")
	h.importFile("checklist.csv", []byte(strings.Replace(rec.Body.String(), "Theirs, saved after the export.", "Mine from the file.", 1)))
	if s := h.status(w.ID, cid); s.Note != "Mine from the file." || s.Version != 3 {
		t.Errorf("status after the import = %q at version %d, want the file's note at version 3", s.Note, s.Version)
	}
}

// TestImportNeedsAnAdmin: viewers and editors cannot see the import page
// nor post a file; the portfolio links to it for admins only.
func TestImportNeedsAnAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	file := []byte("workload,model,baseline\nSneaky,IaaS,Azure chart\n")
	for _, role := range []srm.Role{srm.RoleViewer, srm.RoleEditor} {
		o := h.as(role)
		wantStatus(t, string(role)+" GET import", o.get("/workloads/import"), http.StatusForbidden)
		wantStatus(t, string(role)+" POST import", o.uploadImport("x.csv", file, url.Values{"confirm": {"1"}}), http.StatusForbidden)
		if o.page("/").Find(tid("import-workloads")).Length() != 0 {
			t.Errorf("the portfolio links a %s to the import", role)
		}
	}
	if n := workloadCount(t, h); n != 0 {
		t.Errorf("%d workloads after refused imports", n)
	}
	doc := h.page("/")
	if href := doc.Find(tid("import-workloads")).AttrOr("href", ""); href != "/workloads/import" {
		t.Errorf("the portfolio's import link for admins = %q", href)
	}
	doc = h.page("/workloads/import")
	if doc.Find(`label[for="import-file"]`).Length() != 1 || doc.Find(`input#import-file[type=file][name=file]`).Length() != 1 {
		t.Error("the import page has no labelled file input")
	}
}

// TestImportXLSX: a checklist exported as XLSX imports as the CSV does, a
// workload and the statuses on its controls.
func TestImportXLSX(t *testing.T) {
	t.Parallel()
	src := newHarness(t)
	w := src.workload("Payroll", srm.IaaS)
	cid := src.controlID("Patching of systems")
	ctx := storetest.Context(t)
	o, _ := src.st.EnsureOwner(ctx, srm.Owner{Name: "Data team", Kind: srm.Team})
	if err := src.st.SaveStatus(ctx, w.ID, cid, srm.Status{OwnerID: o.ID, Complete: true, Note: "=SUM(A1)"}); err != nil {
		t.Fatal(err)
	}
	rec := src.get(workloadPath(w.ID) + "/checklist.xlsx")
	wantStatus(t, "checklist export", rec, http.StatusOK)
	if _, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes())); err != nil {
		t.Fatalf("the export is no workbook: %v", err)
	}

	dst := newHarness(t)
	dst.importFile("checklist.xlsx", rec.Body.Bytes())
	list, err := dst.st.Workloads(storetest.Context(t), storeQueryAll())
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "Payroll" || list.Items[0].Model != srm.IaaS {
		t.Fatalf("workloads after the import = %+v, %v", list.Items, err)
	}
	s := dst.status(list.Items[0].ID, dst.controlID("Patching of systems"))
	if !s.Complete || s.OwnerName != "Data team" || s.Note != "=SUM(A1)" || s.CompletedBy != "Data team" {
		t.Errorf("status after the XLSX import = %+v", s)
	}

	// A file that says it is a workbook and is not one is a problem, not a 500.
	rec = dst.uploadImport("broken.xlsx", []byte("PK\x03\x04 not really a zip"), nil)
	wantStatus(t, "a broken workbook", rec, http.StatusUnprocessableEntity)
	if got := problemsOf(parse(t, rec)); len(got) != 1 || !strings.Contains(got[0][2], "XLSX") {
		t.Errorf("problems = %q", got)
	}
}

// TestImportTooLarge: a file over the limit is refused with 413 and the
// limit in words, and nothing is written.
func TestImportTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	file := func(size int) []byte {
		b := []byte("workload,model,baseline,note\n")
		for i := 0; len(b) < size; i++ {
			b = append(b, "Workload "+itoa(int64(i))+",IaaS,Azure chart,"+strings.Repeat("x", 200)+"\n"...)
		}
		return b
	}
	// Over the file's limit, within the request's: the page says the limit.
	rec := h.uploadImport("big.csv", file(10<<20+512<<10), nil)
	wantStatus(t, "an import over the limit", rec, http.StatusRequestEntityTooLarge)
	if s := text(parse(t, rec).Find(tid("import-problem"))); !strings.Contains(s, "10 MB") {
		t.Errorf("the 413 page says %q, want the limit", s)
	}
	// Over the request's limit: refused before the handler, with the limit.
	rec = h.uploadImport("bigger.csv", file(12<<20), nil)
	wantStatus(t, "an upload over the request limit", rec, http.StatusRequestEntityTooLarge)
	if !strings.Contains(rec.Body.String(), "11 MB") {
		t.Errorf("the 413 page does not name the limit:\n%s", snippet(rec.Body.String()))
	}
	if n := workloadCount(t, h); n != 0 {
		t.Errorf("%d workloads after a refused import", n)
	}
}

// TestAPIImport: the API imports the same files: a dry run answers the
// problems as JSON and writes nothing, a bad file is a 422 problem listing
// them by row and column, a good one is applied; other media types are
// 415, read-only tokens and editors 403, files over the limit 413.
func TestAPIImport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin, _ := h.apiToken(srm.RoleAdmin, true)
	csvType := []string{"Content-Type", "text/csv"}
	bad := "workload,model,baseline,layer,control,owner\nGood,IaaS,Azure chart,,,\nBad,Cloudy,Azure chart,,,\nWorse,IaaS,Azure chart,Data,Nothing like it,Ana\n"

	r := admin.do(http.MethodPost, "/api/v1/workloads/import?dry_run=true", bad, csvType...).want("dry run", http.StatusOK, "")
	var res struct {
		DryRun   bool `json:"dry_run"`
		Applied  bool
		Created  []string
		Statuses int
		Problems []struct {
			Row    int
			Column string
			Detail string
		}
	}
	r.decode(&res)
	if !res.DryRun || res.Applied || len(res.Problems) != 1 || res.Problems[0].Row != 3 || res.Problems[0].Column != "model" {
		t.Errorf("dry run of a bad file = %+v, want the problem of row 3, column model", res)
	}
	r = admin.do(http.MethodPost, "/api/v1/workloads/import", bad, csvType...).want("a bad file", http.StatusUnprocessableEntity, "import-invalid")
	if ps, _ := r.json()["problems"].([]any); len(ps) != 1 {
		t.Errorf("problems = %v", r.json()["problems"])
	}
	if n := workloadCount(t, h); n != 0 {
		t.Errorf("%d workloads after a refused import", n)
	}

	good := "workload,model,baseline,layer,control,owner,complete\nGood,IaaS,Azure chart,,Patching of systems,Data team,yes\nAlso good,SaaS,Azure chart,,,,\n"
	r = admin.do(http.MethodPost, "/api/v1/workloads/import?dry_run=1", good, csvType...).want("dry run of a good file", http.StatusOK, "")
	r.decode(&res)
	if !slices.Equal(res.Created, []string{"Good", "Also good"}) || res.Statuses != 1 || res.Applied || workloadCount(t, h) != 0 {
		t.Errorf("dry run = %+v with %d workloads stored, want two to create, none stored", res, workloadCount(t, h))
	}
	r = admin.do(http.MethodPost, "/api/v1/workloads/import", good, "Content-Type", "text/csv; charset=utf-8").want("a good file", http.StatusOK, "")
	r.decode(&res)
	if !res.Applied || res.DryRun || workloadCount(t, h) != 2 {
		t.Errorf("import = %+v with %d workloads stored, want applied, 2", res, workloadCount(t, h))
	}
	// Again: nothing to do, nothing refused.
	r = admin.do(http.MethodPost, "/api/v1/workloads/import", good, csvType...).want("the same file again", http.StatusOK, "")
	r.decode(&res)
	if len(res.Created) != 0 || res.Statuses != 0 {
		t.Errorf("the same file again = %+v, want nothing created or saved", res)
	}

	admin.do(http.MethodPost, "/api/v1/workloads/import", good).want("JSON", http.StatusUnsupportedMediaType, "unsupported-media-type")
	admin.do(http.MethodPost, "/api/v1/workloads/import?dry_run=maybe", good, csvType...).want("dry_run=maybe", http.StatusBadRequest, "bad-request")
	ro, _ := h.apiToken(srm.RoleAdmin, false)
	ro.do(http.MethodPost, "/api/v1/workloads/import", good, csvType...).want("read-only token", http.StatusForbidden, "read-only-token")
	editor, _ := h.apiToken(srm.RoleEditor, true)
	editor.do(http.MethodPost, "/api/v1/workloads/import", good, csvType...).want("editor", http.StatusForbidden, "forbidden")
	big := "workload,model,baseline\n" + strings.Repeat("A,IaaS,Azure chart\n", 11<<20/19)
	admin.do(http.MethodPost, "/api/v1/workloads/import", big, csvType...).want("too large", http.StatusRequestEntityTooLarge, "too-large")

	// XLSX by its media type.
	var buf bytes.Buffer
	f := excelize.NewFile()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"workload", "model", "baseline"})
	_ = f.SetSheetRow("Sheet1", "A2", &[]any{"From a workbook", "PaaS", "Azure chart"})
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	admin.do(http.MethodPost, "/api/v1/workloads/import", buf.Bytes(), "Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet").
		want("an XLSX file", http.StatusOK, "")
	if n := workloadCount(t, h); n != 3 {
		t.Errorf("%d workloads after the XLSX import, want 3", n)
	}
}

// TestImportLeavesExistingWorkloadsAlone: a file that describes a workload
// srm has with another model or baseline is refused on that cell (an
// import does not change a workload: neither layout carries its version),
// and the workload stays as it was.
func TestImportLeavesExistingWorkloadsAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Payroll", srm.IaaS)
	rec := h.uploadImport("p.csv", []byte("workload,model,baseline\npayroll,PaaS,Azure chart\nNew one,SaaS,Azure chart\n"), nil)
	wantStatus(t, "dry run with another model", rec, http.StatusUnprocessableEntity)
	if got := problemsOf(parse(t, rec)); len(got) != 1 || got[0][0] != "2" || got[0][1] != "model" || !strings.Contains(got[0][2], "IaaS in srm") {
		t.Errorf("problems = %q, want row 2, column model, saying it is IaaS in srm", got)
	}
	if got := h.stored(w.ID); got.Model != srm.IaaS || got.Version != 1 || workloadCount(t, h) != 1 {
		t.Errorf("after a refused import: %+v and %d workloads", got, workloadCount(t, h))
	}
}

// TestImportGetsTheExportBudget: an import gets the time budget of an
// export, not a page's: with a page budget too short for any statement,
// the page fails and the import still goes through, on the page and on
// the API.
func TestImportGetsTheExportBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hurried := &harness{t: t, st: h.st, pool: h.pool, cookie: h.cookie, csrf: h.csrf,
		srv: newServer(t, h.st, web.Config{RequestTimeout: time.Nanosecond, ExportTimeout: time.Minute})}
	if rec := hurried.get("/"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("the portfolio with a nanosecond's budget: status %d, want 503", rec.Code)
	}
	hurried.importFile("a.csv", []byte("workload,model,baseline\nIn a hurry,PaaS,Azure chart\n"))
	admin, _ := h.apiToken(srm.RoleAdmin, true)
	admin.h = hurried
	admin.do(http.MethodPost, "/api/v1/workloads/import", "workload,model,baseline\nAlso in a hurry,SaaS,Azure chart\n", "Content-Type", "text/csv").
		want("API import with a nanosecond's page budget", http.StatusOK, "")
	if n := workloadCount(t, h); n != 2 {
		t.Errorf("%d workloads after two imports, want 2", n)
	}
}

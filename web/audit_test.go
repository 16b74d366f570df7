package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// auditRow is one row of an audit table as a person reads it.
type auditRow struct {
	action, actor, object, changes, ip, ua, uaTitle string
	objectURL                                       string
}

// auditRows reads the audit table of doc, newest first.
func auditRows(doc *goquery.Document) []auditRow {
	var out []auditRow
	doc.Find(tid("audit") + " tbody tr").Each(func(_ int, tr *goquery.Selection) {
		ua := tr.Find(tid("user-agent"))
		out = append(out, auditRow{
			action:    tr.AttrOr("data-action", ""),
			actor:     text(tr.Find(tid("actor"))),
			object:    text(tr.Find(tid("object"))),
			objectURL: tr.Find(tid("object")+" a").First().AttrOr("href", ""),
			changes:   text(tr.Find(tid("changes"))),
			ip:        text(tr.Find(tid("client-ip"))),
			ua:        text(ua),
			uaTitle:   ua.AttrOr("title", ""),
		})
	})
	return out
}

func rowActions(rows []auditRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.action
	}
	return out
}

// as is ctx with u as the audit trail's actor, for changes made through
// the store.
func as(ctx context.Context, u srm.User) context.Context {
	return store.WithActor(ctx, store.Actor{UserID: u.ID, Name: u.Email, IP: "198.51.100.9", UserAgent: "StoreTest"})
}

const longUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) AuditTest/1.0 Safari/537.36"

func TestAuditPageListsAChangeMadeThroughTheUIWithItsActor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.post("/workloads", url.Values{"name": {"Shipment tracker"}, "model": {"paas"},
		"baseline": {itoa(h.baselineID("azure-chart"))}}, "User-Agent", longUA)
	wantStatus(t, "POST /workloads", rec, http.StatusSeeOther)
	id := rec.Header().Get("Location")[len("/workloads/"):]
	wid := h.stored(mustID(t, id)).ID
	wantStatus(t, "rename", h.submit(h.editForm(wid), url.Values{"name": {"Shipment tracking"}}, "User-Agent", longUA), http.StatusSeeOther)

	doc := h.page("/audit")
	if doc.Find(`nav a[href="/audit"][aria-current]`).Length() != 1 {
		t.Error("the menu does not mark Audit as the current page")
	}
	rows := auditRows(doc)
	if len(rows) < 2 || rows[0].action != "workload.updated" || rows[1].action != "workload.created" {
		t.Fatalf("audit rows = %v, want workload.updated, workload.created first", rowActions(rows))
	}
	for _, r := range rows[:2] {
		if r.actor != h.user.Email {
			t.Errorf("%s: actor = %q, want %q", r.action, r.actor, h.user.Email)
		}
		if r.ip != "192.0.2.1" {
			t.Errorf("%s: client IP = %q, want 192.0.2.1", r.action, r.ip)
		}
		if r.uaTitle != longUA || !strings.HasSuffix(r.ua, "…") || len([]rune(r.ua)) > 40 {
			t.Errorf("%s: user agent shown as %q titled %q, want it shortened with the whole in the title", r.action, r.ua, r.uaTitle)
		}
		if r.objectURL != workloadPath(wid) {
			t.Errorf("%s: object links to %q, want %q", r.action, r.objectURL, workloadPath(wid))
		}
	}
	changes := doc.Find(tid("audit") + " tbody tr").First().Find(tid("changes"))
	name := changes.Find(`dd[data-field="name"]`)
	if b, a := text(name.Find("del")), text(name.Find("ins")); b != "Shipment tracker" || a != "Shipment tracking" {
		t.Errorf("name changed from %q to %q, want Shipment tracker → Shipment tracking", b, a)
	}
	if fields := changes.Find("dt").Length(); fields != 1 {
		t.Errorf("an update of the name shows %d fields (%q), want only the name: no version or update time", fields, text(changes))
	}
	created := doc.Find(tid("audit") + " tbody tr").Eq(1).Find(tid("changes"))
	if got := text(created.Find(`dd[data-field="name"] ins`)); got != "Shipment tracker" || created.Find("del").Length() != 0 {
		t.Errorf("creation shows name %q and %d values before, want Shipment tracker and none", got, created.Find("del").Length())
	}
	when := doc.Find(tid("audit") + " tbody tr time").First()
	at, err := time.Parse(time.RFC3339, when.AttrOr("datetime", ""))
	if err != nil || time.Since(at) > time.Minute || !strings.HasSuffix(when.AttrOr("title", ""), " UTC") ||
		text(when) != at.UTC().Format(time.DateOnly)+at.UTC().Format(time.TimeOnly) {
		t.Errorf("time = %q (%q), want just now in UTC", text(when), when.AttrOr("datetime", ""))
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return id
}

// auditScene is a trail written by the harness's admin and two others.
type auditScene struct {
	h                    *harness
	ada, bob             srm.User
	ledger, pay, payroll srm.Workload
}

func newAuditScene(t *testing.T) auditScene {
	t.Helper()
	h := newHarness(t)
	s := auditScene{h: h, ada: newUser(t, h.st, "ada@example.com", srm.RoleEditor), bob: newUser(t, h.st, "bob@example.com", srm.RoleEditor)}
	ctx := storetest.Context(t)
	create := func(u srm.User, name string) srm.Workload {
		w := srm.Workload{Name: name, Model: srm.PaaS, BaselineID: h.baselineID("azure-chart")}
		if err := h.st.CreateWorkload(as(ctx, u), &w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	s.ledger = create(s.ada, "Ledger 100% done")
	s.pay = create(s.bob, "Ledger 100x done")
	s.payroll = create(s.bob, "Payroll")
	if _, err := h.st.RecordStatus(as(ctx, s.ada), s.payroll.ID, h.controlID("Patching of systems"),
		srm.Status{Note: "monthly"}, srm.Owner{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuditPageFilters(t *testing.T) {
	t.Parallel()
	s := newAuditScene(t)
	h := s.h
	tests := []struct {
		name  string
		query string
		want  []string // "action object", newest first
	}{
		{"one workload", "workload=" + itoa(s.payroll.ID),
			[]string{"status.created status Patching of systems on Payroll", "workload.created workload Payroll"}},
		{"one user", "user=" + itoa(s.ada.ID),
			[]string{"status.created status Patching of systems on Payroll", "workload.created workload Ledger 100% done"}},
		{"one action", "action=workload.created",
			[]string{"workload.created workload Payroll", "workload.created workload Ledger 100x done", "workload.created workload Ledger 100% done"}},
		{"a search with % matched literally", "q=" + url.QueryEscape("0% d"),
			[]string{"workload.created workload Ledger 100% done"}},
		{"a search and a user", "q=ledger&user=" + itoa(s.bob.ID),
			[]string{"workload.created workload Ledger 100x done"}},
		{"a day with nothing on it", "from=2001-01-01&to=2001-01-01", nil},
		{"today, in UTC", "action=workload.created&from=" + time.Now().UTC().Format(time.DateOnly) + "&to=" + time.Now().UTC().Format(time.DateOnly),
			[]string{"workload.created workload Payroll", "workload.created workload Ledger 100x done", "workload.created workload Ledger 100% done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := h.page("/audit?" + tt.query)
			var got []string
			for _, r := range auditRows(doc) {
				got = append(got, r.action+" "+r.object)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("GET /audit?%s = %q, want %q", tt.query, got, tt.want)
			}
			if len(tt.want) == 0 && doc.Find(tid("audit-empty")).Length() != 1 {
				t.Errorf("GET /audit?%s: no message that nothing matches", tt.query)
			}
			// The form shows the filter applied, and the export carries it.
			q, _ := url.ParseQuery(tt.query)
			form := doc.Find(tid("audit-filters"))
			if got := formValues(form); !sameValues(got, q) {
				t.Errorf("GET /audit?%s: the form holds %v", tt.query, got)
			}
			href, _ := url.Parse(doc.Find(tid("audit-csv")).AttrOr("href", ""))
			if href.Path != "/audit.csv" || !sameValues(href.Query(), q) {
				t.Errorf("GET /audit?%s: Download CSV links to %q, want the same filter", tt.query, href)
			}
		})
	}
}

// sameValues reports whether got holds want's values, ignoring empty ones.
func sameValues(got, want url.Values) bool {
	for k, v := range got {
		if len(v) == 1 && v[0] == "" {
			delete(got, k)
		}
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func TestAuditPageRefusesFiltersItCannotReadWithAMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		query string
		field string
	}{
		{"from=yesterday", "from"},
		{"to=2026-02-30", "to"},
		{"from=31/01/2026", "from"},
		{"from=2026-02-01&to=2026-01-01", "to"},
		{"workload=abc", "workload"},
		{"workload=-3", "workload"},
		{"workload=99999999999999999999", "workload"},
		{"user=1.5", "user"},
		{"q=" + url.QueryEscape("a\x00b"), "q"},
		{"q=" + url.QueryEscape("\xff\xfe"), "q"},
		{"q=" + strings.Repeat("x", 201), "q"},
		{"action=" + url.QueryEscape("\x00"), "action"},
		{"before=abc", "before"},
		{"before=0", "before"},
	}
	for _, tt := range tests {
		rec := h.get("/audit?" + tt.query)
		wantStatus(t, "GET /audit?"+tt.query, rec, http.StatusBadRequest)
		doc := parse(t, rec)
		if doc.Find(tid("error-"+tt.field)).Length() != 1 {
			t.Errorf("GET /audit?%s: no message at %s", tt.query, tt.field)
		}
		if doc.Find(tid("audit")).Length() != 0 || doc.Find(tid("audit-csv")).Length() != 0 {
			t.Errorf("GET /audit?%s: rows or an export link shown for a filter that was refused", tt.query)
		}
		wantStatus(t, "GET /audit.csv?"+tt.query, h.get("/audit.csv?"+tt.query), http.StatusBadRequest)
	}
	// Whatever else arrives, the answer is never a server error.
	for _, v := range []string{"", " ", "%", "_", `\`, "'", `"`, "1e3", "0x10", "9223372036854775807", "<script>", "日本", "2026-01-01T00:00:00Z"} {
		for _, k := range []string{"workload", "user", "action", "from", "to", "q", "before"} {
			path := "/audit?" + url.Values{k: {v}}.Encode()
			if rec := h.get(path); rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Errorf("GET %s: status %d, want 200 or 400", path, rec.Code)
			}
		}
	}
}

func TestAuditPagePagesOlderByKeyset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 60 {
		if err := h.st.CreateOwner(storetest.Context(t), &srm.Owner{Name: fmt.Sprintf("Team %02d", i), Kind: srm.Team}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := h.st.Audit(storetest.Context(t), store.AuditQuery{Action: "owner.created", Limit: store.MaxAuditLimit})
	if err != nil || len(page.Entries) != 60 {
		t.Fatalf("owner.created rows = %d (%v), want 60", len(page.Entries), err)
	}

	doc := h.page("/audit?action=owner.created")
	first := auditRows(doc)
	older := doc.Find(tid("audit-older")).AttrOr("href", "")
	if len(first) != store.DefaultAuditLimit || older == "" || doc.Find(tid("audit-newest")).Length() != 0 {
		t.Fatalf("first page: %d rows, older link %q; want %d rows and a link", len(first), older, store.DefaultAuditLimit)
	}
	u, _ := url.Parse(older)
	if u.Query().Get("action") != "owner.created" || u.Query().Get("before") == "" {
		t.Errorf("older link %q does not keep the filter and the place", older)
	}
	doc = h.page(older)
	second := auditRows(doc)
	if len(second) != 10 || doc.Find(tid("audit-older")).Length() != 0 || doc.Find(tid("audit-newest")).Length() != 1 {
		t.Errorf("second page: %d rows, older link %v; want 10 rows, none, and a link to the newest", len(second), doc.Find(tid("audit-older")).Length())
	}
	var names []string
	for _, r := range append(first, second...) {
		names = append(names, r.object)
	}
	for i := range 60 {
		if want := fmt.Sprintf("owner Team %02d", 59-i); i >= len(names) || names[i] != want {
			t.Fatalf("row %d over both pages = %q, want %q", i, names, want)
		}
	}
}

func TestAuditCSVExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	wantStatus(t, "add an owner", h.post("/owners", url.Values{"owner_name": {`=HYPERLINK("http://evil.example","x")`}, "owner_kind": {"team"}},
		"User-Agent", "@SUM(1+1)"), http.StatusSeeOther)
	wantStatus(t, "add an owner", h.post("/owners", url.Values{"owner_name": {"-2+3"}, "owner_kind": {"team"}},
		"User-Agent", "\tTabbed"), http.StatusSeeOther)
	wantStatus(t, "add an owner", h.post("/owners", url.Values{"owner_name": {"Plain, \"quoted\"\nteam"}, "owner_kind": {"team"}}), http.StatusSeeOther)

	day := time.Now().UTC().Format("20060102")
	rec := h.get("/audit.csv")
	wantStatus(t, "GET /audit.csv", rec, http.StatusOK)
	if got := rec.Header().Get("Content-Type"); got != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got, after := rec.Header().Get("Content-Disposition"), time.Now().UTC().Format("20060102"); got != `attachment; filename="srm-audit-`+day+`.csv"` &&
		got != `attachment; filename="srm-audit-`+after+`.csv"` {
		t.Errorf("Content-Disposition = %q", got)
	}
	records, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	wantHead := []string{"id", "time", "actor", "actor id", "action", "object type", "object id", "object name", "workload id",
		"before", "after", "client ip", "user agent"}
	if !slices.Equal(records[0], wantHead) {
		t.Fatalf("columns = %q, want %q", records[0], wantHead)
	}
	all, err := h.st.Audit(storetest.Context(t), store.AuditQuery{Limit: store.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(records)-1 != len(all.Entries) {
		t.Errorf("%d rows exported, want every one of the %d on the trail", len(records)-1, len(all.Entries))
	}
	owners := map[string][]string{} // by object name
	for _, r := range records[1:] {
		if len(r) != len(wantHead) {
			t.Fatalf("row %q has %d cells, want %d", r, len(r), len(wantHead))
		}
		if at, err := time.Parse(time.RFC3339Nano, r[1]); err != nil || !strings.HasSuffix(r[1], "Z") || time.Since(at) > time.Minute {
			t.Errorf("time %q: want RFC 3339 in UTC, just now (%v)", r[1], err)
		}
		if r[4] == "owner.created" {
			owners[r[7]] = r
		}
	}
	evil := owners[`'=HYPERLINK("http://evil.example","x")`]
	if evil == nil {
		t.Fatalf("no owner.created row for the formula, with its quote; got %q", owners)
	}
	if evil[2] != h.user.Email || evil[3] != itoa(h.user.ID) || evil[11] != "192.0.2.1" || evil[12] != "'@SUM(1+1)" {
		t.Errorf("formula row: actor %q (%q), ip %q, agent %q", evil[2], evil[3], evil[11], evil[12])
	}
	if evil[9] != "" {
		t.Errorf("a creation has before %q, want empty", evil[9])
	}
	var after map[string]any
	if err := json.Unmarshal([]byte(evil[10]), &after); err != nil || after["name"] != `=HYPERLINK("http://evil.example","x")` || after["kind"] != "team" {
		t.Errorf("after = %q (%v), want the owner row's JSON, unescaped inside", evil[10], err)
	}
	if minus := owners["'-2+3"]; minus == nil || minus[12] != "'\tTabbed" {
		t.Errorf("the -2+3 row = %q, want the name and the tabbed agent quoted", minus)
	}
	if owners["Plain, \"quoted\"\nteam"] == nil {
		t.Errorf("a name with a comma, quotes and a new line did not survive: %q", owners)
	}

	// The export keeps the page's filter.
	records, err = csv.NewReader(strings.NewReader(h.get("/audit.csv?action=owner.created&q=plain").Body.String())).ReadAll()
	if err != nil || len(records) != 2 || records[1][7] != "Plain, \"quoted\"\nteam" {
		t.Errorf("filtered export = %q (%v), want the header and one row", records, err)
	}
}

func TestAuditIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, role := range []srm.Role{srm.RoleViewer, srm.RoleEditor} {
		o := h.as(role)
		for _, path := range []string{"/audit", "/audit.csv", "/audit?action=signin.succeeded"} {
			wantStatus(t, string(role)+" GET "+path, o.get(path), http.StatusForbidden)
		}
		if o.page("/").Find(`nav a[href="/audit"]`).Length() != 0 {
			t.Errorf("the %s's menu links to the audit trail", role)
		}
	}
	if h.page("/").Find(`nav a[href="/audit"]`).Length() != 1 {
		t.Error("the admin's menu does not link to the audit trail")
	}
}

func TestWorkloadHistoryShowsOnlyThatWorkload(t *testing.T) {
	t.Parallel()
	s := newAuditScene(t)
	h, ctx := s.h, storetest.Context(t)
	if err := h.st.SetOverride(as(ctx, s.bob), srm.Override{WorkloadID: s.ledger.ID, ControlID: h.controlID("Patching of systems"),
		Party: srm.Shared, Reason: "our own image"}); err != nil {
		t.Fatal(err)
	}
	viewer := h.as(srm.RoleViewer)

	link := viewer.page(workloadPath(s.payroll.ID)).Find(tid("workload-history"))
	if got := link.AttrOr("href", ""); got != workloadPath(s.payroll.ID)+"/history" {
		t.Errorf("History link on the workload page = %q, want %q", got, workloadPath(s.payroll.ID)+"/history")
	}

	doc := viewer.page(workloadPath(s.payroll.ID) + "/history")
	if got := text(doc.Find(tid("history-name"))); got != "Payroll" {
		t.Errorf("history heading = %q, want Payroll", got)
	}
	var got []string
	for _, r := range auditRows(doc) {
		got = append(got, r.action+" "+r.actor+" "+r.object)
	}
	want := []string{"status.created ada@example.com status Patching of systems on Payroll", "workload.created bob@example.com workload Payroll"}
	if !slices.Equal(got, want) {
		t.Errorf("history of Payroll = %q, want %q", got, want)
	}
	if doc.Find(tid("client-ip")).Length() != 0 || doc.Find(tid("user-agent")).Length() != 0 {
		t.Error("a viewer sees where changes came from; client addresses are for admins")
	}
	if rows := auditRows(h.page(workloadPath(s.payroll.ID) + "/history")); len(rows) != 2 || rows[0].ip != "198.51.100.9" {
		t.Errorf("the admin's history = %+v, want 2 rows with client addresses", rows)
	}

	ledger := auditRows(viewer.page(workloadPath(s.ledger.ID) + "/history"))
	if got := rowActions(ledger); !slices.Equal(got, []string{"override.created", "workload.created"}) {
		t.Errorf("history of the ledger = %v, want its override and its creation", got)
	}

	// A deleted workload's history stays; an id never seen is 404.
	if err := h.st.DeleteWorkload(as(ctx, s.ada), s.ledger.ID); err != nil {
		t.Fatal(err)
	}
	doc = viewer.page(workloadPath(s.ledger.ID) + "/history")
	if got := text(doc.Find(tid("history-name"))); got != "Ledger 100% done" {
		t.Errorf("history heading of a deleted workload = %q", got)
	}
	if got := rowActions(auditRows(doc)); !slices.Equal(got, []string{"override.deleted", "workload.deleted", "override.created", "workload.created"}) &&
		!slices.Equal(got, []string{"workload.deleted", "override.deleted", "override.created", "workload.created"}) {
		t.Errorf("history of a deleted workload = %v", got)
	}
	wantStatus(t, "history of no workload", viewer.get("/workloads/999999/history"), http.StatusNotFound)
	wantStatus(t, "history of a malformed id", viewer.get("/workloads/abc/history"), http.StatusBadRequest)
	wantStatus(t, "history with a malformed page", viewer.get(workloadPath(s.payroll.ID)+"/history?before=x"), http.StatusBadRequest)
}

// TestAuditExportOutlivesTheRequestBudget: the audit trail as CSV streams
// for as long as the reader takes, beyond the budget of a page. Before
// exports had a budget of their own, the five-second deadline of every
// request cancelled the query mid-file and the download broke off.
func TestAuditExportOutlivesTheRequestBudget(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	const rows = 20000
	if _, err := pool.Exec(t.Context(), `INSERT INTO audit (actor, action, object_type, object_name, after)
		SELECT 'seed', 'workload.updated', 'workload', 'Workload ' || g, jsonb_build_object('description', repeat('x', 200))
		FROM generate_series(1, $1) AS g`, rows); err != nil {
		t.Fatal(err)
	}
	const budget = 200 * time.Millisecond
	// Sign in on a server with the usual budget (a password hash on a
	// loaded machine can take longer than 200 ms); the session, kept in
	// PostgreSQL, works on the server under test too.
	signin := httptest.NewServer(newServer(t, st, web.Config{}))
	defer signin.Close()
	session := remoteSession(t, signin.URL, st, srm.RoleAdmin)
	srv := httptest.NewServer(newServer(t, st, web.Config{RequestTimeout: budget}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/audit.csv", nil)
	session(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /audit.csv = %d", resp.StatusCode)
	}
	// Read slowly: the whole download takes several times the budget.
	start := time.Now()
	var body bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %v and %d bytes, the download broke off: %v", time.Since(start), body.Len(), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	records, err := csv.NewReader(&body).ReadAll()
	if err != nil {
		t.Fatalf("the export is not whole CSV: %v", err)
	}
	seeded := 0
	for _, r := range records {
		if len(r) > 2 && r[2] == "seed" {
			seeded++
		}
	}
	if seeded != rows {
		t.Errorf("the export has %d of the %d rows", seeded, rows)
	}
	if took < 2*budget {
		t.Errorf("the download took %v, not long enough past the %v budget to prove anything", took, budget)
	}
}

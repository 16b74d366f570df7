package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store/storetest"
)

var formats = []exchange.Format{exchange.CSV, exchange.XLSX}

// download fetches link as h and reads it as format f: the rows of the
// CSV, or of the XLSX's sheet opened with excelize, padded to the width of
// cols; the header must be cols'.
func download(t *testing.T, h *harness, link string, f exchange.Format, prefix string, cols []exchange.Column) [][]string {
	t.Helper()
	body := wantDownload(t, link, h.get(link), f, prefix)
	var rows [][]string
	if f == exchange.CSV {
		rows = readCSV(t, body)
	} else {
		rows = readXLSX(t, body, len(cols))
	}
	if len(rows) == 0 || !slices.Equal(rows[0], headers(cols)) {
		t.Fatalf("%s: header %q, want %q", link, rows, headers(cols))
	}
	return rows
}

// rowWhere is the first row whose column col holds value (nil: none).
func rowWhere(t *testing.T, rows [][]string, col, value string) map[string]string {
	t.Helper()
	i := column(t, rows[0], col)
	for _, r := range rows[1:] {
		if r[i] == value {
			m := map[string]string{}
			for j, h := range rows[0] {
				m[h] = r[j]
			}
			return m
		}
	}
	return nil
}

// wantCells checks the cells of row.
func wantCells(t *testing.T, what string, row map[string]string, want map[string]string) {
	t.Helper()
	if row == nil {
		t.Errorf("%s: no such row", what)
		return
	}
	for col, v := range want {
		if got := row[col]; got != v {
			t.Errorf("%s: %s = %q, want %q", what, col, got, v)
		}
	}
}

// exportLink is the href of the link testid on doc, which must exist.
func exportLink(t *testing.T, doc *goquery.Document, testid string) string {
	t.Helper()
	link, ok := doc.Find(tid(testid)).Attr("href")
	if !ok {
		t.Fatalf("no link %s on the page", testid)
	}
	return link
}

// An owner's queue downloads whole, every page of it, as CSV and XLSX: one
// row per control they hold with the workload, the party, who completed it
// and when, and not applicable; a workload named like a formula comes out
// inert; the queue page links to both.
func TestQueueExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	o := h.owner("Ops team")
	other := h.owner("Data team")
	evil := h.workload("=cmd|' /C calc'!A0", srm.PaaS)
	var ws []srm.Workload
	for i := range 4 {
		ws = append(ws, h.workload("Payroll "+strconv.Itoa(i), srm.IaaS))
	}
	cat, err := h.st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	own := cat.Frameworks()[0].ID
	held := 0
	for _, w := range append([]srm.Workload{evil}, ws...) { // more than a page of the queue (100)
		for _, c := range cat.Controls() {
			if c.FrameworkID != own {
				continue
			}
			if err := h.st.SaveStatus(ctx, w.ID, c.ID, srm.Status{OwnerID: o.ID}); err != nil {
				t.Fatal(err)
			}
			held++
		}
	}
	if held <= 100 {
		t.Fatalf("only %d controls held: the queue fits one page", held)
	}
	mfa, patching := h.controlID("Single sign-on and multi-factor authentication"), h.controlID("Patching of systems")
	if err := h.st.SaveStatus(ctx, evil.ID, mfa, srm.Status{OwnerID: o.ID, Complete: true, Note: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SaveStatus(ctx, ws[0].ID, patching, srm.Status{OwnerID: o.ID, NotApplicable: true, NAReason: "Serverless."}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SaveStatus(ctx, ws[1].ID, patching, srm.Status{OwnerID: other.ID}); err != nil { // someone else's
		t.Fatal(err)
	}
	done := h.status(evil.ID, mfa)

	viewer := h.as(srm.RoleViewer)
	page := viewer.page("/owners/" + itoa(o.ID))
	if got := text(page.Find(tid("queue-exports"))); !strings.Contains(got, strconv.Itoa(held-1)+" controls") {
		t.Errorf("the queue's download says %q, want it to count %d controls", got, held-1)
	}
	for _, f := range formats {
		link := exportLink(t, page, "queue-"+string(f))
		if link != "/owners/"+itoa(o.ID)+"/queue"+f.Ext() {
			t.Errorf("%s link %q", f, link)
		}
		rows := download(t, viewer, link, f, "srm-queue-"+itoa(o.ID)+"-ops-team-", exchange.QueueColumns)
		if got := len(rows) - 1; got != held-1 {
			t.Errorf("%s: %d rows, want every control the owner holds (%d), not one page", link, got, held-1)
		}
		hd := rows[0]
		var mfaRow, naRow map[string]string
		for _, r := range rows[1:] {
			if r[column(t, hd, exchange.ColOwner)] != o.Name {
				t.Errorf("%s: a row of owner %q", link, r[column(t, hd, exchange.ColOwner)])
			}
			if r[column(t, hd, exchange.ColWorkload)] == evil.Name {
				t.Errorf("%s: the formula workload name came out live", link)
			}
			row := map[string]string{}
			for j, c := range hd {
				row[c] = r[j]
			}
			switch {
			case row[exchange.ColWorkload] == "'"+evil.Name && row[exchange.ColControl] == "Single sign-on and multi-factor authentication":
				mfaRow = row
			case row[exchange.ColWorkload] == ws[0].Name && row[exchange.ColControl] == "Patching of systems":
				naRow = row
			case row[exchange.ColWorkload] == ws[1].Name && row[exchange.ColControl] == "Patching of systems":
				t.Errorf("%s: another owner's control is in the queue", link)
			}
		}
		wantCells(t, link+" completed row", mfaRow, map[string]string{
			exchange.ColModel: srm.PaaS.Label(), exchange.ColParty: srm.Customer.Label(), exchange.ColComplete: "yes",
			exchange.ColCompletedBy: done.CompletedBy, exchange.ColCompletedAt: done.CompletedAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
			exchange.ColNotApplicable: "no", exchange.ColLayer: srm.Identity.Label(),
		})
		wantCells(t, link+" not applicable row", naRow, map[string]string{
			exchange.ColModel: srm.IaaS.Label(), exchange.ColComplete: "no", exchange.ColNotApplicable: "yes",
		})
	}
	wantStatus(t, "queue of no owner", viewer.get("/owners/999999/queue.csv"), http.StatusNotFound)
}

// The matrix downloads with the page's baseline and framework, one row
// per control the page shows, in its order, with each model's party and
// the framework's own control id; the page's links carry its choice.
func TestMatrixExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	importSmall(t, h)
	viewer := h.as(srm.RoleViewer)
	for _, q := range []string{"", "baseline=azure-chart&framework=small"} {
		page := viewer.page("/matrix?" + q)
		var titles []string
		page.Find(tid("matrix") + " tbody tr").Not(".layer-row").Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("data-testid")
			titles = append(titles, strings.TrimPrefix(v, "matrix-"))
		})
		if len(titles) == 0 {
			t.Fatalf("/matrix?%s shows no control", q)
		}
		for _, f := range formats {
			link := exportLink(t, page, "matrix-"+string(f))
			u, _ := url.Parse(link)
			if u.Path != "/matrix"+f.Ext() || u.Query().Get("baseline") != "azure-chart" {
				t.Errorf("%s link %q does not name the baseline shown", f, link)
			}
			rows := download(t, viewer, link, f, "srm-matrix-azure-chart-", exchange.MatrixColumns)
			var got []string
			for _, r := range rows[1:] {
				got = append(got, r[column(t, rows[0], exchange.ColControl)])
			}
			if !slices.Equal(got, titles) {
				t.Errorf("%s: controls %q, the page shows %q", link, got, titles)
			}
			if q == "" {
				if u.Query().Get("framework") != "srm" {
					t.Errorf("%s link %q does not name the framework shown", f, link)
				}
				wantCells(t, link, rowWhere(t, rows, exchange.ColControl, "Patching of systems"), map[string]string{
					exchange.ColLayer: srm.Compute.Label(), exchange.ColReference: "",
					srm.OnPrem.Label(): srm.Customer.Label(), srm.IaaS.Label(): srm.Customer.Label(), srm.SaaS.Label(): srm.Provider.Label(),
				})
				continue
			}
			if u.Query().Get("framework") != "small" {
				t.Errorf("%s link %q does not carry the framework", f, link)
			}
			wantCells(t, link, rowWhere(t, rows, exchange.ColControl, "Automated Policy"), map[string]string{
				exchange.ColReference: "XX-1(1)", srm.PaaS.Label(): srm.Shared.Label(),
			})
		}
	}
	wantStatus(t, "unknown framework", viewer.get("/matrix.csv?framework=nope"), http.StatusNotFound)
}

// A workload's customer responsibility matrix downloads per framework, as
// FedRAMP's CRM: control id and name, responsibility in its words, what
// Azure provides and what the customer must do, owner, status, and the
// reasons for an override or not applicable; the workload page links to
// it for each of its frameworks.
func TestCRMExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	w := h.workload("Portal", srm.PaaS)
	fw := importSmall(t, h, w.ID)
	o := h.owner("@ops")
	var xx1 int64
	var refs []string
	cat, err := h.st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat.Controls() {
		if c.FrameworkID == fw.ID {
			refs = append(refs, c.Ref)
		}
		if c.FrameworkID == fw.ID && c.Ref == "XX-1" {
			xx1 = c.ID
		}
	}
	slices.Sort(refs)
	if err := h.st.SaveStatus(ctx, w.ID, xx1, srm.Status{OwnerID: o.ID, NotApplicable: true, NAReason: "No policy here."}); err != nil {
		t.Fatal(err)
	}
	mfa := h.controlID("Single sign-on and multi-factor authentication")
	if err := h.st.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: mfa, Party: srm.Customer, Reason: "We run our own directory."}); err != nil {
		t.Fatal(err)
	}

	viewer := h.as(srm.RoleViewer)
	page := viewer.page(workloadPath(w.ID))
	for _, f := range formats {
		for _, slug := range []string{"srm", "small"} {
			link := exportLink(t, page, "crm-"+string(f)+"-"+slug)
			if want := workloadPath(w.ID) + "/crm" + f.Ext() + "?framework=" + slug; link != want {
				t.Errorf("CRM link %q, want %q", link, want)
			}
		}
		link := workloadPath(w.ID) + "/crm" + f.Ext() + "?framework=small"
		rows := download(t, viewer, link, f, "srm-crm-"+itoa(w.ID)+"-portal-small-", exchange.CRMColumns)
		var got []string
		for _, r := range rows[1:] {
			got = append(got, r[0])
		}
		if slices.Sort(got); !slices.Equal(got, refs) {
			t.Errorf("%s: controls %q, want the framework's %q", link, got, refs)
		}
		row := rowWhere(t, rows, exchange.ColControlID, "XX-1")
		wantCells(t, link, row, map[string]string{
			exchange.ColCRMControlName: "Policy", exchange.ColResponsibility: "Shared", exchange.ColOwner: "'@ops",
			exchange.ColStatus: "Not applicable", exchange.ColReason: "Not applicable: No policy here.",
		})

		// Without a framework, the one the SSP answers by default: the
		// first other than srm's own.
		link = workloadPath(w.ID) + "/crm" + f.Ext()
		rows = download(t, viewer, link, f, "srm-crm-"+itoa(w.ID)+"-portal-small-", exchange.CRMColumns)
		if row := rowWhere(t, rows, exchange.ColControlID, "XX-1"); row == nil {
			t.Errorf("%s: the default framework's CRM lacks XX-1", link)
		}

		// srm's own framework: the override's reason.
		link = workloadPath(w.ID) + "/crm" + f.Ext() + "?framework=srm"
		rows = download(t, viewer, link, f, "srm-crm-"+itoa(w.ID)+"-portal-srm-", exchange.CRMColumns)
		row = rowWhere(t, rows, exchange.ColCRMControlName, "Single sign-on and multi-factor authentication")
		wantCells(t, link, row, map[string]string{
			exchange.ColControlID: itoa(mfa), exchange.ColResponsibility: "Customer", exchange.ColStatus: "Open",
			exchange.ColProviderProvides: "", exchange.ColOwner: "",
		})
		if row != nil && !strings.HasSuffix(row[exchange.ColReason], " to Customer: We run our own directory.") {
			t.Errorf("%s: reason %q, want the override's", link, row[exchange.ColReason])
		}
		if row := rowWhere(t, rows, exchange.ColResponsibility, "Inherited from Azure"); row == nil || row[exchange.ColStatus] != "Inherited" || row[exchange.ColProviderProvides] == "" {
			t.Errorf("%s: no control inherited from Azure under PaaS, with what Azure provides: %q", link, row)
		}
		shared := rowWhere(t, rows, exchange.ColResponsibility, "Shared")
		if shared == nil || shared[exchange.ColProviderProvides] == "" || shared[exchange.ColCustomerMustDo] == "" {
			t.Errorf("%s: a shared control says neither what Azure provides nor what the customer does: %q", link, shared)
		}
	}
	wantStatus(t, "a framework the workload is not held to", viewer.get(workloadPath(w.ID)+"/crm.csv?framework=nope"), http.StatusNotFound)
	wantStatus(t, "no workload", viewer.get("/workloads/999999/crm.csv"), http.StatusNotFound)
}

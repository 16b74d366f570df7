package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store/storetest"
)

// apiDownload is the rows of an export answered to an API request: CSV,
// or XLSX opened with excelize; the header must be cols'.
func apiDownload(t *testing.T, res apiResp, f exchange.Format, prefix string, cols []exchange.Column) [][]string {
	t.Helper()
	res.want(prefix, http.StatusOK, "")
	body := wantDownload(t, prefix, res.ResponseRecorder, f, prefix)
	var rows [][]string
	if f == exchange.CSV {
		rows = readCSV(t, body)
	} else {
		rows = readXLSX(t, body, len(cols))
	}
	if len(rows) == 0 || !slices.Equal(rows[0], headers(cols)) {
		t.Fatalf("%s: header %q, want %q", prefix, rows, headers(cols))
	}
	return rows
}

// Every download of the site is on the API at the same path under
// /api/v1, with the same query, for a read-only viewer's token; answers
// and requests match the OpenAPI document (apiClient.do). "mine" is the
// owner linked to the token's account. A disabled account's token, no
// token, and a framework the workload lacks are refused as problems.
func TestAPIExports(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	w := h.workload("Payroll", srm.PaaS)
	iaas := h.workload("Ledger", srm.IaaS)
	importSmall(t, h, w.ID)
	o := h.owner("Ops team")
	mfa := h.controlID("Single sign-on and multi-factor authentication")
	if err := h.st.SaveStatus(ctx, w.ID, mfa, srm.Status{OwnerID: o.ID, Complete: true, Note: "=cmd"}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: h.controlID("Patching of systems"), Party: srm.Customer, Reason: "Own VM image."}); err != nil {
		t.Fatal(err)
	}
	c, u := h.apiToken(srm.RoleViewer, false)
	if err := h.st.LinkUserOwner(ctx, u.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	wp := "/api/v1/workloads/" + itoa(w.ID)

	for _, f := range formats {
		// The checklist with the page's filter, "mine" read as the token's owner.
		rows := apiDownload(t, c.get(wp+"/checklist"+f.Ext()+"?owner=mine"), f, "srm-checklist-"+itoa(w.ID)+"-payroll-", exchange.ChecklistColumns)
		if len(rows) != 2 {
			t.Errorf("checklist%s?owner=mine: %d rows, want the one control of the token's owner", f.Ext(), len(rows)-1)
		}
		wantCells(t, "checklist"+f.Ext(), rowWhere(t, rows, exchange.ColControlID, itoa(mfa)), map[string]string{
			exchange.ColOwner: o.Name, exchange.ColNote: "'=cmd", exchange.ColComplete: "yes", exchange.ColParty: srm.Customer.Label(),
		})
		rows = apiDownload(t, c.get(wp+"/checklist"+f.Ext()+"?party=customer"), f, "srm-checklist-", exchange.ChecklistColumns)
		wantCells(t, "checklist"+f.Ext()+"?party=customer", rowWhere(t, rows, exchange.ColControl, "Patching of systems"), map[string]string{
			exchange.ColOverrideParty: srm.Customer.Label(), exchange.ColOverrideReason: "Own VM image.",
		})
		for _, r := range rows[1:] {
			if r[column(t, rows[0], exchange.ColParty)] != srm.Customer.Label() {
				t.Errorf("checklist%s?party=customer: a row of party %q", f.Ext(), r[column(t, rows[0], exchange.ColParty)])
			}
		}

		// The CRM of the imported framework.
		rows = apiDownload(t, c.get(wp+"/crm"+f.Ext()+"?framework=small"), f, "srm-crm-"+itoa(w.ID)+"-payroll-small-", exchange.CRMColumns)
		wantCells(t, "crm"+f.Ext(), rowWhere(t, rows, exchange.ColControlID, "XX-1(1)"), map[string]string{
			exchange.ColCRMControlName: "Automated Policy", exchange.ColResponsibility: "Shared", exchange.ColStatus: "Open",
		})
		c.get(wp+"/crm"+f.Ext()+"?framework=nope").want("crm of a framework the workload lacks", http.StatusNotFound, "not-found")

		// The owner's queue, the portfolio's filter, the matrix of a framework.
		rows = apiDownload(t, c.get("/api/v1/owners/"+itoa(o.ID)+"/queue"+f.Ext()), f, "srm-queue-"+itoa(o.ID)+"-ops-team-", exchange.QueueColumns)
		if len(rows) != 2 || rows[1][column(t, rows[0], exchange.ColWorkload)] != w.Name {
			t.Errorf("queue%s: %q, want the one control of the owner", f.Ext(), rows)
		}
		c.get("/api/v1/owners/999999/queue"+f.Ext()).want("queue of no owner", http.StatusNotFound, "not-found")
		rows = apiDownload(t, c.get("/api/v1/portfolio"+f.Ext()+"?model=iaas"), f, "srm-portfolio-", exchange.PortfolioColumns)
		if len(rows) != 2 || rows[1][0] != iaas.Name {
			t.Errorf("portfolio%s?model=iaas: %q, want the IaaS workload alone", f.Ext(), rows)
		}
		rows = apiDownload(t, c.get("/api/v1/matrix"+f.Ext()+"?framework=small"), f, "srm-matrix-azure-chart-small-", exchange.MatrixColumns)
		wantCells(t, "matrix"+f.Ext(), rowWhere(t, rows, exchange.ColReference, "XX-1(1)"), map[string]string{
			exchange.ColControl: "Automated Policy", srm.PaaS.Label(): srm.Shared.Label(),
		})
	}

	// Tokens are checked as on every route: none, or a disabled account's.
	disabled, du := h.apiToken(srm.RoleAdmin, false)
	du.Disabled = true
	if _, err := h.st.UpdateUser(ctx, du); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{wp + "/checklist.csv", wp + "/crm.xlsx", "/api/v1/portfolio.csv", "/api/v1/matrix.xlsx", "/api/v1/owners/" + itoa(o.ID) + "/queue.csv"} {
		res := disabled.get(p).want(p+" with a disabled account's token", http.StatusUnauthorized, "unauthorized")
		if strings.Contains(res.Header().Get("Content-Disposition"), "attachment") {
			t.Errorf("%s with a disabled account's token: a download", p)
		}
		apiClient{h: h}.get(p).want(p+" without a token", http.StatusUnauthorized, "unauthorized")
	}
}

package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store/storetest"
)

// A framework control has no provider and customer parts of its own: its
// page, the CRM and the SSP all describe it by the general split of the
// area srm reads it as, and say so. SC-7 Boundary Protection is read as
// Network controls: shared under PaaS, Azure's under SaaS (Azure chart).
// srm's own control keeps its own parts.
func TestFrameworkControlParts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	res, err := h.st.ImportBuiltin(ctx, moderate, false)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := h.st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sc7 int64
	for _, c := range cat.ControlsOf([]int64{res.Framework.ID}) {
		if c.Ref == "SC-7" {
			sc7 = c.ID
		}
	}
	paas, saas := h.workload("Shop", srm.PaaS), h.workload("Shop SaaS", srm.SaaS)
	for _, w := range []srm.Workload{paas, saas} {
		if err := h.st.AttachFramework(ctx, w.ID, res.Framework.ID); err != nil {
			t.Fatal(err)
		}
	}
	const (
		azure    = "Azure isolates tenants from one another, filters attacks at the edge of its network, and enforces the network rules you define."
		customer = "Segment your virtual networks, write the firewall and network security group rules"
	)
	viewer := h.as(srm.RoleViewer)
	contains := func(what, got string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", what, got, w)
			}
		}
	}

	// The page of SC-7, shared under PaaS: both parts, each labelled as
	// the area's general split.
	page := viewer.page(workloadPath(paas.ID) + "/controls/" + itoa(sc7))
	contains("SC-7 under PaaS, Azure's part", text(page.Find(tid("part-provider"))),
		"Azure's part", "What Azure does for Network controls under PaaS, in general (this control has no split of its own):", azure)
	contains("SC-7 under PaaS, your part", text(page.Find(tid("part-customer"))),
		"Your part", "What you do for Network controls under PaaS, in general", customer)

	// srm's own control of the same area keeps its own words, unlabelled.
	own := text(viewer.page(workloadPath(paas.ID) + "/controls/" + itoa(h.controlID("Deny by default"))).Find(tid("part-provider")))
	contains("srm's Deny by default, Azure's part", own, "Azure applies the rules you write and keeps the platform's own networks closed by default.")
	if strings.Contains(own, "in general") {
		t.Errorf("srm's own control is described by its area: %q", own)
	}

	// SC-7 under SaaS is inherited: the page says what Azure does.
	inherited := text(viewer.page(workloadPath(saas.ID) + "/controls/" + itoa(sc7)).Find(tid("inherited")))
	contains("SC-7 under SaaS", inherited, "Inherited from Azure.", "What Azure does for Network controls under SaaS, in general:", azure)

	// The customer responsibility matrix: both cells filled and labelled.
	link := workloadPath(paas.ID) + "/crm.csv?framework=" + moderate
	rows := download(t, viewer, link, exchange.CSV, "srm-crm-"+itoa(paas.ID)+"-shop-"+moderate+"-", exchange.CRMColumns)
	row := rowWhere(t, rows, exchange.ColControlID, "SC-7")
	if row == nil {
		t.Fatal("SC-7 is not in the CRM")
	}
	wantCells(t, link, row, map[string]string{
		exchange.ColResponsibility:   "Shared",
		exchange.ColProviderProvides: "What Microsoft Azure does for Network controls under PaaS, in general: " + azure,
	})
	contains("SC-7 in the CRM, what the customer must do", row[exchange.ColCustomerMustDo],
		"What the customer does for Network controls under PaaS, in general: "+customer)

	// The SSP: Azure's component and this system's say the same.
	rec := viewer.get(workloadPath(paas.ID) + "/ssp.json?framework=" + moderate)
	wantStatus(t, "SSP", rec, http.StatusOK)
	got := wantSSP(t, h, paas.ID, res.Framework, rec.Body.Bytes())
	for _, c := range got.Controls {
		if c.ControlID == "sc-7" {
			contains("SC-7 in the SSP, what Azure provides", c.Provided, azure)
			contains("SC-7 in the SSP, what the customer does", c.Customer, customer)
		}
	}
}

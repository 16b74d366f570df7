package exchange

import (
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

// testBaseline is a small chart in the shape of Azure's: one row that is
// always the customer's, one that becomes shared, one that moves to Azure
// with PaaS, and the datacenter, Azure's from IaaS on.
func testBaseline() srm.Baseline {
	row := func(a srm.Area, label string, on, iaas, paas, saas srm.Party) srm.Row {
		return srm.Row{Area: a, Label: label, InSource: true, Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: on, srm.IaaS: iaas, srm.PaaS: paas, srm.SaaS: saas}}
	}
	c, s, p := srm.Customer, srm.Shared, srm.Provider
	return srm.Baseline{ID: 1, Slug: "azure-chart", Name: "Azure chart", Rows: []srm.Row{
		row("data", "Information and data", c, c, c, c),
		row("directory", "Identity and directory infrastructure", c, c, s, s),
		row("os", "Operating system", c, c, p, p),
		row("datacenter", "Physical datacenter", c, p, p, p),
	}}
}

func testControls() []srm.Control {
	return []srm.Control{
		{ID: 1, Layer: srm.Data, Area: "data", Title: "Classify data", Description: "Know what data the workload holds.", CustomerPart: "Label every store."},
		{ID: 2, Layer: srm.Identity, Area: "directory", Title: "=HYPERLINK(\"http://evil\",\"x\")", Description: "Single sign-on and MFA.",
			CustomerPart: "Turn on MFA for every account.", ProviderPart: "Runs the directory service."},
		{ID: 3, Layer: srm.Compute, Area: "os", Title: "Patch the operating system", Description: "Apply security updates.",
			CustomerPart: "Patch the guest OS monthly.", ProviderPart: "Patches the host and platform OS."},
		{ID: 4, Layer: srm.Physical, Area: "datacenter", Title: "Physical datacenter security", Description: "Guards, badges and cameras.",
			ProviderPart: "Guards, badges and cameras at every datacenter."},
	}
}

var completedAt = time.Date(2026, 11, 30, 14, 5, 6, 123456000, time.UTC)

// testAssess assesses the test catalog for a workload of model m, with an
// owner per control, one complete, one not applicable, one overridden, and
// text that needs escaping.
func testAssess(t testing.TB, m srm.ServiceModel) []srm.Assignment {
	t.Helper()
	statuses := map[int64]srm.Status{
		1: {OwnerID: 7, OwnerName: "Data team", Complete: true, CompletedBy: "ana@example.com", CompletedAt: completedAt,
			Note: "+1+1 reviewed\nsecond line", Evidence: "https://wiki.example/data?x=1&y=2", Version: 3},
		2: {OwnerID: 8, OwnerName: "@SUM(A1)", Note: "-2+3", Version: 1},
		3: {OwnerID: 9, OwnerName: "Ana Lima", NotApplicable: true, NAReason: "\t=1 no OS: containers only", Version: 2},
	}
	var overrides map[int64]srm.Override
	if m == srm.PaaS {
		overrides = map[int64]srm.Override{3: {WorkloadID: 5, ControlID: 3, Party: srm.Customer, Reason: "\r=1 we run our own VMs here", Version: 1}}
	}
	as, err := srm.Assess(testBaseline(), m, testControls(), overrides, statuses)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func testWorkload(m srm.ServiceModel) srm.Workload {
	return srm.Workload{ID: 5, Name: "Payroll (" + m.Label() + ")", Description: "Pays people.\n=cmd|' /C calc'!A0", Model: m, BaselineID: 1, Version: 4}
}

// testFramework gives the controls NIST ids, as a framework's reading does.
func testFramework(as []srm.Assignment) []Requirement {
	fw := []framework.Control{
		{ID: "AC-2", OSCALID: "ac-2", Title: "Account Management", Family: "AC", Statement: "a. Define and document the types of accounts allowed."},
		{ID: "IA-2(1)", OSCALID: "ia-2.1", Title: "Multi-factor Authentication to Privileged Accounts", Family: "IA", Parent: "IA-2"},
		{ID: "SI-2", OSCALID: "si-2", Title: "Flaw Remediation", Family: "SI"},
		{ID: "PE-3", OSCALID: "pe-3", Title: "Physical Access Control", Family: "PE"},
	}
	out := make([]Requirement, len(as))
	for i := range as {
		out[i] = Requirement{Assignment: as[i], Framework: &fw[i]}
	}
	return out
}

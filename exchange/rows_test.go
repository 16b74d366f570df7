package exchange

import (
	"strings"
	"testing"

	"github.com/srmhq/srm"
)

func strs(vs []Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func headers(cs []Column) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Header)
	}
	return out
}

// TestHeadersAreStable: the headers are the import layout and what
// people's scripts read; changing one is a breaking change.
func TestHeadersAreStable(t *testing.T) {
	for name, tc := range map[string]struct {
		cols []Column
		want string
	}{
		"checklist": {ChecklistColumns, "workload|model|baseline|layer|control id|control|party|why|owner|complete|completed by|completed at|note|evidence|not applicable|not applicable reason|override party|override reason|version"},
		"portfolio": {PortfolioColumns, "workload|description|model|baseline|done|total|percent"},
		"queue":     {QueueColumns, "owner|workload|model|layer|control id|control|party|complete|completed by|completed at|not applicable"},
		"matrix":    {MatrixColumns, "baseline|layer|control id|control|area|On-premises|IaaS|PaaS|SaaS|area note|reference"},
		"crm":       {CRMColumns, "control id|control name|responsibility|what Azure provides|what the customer must do|owner|status|reason"},
	} {
		if got := strings.Join(headers(tc.cols), "|"); got != tc.want {
			t.Errorf("%s headers:\n got %s\nwant %s", name, got, tc.want)
		}
	}
}

func TestChecklistRowShowsWhatThePageShows(t *testing.T) {
	as := testAssess(t, srm.PaaS)
	got := strs(ChecklistRow(testWorkload(srm.PaaS), "Azure chart", as[2]))
	want := []string{"Payroll (PaaS)", "PaaS", "Azure chart", "Compute", "3", "Patch the operating system", "Customer",
		"Overridden to Customer for this workload: \r=1 we run our own VMs here (Azure chart “Operating system” × PaaS says Azure.)",
		"Ana Lima", "no", "", "", "", "", "yes", "'\t=1 no OS: containers only", "Customer", "'\r=1 we run our own VMs here", "2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("checklist row:\n got %q\nwant %q", got, want)
	}
	got = strs(ChecklistRow(testWorkload(srm.PaaS), "Azure chart", as[0]))
	if got[9] != "yes" || got[10] != "ana@example.com" || got[11] != "2026-11-30T14:05:06.123456Z" || got[12] != "'+1+1 reviewed\nsecond line" {
		t.Errorf("completion columns %q", got[9:13])
	}
}

// TestCRMRows: the CRM says who carries each control in FedRAMP's words,
// what each side does, the owner, the status and the reasons.
func TestCRMRows(t *testing.T) {
	reqs := testFramework(testAssess(t, srm.PaaS))
	for i, want := range [][]string{
		{"AC-2", "Account Management", "Customer", "", "Label every store.", "Data team", "Complete", ""},
		{"IA-2(1)", "Multi-factor Authentication to Privileged Accounts", "Shared", "Runs the directory service.", "Turn on MFA for every account.", "'@SUM(A1)", "Open", ""},
		{"SI-2", "Flaw Remediation", "Customer", "", "Patch the guest OS monthly.", "Ana Lima", "Not applicable",
			"Overridden from Azure to Customer: \r=1 we run our own VMs here\nNot applicable: \t=1 no OS: containers only"},
		{"PE-3", "Physical Access Control", "Inherited from Azure", "Guards, badges and cameras at every datacenter.", "", "", "Inherited", ""},
	} {
		if got := strs(CRMRow(reqs[i])); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("CRM row %d:\n got %q\nwant %q", i, got, want)
		}
	}
	// srm's own controls: the id is srm's, the name its title; a customer
	// control without a customer part is described by the control.
	a := testAssess(t, srm.IaaS)[3]
	a.Party = srm.Customer
	a.Control.CustomerPart = ""
	got := strs(CRMRow(Requirement{Assignment: a}))
	if got[0] != "4" || got[1] != "Physical datacenter security" || got[4] != "Guards, badges and cameras." {
		t.Errorf("srm control CRM row %q", got)
	}
}

func TestMatrixAndQueueRows(t *testing.T) {
	rows, err := srm.Matrix(testBaseline(), testControls())
	if err != nil {
		t.Fatal(err)
	}
	got := strs(MatrixRow("Azure chart", rows[1]))
	want := "Azure chart|Identity & access|2|'=HYPERLINK(\"http://evil\",\"x\")|Identity and directory infrastructure|Customer|Customer|Shared|Shared||"
	if strings.Join(got, "|") != want {
		t.Errorf("matrix row %q", got)
	}
	q := srm.QueueItem{WorkloadID: 5, WorkloadName: "-Payroll", Model: srm.SaaS, Control: testControls()[0], Party: srm.Customer,
		Complete: true, CompletedBy: "ana", CompletedAt: completedAt}
	got = strs(QueueRow(srm.Owner{ID: 7, Name: "Data team", Kind: srm.Team}, q))
	want = "Data team|'-Payroll|SaaS|Data|1|Classify data|Customer|yes|ana|2026-11-30T14:05:06.123456Z|no"
	if strings.Join(got, "|") != want {
		t.Errorf("queue row %q", got)
	}
	got = strs(PortfolioRow(srm.WorkloadSummary{Workload: testWorkload(srm.IaaS), BaselineName: "Azure chart", Progress: srm.Progress{Done: 2, Total: 3}}))
	want = "Payroll (IaaS)|Pays people.\n=cmd|' /C calc'!A0|IaaS|Azure chart|2|3|66"
	if strings.Join(got, "|") != want {
		t.Errorf("portfolio row %q", got)
	}
}

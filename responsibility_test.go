package srm

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The area slugs of migrations/000002.
const (
	areaData       Area = "information-and-data"
	areaDevices    Area = "devices"
	areaAccounts   Area = "accounts-and-identities"
	areaConfig     Area = "configurations-and-settings"
	areaDirectory  Area = "identity-and-directory"
	areaApps       Area = "applications"
	areaNetwork    Area = "network-controls"
	areaOS         Area = "operating-system"
	areaHosts      Area = "physical-hosts"
	areaPhysNet    Area = "physical-network"
	areaDatacenter Area = "physical-datacenter"
)

const (
	C = Customer
	S = Shared
	P = Provider
)

func row(a Area, label string, inSource bool, onprem, iaas, paas, saas Party) Row {
	r := Row{Area: a, Label: label, InSource: inSource,
		Cells: map[ServiceModel]Party{OnPrem: onprem, IaaS: iaas, PaaS: paas, SaaS: saas}}
	if !inSource {
		r.Note = "srm filled this row."
	}
	return r
}

// chartBaseline is DOMAIN.md's reference chart; srm fills
// "configurations and settings", which the chart lacks, with customer.
func chartBaseline() Baseline {
	return Baseline{ID: 1, Slug: "azure-chart", Name: "Azure chart", Rows: []Row{
		row(areaData, "Information and data", true, C, C, C, C),
		row(areaDevices, "Devices (mobile and PCs)", true, C, C, C, C),
		row(areaAccounts, "Accounts and identities", true, C, C, C, C),
		row(areaDirectory, "Identity and directory infrastructure", true, C, C, S, S),
		row(areaApps, "Applications", true, C, C, S, P),
		row(areaNetwork, "Network controls", true, C, C, S, P),
		row(areaOS, "Operating system", true, C, C, P, P),
		row(areaHosts, "Physical hosts", true, C, P, P, P),
		row(areaPhysNet, "Physical network", true, C, P, P, P),
		row(areaDatacenter, "Physical datacenter", true, C, P, P, P),
		row(areaConfig, "Configurations and settings", false, C, C, C, C),
	}}
}

// table2026 is DOMAIN.md's January 2026 text table; srm fills
// "identity and directory infrastructure", which the table lacks, with customer.
func table2026() Baseline {
	return Baseline{ID: 2, Slug: "azure-2026", Name: "Azure 2026 table", Rows: []Row{
		row(areaData, "Customer data", true, C, C, C, C),
		row(areaConfig, "Configurations and settings", true, C, C, C, C),
		row(areaAccounts, "Identities and users", true, C, C, C, C),
		row(areaDevices, "Client devices", true, C, C, C, S),
		row(areaApps, "Applications", true, C, C, S, S),
		row(areaNetwork, "Network controls", true, C, C, S, P),
		row(areaOS, "Operating system", true, C, C, P, P),
		row(areaHosts, "Physical hosts", true, C, P, P, P),
		row(areaPhysNet, "Physical network", true, C, P, P, P),
		row(areaDatacenter, "Physical datacenter", true, C, P, P, P),
		row(areaDirectory, "Identity and directory infrastructure", false, C, C, C, C),
	}}
}

// catalog is DOMAIN.md's 24 starter controls plus the migration's secure
// configuration control, with ids 1..25.
func catalog() []Control {
	cs := []Control{
		{Layer: Physical, Area: areaDatacenter, Title: "Physical security of buildings and datacenters"},
		{Layer: Physical, Area: areaHosts, Title: "Protection of physical hosts"},
		{Layer: Physical, Area: areaPhysNet, Title: "Protection of the physical network"},
		{Layer: Identity, Area: areaDirectory, Title: "Access to infrastructure and change control"},
		{Layer: Identity, Area: areaAccounts, Title: "Single sign-on and multi-factor authentication"},
		{Layer: Identity, Area: areaDirectory, Title: "Audit of events and changes"},
		{Layer: Perimeter, Area: areaNetwork, Title: "DDoS protection"},
		{Layer: Perimeter, Area: areaNetwork, Title: "Perimeter firewall with detection and alerts"},
		{Layer: Network, Area: areaNetwork, Title: "Limit communication between resources"},
		{Layer: Network, Area: areaNetwork, Title: "Deny by default"},
		{Layer: Network, Area: areaNetwork, Title: "Restrict inbound internet access, limit outbound"},
		{Layer: Network, Area: areaNetwork, Title: "Secure connectivity to on-premises networks"},
		{Layer: Compute, Area: areaOS, Title: "Secure access to virtual machines"},
		{Layer: Compute, Area: areaOS, Title: "Endpoint protection"},
		{Layer: Compute, Area: areaOS, Title: "Patching of systems"},
		{Layer: Compute, Area: areaDevices, Title: "Security of the devices used to reach the workload"},
		{Layer: Application, Area: areaApps, Title: "Applications free of known vulnerabilities"},
		{Layer: Application, Area: areaApps, Title: "Secrets kept in a secure store"},
		{Layer: Application, Area: areaApps, Title: "Security as a design requirement"},
		{Layer: Application, Area: areaConfig, Title: "Secure configuration of the service"},
		{Layer: Data, Area: areaData, Title: "Data in databases"},
		{Layer: Data, Area: areaData, Title: "Data on virtual machine disks"},
		{Layer: Data, Area: areaData, Title: "Data in SaaS applications"},
		{Layer: Data, Area: areaData, Title: "Data in cloud storage"},
		{Layer: Data, Area: areaData, Title: "Regulatory confidentiality, integrity and availability"},
	}
	for i := range cs {
		cs[i].ID = int64(i + 1)
		cs[i].Builtin = true
	}
	return cs
}

func controlTitled(t *testing.T, cs []Control, title string) Control {
	t.Helper()
	for _, c := range cs {
		if c.Title == title {
			return c
		}
	}
	t.Fatalf("no control titled %q", title)
	return Control{}
}

// cell is one cell of a chart, spelled out so that the tables below read
// like DOMAIN.md and do not depend on how the baselines above are built.
type cell struct {
	name     string
	baseline Baseline
	area     Area
	model    ServiceModel
	want     Party
}

func chartCells() []cell {
	b := chartBaseline()
	return []cell{
		{"chart/on-premises/information and data → customer", b, areaData, OnPrem, Customer},
		{"chart/IaaS/information and data → customer", b, areaData, IaaS, Customer},
		{"chart/PaaS/information and data → customer", b, areaData, PaaS, Customer},
		{"chart/SaaS/information and data → customer", b, areaData, SaaS, Customer},
		{"chart/on-premises/devices → customer", b, areaDevices, OnPrem, Customer},
		{"chart/IaaS/devices → customer", b, areaDevices, IaaS, Customer},
		{"chart/PaaS/devices → customer", b, areaDevices, PaaS, Customer},
		{"chart/SaaS/devices → customer", b, areaDevices, SaaS, Customer},
		{"chart/on-premises/accounts and identities → customer", b, areaAccounts, OnPrem, Customer},
		{"chart/IaaS/accounts and identities → customer", b, areaAccounts, IaaS, Customer},
		{"chart/PaaS/accounts and identities → customer", b, areaAccounts, PaaS, Customer},
		{"chart/SaaS/accounts and identities → customer", b, areaAccounts, SaaS, Customer},
		{"chart/on-premises/identity and directory infrastructure → customer", b, areaDirectory, OnPrem, Customer},
		{"chart/IaaS/identity and directory infrastructure → customer", b, areaDirectory, IaaS, Customer},
		{"chart/PaaS/identity and directory infrastructure → shared", b, areaDirectory, PaaS, Shared},
		{"chart/SaaS/identity and directory infrastructure → shared", b, areaDirectory, SaaS, Shared},
		{"chart/on-premises/applications → customer", b, areaApps, OnPrem, Customer},
		{"chart/IaaS/applications → customer", b, areaApps, IaaS, Customer},
		{"chart/PaaS/applications → shared", b, areaApps, PaaS, Shared},
		{"chart/SaaS/applications → provider", b, areaApps, SaaS, Provider},
		{"chart/on-premises/network controls → customer", b, areaNetwork, OnPrem, Customer},
		{"chart/IaaS/network controls → customer", b, areaNetwork, IaaS, Customer},
		{"chart/PaaS/network controls → shared", b, areaNetwork, PaaS, Shared},
		{"chart/SaaS/network controls → provider", b, areaNetwork, SaaS, Provider},
		{"chart/on-premises/operating system → customer", b, areaOS, OnPrem, Customer},
		{"chart/IaaS/operating system → customer", b, areaOS, IaaS, Customer},
		{"chart/PaaS/operating system → provider", b, areaOS, PaaS, Provider},
		{"chart/SaaS/operating system → provider", b, areaOS, SaaS, Provider},
		{"chart/on-premises/physical hosts → customer", b, areaHosts, OnPrem, Customer},
		{"chart/IaaS/physical hosts → provider", b, areaHosts, IaaS, Provider},
		{"chart/PaaS/physical hosts → provider", b, areaHosts, PaaS, Provider},
		{"chart/SaaS/physical hosts → provider", b, areaHosts, SaaS, Provider},
		{"chart/on-premises/physical network → customer", b, areaPhysNet, OnPrem, Customer},
		{"chart/IaaS/physical network → provider", b, areaPhysNet, IaaS, Provider},
		{"chart/PaaS/physical network → provider", b, areaPhysNet, PaaS, Provider},
		{"chart/SaaS/physical network → provider", b, areaPhysNet, SaaS, Provider},
		{"chart/on-premises/physical datacenter → customer", b, areaDatacenter, OnPrem, Customer},
		{"chart/IaaS/physical datacenter → provider", b, areaDatacenter, IaaS, Provider},
		{"chart/PaaS/physical datacenter → provider", b, areaDatacenter, PaaS, Provider},
		{"chart/SaaS/physical datacenter → provider", b, areaDatacenter, SaaS, Provider},
		{"chart/on-premises/configurations and settings (filled) → customer", b, areaConfig, OnPrem, Customer},
		{"chart/IaaS/configurations and settings (filled) → customer", b, areaConfig, IaaS, Customer},
		{"chart/PaaS/configurations and settings (filled) → customer", b, areaConfig, PaaS, Customer},
		{"chart/SaaS/configurations and settings (filled) → customer", b, areaConfig, SaaS, Customer},
	}
}

func table2026Cells() []cell {
	b := table2026()
	return []cell{
		{"2026/on-premises/customer data → customer", b, areaData, OnPrem, Customer},
		{"2026/IaaS/customer data → customer", b, areaData, IaaS, Customer},
		{"2026/PaaS/customer data → customer", b, areaData, PaaS, Customer},
		{"2026/SaaS/customer data → customer", b, areaData, SaaS, Customer},
		{"2026/on-premises/configurations and settings → customer", b, areaConfig, OnPrem, Customer},
		{"2026/IaaS/configurations and settings → customer", b, areaConfig, IaaS, Customer},
		{"2026/PaaS/configurations and settings → customer", b, areaConfig, PaaS, Customer},
		{"2026/SaaS/configurations and settings → customer", b, areaConfig, SaaS, Customer},
		{"2026/on-premises/identities and users → customer", b, areaAccounts, OnPrem, Customer},
		{"2026/IaaS/identities and users → customer", b, areaAccounts, IaaS, Customer},
		{"2026/PaaS/identities and users → customer", b, areaAccounts, PaaS, Customer},
		{"2026/SaaS/identities and users → customer", b, areaAccounts, SaaS, Customer},
		{"2026/on-premises/client devices → customer", b, areaDevices, OnPrem, Customer},
		{"2026/IaaS/client devices → customer", b, areaDevices, IaaS, Customer},
		{"2026/PaaS/client devices → customer", b, areaDevices, PaaS, Customer},
		{"2026/SaaS/client devices → shared", b, areaDevices, SaaS, Shared},
		{"2026/on-premises/applications → customer", b, areaApps, OnPrem, Customer},
		{"2026/IaaS/applications → customer", b, areaApps, IaaS, Customer},
		{"2026/PaaS/applications → shared", b, areaApps, PaaS, Shared},
		{"2026/SaaS/applications → shared", b, areaApps, SaaS, Shared},
		{"2026/on-premises/network controls → customer", b, areaNetwork, OnPrem, Customer},
		{"2026/IaaS/network controls → customer", b, areaNetwork, IaaS, Customer},
		{"2026/PaaS/network controls → shared", b, areaNetwork, PaaS, Shared},
		{"2026/SaaS/network controls → provider", b, areaNetwork, SaaS, Provider},
		{"2026/on-premises/operating system → customer", b, areaOS, OnPrem, Customer},
		{"2026/IaaS/operating system → customer", b, areaOS, IaaS, Customer},
		{"2026/PaaS/operating system → provider", b, areaOS, PaaS, Provider},
		{"2026/SaaS/operating system → provider", b, areaOS, SaaS, Provider},
		{"2026/on-premises/physical hosts → customer", b, areaHosts, OnPrem, Customer},
		{"2026/IaaS/physical hosts → provider", b, areaHosts, IaaS, Provider},
		{"2026/PaaS/physical hosts → provider", b, areaHosts, PaaS, Provider},
		{"2026/SaaS/physical hosts → provider", b, areaHosts, SaaS, Provider},
		{"2026/on-premises/physical network → customer", b, areaPhysNet, OnPrem, Customer},
		{"2026/IaaS/physical network → provider", b, areaPhysNet, IaaS, Provider},
		{"2026/PaaS/physical network → provider", b, areaPhysNet, PaaS, Provider},
		{"2026/SaaS/physical network → provider", b, areaPhysNet, SaaS, Provider},
		{"2026/on-premises/physical datacenter → customer", b, areaDatacenter, OnPrem, Customer},
		{"2026/IaaS/physical datacenter → provider", b, areaDatacenter, IaaS, Provider},
		{"2026/PaaS/physical datacenter → provider", b, areaDatacenter, PaaS, Provider},
		{"2026/SaaS/physical datacenter → provider", b, areaDatacenter, SaaS, Provider},
		{"2026/on-premises/identity and directory infrastructure (filled) → customer", b, areaDirectory, OnPrem, Customer},
		{"2026/IaaS/identity and directory infrastructure (filled) → customer", b, areaDirectory, IaaS, Customer},
		{"2026/PaaS/identity and directory infrastructure (filled) → customer", b, areaDirectory, PaaS, Customer},
		{"2026/SaaS/identity and directory infrastructure (filled) → customer", b, areaDirectory, SaaS, Customer},
	}
}

func TestAssessFollowsEveryCellOfBothCharts(t *testing.T) {
	cells := append(chartCells(), table2026Cells()...)
	if len(cells) != 2*11*4 {
		t.Fatalf("table has %d cells, want %d (2 baselines × 11 areas × 4 models)", len(cells), 2*11*4)
	}
	for _, tt := range cells {
		t.Run(tt.name, func(t *testing.T) {
			c := Control{ID: 7, Layer: Data, Area: tt.area, Title: "a control in " + string(tt.area)}
			as, err := Assess(tt.baseline, tt.model, []Control{c}, nil, nil)
			if err != nil {
				t.Fatalf("Assess(%s, %s, %s) error: %v", tt.baseline.Slug, tt.model, tt.area, err)
			}
			if len(as) != 1 {
				t.Fatalf("Assess returned %d assignments, want 1", len(as))
			}
			a := as[0]
			if a.Party != tt.want {
				t.Errorf("Assess(%s, %s, %s).Party = %q, want %q", tt.baseline.Slug, tt.model, tt.area, a.Party, tt.want)
			}
			if a.ChartParty != tt.want {
				t.Errorf("ChartParty = %q, want %q", a.ChartParty, tt.want)
			}
			if a.Overridden() {
				t.Errorf("Overridden() = true with no overrides")
			}
			if a.Model != tt.model || a.Control.ID != 7 || a.Baseline != tt.baseline.Name {
				t.Errorf("assignment = {Model %q, Control %d, Baseline %q}, want {%q, 7, %q}",
					a.Model, a.Control.ID, a.Baseline, tt.model, tt.baseline.Name)
			}
		})
	}
}

func TestAssessKeepsControlOrderAndStatuses(t *testing.T) {
	cs := catalog()
	statuses := map[int64]Status{15: {Complete: true, CompletedBy: "Ops"}}
	as, err := Assess(chartBaseline(), IaaS, cs, nil, statuses)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != len(cs) {
		t.Fatalf("len = %d, want %d", len(as), len(cs))
	}
	for i := range cs {
		if as[i].Control.ID != cs[i].ID {
			t.Errorf("as[%d].Control.ID = %d, want %d", i, as[i].Control.ID, cs[i].ID)
		}
	}
	if got := as[14].Status; !got.Complete || got.CompletedBy != "Ops" {
		t.Errorf("status of patching = %+v, want complete by Ops", got)
	}
	if got := as[0].Status; got.Complete {
		t.Errorf("status of a control without a status = %+v, want zero", got)
	}
}

func TestAssessOverrideReplacesPartyAndSaysWhy(t *testing.T) {
	cs := catalog()
	firewall := controlTitled(t, cs, "Perimeter firewall with detection and alerts")
	ddos := controlTitled(t, cs, "DDoS protection")
	overrides := map[int64]Override{
		firewall.ID: {ControlID: firewall.ID, Party: Customer, Reason: "brings its own network appliance"},
	}
	as, err := Assess(chartBaseline(), PaaS, cs, overrides, nil)
	if err != nil {
		t.Fatal(err)
	}
	var fw, dd Assignment
	for _, a := range as {
		switch a.Control.ID {
		case firewall.ID:
			fw = a
		case ddos.ID:
			dd = a
		}
	}
	if fw.Party != Customer || fw.ChartParty != Shared {
		t.Errorf("overridden firewall: Party = %q, ChartParty = %q; want customer, shared", fw.Party, fw.ChartParty)
	}
	if !fw.Overridden() || fw.Override.Reason != "brings its own network appliance" {
		t.Errorf("firewall.Override = %+v, want the override", fw.Override)
	}
	reason := fw.Reason()
	for _, want := range []string{"Overridden", "Customer", "brings its own network appliance", "Azure chart", "Network controls", "PaaS", "Shared"} {
		if !strings.Contains(reason, want) {
			t.Errorf("overridden Reason() = %q, want it to contain %q", reason, want)
		}
	}
	if dd.Party != Shared || dd.Overridden() {
		t.Errorf("DDoS (not overridden): Party = %q, Overridden = %v; want shared, false", dd.Party, dd.Overridden())
	}
	if strings.Contains(dd.Reason(), "Overridden") {
		t.Errorf("Reason() without override = %q, must not mention an override", dd.Reason())
	}
}

func TestAssessIgnoresOverrideWithInvalidParty(t *testing.T) {
	cs := catalog()
	patch := controlTitled(t, cs, "Patching of systems")
	as, err := Assess(chartBaseline(), PaaS, []Control{patch},
		map[int64]Override{patch.ID: {ControlID: patch.ID, Party: "azure", Reason: "typo"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if as[0].Party != Provider || as[0].Overridden() {
		t.Errorf("Party = %q, Overridden = %v; want provider, false", as[0].Party, as[0].Overridden())
	}
}

func TestReasonNamesBaselineRowAndModel(t *testing.T) {
	tests := []struct {
		name     string
		baseline Baseline
		model    ServiceModel
		area     Area
		want     []string
		wantNote bool
	}{
		{"chart PaaS OS", chartBaseline(), PaaS, areaOS,
			[]string{"Azure chart", "“Operating system”", "PaaS", "Azure"}, false},
		{"2026 SaaS customer data", table2026(), SaaS, areaData,
			[]string{"Azure 2026 table", "“Customer data”", "SaaS", "Customer"}, false},
		{"2026 on-premises client devices", table2026(), OnPrem, areaDevices,
			[]string{"Azure 2026 table", "“Client devices”", "On-premises", "Customer"}, false},
		{"chart filled configuration row", chartBaseline(), IaaS, areaConfig,
			[]string{"Azure chart", "“Configurations and settings”", "IaaS", "Customer"}, true},
		{"2026 filled directory row", table2026(), PaaS, areaDirectory,
			[]string{"Azure 2026 table", "“Identity and directory infrastructure”", "PaaS", "Customer"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := Assess(tt.baseline, tt.model, []Control{{ID: 1, Layer: Data, Area: tt.area, Title: "x"}}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := as[0].Reason()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Reason() = %q, want it to contain %q", got, w)
				}
			}
			if (as[0].AreaNote != "") != tt.wantNote {
				t.Errorf("AreaNote = %q, want set = %v", as[0].AreaNote, tt.wantNote)
			}
			r, _ := tt.baseline.Row(tt.area)
			if as[0].AreaLabel != r.Label {
				t.Errorf("AreaLabel = %q, want %q", as[0].AreaLabel, r.Label)
			}
		})
	}
}

func TestAssessRejectsUnknownModelAndMissingArea(t *testing.T) {
	chart := chartBaseline()
	noOS := chartBaseline()
	noOS.Rows = slices.DeleteFunc(noOS.Rows, func(r Row) bool { return r.Area == areaOS })
	noSaaSCell := chartBaseline()
	delete(noSaaSCell.Rows[0].Cells, SaaS)
	cs := catalog()
	tests := []struct {
		name     string
		baseline Baseline
		model    ServiceModel
		controls []Control
	}{
		{"unknown model", chart, "cloud", cs},
		{"empty model", chart, "", cs},
		{"area the baseline lacks", noOS, IaaS, cs},
		{"control in an unknown area", chart, IaaS, []Control{{ID: 1, Layer: Data, Area: "quantum", Title: "x"}}},
		{"row without a cell for the model", noSaaSCell, SaaS, cs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := Assess(tt.baseline, tt.model, tt.controls, nil, nil)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Assess error = %v, want one wrapping ErrInvalid", err)
			}
			if as != nil {
				t.Errorf("Assess returned %d assignments with an error, want nil", len(as))
			}
		})
	}
	// With no controls there is nothing to look up, but the model is still checked.
	if _, err := Assess(chart, "cloud", nil, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Assess(no controls, unknown model) error = %v, want ErrInvalid", err)
	}
}

// tallyFixture is the chart under PaaS with a mix of parties and statuses.
func tallyFixture(t *testing.T) []Assignment {
	t.Helper()
	cs := []Control{
		{ID: 1, Layer: Physical, Area: areaDatacenter, Title: "datacenter (provider, ticked)"},
		{ID: 2, Layer: Compute, Area: areaOS, Title: "patching (provider)"},
		{ID: 3, Layer: Identity, Area: areaDirectory, Title: "audit (shared, complete)"},
		{ID: 4, Layer: Identity, Area: areaAccounts, Title: "mfa (customer, not applicable, ticked)"},
		{ID: 5, Layer: Network, Area: areaNetwork, Title: "deny by default (shared, open)"},
		{ID: 6, Layer: Data, Area: areaData, Title: "data in databases (customer, complete)"},
		{ID: 7, Layer: Application, Area: areaApps, Title: "secrets (shared, open)"},
		{ID: 8, Layer: Data, Area: areaData, Title: "data on disks (customer, not applicable)"},
	}
	statuses := map[int64]Status{
		1: {Complete: true},
		3: {Complete: true},
		4: {Complete: true, NotApplicable: true, NAReason: "no users"},
		6: {Complete: true},
		8: {NotApplicable: true, NAReason: "no VMs"},
	}
	as, err := Assess(chartBaseline(), PaaS, cs, nil, statuses)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestTallyCountsOnlyApplicableCustomerAndSharedControls(t *testing.T) {
	as := tallyFixture(t)
	got := Tally(as)
	if want := (Progress{Done: 2, Total: 4}); got != want {
		t.Fatalf("Tally = %+v, want %+v", got, want)
	}
	if got.Percent() != 50 || got.Open() != 2 {
		t.Errorf("Percent, Open = %d, %d; want 50, 2", got.Percent(), got.Open())
	}
	wantCounted := map[int64]bool{3: true, 5: true, 6: true, 7: true}
	wantDone := map[int64]bool{3: true, 6: true}
	for _, a := range as {
		if a.Counted() != wantCounted[a.Control.ID] {
			t.Errorf("%s: Counted() = %v, want %v", a.Control.Title, a.Counted(), wantCounted[a.Control.ID])
		}
		if a.Done() != wantDone[a.Control.ID] {
			t.Errorf("%s: Done() = %v, want %v", a.Control.Title, a.Done(), wantDone[a.Control.ID])
		}
	}
	if got := Tally(nil); got != (Progress{}) {
		t.Errorf("Tally(nil) = %+v, want zero", got)
	}
}

func TestTallyByLayerListsEveryLayerInOrder(t *testing.T) {
	as := tallyFixture(t)
	got := TallyByLayer(as)
	want := []LayerProgress{
		{Layer: Physical, Progress: Progress{0, 0}, Controls: 1},
		{Layer: Identity, Progress: Progress{1, 1}, Controls: 2},
		{Layer: Perimeter, Progress: Progress{0, 0}, Controls: 0},
		{Layer: Network, Progress: Progress{0, 1}, Controls: 1},
		{Layer: Compute, Progress: Progress{0, 0}, Controls: 1},
		{Layer: Application, Progress: Progress{0, 1}, Controls: 1},
		{Layer: Data, Progress: Progress{1, 1}, Controls: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("TallyByLayer =\n%+v\nwant\n%+v", got, want)
	}
	if sum := Sum(got); sum != Tally(as) {
		t.Errorf("Sum(TallyByLayer) = %+v, want Tally = %+v", sum, Tally(as))
	}
	empty := TallyByLayer(nil)
	if len(empty) != len(Layers) {
		t.Fatalf("TallyByLayer(nil) has %d layers, want %d", len(empty), len(Layers))
	}
	for i, lp := range empty {
		if lp.Layer != Layers[i] || lp.Controls != 0 || lp.Progress != (Progress{}) {
			t.Errorf("TallyByLayer(nil)[%d] = %+v, want empty %s", i, lp, Layers[i])
		}
	}
}

func TestProgressArithmetic(t *testing.T) {
	tests := []struct {
		p           Progress
		percent     int
		open        int
		description string
	}{
		{Progress{0, 0}, 0, 0, "nothing counts"},
		{Progress{2, 3}, 66, 1, "rounds down"},
		{Progress{3, 3}, 100, 0, "all done"},
		{Progress{0, 7}, 0, 7, "nothing done"},
	}
	for _, tt := range tests {
		if got := tt.p.Percent(); got != tt.percent {
			t.Errorf("%s: %+v.Percent() = %d, want %d", tt.description, tt.p, got, tt.percent)
		}
		if got := tt.p.Open(); got != tt.open {
			t.Errorf("%s: %+v.Open() = %d, want %d", tt.description, tt.p, got, tt.open)
		}
	}
	if got := (Progress{1, 2}).Plus(Progress{3, 5}); got != (Progress{4, 7}) {
		t.Errorf("Plus = %+v, want {4 7}", got)
	}
}

func TestDiffIaaSToPaaSListsExactlyTheMovedControls(t *testing.T) {
	cs := catalog()
	patch := controlTitled(t, cs, "Patching of systems")
	deny := controlTitled(t, cs, "Deny by default")
	statuses := map[int64]Status{
		patch.ID: {Complete: true, CompletedBy: "Ops", Note: "monthly"},
		deny.ID:  {OwnerID: 3, OwnerName: "Network team"},
	}
	iaas, err := Assess(chartBaseline(), IaaS, cs, nil, statuses)
	if err != nil {
		t.Fatal(err)
	}
	paas, err := Assess(chartBaseline(), PaaS, cs, nil, statuses)
	if err != nil {
		t.Fatal(err)
	}
	type move struct {
		title    string
		from, to Party
	}
	want := []move{
		{"Access to infrastructure and change control", Customer, Shared},
		{"Audit of events and changes", Customer, Shared},
		{"DDoS protection", Customer, Shared},
		{"Perimeter firewall with detection and alerts", Customer, Shared},
		{"Limit communication between resources", Customer, Shared},
		{"Deny by default", Customer, Shared},
		{"Restrict inbound internet access, limit outbound", Customer, Shared},
		{"Secure connectivity to on-premises networks", Customer, Shared},
		{"Secure access to virtual machines", Customer, Provider},
		{"Endpoint protection", Customer, Provider},
		{"Patching of systems", Customer, Provider},
		{"Applications free of known vulnerabilities", Customer, Shared},
		{"Secrets kept in a secure store", Customer, Shared},
		{"Security as a design requirement", Customer, Shared},
	}
	moves := Diff(iaas, paas)
	var got []move
	for _, m := range moves {
		got = append(got, move{m.Control.Title, m.From, m.To})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Diff(IaaS, PaaS) =\n%v\nwant\n%v", got, want)
	}
	for _, m := range moves {
		if m.Control.ID == patch.ID && (!m.Status.Complete || m.Status.CompletedBy != "Ops" || m.Status.Note != "monthly") {
			t.Errorf("patching move Status = %+v, want the completed status kept", m.Status)
		}
		if m.Control.ID == deny.ID && m.Status.OwnerName != "Network team" {
			t.Errorf("deny-by-default move Status = %+v, want the owner kept", m.Status)
		}
	}
	back := Diff(paas, iaas)
	if len(back) != len(want) {
		t.Fatalf("Diff(PaaS, IaaS) has %d moves, want %d", len(back), len(want))
	}
	for _, m := range back {
		if m.To != Customer {
			t.Errorf("moving back, %s: To = %q, want customer", m.Control.Title, m.To)
		}
	}
	if same := Diff(iaas, iaas); len(same) != 0 {
		t.Errorf("Diff(IaaS, IaaS) = %v, want none", same)
	}
	// Controls only on one side are ignored.
	if got := Diff(iaas[:3], paas[3:]); len(got) != 0 {
		t.Errorf("Diff of disjoint control sets = %v, want none", got)
	}
}

func TestMatrixAssessesEveryModel(t *testing.T) {
	cs := catalog()
	rows, err := Matrix(chartBaseline(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(cs) {
		t.Fatalf("Matrix has %d rows, want %d", len(rows), len(cs))
	}
	want := map[string][]Party{
		"Patching of systems":                                {C, C, P, P},
		"Physical security of buildings and datacenters":     {C, P, P, P},
		"Audit of events and changes":                        {C, C, S, S},
		"Applications free of known vulnerabilities":         {C, C, S, P},
		"Data in databases":                                  {C, C, C, C},
		"Security of the devices used to reach the workload": {C, C, C, C},
	}
	for _, r := range rows {
		w, ok := want[r.Control.Title]
		if !ok {
			continue
		}
		if !slices.Equal(r.Cells, w) {
			t.Errorf("Matrix row %q cells = %v, want %v", r.Control.Title, r.Cells, w)
		}
		delete(want, r.Control.Title)
	}
	if len(want) != 0 {
		t.Errorf("Matrix lacks rows for %v", want)
	}
	if rows[14].Row.Label != "Operating system" {
		t.Errorf("Matrix row for patching has label %q, want %q", rows[14].Row.Label, "Operating system")
	}
	rows26, err := Matrix(table2026(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows26[15].Cells; !slices.Equal(got, []Party{C, C, C, S}) {
		t.Errorf("2026 Matrix devices cells = %v, want [customer customer customer shared]", got)
	}
	if got := rows26[15].Row.Label; got != "Client devices" {
		t.Errorf("2026 Matrix devices label = %q, want %q", got, "Client devices")
	}

	noApps := chartBaseline()
	noApps.Rows = slices.DeleteFunc(noApps.Rows, func(r Row) bool { return r.Area == areaApps })
	if _, err := Matrix(noApps, cs); !errors.Is(err, ErrInvalid) {
		t.Errorf("Matrix(baseline without applications) error = %v, want ErrInvalid", err)
	}
}

func TestCompareBaselinesChartTo2026(t *testing.T) {
	cs := catalog()
	changes, err := CompareBaselines(chartBaseline(), table2026(), cs)
	if err != nil {
		t.Fatal(err)
	}
	type change struct {
		area       Area
		models     []ServiceModel
		relabelled bool
		controls   int
	}
	want := []change{
		{areaData, nil, true, 5},                             // "Information and data" → "Customer data"
		{areaConfig, nil, true, 1},                           // filled in the chart, in the 2026 table
		{areaAccounts, nil, true, 1},                         // "Accounts and identities" → "Identities and users"
		{areaDevices, []ServiceModel{SaaS}, true, 1},         // customer → shared, and relabelled
		{areaApps, []ServiceModel{SaaS}, false, 3},           // provider → shared
		{areaDirectory, []ServiceModel{PaaS, SaaS}, true, 2}, // shared → customer, now filled by srm
	}
	if len(changes) != len(want) {
		var areas []Area
		for _, c := range changes {
			areas = append(areas, c.Area)
		}
		t.Fatalf("CompareBaselines areas = %v, want %d changes", areas, len(want))
	}
	for i, w := range want {
		c := changes[i]
		if c.Area != w.area {
			t.Errorf("change %d: Area = %q, want %q", i, c.Area, w.area)
			continue
		}
		if !slices.Equal(c.Models, w.models) {
			t.Errorf("%s: Models = %v, want %v", c.Area, c.Models, w.models)
		}
		if c.Relabelled() != w.relabelled {
			t.Errorf("%s: Relabelled() = %v, want %v", c.Area, c.Relabelled(), w.relabelled)
		}
		if len(c.Controls) != w.controls {
			t.Errorf("%s: %d controls, want %d", c.Area, len(c.Controls), w.controls)
		}
		for _, ctl := range c.Controls {
			if ctl.Area != c.Area {
				t.Errorf("%s: lists control %q of area %q", c.Area, ctl.Title, ctl.Area)
			}
		}
	}
	apps := changes[4]
	if apps.Old.Cells[SaaS] != Provider || apps.New.Cells[SaaS] != Shared {
		t.Errorf("applications SaaS: %s → %s, want provider → shared", apps.Old.Cells[SaaS], apps.New.Cells[SaaS])
	}
	dir := changes[5]
	if !dir.Old.InSource || dir.New.InSource {
		t.Errorf("identity and directory InSource: %v → %v, want true → false", dir.Old.InSource, dir.New.InSource)
	}

	if same, err := CompareBaselines(chartBaseline(), chartBaseline(), cs); err != nil || len(same) != 0 {
		t.Errorf("CompareBaselines(chart, chart) = %v, %v; want none, nil", same, err)
	}
}

func TestCompareBaselinesRefusesAMissingArea(t *testing.T) {
	drop := func(b Baseline, a Area) Baseline {
		b.Rows = slices.DeleteFunc(b.Rows, func(r Row) bool { return r.Area == a })
		return b
	}
	tests := []struct {
		name     string
		old, new Baseline
	}{
		{"old lacks an area", drop(chartBaseline(), areaConfig), table2026()},
		{"new lacks an area", chartBaseline(), drop(table2026(), areaDirectory)},
		{"new lacks an area whose cells are equal", chartBaseline(), drop(table2026(), areaOS)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CompareBaselines(tt.old, tt.new, catalog())
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("CompareBaselines error = %v, want ErrInvalid", err)
			}
			if got != nil {
				t.Errorf("CompareBaselines returned %d changes with an error", len(got))
			}
		})
	}
}

// TestAnIncompleteBaselineIsRefused: the engine reads every cell of a
// complete baseline, and refuses, never guesses, a cell that is missing or
// names no party. (A baseline that lists an area twice cannot be stored:
// see store's TestABaselineListsEachAreaOnce.)
func TestAnIncompleteBaselineIsRefused(t *testing.T) {
	for _, b := range []Baseline{chartBaseline(), table2026()} {
		if _, err := Matrix(b, catalog()); err != nil {
			t.Errorf("Matrix(%s) = %v, want every cell read", b.Slug, err)
		}
	}
	missing := chartBaseline()
	delete(missing.Rows[6].Cells, PaaS)
	unknown := chartBaseline()
	unknown.Rows[2].Cells[IaaS] = "azure"
	nilCells := chartBaseline()
	nilCells.Rows[0].Cells = nil
	for name, b := range map[string]Baseline{
		"missing cell":      missing,
		"unknown party":     unknown,
		"row without cells": nilCells,
	} {
		if _, err := Matrix(b, catalog()); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Matrix() = %v, want ErrInvalid", name, err)
		}
	}
}

func TestBaselineCell(t *testing.T) {
	p, r, err := table2026().Cell(areaApps, SaaS)
	if err != nil || p != Shared || r.Label != "Applications" {
		t.Errorf("2026 Cell(applications, SaaS) = %q, %q, %v; want shared, Applications, nil", p, r.Label, err)
	}
	if _, _, err := table2026().Cell("quantum", SaaS); !errors.Is(err, ErrInvalid) {
		t.Errorf("Cell(unknown area) error = %v, want ErrInvalid", err)
	}
	if _, _, err := table2026().Cell(areaApps, "cloud"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Cell(unknown model) error = %v, want ErrInvalid", err)
	}
}

func TestReasonOfAFrameworkControlSaysHowSrmReadsIt(t *testing.T) {
	sc7 := Control{ID: 7, Layer: Perimeter, Area: areaNetwork, Title: "Boundary Protection", Ref: "SC-7", Family: "SC",
		Reading: "srm reads family SC as Network controls", DefaultArea: areaNetwork, DefaultLayer: Perimeter}
	as, err := Assess(chartBaseline(), PaaS, []Control{sc7}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "SC-7 Boundary Protection: srm reads family SC as Network controls; Azure chart “Network controls” × PaaS says Shared."
	if got := as[0].Reason(); got != want {
		t.Errorf("Reason() = %q\nwant %q", got, want)
	}

	// An admin's reading: the party follows the area it is read as, and the
	// sentence says who departs from srm's default, and why.
	sc7.Area, sc7.Layer, sc7.ReadingReason = areaData, Data, "our boundary is the data's encryption"
	as, err = Assess(chartBaseline(), PaaS, []Control{sc7}, map[int64]Override{7: {Party: Provider, Reason: "vendor appliance"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if as[0].ChartParty != Customer || as[0].Party != Provider {
		t.Errorf("read as information and data, overridden: chart %s, party %s; want customer, then Azure", as[0].ChartParty, as[0].Party)
	}
	want = "Overridden to Azure for this workload: vendor appliance (SC-7 Boundary Protection: read as “Information and data” by an admin: " +
		"our boundary is the data's encryption (srm's default: srm reads family SC as Network controls); Azure chart “Information and data” × PaaS says Customer.)"
	if got := as[0].Reason(); got != want {
		t.Errorf("Reason() = %q\nwant %q", got, want)
	}
	if !sc7.ReadDifferently() || sc7.Name() != "SC-7 Boundary Protection" {
		t.Errorf("ReadDifferently() = %v, Name() = %q", sc7.ReadDifferently(), sc7.Name())
	}
}

// A control's own parts win; without them the area's general split
// stands in, labelled with the area and model; a party carrying none of
// the control has no part.
func TestAssignmentParts(t *testing.T) {
	row := Row{Area: areaNetwork, Label: "Network controls", InSource: true,
		Cells:        map[ServiceModel]Party{OnPrem: Customer, IaaS: Customer, PaaS: Shared, SaaS: Provider},
		ProviderPart: "Azure filters.", CustomerPart: "You segment."}
	b := Baseline{Name: "Azure chart", Rows: []Row{row}}
	own := Control{ID: 1, Area: areaNetwork, Title: "Deny by default", ProviderPart: "Azure applies rules.", CustomerPart: "You write rules."}
	fw := Control{ID: 2, Area: areaNetwork, Title: "Boundary Protection", Ref: "SC-7"}
	for _, tc := range []struct {
		m          ServiceModel
		c          Control
		prov, cust Part
	}{
		{PaaS, own, Part{Text: "Azure applies rules."}, Part{Text: "You write rules."}},
		{PaaS, fw, Part{Text: "Azure filters.", Area: "Network controls under PaaS"}, Part{Text: "You segment.", Area: "Network controls under PaaS"}},
		{SaaS, fw, Part{Text: "Azure filters.", Area: "Network controls under SaaS"}, Part{}},
		{IaaS, fw, Part{}, Part{Text: "You segment.", Area: "Network controls under IaaS"}},
		{SaaS, own, Part{Text: "Azure applies rules."}, Part{}},
	} {
		as, err := Assess(b, tc.m, []Control{tc.c}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p, c := as[0].Parts(); p != tc.prov || c != tc.cust {
			t.Errorf("%s under %s: parts %+v, %+v; want %+v, %+v", tc.c.Name(), tc.m, p, c, tc.prov, tc.cust)
		}
	}
	p, _ := Assignment{AreaLabel: "Network controls", Model: PaaS, AreaProviderPart: "Azure filters.", Party: Shared}.Parts()
	if got := p.Labelled("Azure"); got != "What Azure does for Network controls under PaaS, in general: Azure filters." {
		t.Errorf("labelled: %q", got)
	}
}

package framework_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

func nistReading(t *testing.T) *framework.Reading {
	t.Helper()
	r, err := framework.NIST80053Reading()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readings(t *testing.T, slug string) map[string]framework.ControlReading {
	t.Helper()
	c := builtin(t, slug)
	rs, err := framework.Read(c, nistReading(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(c.Controls) {
		t.Fatalf("%d readings for %d controls", len(rs), len(c.Controls))
	}
	out := map[string]framework.ControlReading{}
	for i, r := range rs {
		if r.Control != c.Controls[i].ID {
			t.Fatalf("reading %d is of %s, want %s: readings keep the order of the controls", i, r.Control, c.Controls[i].ID)
		}
		out[r.Control] = r
	}
	return out
}

func TestNISTReadingGivesEachControlItsArea(t *testing.T) {
	rs := readings(t, "nist-800-53-rev5-high")
	tests := []struct {
		control    string
		area       srm.Area
		layer      srm.Layer
		parent     string
		provenance string // the whole sentence, or its start when it ends with …
	}{
		{"PE-3", "physical-datacenter", srm.Physical, "", "srm reads family PE as Physical datacenter"},
		{"PE-1", "physical-datacenter", srm.Physical, "", "srm reads PE-1 as Physical datacenter: the physical protection policy…"},
		{"PE-4", "physical-network", srm.Physical, "", "srm reads PE-4 as Physical network: …"},
		{"SC-7", "network-controls", srm.Perimeter, "", "srm reads SC-7 as Network controls: boundary devices are network controls, at the perimeter"},
		{"SC-7(3)", "network-controls", srm.Perimeter, "SC-7", "srm reads SC-7(3) with its parent SC-7 as Network controls: boundary devices…"},
		{"SC-7(7)", "devices", srm.Compute, "", "srm reads SC-7(7) as Devices (mobile and PCs): …"},
		{"SC-10", "network-controls", srm.Network, "", "srm reads family SC as Network controls"},
		{"SC-8", "information-and-data", srm.Data, "", "srm reads SC-8 as Information and data: …"},
		{"SC-8(1)", "information-and-data", srm.Data, "SC-8", "srm reads SC-8(1) with its parent SC-8 as Information and data: …"},
		{"SC-13", "information-and-data", srm.Data, "", "srm reads SC-13 as Information and data: …"},
		{"SC-28", "information-and-data", srm.Data, "", "srm reads SC-28 as Information and data: …"},
		{"AC-2", "accounts-and-identities", srm.Identity, "", "srm reads AC-2 as Accounts and identities: …"},
		{"AC-2(1)", "accounts-and-identities", srm.Identity, "AC-2", "srm reads AC-2(1) with its parent AC-2 as Accounts and identities: …"},
		{"AC-3", "identity-and-directory", srm.Identity, "", "srm reads family AC as Identity and directory infrastructure"},
		{"AC-6(1)", "identity-and-directory", srm.Identity, "AC-6", "srm reads family AC as Identity and directory infrastructure"},
		{"AC-1", "governance", srm.Identity, "", "srm reads AC-1 as Policies, people and programme: writing, approving…"},
		{"SC-1", "governance", srm.Identity, "", "srm reads SC-1 as Policies, people and programme: …"},
		{"PL-2", "governance", srm.Identity, "", "srm reads family PL as Policies, people and programme"},
		{"PS-3", "governance", srm.Identity, "", "srm reads family PS as Policies, people and programme"},
		{"AT-2", "governance", srm.Identity, "", "srm reads family AT as Policies, people and programme"},
		{"RA-3", "governance", srm.Identity, "", "srm reads family RA as Policies, people and programme"},
		{"RA-5", "applications", srm.Application, "", "srm reads RA-5 as Applications: …"},
		{"IA-2", "accounts-and-identities", srm.Identity, "", "srm reads family IA as Accounts and identities"},
		{"IA-2(1)", "accounts-and-identities", srm.Identity, "IA-2", "srm reads family IA as Accounts and identities"},
		{"AU-2", "identity-and-directory", srm.Identity, "", "srm reads family AU as Identity and directory infrastructure"},
		{"SI-2", "operating-system", srm.Compute, "", "srm reads SI-2 as Operating system: flaw remediation is patching…"},
		{"SI-4(4)", "network-controls", srm.Network, "", "srm reads SI-4(4) as Network controls: …"},
		{"CM-6", "configurations-and-settings", srm.Application, "", "srm reads family CM as Configurations and settings"},
		{"CM-7(5)", "operating-system", srm.Compute, "", "srm reads CM-7(5) as Operating system: …"},
		{"MA-2", "physical-hosts", srm.Physical, "", "srm reads family MA as Physical hosts"},
		{"MP-6", "physical-hosts", srm.Physical, "", "srm reads family MP as Physical hosts"},
		{"CP-9", "information-and-data", srm.Data, "", "srm reads CP-9 as Information and data: …"},
	}
	for _, tt := range tests {
		t.Run(tt.control, func(t *testing.T) {
			r, ok := rs[tt.control]
			if !ok {
				t.Fatalf("no reading for %s", tt.control)
			}
			if r.Area != tt.area || r.Layer != tt.layer || r.Parent != tt.parent {
				t.Errorf("%s read as %s in layer %s (parent %q), want %s in %s (parent %q)", tt.control, r.Area, r.Layer, r.Parent, tt.area, tt.layer, tt.parent)
			}
			if start, cut := strings.CutSuffix(tt.provenance, "…"); cut {
				if !strings.HasPrefix(r.Provenance, start) || len(r.Provenance) < len(start)+10 {
					t.Errorf("provenance %q, want it to start %q and give a reason", r.Provenance, start)
				}
			} else if r.Provenance != tt.provenance {
				t.Errorf("provenance %q, want %q", r.Provenance, tt.provenance)
			}
			if r.ByControl() == r.Rule.Family || r.Rule.Line == 0 {
				t.Errorf("rule %+v: want the line that decided", r.Rule)
			}
		})
	}
}

func TestNISTReadingLeavesNoGap(t *testing.T) {
	r := nistReading(t)
	for _, slug := range []string{"nist-800-53-rev5-low", "nist-800-53-rev5-moderate", "nist-800-53-rev5-high"} {
		for id, cr := range readings(t, slug) {
			a, ok := r.Area(cr.Area)
			if !ok || a.Name != cr.AreaName || !cr.Layer.Valid() || cr.Provenance == "" {
				t.Errorf("%s %s: reading %+v", slug, id, cr)
			}
		}
	}
	// Every family of SP 800-53 rev5 has a default, baselines or not.
	var fams []string
	for _, f := range r.Families {
		fams = append(fams, f.Key)
	}
	slices.Sort(fams)
	want := []string{"AC", "AT", "AU", "CA", "CM", "CP", "IA", "IR", "MA", "MP", "PE", "PL", "PM", "PS", "PT", "RA", "SA", "SC", "SI", "SR"}
	if !slices.Equal(fams, want) {
		t.Errorf("families read %v, want the 20 of SP 800-53 rev5 %v", fams, want)
	}
	// Exceptions name real controls: those of High, and a few of the full
	// catalog that no baseline selects (SP 800-53 rev5.1.1).
	high := builtin(t, "nist-800-53-rev5-high")
	beyond := []string{"CM-13", "CM-14", "CP-11", "IA-9", "IA-13", "IR-9", "PE-22", "SC-45", "SI-18", "SI-19"}
	for _, rule := range r.Controls {
		if _, ok := high.Control(rule.Key); !ok && rule.Key != "*-1" && !slices.Contains(beyond, rule.Key) {
			t.Errorf("line %d names %s, which is not a control of SP 800-53 rev5 High: a typo?", rule.Line, rule.Key)
		}
	}
}

func TestNISTReadingFillsTheGovernanceAreaInEveryBaseline(t *testing.T) {
	r := nistReading(t)
	srmAreas := []srm.AreaInfo{
		{Slug: "information-and-data"}, {Slug: "devices"}, {Slug: "accounts-and-identities"},
		{Slug: "configurations-and-settings"}, {Slug: "identity-and-directory"}, {Slug: "applications"},
		{Slug: "network-controls"}, {Slug: "operating-system"}, {Slug: "physical-hosts"},
		{Slug: "physical-network"}, {Slug: "physical-datacenter"},
	}
	if err := r.Check(srmAreas); err != nil {
		t.Errorf("the reading uses an area srm cannot fill: %v", err)
	}
	if err := r.Check(srmAreas[:9]); err == nil || !strings.Contains(err.Error(), "physical-network") {
		t.Errorf("Check without physical-network = %v, want it named", err)
	}
	g, ok := r.Area("governance")
	if !ok || g.Fill == nil || g.Layer != srm.Identity {
		t.Fatalf("governance = %+v, want an identity-layer area srm fills", g)
	}
	row := g.Row()
	if row.Area != "governance" || row.Label != "Policies, people and programme" || row.InSource || !strings.Contains(row.Note, "No provider chart has a row") {
		t.Errorf("governance row = %+v", row)
	}
	for _, m := range srm.ServiceModels {
		if row.Cells[m] != srm.Customer {
			t.Errorf("governance under %s = %s, want the customer", m, row.Cells[m])
		}
	}
	b := srm.Baseline{Slug: "x", Rows: []srm.Row{row}}
	for _, m := range srm.ServiceModels {
		if _, _, err := b.Cell("governance", m); err != nil {
			t.Errorf("a baseline with the filled row, under %s: %v", m, err)
		}
	}
}

func TestReadingFileErrorsSayTheLine(t *testing.T) {
	const head = "# a reading\narea net network Network controls\narea gov identity Governance\n"
	tests := []struct {
		name string
		text string
		line int
		says string
	}{
		{"unknown kind of line", head + "famly AC net\n", 4, `"famly" is not a kind of line`},
		{"unknown area", head + "family AC net\nfamily SC netwrk\n", 5, `area "netwrk" is not declared; the areas are net, gov`},
		{"unknown family", head + "family AC net\n\ncontrol XY-3 gov because\n", 6, "control XY-3 is in family XY, which this file does not read"},
		{"unknown layer of an area", head + "area data dta Data\n", 4, `"dta" is not a layer`},
		{"unknown layer of a rule", head + "family AC net@edge\n", 4, `"edge" is not a layer`},
		{"exception without a reason", head + "family AC net\ncontrol AC-2 gov\n", 5, "control AC-2 departs from its family: say why"},
		{"family read twice", head + "family AC net\nfamily AC gov\n", 5, "family AC is already read on line 4"},
		{"control read twice", head + "family AC net\ncontrol AC-2 gov a\ncontrol AC-2 net b\n", 6, "control AC-2 is already read on line 5"},
		{"bad family id", head + "family ac net\n", 4, `"ac" is not a family id`},
		{"bad party in a fill", head + "family AC net\nfill gov customer customer azure customer Note\n", 5, `"azure" is not a party for PaaS`},
		{"fill without a note", head + "family AC net\nfill gov customer customer customer customer\n", 5, "needs a note"},
		{"fill of an undeclared area", head + "family AC net\nfill misc customer customer customer customer Note\n", 5, "area misc is not declared"},
		{"area declared twice", head + "area net network Again\n", 4, "already declared on line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := framework.ParseReading(strings.NewReader(tt.text), "reading.txt")
			var re *framework.ReadingError
			if !errors.As(err, &re) {
				t.Fatalf("error %v: want a *ReadingError", err)
			}
			if re.Line != tt.line || !strings.Contains(err.Error(), tt.says) || !errors.Is(err, srm.ErrInvalid) {
				t.Errorf("error %q (line %d): want line %d saying %q", err, re.Line, tt.line, tt.says)
			}
			if want := "reading.txt, line "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start %q", err, want)
			}
		})
	}
}

func small(t *testing.T) framework.Catalog {
	t.Helper()
	f, err := os.Open("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := framework.Parse(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReadSaysWhichControlHasNoReading(t *testing.T) {
	r, err := framework.ParseReading(strings.NewReader("area net network Network controls\nfamily XX net\n"), "partial.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, err = framework.Read(small(t), r)
	var re *framework.ReadingError
	if !errors.As(err, &re) || re.Control != "YY-1" || !strings.Contains(err.Error(), "control YY-1 (at catalog.controls[0]) nor for its family YY") {
		t.Fatalf("error %v: want one naming YY-1, which no line reads", err)
	}
}

func TestAnEnhancementFollowsItsParentUnlessTheFileSaysOtherwise(t *testing.T) {
	const text = `area net network Network controls
area os compute Operating system
area gov identity Governance
family XX net
family YY os
control XX-1 gov policies are the organisation's
control XX-2 os@perimeter a test of a layer of its own
`
	r, err := framework.ParseReading(strings.NewReader(text), "t.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := small(t)
	rs, err := framework.Read(c, r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, x := range rs {
		got[x.Control] = string(x.Area) + "/" + string(x.Layer)
	}
	want := map[string]string{"YY-1": "os/compute", "XX-1": "gov/identity", "XX-1(1)": "gov/identity", "XX-2": "os/perimeter"}
	if len(got) != len(want) {
		t.Errorf("readings %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s read as %s, want %s", k, got[k], v)
		}
	}

	r2, err := framework.ParseReading(strings.NewReader(text+"control XX-1(1) net automation runs in the network\n"), "t.txt")
	if err != nil {
		t.Fatal(err)
	}
	rs, err = framework.Read(c, r2)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rs {
		if x.Control == "XX-1(1)" && (x.Area != "net" || x.Parent != "" || x.Provenance != "srm reads XX-1(1) as Network controls: automation runs in the network") {
			t.Errorf("XX-1(1) with a line of its own = %+v", x)
		}
	}
}

package srm

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// problemFields returns the sorted fields p complains about.
func problemFields(p Problems) []string {
	return slices.Sorted(maps.Keys(p))
}

// checkProblems fails unless p complains about exactly fields, each with a
// message, and the message for the first field contains msgPart.
func checkProblems(t *testing.T, p Problems, fields []string, msgPart string) {
	t.Helper()
	slices.Sort(fields)
	if got := problemFields(p); !slices.Equal(got, fields) {
		t.Fatalf("problems on %v (%v), want on %v", got, p, fields)
	}
	for _, f := range fields {
		if strings.TrimSpace(p[f]) == "" {
			t.Errorf("problem on %q has no message", f)
		}
	}
	if len(fields) > 0 && msgPart != "" && !strings.Contains(p[fields[0]], msgPart) {
		t.Errorf("problem on %q = %q, want it to contain %q", fields[0], p[fields[0]], msgPart)
	}
}

var (
	e200   = strings.Repeat("é", 200) // 200 runes, 400 bytes
	e201   = strings.Repeat("é", 201)
	a4000  = strings.Repeat("a", 4000)
	a4001  = strings.Repeat("a", 4001)
	withNL = "line one\nline two"
)

func TestPartyModelAndLayerBasics(t *testing.T) {
	if !Customer.Valid() || !Shared.Valid() || !Provider.Valid() || Party("azure").Valid() || Party("").Valid() {
		t.Error("Party.Valid accepts exactly customer, shared and provider")
	}
	if Provider.Label() != "Azure" || Customer.Label() != "Customer" || Shared.Label() != "Shared" {
		t.Errorf("labels = %q %q %q, want Customer Shared Azure", Customer.Label(), Shared.Label(), Provider.Label())
	}
	if !Customer.Counted() || !Shared.Counted() || Provider.Counted() {
		t.Error("Counted: customer and shared count, provider does not")
	}
	if !slices.Equal(ServiceModels, []ServiceModel{OnPrem, IaaS, PaaS, SaaS}) {
		t.Errorf("ServiceModels = %v, want the chart's column order", ServiceModels)
	}
	for _, m := range ServiceModels {
		if !m.Valid() {
			t.Errorf("%q.Valid() = false", m)
		}
	}
	if ServiceModel("cloud").Valid() || ServiceModel("").Valid() {
		t.Error("unknown service models are valid")
	}
	if OnPrem.Label() != "On-premises" || PaaS.Label() != "PaaS" {
		t.Errorf("model labels = %q, %q", OnPrem.Label(), PaaS.Label())
	}
	want := []Layer{"physical", "identity", "perimeter", "network", "compute", "application", "data"}
	if !slices.Equal(Layers, want) {
		t.Errorf("Layers = %v, want %v", Layers, want)
	}
	for i, l := range Layers {
		if l.Index() != i || !l.Valid() || l.Label() == "" || l.Summary() == "" {
			t.Errorf("layer %q: Index %d (want %d), Valid %v, Label %q, Summary %q", l, l.Index(), i, l.Valid(), l.Label(), l.Summary())
		}
	}
	if Layer("moat").Valid() || Layer("moat").Index() != -1 {
		t.Error("unknown layer is valid")
	}
}

func TestWorkloadValidate(t *testing.T) {
	valid := Workload{Name: "Truck telemetry ingestion", Description: withNL, Model: PaaS, BaselineID: 1}
	tests := []struct {
		name    string
		edit    func(w *Workload)
		fields  []string
		msgPart string
	}{
		{"valid", func(w *Workload) {}, nil, ""},
		{"200-rune name of two-byte letters is fine", func(w *Workload) { w.Name = e200 }, nil, ""},
		{"4000-character description is fine", func(w *Workload) { w.Description = a4000 }, nil, ""},
		{"blank name", func(w *Workload) { w.Name = "" }, []string{"name"}, "Enter a name"},
		{"whitespace name", func(w *Workload) { w.Name = " \t\n " }, []string{"name"}, "Enter a name"},
		{"201-rune name", func(w *Workload) { w.Name = e201 }, []string{"name"}, "200"},
		{"NUL in name", func(w *Workload) { w.Name = "ship\x00ping" }, []string{"name"}, "NUL"},
		{"invalid UTF-8 in name", func(w *Workload) { w.Name = "caf\xe9" }, []string{"name"}, "UTF-8"},
		{"over-long description", func(w *Workload) { w.Description = a4001 }, []string{"description"}, "4000"},
		{"NUL in description", func(w *Workload) { w.Description = "a\x00" }, []string{"description"}, "NUL"},
		{"invalid UTF-8 in description", func(w *Workload) { w.Description = "\xff\xfe" }, []string{"description"}, "UTF-8"},
		{"unknown model", func(w *Workload) { w.Model = "cloud" }, []string{"model"}, ""},
		{"no model", func(w *Workload) { w.Model = "" }, []string{"model"}, ""},
		{"no baseline", func(w *Workload) { w.BaselineID = 0 }, []string{"baseline"}, ""},
		{"negative baseline", func(w *Workload) { w.BaselineID = -3 }, []string{"baseline"}, ""},
		{"everything wrong", func(w *Workload) { *w = Workload{} }, []string{"name", "model", "baseline"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := valid
			tt.edit(&w)
			checkProblems(t, w.Validate(), tt.fields, tt.msgPart)
		})
	}
}

func TestControlValidate(t *testing.T) {
	areas := []AreaInfo{{Slug: "operating-system", Name: "Operating system"}, {Slug: "applications", Name: "Applications"}}
	valid := Control{Layer: Compute, Area: "operating-system", Title: "Hardened images",
		Description: "Golden images", CustomerPart: "Build them", ProviderPart: "Offer a gallery"}
	tests := []struct {
		name    string
		edit    func(c *Control)
		fields  []string
		msgPart string
	}{
		{"valid", func(c *Control) {}, nil, ""},
		{"optional texts empty", func(c *Control) { c.Description, c.CustomerPart, c.ProviderPart = "", "", "" }, nil, ""},
		{"blank title", func(c *Control) { c.Title = "  " }, []string{"title"}, "Enter a title"},
		{"201-rune title", func(c *Control) { c.Title = e201 }, []string{"title"}, "200"},
		{"200-rune title", func(c *Control) { c.Title = e200 }, nil, ""},
		{"NUL in title", func(c *Control) { c.Title = "x\x00" }, []string{"title"}, "NUL"},
		{"invalid UTF-8 in customer part", func(c *Control) { c.CustomerPart = "\xc3\x28" }, []string{"customer_part"}, "UTF-8"},
		{"over-long provider part", func(c *Control) { c.ProviderPart = a4001 }, []string{"provider_part"}, "4000"},
		{"over-long description", func(c *Control) { c.Description = a4001 }, []string{"description"}, "4000"},
		{"unknown layer", func(c *Control) { c.Layer = "moat" }, []string{"layer"}, ""},
		{"unknown area", func(c *Control) { c.Area = "quantum" }, []string{"area"}, ""},
		{"no area", func(c *Control) { c.Area = "" }, []string{"area"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			checkProblems(t, c.Validate(areas), tt.fields, tt.msgPart)
		})
	}
	if p := valid.Validate(nil); p["area"] == "" {
		t.Errorf("Validate with no known areas = %v, want a problem on area", p)
	}
}

func TestStatusValidate(t *testing.T) {
	tests := []struct {
		name    string
		status  Status
		fields  []string
		msgPart string
	}{
		{"empty", Status{}, nil, ""},
		{"complete with https evidence", Status{Complete: true, Note: withNL, Evidence: "https://wiki.example.com/patching?x=1#log"}, nil, ""},
		{"http evidence", Status{Evidence: "http://intranet.example:8080/report"}, nil, ""},
		{"not applicable with a reason", Status{NotApplicable: true, NAReason: "No virtual machines."}, nil, ""},
		{"not applicable without a reason", Status{NotApplicable: true}, []string{"na_reason"}, "why"},
		{"not applicable with a blank reason", Status{NotApplicable: true, NAReason: "  \n"}, []string{"na_reason"}, "why"},
		{"over-long note", Status{Note: a4001}, []string{"note"}, "4000"},
		{"NUL in note", Status{Note: "a\x00b"}, []string{"note"}, "NUL"},
		{"invalid UTF-8 in reason", Status{NotApplicable: true, NAReason: "\xff"}, []string{"na_reason"}, "UTF-8"},
		{"over-long reason", Status{NotApplicable: true, NAReason: a4001}, []string{"na_reason"}, "4000"},
		{"javascript evidence", Status{Evidence: "javascript:alert(1)"}, []string{"evidence"}, "http"},
		{"JavaScript evidence, mixed case", Status{Evidence: "JavaScript://example.com/%0Aalert(1)"}, []string{"evidence"}, "http"},
		{"data evidence", Status{Evidence: "data:text/html,<script>alert(1)</script>"}, []string{"evidence"}, "http"},
		{"ftp evidence", Status{Evidence: "ftp://files.example.com/report.pdf"}, []string{"evidence"}, "http"},
		{"relative evidence", Status{Evidence: "/reports/patching"}, []string{"evidence"}, "http"},
		{"bare host evidence", Status{Evidence: "example.com/report"}, []string{"evidence"}, "http"},
		{"protocol-relative evidence", Status{Evidence: "//example.com/report"}, []string{"evidence"}, "http"},
		{"evidence without host", Status{Evidence: "https://"}, []string{"evidence"}, "http"},
		{"evidence with empty host", Status{Evidence: "http:///path"}, []string{"evidence"}, "http"},
		{"unparsable evidence", Status{Evidence: "http://[::1"}, []string{"evidence"}, "http"},
		{"NUL in evidence", Status{Evidence: "https://example.com/\x00"}, []string{"evidence"}, "NUL"},
		{"over-long evidence", Status{Evidence: "https://example.com/" + strings.Repeat("a", 2000)}, []string{"evidence"}, "2000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, tt.status.Validate(), tt.fields, tt.msgPart)
		})
	}
}

func TestOverrideValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       Override
		fields  []string
		msgPart string
	}{
		{"customer with reason", Override{Party: Customer, Reason: "Brings its own firewall appliance."}, nil, ""},
		{"provider with reason", Override{Party: Provider, Reason: "Managed by Azure here."}, nil, ""},
		{"blank reason", Override{Party: Shared, Reason: " "}, []string{"reason"}, "why"},
		{"no reason", Override{Party: Shared}, []string{"reason"}, "why"},
		{"over-long reason", Override{Party: Shared, Reason: a4001}, []string{"reason"}, "4000"},
		{"NUL in reason", Override{Party: Shared, Reason: "a\x00"}, []string{"reason"}, "NUL"},
		{"invalid UTF-8 reason", Override{Party: Shared, Reason: "\xe2\x82"}, []string{"reason"}, "UTF-8"},
		{"unknown party", Override{Party: "azure", Reason: "x"}, []string{"party"}, ""},
		{"no party, no reason", Override{}, []string{"party", "reason"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, tt.o.Validate(), tt.fields, tt.msgPart)
		})
	}
}

func TestOwnerValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       Owner
		fields  []string
		msgPart string
	}{
		{"person", Owner{Name: "Ana Souza", Kind: Person}, nil, ""},
		{"team", Owner{Name: "Platform team", Kind: Team}, nil, ""},
		{"200-rune name", Owner{Name: e200, Kind: Team}, nil, ""},
		{"blank name", Owner{Name: "\t", Kind: Person}, []string{"owner_name"}, "name"},
		{"201-rune name", Owner{Name: e201, Kind: Person}, []string{"owner_name"}, "200"},
		{"NUL in name", Owner{Name: "Ana\x00", Kind: Person}, []string{"owner_name"}, "NUL"},
		{"invalid UTF-8 name", Owner{Name: "Jos\xe9", Kind: Person}, []string{"owner_name"}, "UTF-8"},
		{"unknown kind", Owner{Name: "Ana", Kind: "robot"}, []string{"owner_kind"}, ""},
		{"no kind", Owner{Name: "Ana"}, []string{"owner_kind"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, tt.o.Validate(), tt.fields, tt.msgPart)
		})
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		value   string
		max     int
		msgPart string // "" for no problem
	}{
		{"", 10, ""},
		{"ünïcödé", 7, ""},
		{"ünïcödé!", 7, "7"},
		{"a\x00", 10, "NUL"},
		{"\x80", 10, "UTF-8"},
	}
	for _, tt := range tests {
		got := CheckText(tt.value, tt.max)
		if tt.msgPart == "" && got != "" {
			t.Errorf("CheckText(%q, %d) = %q, want no problem", tt.value, tt.max, got)
		}
		if tt.msgPart != "" && !strings.Contains(got, tt.msgPart) {
			t.Errorf("CheckText(%q, %d) = %q, want a problem mentioning %q", tt.value, tt.max, got, tt.msgPart)
		}
	}
}

func TestQueueItemCounted(t *testing.T) {
	tests := []struct {
		q    QueueItem
		want bool
	}{
		{QueueItem{Party: Customer}, true},
		{QueueItem{Party: Shared, Complete: true}, true},
		{QueueItem{Party: Provider, Complete: true}, false},
		{QueueItem{Party: Customer, NotApplicable: true}, false},
	}
	for _, tt := range tests {
		if got := tt.q.Counted(); got != tt.want {
			t.Errorf("%+v.Counted() = %v, want %v", tt.q, got, tt.want)
		}
	}
}

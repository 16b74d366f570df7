package views_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/views"
)

func doc(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(editor, &buf); err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRingsDrawSevenLayersOutsideInWithATextEquivalent(t *testing.T) {
	layers := make([]srm.LayerProgress, len(srm.Layers))
	for i, l := range srm.Layers {
		layers[i] = srm.LayerProgress{Layer: l, Progress: srm.Progress{Done: i, Total: 6}}
	}
	layers[0].Progress = srm.Progress{} // physical: all inherited
	d := doc(t, views.Rings("r", layers))

	circles := d.Find("circle")
	if circles.Length() != 7 {
		t.Fatalf("rings: %d circles, want 7", circles.Length())
	}
	var radii []float64
	circles.Each(func(i int, s *goquery.Selection) {
		if got, want := s.AttrOr("data-layer", ""), string(srm.Layers[i]); got != want {
			t.Errorf("circle %d is layer %q, want %q (outside in)", i, got, want)
		}
		r, err := strconv.ParseFloat(s.AttrOr("r", ""), 64)
		if err != nil {
			t.Fatalf("circle %d radius: %v", i, err)
		}
		radii = append(radii, r)
	})
	for i := 1; i < len(radii); i++ {
		if radii[i] >= radii[i-1] {
			t.Errorf("ring %d radius %v not smaller than ring %d's %v", i, radii[i], i-1, radii[i-1])
		}
	}
	if got := circles.First().AttrOr("fill", ""); got != "#d9dee5" {
		t.Errorf("inherited layer fill = %q, want the grey of inherited rings", got)
	}
	desc := d.Find("desc").Text()
	for _, want := range []string{"Physical: inherited from Azure", "Data: 6 of 6 complete", "Compute: 4 of 6 complete"} {
		if !strings.Contains(desc, want) {
			t.Errorf("rings description %q lacks %q", desc, want)
		}
	}
	if d.Find("svg").AttrOr("role", "") != "img" {
		t.Error("rings svg has no role=img")
	}
}

func TestProgressBarShowsNumbersBesideTheBar(t *testing.T) {
	d := doc(t, views.ProgressBar("Layer", srm.Progress{Done: 7, Total: 12}, "p"))
	if got := strings.Join(strings.Fields(d.Find(`[data-testid="p-text"]`).Text()), " "); got != "7 of 12 complete 58%" {
		t.Errorf("progress text = %q, want %q", got, "7 of 12 complete 58%")
	}
	if got := d.Find("progress").AttrOr("value", ""); got != "7" {
		t.Errorf("progress value = %q, want 7", got)
	}
	d = doc(t, views.ProgressBar("", srm.Progress{}, "z"))
	if got := strings.TrimSpace(d.Find(`[data-testid="z-text"]`).Text()); got != "nothing to do" {
		t.Errorf("empty progress text = %q, want %q", got, "nothing to do")
	}
}

// editor is the context of a page rendered for a signed-in editor.
var editor = views.WithViewer(context.Background(), views.Viewer{ID: 1, Email: "editor@example.com", Role: srm.RoleEditor, CSRF: "token"})

func TestViewersSeeTheWorkButNoForms(t *testing.T) {
	b := srm.Baseline{Name: "Chart", Rows: []srm.Row{{Area: "os", Label: "Operating system", InSource: true,
		Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Customer, srm.PaaS: srm.Provider, srm.SaaS: srm.Provider}}}}
	cs := []srm.Control{{ID: 1, Layer: srm.Compute, Area: "os", Title: "Patching"}}
	st := map[int64]srm.Status{1: {OwnerName: "Compute guild", Note: "Monthly window."}}
	as, err := srm.Assess(b, srm.IaaS, cs, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	v := views.WorkloadView{Workload: srm.Workload{ID: 3, Name: "W", Model: srm.IaaS}, Baseline: b, Assignments: as}
	for _, tt := range []struct {
		role          srm.Role
		form, summary int
	}{{srm.RoleViewer, 0, 1}, {srm.RoleEditor, 1, 0}, {srm.RoleAdmin, 1, 0}} {
		ctx := views.WithViewer(context.Background(), views.Viewer{ID: 1, Email: "x@example.com", Role: tt.role, CSRF: "token"})
		var buf bytes.Buffer
		if err := views.WorkloadPage(v).Render(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		d, _ := goquery.NewDocumentFromReader(&buf)
		if n := d.Find(`form#ck input[name="o1"]`).Length(); n != tt.form {
			t.Errorf("%s: %d checklist rows savable in the checklist's form, want %d", tt.role, n, tt.form)
		}
		row := d.Find(`.rows > li:has(a#r1)`)
		if !strings.Contains(row.Text(), "Compute guild") && row.Find(`input[name="o1"][value="Compute guild"]`).Length() != 1 {
			t.Errorf("%s: the checklist row does not name the owner", tt.role)
		}
		if got, want := d.Find(`[data-testid="edit-workload"]`).Length() == 1, tt.role == srm.RoleAdmin; got != want {
			t.Errorf("%s: edit link shown = %v, want %v", tt.role, got, want)
		}
		for _, f := range d.Find(`form[method="post"]`).EachIter() {
			if f.Find(`input[name="csrf"][value="token"]`).Length() != 1 {
				t.Errorf("%s: a form posting to %s has no anti-forgery token", tt.role, f.AttrOr("action", "?"))
			}
		}
		// The control's own page: the full form, or what it says.
		buf.Reset()
		if err := views.ControlPage(v, as[0], nil).Render(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		d, _ = goquery.NewDocumentFromReader(&buf)
		if n := d.Find(`[data-testid="status-form"]`).Length(); n != tt.form {
			t.Errorf("%s: %d status forms, want %d", tt.role, n, tt.form)
		}
		if n := d.Find(`[data-testid="status-summary"]`).Length(); n != tt.summary {
			t.Errorf("%s: %d status summaries, want %d", tt.role, n, tt.summary)
		}
		if tt.summary == 1 && !strings.Contains(d.Find(`[data-testid="status-summary"]`).Text(), "Compute guild") {
			t.Errorf("%s: the summary does not name the owner", tt.role)
		}
		for _, f := range d.Find(`form[method="post"]`).EachIter() {
			if f.Find(`input[name="csrf"][value="token"]`).Length() != 1 {
				t.Errorf("%s: a form posting to %s has no anti-forgery token", tt.role, f.AttrOr("action", "?"))
			}
		}
	}
}

func TestControlCardEscapesTextAndHidesTheFormForInheritedControls(t *testing.T) {
	b := srm.Baseline{Name: "Chart", Rows: []srm.Row{{Area: "os", Label: "Operating system", InSource: true,
		Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Customer, srm.PaaS: srm.Provider, srm.SaaS: srm.Provider}}}}
	cs := []srm.Control{{ID: 1, Layer: srm.Compute, Area: "os", Title: `<script>alert(1)</script>`, ProviderPart: "Azure patches."}}
	for _, tt := range []struct {
		model    srm.ServiceModel
		wantForm bool
	}{{srm.IaaS, true}, {srm.PaaS, false}} {
		as, err := srm.Assess(b, tt.model, cs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		v := views.WorkloadView{Workload: srm.Workload{ID: 3, Name: "W", Model: tt.model}, Baseline: b, Assignments: as}
		var buf bytes.Buffer
		if err := views.WorkloadBody(v).Render(editor, &buf); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "<script>alert(1)</script>") {
			t.Fatalf("%s: control title rendered unescaped", tt.model)
		}
		d, _ := goquery.NewDocumentFromReader(&buf)
		card := d.Find(`[data-testid="layer-compute"] .rows > li:has(a#r1)`)
		if card.Length() != 1 || !strings.Contains(card.Find("a").Text(), "<script>alert(1)</script>") {
			t.Fatalf("%s: control card not found in the compute layer", tt.model)
		}
		if got := card.Find(`input[name="o1"]`).Length() == 1; got != tt.wantForm {
			t.Errorf("%s: status form shown = %v, want %v", tt.model, got, tt.wantForm)
		}
		if !tt.wantForm && card.Find(`[data-testid="inherited"]`).Length() != 1 {
			t.Errorf("%s: inherited control not marked inherited", tt.model)
		}
	}
}

// BenchmarkWorkloadPage renders the heaviest page: 25 controls, each with a
// status form listing 200 owners.
func BenchmarkWorkloadPage(b *testing.B) {
	base := srm.Baseline{Name: "Chart", Rows: []srm.Row{{Area: "a", Label: "Area", InSource: true,
		Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Customer, srm.PaaS: srm.Shared, srm.SaaS: srm.Provider}}}}
	var controls []srm.Control
	for i := range 25 {
		controls = append(controls, srm.Control{ID: int64(i + 1), Layer: srm.Layers[i%7], Area: "a",
			Title: "Control " + strconv.Itoa(i), Description: "What it is about.", CustomerPart: "Yours.", ProviderPart: "Azure's."})
	}
	var owners []srm.Owner
	for i := range 200 {
		owners = append(owners, srm.Owner{ID: int64(i + 1), Name: "Owner " + strconv.Itoa(i), Kind: srm.Team})
	}
	as, err := srm.Assess(base, srm.PaaS, controls, nil, map[int64]srm.Status{1: {OwnerID: 3, Complete: true}})
	if err != nil {
		b.Fatal(err)
	}
	v := views.WorkloadView{Workload: srm.Workload{ID: 1, Name: "Bench", Model: srm.PaaS}, Baseline: base, Assignments: as, Owners: owners}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := views.WorkloadPage(v).Render(editor, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// BenchmarkChecklist renders the workload page with 312 controls (about as
// many as NIST SP 800-53 Moderate and srm's catalog), a third each the
// customer's, shared and Azure's, filled as a workload in use is: every
// counted control with an owner, about half complete with who and when,
// a tenth not applicable.
func BenchmarkChecklist(b *testing.B) {
	cells := func(p srm.Party) map[srm.ServiceModel]srm.Party {
		return map[srm.ServiceModel]srm.Party{srm.OnPrem: p, srm.IaaS: p, srm.PaaS: p, srm.SaaS: p}
	}
	base := srm.Baseline{Name: "Chart", Rows: []srm.Row{
		{Area: "c", Label: "Customer's", InSource: true, Cells: cells(srm.Customer)},
		{Area: "s", Label: "Shared", InSource: true, Cells: cells(srm.Shared)},
		{Area: "p", Label: "Azure's", InSource: true, Cells: cells(srm.Provider)}}}
	names := []string{"Alexandra Montgomery-Whitfield", "Bartholomew Okonkwo-Delacroix", "Chen Xiaoling",
		"Identity and access management team", "Security operations centre", "Platform team"}
	var owners []srm.Owner
	for i, n := range names {
		owners = append(owners, srm.Owner{ID: int64(i + 1), Name: n, Kind: srm.Team})
	}
	var controls []srm.Control
	statuses := map[int64]srm.Status{}
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	for i := range 312 {
		id := int64(i + 1)
		controls = append(controls, srm.Control{ID: id, Layer: srm.Layers[i%7], Area: []srm.Area{"c", "s", "p"}[i%3],
			Ref: "AC-" + strconv.Itoa(i), Title: "Account management of privileged accounts " + strconv.Itoa(i), Description: "What it is about."})
		o := owners[i%len(owners)]
		st := srm.Status{OwnerID: o.ID, OwnerName: o.Name, Version: 1}
		switch {
		case i%10 == 9:
			st.NotApplicable, st.NAReason = true, "Covered by the provider."
		case i%2 == 0:
			st.Complete, st.CompletedBy, st.CompletedAt = true, o.Name, at
		}
		statuses[id] = st
	}
	as, err := srm.Assess(base, srm.PaaS, controls, nil, statuses)
	if err != nil {
		b.Fatal(err)
	}
	v := views.WorkloadView{Workload: srm.Workload{ID: 1, Name: "Bench", Model: srm.PaaS}, Baseline: base, Assignments: as, Owners: owners}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := views.WorkloadPage(v).Render(editor, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportMetric(float64(buf.Len()), "html-bytes")
}

// TestChecklistRowEscapesEveryValue: the checklist row is written in Go
// (ChecklistRow), so each value it shows is checked here: the control's
// reference and title, the owner in the field and in the text a viewer
// sees, who completed it, the inherited note, and the filter carried in the
// link. None may open an element or leave its attribute.
func TestChecklistRowEscapesEveryValue(t *testing.T) {
	const evil = `"><script>alert(1)</script><x y='`
	b := srm.Baseline{Name: "Chart", Rows: []srm.Row{{Area: "os", Label: "Operating system", InSource: true,
		Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Customer, srm.PaaS: srm.Provider, srm.SaaS: srm.Provider}}}}
	cs := []srm.Control{{ID: 1, Layer: srm.Compute, Area: "os", Ref: "AC-1" + evil, Title: "Patching" + evil}}
	st := map[int64]srm.Status{1: {OwnerID: 7, OwnerName: "Ops" + evil, Complete: true, CompletedBy: "Someone" + evil,
		CompletedAt: time.Now(), Version: 1}}
	for _, tt := range []struct {
		model srm.ServiceModel
		ctx   context.Context
		want  string // what the row shows of the owner
	}{
		{srm.IaaS, editor, `input[name="o1"]`},
		{srm.IaaS, views.WithViewer(context.Background(), views.Viewer{ID: 2, Role: srm.RoleViewer, CSRF: "t"}), `.ck-o`},
		{srm.PaaS, editor, `i`},
	} {
		as, err := srm.Assess(b, tt.model, cs, nil, st)
		if err != nil {
			t.Fatal(err)
		}
		v := views.WorkloadView{Workload: srm.Workload{ID: 3, Name: "W", Model: tt.model}, Baseline: b, Assignments: as,
			Filter: srm.ChecklistFilter{Query: evil}}
		var buf bytes.Buffer
		if err := views.WorkloadBody(v).Render(tt.ctx, &buf); err != nil {
			t.Fatal(err)
		}
		d, _ := goquery.NewDocumentFromReader(&buf)
		if n := d.Find("script, x").Length(); n != 0 {
			t.Fatalf("%s: the row opened %d elements from its values", tt.model, n)
		}
		row := d.Find(`.rows > li:has(a#r1)`)
		if row.Length() != 1 {
			t.Fatalf("%s: no row for the control", tt.model)
		}
		if got := row.Find("a > span").Text(); got != "AC-1"+evil {
			t.Errorf("%s: reference shows %q", tt.model, got)
		}
		if href := row.Find("a").AttrOr("href", ""); !strings.HasPrefix(href, "/workloads/3/controls/1?") || strings.ContainsAny(href, `"<> `) {
			t.Errorf("%s: link %q does not carry the filter encoded", tt.model, href)
		}
		owner := row.Find(tt.want)
		shown := owner.AttrOr("value", owner.Text())
		if !strings.Contains(shown, "Ops"+evil) {
			t.Errorf("%s: the row shows the owner as %q", tt.model, shown)
		}
		if small := row.Find("small"); small.Length() == 1 && !strings.Contains(small.Text(), "Someone"+evil) {
			t.Errorf("%s: the stamp reads %q", tt.model, small.Text())
		}
	}
}

package framework_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

// shipped parses the three NIST baselines once for all tests.
var shipped = sync.OnceValues(func() (map[string]framework.Catalog, error) {
	out := map[string]framework.Catalog{}
	for _, b := range framework.Builtins() {
		c, err := b.Catalog()
		if err != nil {
			return nil, err
		}
		out[b.Slug] = c
	}
	return out, nil
})

func builtin(t testing.TB, slug string) framework.Catalog {
	t.Helper()
	all, err := shipped()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := all[slug]
	if !ok {
		t.Fatalf("srm ships no framework %q", slug)
	}
	return c
}

func control(t *testing.T, c framework.Catalog, id string) framework.Control {
	t.Helper()
	x, ok := c.Control(id)
	if !ok {
		t.Fatalf("%s has no control %s", c.Title, id)
	}
	return x
}

func TestShippedNISTBaselinesImportWithTheirCounts(t *testing.T) {
	want := []struct {
		slug     string
		controls int
		title    string
	}{
		{"nist-800-53-rev5-low", 149, "NIST Special Publication 800-53 Revision 5.1.1 LOW IMPACT BASELINE"},
		{"nist-800-53-rev5-moderate", 287, "NIST Special Publication 800-53 Revision 5.1.1 MODERATE IMPACT BASELINE"},
		{"nist-800-53-rev5-high", 370, "NIST Special Publication 800-53 Revision 5.1.1 HIGH IMPACT BASELINE"},
	}
	bs := framework.Builtins()
	if len(bs) != len(want) {
		t.Fatalf("srm ships %d frameworks, want %d", len(bs), len(want))
	}
	for i, w := range want {
		t.Run(w.slug, func(t *testing.T) {
			if bs[i].Slug != w.slug || bs[i].Licence == "" || bs[i].SourceURL == "" {
				t.Errorf("builtin %d = %+v, want slug %s with its source and licence", i, bs[i], w.slug)
			}
			c := builtin(t, w.slug)
			if len(c.Controls) != w.controls {
				t.Errorf("%d controls, want %d", len(c.Controls), w.controls)
			}
			if c.Title != w.title || c.Version != "5.1.1+u4" || c.OSCALVersion != "1.1.2" || c.SchemaVersion != "1.1.2" {
				t.Errorf("title %q version %q oscal %q schema %q", c.Title, c.Version, c.OSCALVersion, c.SchemaVersion)
			}
			if c.UUID == "" || c.LastModified.Year() != 2024 {
				t.Errorf("uuid %q, last modified %v", c.UUID, c.LastModified)
			}
			if len(c.Withdrawn) != 0 {
				t.Errorf("withdrawn %v: NIST's baselines select no withdrawn control", c.Withdrawn)
			}
			for _, x := range c.Controls {
				if x.ID == "" || x.Title == "" || x.Family == "" || x.FamilyTitle == "" || x.Statement == "" {
					t.Errorf("%s (%s) lacks a field: %+v", x.ID, x.Path, x)
				}
				if strings.Contains(x.Statement, "{{") || strings.Contains(x.Guidance, "{{") {
					t.Errorf("%s keeps a parameter unresolved: %q", x.ID, x.Statement)
				}
			}
		})
	}
}

func TestNISTControlsReadAsPeopleWriteThem(t *testing.T) {
	c := builtin(t, "nist-800-53-rev5-high")

	ac1 := control(t, c, "AC-1")
	for _, want := range []string{
		"a. Develop, document, and disseminate to [organization-defined personnel or roles]:",
		"\n  1. [Selection (one or more): organization-level; mission/business process-level; system-level] access control policy that:",
		"\n    (a) Addresses purpose, scope",
		"\nb. Designate an [organization-defined official] to manage",
	} {
		if !strings.Contains(ac1.Statement, want) {
			t.Errorf("AC-1's statement lacks %q:\n%s", want, ac1.Statement)
		}
	}
	if ac1.OSCALID != "ac-1" || ac1.Family != "AC" || ac1.FamilyTitle != "Access Control" || ac1.Parent != "" || ac1.Enhancement() {
		t.Errorf("AC-1 = %+v", ac1)
	}
	if !strings.HasPrefix(ac1.Guidance, "Access control policy and procedures address the controls in the AC family") {
		t.Errorf("AC-1's guidance = %.80q", ac1.Guidance)
	}

	enh := control(t, c, "AC-2(1)")
	if enh.Parent != "AC-2" || !enh.Enhancement() || enh.OSCALID != "ac-2.1" || enh.Title != "Automated System Account Management" || enh.Family != "AC" {
		t.Errorf("AC-2(1) = %+v, want an enhancement of AC-2", enh)
	}
	if enh.Statement != "Support the management of system accounts using [organization-defined automated mechanisms]." {
		t.Errorf("AC-2(1)'s statement = %q", enh.Statement)
	}
	if enh.Path != "catalog.groups[0].controls[1].controls[0]" {
		t.Errorf("AC-2(1)'s path = %q", enh.Path)
	}
	// SP 800-53's own wording (alt-label), not SP 800-53A's short label.
	if s := control(t, c, "AC-2(2)").Statement; !strings.Contains(s, "[Selection: remove; disable] temporary and emergency accounts after [organization-defined time period for each type of account]") {
		t.Errorf("AC-2(2)'s statement = %q", s)
	}
	// A parameter inside a choice of another.
	if s := control(t, c, "AC-4(4)").Statement; !strings.Contains(s, "terminating communications sessions attempting to pass encrypted information; [organization-defined procedure or method]]") {
		t.Errorf("AC-4(4)'s statement = %q", s)
	}

	ids := make([]string, len(c.Controls))
	for i, x := range c.Controls {
		ids[i] = x.ID
	}
	if got := ids[:4]; !slices.Equal(got, []string{"AC-1", "AC-2", "AC-2(1)", "AC-2(2)"}) {
		t.Errorf("controls start %v: want document order, each enhancement after its parent", got)
	}
	fams := c.Families()
	if len(fams) != 18 || fams[0] != (framework.Family{ID: "AC", Title: "Access Control", Controls: 46}) {
		t.Errorf("families = %d, first %+v", len(fams), fams[0])
	}
}

func TestParseReadsParametersOfEveryShape(t *testing.T) {
	f, err := os.Open("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := framework.Parse(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.OSCALVersion != "1.0.0" || c.SchemaVersion != "1.0.4" || c.Version != "2.0" || !c.LastModified.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("catalog = %+v", c)
	}
	var ids []string
	for _, x := range c.Controls {
		ids = append(ids, x.ID+"/"+x.Family+"/"+x.Parent)
	}
	if want := []string{"YY-1//", "XX-1/XX/", "XX-1(1)/XX/XX-1", "XX-2/XX/"}; !slices.Equal(ids, want) {
		t.Errorf("controls (id/family/parent) = %v, want %v", ids, want)
	}
	if !slices.Equal(c.Withdrawn, []string{"XX-1(2)"}) {
		t.Errorf("withdrawn = %v, want XX-1(2)", c.Withdrawn)
	}
	x := control(t, c, "XX-1")
	want := "a. Tell [organization-defined people] about the policy:\n" +
		"  1. Review it [Selection (one or more): yearly; [organization-defined other period]]; and\n" +
		"b. Meet [every Monday] with [organization-defined people] and [how often] after [organization-defined events], [how often]."
	if x.Statement != want {
		t.Errorf("XX-1's statement =\n%s\nwant\n%s", x.Statement, want)
	}
	if x.Guidance != "People named in [organization-defined people] read it." {
		t.Errorf("XX-1's guidance = %q", x.Guidance)
	}
	if sub := control(t, c, "XX-2"); sub.FamilyTitle != "Example Family" {
		t.Errorf("a subgroup's control is in family %q, want its top-level group's", sub.FamilyTitle)
	}
}

func TestParseRejectsBadFilesClearly(t *testing.T) {
	fixture := func(name string) func() io.Reader {
		return func() io.Reader {
			b, err := os.ReadFile("testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			return bytes.NewReader(b)
		}
	}
	text := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	tests := []struct {
		name   string
		in     func() io.Reader
		limit  int64
		kind   error
		path   string
		line   int
		column int
		says   []string
	}{
		{"not JSON", fixture("not-json.json"), 0, framework.ErrNotJSON, "", 4, 38,
			[]string{"not JSON", "invalid character '}'", "line 4, column 38"}},
		{"XML", text("<?xml version=\"1.0\"?>\n<catalog/>"), 0, framework.ErrNotJSON, "", 0, 0, []string{"XML", "in JSON"}},
		{"empty", text("  \n"), 0, framework.ErrNotJSON, "", 0, 0, []string{"empty"}},
		{"JSON but not OSCAL", fixture("not-oscal.json"), 0, framework.ErrNotOSCAL, "", 0, 0,
			[]string{"not an OSCAL catalog", `"name", "rows"`}},
		{"a JSON list", text(`[{"catalog": {}}]`), 0, framework.ErrNotOSCAL, "", 0, 0, []string{"a list"}},
		{"another OSCAL model", text(`{"system-security-plan": {}}`), 0, framework.ErrNotOSCAL, "system-security-plan", 0, 0,
			[]string{"OSCAL system-security-plan, not a catalog"}},
		{"unresolved profile", fixture("profile.json"), 0, framework.ErrUnresolvedProfile, "profile", 0, 0,
			[]string{"profile, not a catalog", "Resolve it first", "oscal-cli `profile resolve`", "resolved-profile_catalog.json"}},
		{"OSCAL 0.9", fixture("version-0.9.json"), 0, framework.ErrVersion, "catalog.metadata.oscal-version", 0, 0,
			[]string{`OSCAL "0.9"`, "srm reads OSCAL 1.0.x and 1.1.x"}},
		{"OSCAL 1.2.0", text(`{"catalog": {"metadata": {"oscal-version": "1.2.0"}}}`), 0, framework.ErrVersion, "catalog.metadata.oscal-version", 0, 0,
			[]string{`"1.2.0"`}},
		{"no OSCAL version", text(`{"catalog": {"metadata": {"title": "x"}}}`), 0, framework.ErrVersion, "catalog.metadata.oscal-version", 0, 0,
			[]string{"is missing"}},
		{"schema violations", fixture("schema.json"), 0, framework.ErrSchema, "catalog.groups[0].controls[1].title", 0, 0,
			[]string{"does not follow the schema of OSCAL 1.1.2", "catalog.groups[0].controls[1].title (AC-2): got number, want string"}},
		{"many schema violations", text(manyViolations), 0, framework.ErrSchema, "catalog.groups[0].controls[0]", 0, 0,
			[]string{"the first 5 of 12 problems", "catalog.groups[0].controls[0] (C-0): missing property 'title'", "controls[4] (C-4)"}},
		{"no controls", fixture("no-controls.json"), 0, framework.ErrNoControls, "catalog", 0, 0, []string{"no controls"}},
		{"duplicate ids", fixture("duplicate.json"), 0, framework.ErrDuplicate, "catalog.groups[1].controls[1]", 0, 0,
			[]string{`"ac-2"`, "at catalog.groups[0].controls[1] and at catalog.groups[1].controls[1]"}},
		{"over the limit", fixture("small.json"), 1000, framework.ErrTooBig, "", 0, 0, []string{"larger than srm's limit of 1000 bytes"}},
		{"over the default limit", func() io.Reader { return io.LimitReader(zeros{}, framework.DefaultLimit+1) }, 0, framework.ErrTooBig, "", 0, 0,
			[]string{"limit of 50 MB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := framework.Parse(tt.in(), tt.limit)
			if err == nil {
				t.Fatal("Parse accepted the file")
			}
			if !errors.Is(err, tt.kind) || !errors.Is(err, srm.ErrInvalid) {
				t.Errorf("error %v: want it to be %v and srm.ErrInvalid", err, tt.kind)
			}
			var pe *framework.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Path != tt.path || pe.Line != tt.line || pe.Column != tt.column {
				t.Errorf("path %q line %d column %d, want %q %d %d", pe.Path, pe.Line, pe.Column, tt.path, tt.line, tt.column)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestDuplicateErrorNamesTheControl(t *testing.T) {
	f, _ := os.Open("testdata/duplicate.json")
	defer f.Close()
	_, err := framework.Parse(f, 0)
	var pe *framework.ParseError
	if !errors.As(err, &pe) || pe.Control != "AC-2" {
		t.Fatalf("error %v: want a *ParseError naming AC-2", err)
	}
}

// manyViolations is a catalog of twelve controls without titles.
var manyViolations = func() string {
	var b strings.Builder
	b.WriteString(`{"catalog": {"uuid": "3c7a8a1e-5b2c-4d8e-9f10-2a3b4c5d6e7f", "metadata": {"title": "t", "last-modified": "2026-12-01T10:00:00Z", "version": "1", "oscal-version": "1.1.2"}, "groups": [{"id": "c", "title": "C", "controls": [`)
	for i := range 12 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id": "c-` + strconv.Itoa(i) + `"}`)
	}
	b.WriteString(`]}]}}`)
	return b.String()
}()

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// BenchmarkParseHigh parses NIST SP 800-53 High (2.1 MB, 370 controls),
// schema check included.
func BenchmarkParseHigh(b *testing.B) {
	var high framework.Builtin
	for _, x := range framework.Builtins() {
		if x.Slug == "nist-800-53-rev5-high" {
			high = x
		}
	}
	rc, err := high.Open()
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := framework.Parse(bytes.NewReader(data), 0); err != nil { // compiles the schema
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := framework.Parse(bytes.NewReader(data), 0); err != nil {
			b.Fatal(err)
		}
	}
}

// The compiled schema and the shipped reading are shared: parsing from
// several requests at once must be safe (run with -race).
func TestParseConcurrently(t *testing.T) {
	data, err := os.ReadFile("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			c, err := framework.Parse(bytes.NewReader(data), 0)
			if err == nil && len(c.Controls) != 4 {
				err = errors.New("wrong number of controls")
			}
			if err == nil {
				_, err = framework.NIST80053Reading()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

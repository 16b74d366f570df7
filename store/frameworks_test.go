package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// smallReading reads framework/testdata/small.json (families XX and YY)
// and the family ZZ a newer version of it adds.
const smallReading = `
name   test reading
area   network-controls      network   Network controls
area   information-and-data  data      Information and data
area   governance            identity  Policies, people and programme
fill   governance customer customer customer customer  No chart has a row for it.
family XX  network-controls
family YY  information-and-data
family ZZ  governance
`

func reading(t *testing.T, text string) *framework.Reading {
	t.Helper()
	r, err := framework.ParseReading(strings.NewReader(text), "test reading")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func smallCatalog(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../framework/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// smallV3 is small.json as a newer version would ship it: YY-1 removed,
// XX-1(1) retitled, ZZ-1 added.
func smallV3(t *testing.T) map[string]any {
	doc := smallCatalog(t)
	cat := doc["catalog"].(map[string]any)
	cat["metadata"].(map[string]any)["version"] = "3.0"
	cat["controls"] = []any{map[string]any{"id": "zz-1", "title": "Zebra Control"}}
	xx1 := cat["groups"].([]any)[0].(map[string]any)["controls"].([]any)[0].(map[string]any)
	xx1["controls"].([]any)[0].(map[string]any)["title"] = "Automated Policy Checks"
	return doc
}

func importDoc(t *testing.T, st *store.Store, doc map[string]any, opt store.ImportOptions) (store.ImportResult, error) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return st.ImportFramework(storetest.Context(t), bytes.NewReader(b), opt)
}

func mustImportBuiltin(t *testing.T, st *store.Store, slug string) srm.Framework {
	t.Helper()
	res, err := st.ImportBuiltin(storetest.Context(t), slug, false)
	if err != nil {
		t.Fatalf("ImportBuiltin(%s) error: %v", slug, err)
	}
	return res.Framework
}

// byRef returns the current control of framework fid with the given ref.
func byRef(t *testing.T, st *store.Store, fid int64, ref string) srm.Control {
	t.Helper()
	for _, c := range catalogOf(t, st) {
		if c.FrameworkID == fid && c.Ref == ref {
			return c
		}
	}
	t.Fatalf("no control %s in framework %d", ref, fid)
	return srm.Control{}
}

// storeState sums up everything an import may write, to tell that a
// refused one wrote nothing.
func storeState(t *testing.T, pool *pgxpool.Pool) [8]int64 {
	t.Helper()
	var s [8]int64
	err := pool.QueryRow(storetest.Context(t), `SELECT (SELECT count(*) FROM frameworks), (SELECT count(*) FROM controls),
		(SELECT count(*) FROM areas), (SELECT count(*) FROM baseline_rows), (SELECT count(*) FROM audit),
		(SELECT version FROM catalog_version), (SELECT count(*) FROM assignments), (SELECT count(*) FROM workload_frameworks)`).
		Scan(&s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportingTheNISTBaselinesGivesTheirCounts(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	want := map[string]int{"nist-800-53-rev5-low": 149, "nist-800-53-rev5-moderate": 287, "nist-800-53-rev5-high": 370}
	for _, b := range framework.Builtins() {
		res, err := st.ImportBuiltin(storetest.Context(t), b.Slug, false)
		if err != nil {
			t.Fatalf("ImportBuiltin(%s) error: %v", b.Slug, err)
		}
		if !res.New || len(res.Changes.Added) != want[b.Slug] || res.Workloads != 0 {
			t.Errorf("ImportBuiltin(%s) = new %v, %d added, %d workloads; want new, %d added, none",
				b.Slug, res.New, len(res.Changes.Added), res.Workloads, want[b.Slug])
		}
	}
	fws, err := st.Frameworks(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range fws {
		got[f.Slug] = f.Controls
		if f.Slug != srm.SRMFramework && (f.Version == "" || f.OSCALVersion == "") {
			t.Errorf("framework %s: version %q, OSCAL %q; want both from the file", f.Slug, f.Version, f.OSCALVersion)
		}
	}
	for slug, n := range want {
		if got[slug] != n {
			t.Errorf("framework %s has %d controls in the store, want %d", slug, got[slug], n)
		}
	}
	if own := len(catalogOf(t, st)) - (149 + 287 + 370); got[srm.SRMFramework] != own || own < len(domainCatalog) {
		t.Errorf("srm's own catalog has %d controls, want %d", got[srm.SRMFramework], own)
	}
	var stored int
	if err := pool.QueryRow(storetest.Context(t), `SELECT count(*) FROM controls WHERE ref IS NOT NULL`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 149+287+370 {
		t.Errorf("%d framework controls stored, want %d", stored, 149+287+370)
	}
	// Every baseline has the governance row the reading fills, and says so.
	for _, slug := range []string{"azure-chart", "azure-2026"} {
		r, ok := baselineBySlug(t, st, slug).Row("governance")
		if !ok || r.InSource || !strings.Contains(r.Note, "No provider chart has a row") || r.Cells[srm.SaaS] != srm.Customer {
			t.Errorf("baseline %s: governance row %+v (present %v), want a row srm fills, customer everywhere", slug, r, ok)
		}
	}
	// Importing the same file again changes nothing.
	before := storeState(t, pool)
	res, err := st.ImportBuiltin(storetest.Context(t), "nist-800-53-rev5-low", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.New || !res.Changes.Empty() {
		t.Errorf("importing Low again: new %v, changes %+v; want none", res.New, res.Changes)
	}
	after := storeState(t, pool)
	before[4], after[4], before[5], after[5] = 0, 0, 0, 0 // the framework's row is stamped again
	if before != after {
		t.Errorf("importing Low again changed the store: %v → %v", before, after)
	}
}

func TestABadCatalogChangesNothing(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	w := createWorkload(t, st, "Held", srm.PaaS, baselineBySlug(t, st, "azure-chart").ID)
	own := len(catalogOf(t, st))
	file := func(name string) []byte {
		b, err := os.ReadFile("../framework/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withNUL := smallCatalog(t)
	withNUL["catalog"].(map[string]any)["controls"] = []any{map[string]any{"id": "yy-1", "title": "Loose\x00 Control"}}
	nul, err := json.Marshal(withNUL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    []byte
		limit int64
		kind  error
		says  string
	}{
		{"not JSON", file("not-json.json"), 0, framework.ErrNotJSON, "not JSON"},
		{"JSON but not OSCAL", file("not-oscal.json"), 0, framework.ErrNotOSCAL, "not an OSCAL catalog"},
		{"an OSCAL version srm does not read", file("version-0.9.json"), 0, framework.ErrVersion, "srm reads OSCAL 1.0.x and 1.1.x"},
		{"not following the schema", file("schema.json"), 0, framework.ErrSchema, "does not follow the schema"},
		{"no controls", file("no-controls.json"), 0, framework.ErrNoControls, "no controls"},
		{"duplicate ids", file("duplicate.json"), 0, framework.ErrDuplicate, `"ac-2"`},
		{"over the size limit", file("small.json"), 1000, framework.ErrTooBig, "larger than srm's limit"},
		{"an unresolved profile", file("profile.json"), 0, framework.ErrUnresolvedProfile, "Resolve it first"},
		// Parses, and fails inside the transaction, after the framework's
		// row and areas were written: they go too.
		{"a control PostgreSQL cannot store", nul, 0, srm.ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := storeState(t, pool)
			_, err := st.ImportFramework(storetest.Context(t), bytes.NewReader(tt.in),
				store.ImportOptions{Slug: "bad", Reading: reading(t, smallReading), Limit: tt.limit})
			if !errors.Is(err, tt.kind) || !errors.Is(err, srm.ErrInvalid) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("ImportFramework error = %v; want %v saying %q", err, tt.kind, tt.says)
			}
			if after := storeState(t, pool); after != before {
				t.Errorf("the store changed: %v → %v", before, after)
			}
		})
	}
	// So does a slug srm cannot name a framework by.
	before := storeState(t, pool)
	if _, err := st.ImportFramework(storetest.Context(t), bytes.NewReader(file("small.json")), store.ImportOptions{Slug: "Small Catalog",
		Reading: reading(t, smallReading)}); !errors.Is(err, srm.ErrInvalid) || !strings.Contains(err.Error(), "lower-case letters") {
		t.Errorf("import with slug %q: %v, want it refused", "Small Catalog", err)
	}
	// A reading that leaves a control unread refuses the file too.
	_, err = st.ImportFramework(storetest.Context(t), bytes.NewReader(file("small.json")), store.ImportOptions{Slug: "bad",
		Reading: reading(t, "area network-controls network Network controls\nfamily XX network-controls\n")})
	var re *framework.ReadingError
	if !errors.As(err, &re) || re.Control != "YY-1" {
		t.Errorf("import with a reading missing YY: error %v, want a ReadingError naming YY-1", err)
	}
	if after := storeState(t, pool); after != before {
		t.Errorf("the store changed: %v → %v", before, after)
	}
	if got := len(assess(t, st, w)); got != own {
		t.Errorf("the workload has %d controls after refused imports, want %d", got, own)
	}
}

// party reads the stored assignment of one control of one workload.
func party(t *testing.T, pool *pgxpool.Pool, workloadID, controlID int64) srm.Party {
	t.Helper()
	var p string
	if err := pool.QueryRow(storetest.Context(t), `SELECT party FROM assignments WHERE workload_id = $1 AND control_id = $2`,
		workloadID, controlID).Scan(&p); err != nil {
		t.Fatalf("assignment of control %d, workload %d: %v", controlID, workloadID, err)
	}
	return srm.Party(p)
}

func TestFrameworkControlsPartyUnderEveryModelAndBaseline(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	fw := mustImportBuiltin(t, st, "nist-800-53-rev5-moderate")
	cat, err := st.Catalog(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	srmFW, _ := cat.FrameworkBySlug(srm.SRMFramework)
	// On-premises, IaaS, PaaS, SaaS.
	want := map[string]map[string][4]srm.Party{
		"azure-chart": {
			"PE-3":  {c, p, p, p}, // family PE: physical datacenter
			"SC-7":  {c, c, s, p}, // network controls
			"SC-28": {c, c, c, c}, // information and data
			"AC-2":  {c, c, c, c}, // accounts and identities
			"AC-3":  {c, c, s, s}, // family AC: identity and directory infrastructure
			"AT-2":  {c, c, c, c}, // governance, which srm fills
			"SA-11": {c, c, s, p}, // family SA: applications
		},
		"azure-2026": {
			"PE-3":  {c, p, p, p},
			"SC-7":  {c, c, s, p},
			"SC-28": {c, c, c, c},
			"AC-2":  {c, c, c, c},
			"AC-3":  {c, c, c, c}, // the 2026 table has no identity infrastructure row: srm fills it, the customer's
			"AT-2":  {c, c, c, c},
			"SA-11": {c, c, s, s}, // the 2026 table shares applications under SaaS
		},
	}
	for slug, controls := range want {
		b := baselineBySlug(t, st, slug)
		for mi, m := range srm.ServiceModels {
			w := srm.Workload{Name: slug + " " + string(m), Model: m, BaselineID: b.ID, Frameworks: []int64{fw.ID}}
			if err := st.CreateWorkload(storetest.Context(t), &w); err != nil {
				t.Fatal(err)
			}
			ws, err := st.WorkloadState(storetest.Context(t), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ws.Workload.Frameworks, []int64{fw.ID}) || len(ws.Controls()) != 287 {
				t.Fatalf("%s: frameworks %v and %d controls, want only Moderate's 287", w.Name, ws.Workload.Frameworks, len(ws.Controls()))
			}
			as, err := srm.Assess(b, m, ws.Controls(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for ref, parties := range controls {
				ctl := byRef(t, st, fw.ID, ref)
				if got := party(t, pool, w.ID, ctl.ID); got != parties[mi] {
					t.Errorf("%s × %s: %s is %s, want %s", slug, m, ref, got, parties[mi])
				}
				i := slices.IndexFunc(as, func(a srm.Assignment) bool { return a.Control.ID == ctl.ID })
				if as[i].Party != parties[mi] {
					t.Errorf("%s × %s: the engine says %s is %s, want %s", slug, m, ref, as[i].Party, parties[mi])
				}
				if ref == "AT-2" && !strings.Contains(as[i].AreaNote, "No provider chart has a row") {
					t.Errorf("%s: AT-2's area note %q does not say srm fills the row", slug, as[i].AreaNote)
				}
			}
			if slug == "azure-chart" && m == srm.PaaS {
				for ref, reason := range map[string]string{
					"SC-7":  "SC-7 Boundary Protection: srm reads SC-7 as Network controls: boundary devices are network controls, at the perimeter; Azure chart “Network controls” × PaaS says Shared.",
					"SC-10": "SC-10 Network Disconnect: srm reads family SC as Network controls; Azure chart “Network controls” × PaaS says Shared.",
				} {
					ctl := byRef(t, st, fw.ID, ref)
					i := slices.IndexFunc(as, func(a srm.Assignment) bool { return a.Control.ID == ctl.ID })
					if got := as[i].Reason(); got != reason {
						t.Errorf("%s: Reason() = %q\nwant %q", ref, got, reason)
					}
				}
				if ctl := byRef(t, st, fw.ID, "SC-7"); ctl.Layer != srm.Perimeter {
					t.Errorf("SC-7 sits in layer %s, want perimeter (network-controls@perimeter)", ctl.Layer)
				}
			}
		}
	}
	// A workload created without frameworks gets srm's own catalog only.
	plain := createWorkload(t, st, "Plain", srm.PaaS, baselineBySlug(t, st, "azure-chart").ID)
	if got := assess(t, st, plain); len(got) != srmFW.Controls || got[0].Control.FrameworkID != srmFW.ID {
		t.Errorf("a workload created without frameworks is assessed on %d controls, want srm's %d", len(got), srmFW.Controls)
	}
}

func mustFrameworks(t *testing.T, st *store.Store) []srm.Framework {
	t.Helper()
	fws, err := st.Frameworks(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	return fws
}

func TestANewerVersionKeepsTheStatusesOfControlsThatStay(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	opt := store.ImportOptions{Slug: "small", Reading: reading(t, smallReading)}
	res, err := importDoc(t, st, smallCatalog(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	fw := res.Framework
	if fw.Version != "2.0" || fw.Controls != 4 {
		t.Fatalf("imported %+v, want version 2.0 with 4 controls", fw)
	}
	chart := baselineBySlug(t, st, "azure-chart")
	var ws []srm.Workload
	for _, m := range []srm.ServiceModel{srm.PaaS, srm.IaaS} {
		w := createWorkload(t, st, "Held "+string(m), m, chart.ID)
		if err := st.AttachFramework(ctx, w.ID, fw.ID); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	xx1, xx11, yy1 := byRef(t, st, fw.ID, "XX-1"), byRef(t, st, fw.ID, "XX-1(1)"), byRef(t, st, fw.ID, "YY-1")
	for _, w := range ws {
		saveStatus(t, st, w.ID, xx1.ID, srm.Status{Complete: true, Note: "kept"})
		saveStatus(t, st, w.ID, xx11.ID, srm.Status{Complete: true, Note: "retitled"})
		saveStatus(t, st, w.ID, yy1.ID, srm.Status{Complete: true, Note: "removed in 3.0"})
	}
	agree(t, pool, st, "a framework attached, with statuses")

	// The dry run says what changes, and changes nothing.
	before := storeState(t, pool)
	opt.DryRun = true
	plan, err := importDoc(t, st, smallV3(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := framework.Changes{Added: []string{"ZZ-1"}, Removed: []string{"YY-1"}, Changed: []string{"XX-1(1)"}}
	if !slices.Equal(plan.Changes.Added, wantChanges.Added) || !slices.Equal(plan.Changes.Removed, wantChanges.Removed) ||
		!slices.Equal(plan.Changes.Changed, wantChanges.Changed) || plan.New || plan.Workloads != 2 {
		t.Errorf("dry run = %+v, %d workloads; want %+v for 2 workloads", plan.Changes, plan.Workloads, wantChanges)
	}
	if after := storeState(t, pool); after != before {
		t.Errorf("the dry run changed the store: %v → %v", before, after)
	}

	opt.DryRun = false
	res, err = importDoc(t, st, smallV3(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Framework.Version != "3.0" || res.Framework.Controls != 4 || !slices.Equal(res.Changes.Removed, []string{"YY-1"}) {
		t.Errorf("import of 3.0 = %+v, %+v", res.Framework, res.Changes)
	}
	agree(t, pool, st, "a newer version imported")
	if got := byRef(t, st, fw.ID, "XX-1(1)"); got.ID != xx11.ID || got.Title != "Automated Policy Checks" {
		t.Errorf("XX-1(1) after the update = %+v, want the same control retitled", got)
	}
	for _, w := range ws {
		sts := statusesOf(t, st, w.ID)
		if !sts[xx1.ID].Complete || sts[xx11.ID].Note != "retitled" {
			t.Errorf("%s: statuses of controls that stay = %+v, %+v; want them kept", w.Name, sts[xx1.ID], sts[xx11.ID])
		}
		// The removed control's status is kept, out of the progress.
		if sts[yy1.ID].Note != "removed in 3.0" {
			t.Errorf("%s: the status of removed YY-1 = %+v, want it kept in the history", w.Name, sts[yy1.ID])
		}
		for _, a := range assess(t, st, w) {
			if a.Control.ID == yy1.ID {
				t.Errorf("%s: removed YY-1 is still assessed", w.Name)
			}
		}
	}
	// A later version that has it again brings its status back.
	if _, err := importDoc(t, st, smallCatalog(t), opt); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "the older version imported again")
	if back := byRef(t, st, fw.ID, "YY-1"); back.ID != yy1.ID {
		t.Errorf("YY-1 came back as control %d, want %d", back.ID, yy1.ID)
	}
	for _, a := range assess(t, st, ws[0]) {
		if a.Control.ID == yy1.ID && (!a.Status.Complete || a.Status.Note != "removed in 3.0") {
			t.Errorf("YY-1's status back = %+v, want the one kept", a.Status)
		}
	}
}

func TestDetachingAFrameworkKeepsItsStatusesForLater(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	res, err := importDoc(t, st, smallCatalog(t), store.ImportOptions{Slug: "small", Reading: reading(t, smallReading)})
	if err != nil {
		t.Fatal(err)
	}
	fw := res.Framework
	w := createWorkload(t, st, "Held", srm.PaaS, baselineBySlug(t, st, "azure-chart").ID)
	srmOnly := summaries(t, st)[w.ID].Progress
	if err := st.AttachFramework(ctx, w.ID, fw.ID); err != nil {
		t.Fatal(err)
	}
	xx1 := byRef(t, st, fw.ID, "XX-1")
	saveStatus(t, st, w.ID, xx1.ID, srm.Status{Complete: true, Note: "done once"})
	with := summaries(t, st)[w.ID].Progress
	if with.Total != srmOnly.Total+4 || with.Done != srmOnly.Done+1 {
		t.Errorf("with the framework: %+v, want %+v plus 4 controls, 1 done", with, srmOnly)
	}

	if err := st.DetachFramework(ctx, w.ID, fw.ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a framework detached")
	if got := summaries(t, st)[w.ID].Progress; got != srmOnly {
		t.Errorf("after detaching: %+v, want %+v", got, srmOnly)
	}
	if got := statusesOf(t, st, w.ID)[xx1.ID]; got.Note != "done once" || !got.Complete {
		t.Errorf("XX-1's status after detaching = %+v, want it kept", got)
	}

	if err := st.AttachFramework(ctx, w.ID, fw.ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a framework attached again")
	if got := summaries(t, st)[w.ID].Progress; got != with {
		t.Errorf("after attaching again: %+v, want %+v as before", got, with)
	}

	// The last framework stays.
	srmID := mustFrameworks(t, st)[0].ID
	if err := st.DetachFramework(ctx, w.ID, srmID); err != nil {
		t.Fatal(err)
	}
	if err := st.DetachFramework(ctx, w.ID, fw.ID); !errors.Is(err, store.ErrLastFramework) {
		t.Errorf("detaching the last framework: %v, want ErrLastFramework", err)
	}
	agree(t, pool, st, "srm's catalog detached")
	var events []string
	rows, _ := pool.Query(ctx, `SELECT action FROM audit WHERE action LIKE 'framework.%' AND workload_id = $1 ORDER BY id`, w.ID)
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		events = append(events, a)
	}
	if want := []string{"framework.attached", "framework.detached", "framework.attached", "framework.detached"}; !slices.Equal(events, want) {
		t.Errorf("audit events %v, want %v", events, want)
	}
	if err := st.AttachFramework(ctx, w.ID, 9999); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("attaching an unknown framework: %v, want ErrNotFound", err)
	}
}

func TestAnAdminReadsAControlDifferentlyWithAReason(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	fw := mustImportBuiltin(t, st, "nist-800-53-rev5-low")
	w := srm.Workload{Name: "App", Model: srm.PaaS, BaselineID: baselineBySlug(t, st, "azure-chart").ID, Frameworks: []int64{fw.ID}}
	if err := st.CreateWorkload(ctx, &w); err != nil {
		t.Fatal(err)
	}
	sc7 := byRef(t, st, fw.ID, "SC-7")
	if party(t, pool, w.ID, sc7.ID) != srm.Shared {
		t.Fatalf("SC-7 under PaaS is not shared to begin with")
	}
	before := storeState(t, pool)
	for _, bad := range []struct {
		area   srm.Area
		layer  srm.Layer
		reason string
		kind   error
	}{
		{"information-and-data", srm.Data, "  ", srm.ErrInvalid},
		{"information-and-data", "moat", "we hold the keys", srm.ErrInvalid},
		{"no-such-area", srm.Data, "we hold the keys", srm.ErrNotFound},
	} {
		if err := st.SetReading(ctx, sc7.ID, bad.area, bad.layer, bad.reason); !errors.Is(err, bad.kind) {
			t.Errorf("SetReading(%s, %s, %q) = %v, want %v", bad.area, bad.layer, bad.reason, err, bad.kind)
		}
	}
	if err := st.SetReading(ctx, catalogOf(t, st)[0].ID, "information-and-data", srm.Data, "srm's own"); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("SetReading of one of srm's own controls = %v, want ErrNotFound", err)
	}
	if after := storeState(t, pool); after != before {
		t.Errorf("refused readings changed the store: %v → %v", before, after)
	}

	actx := store.WithActor(ctx, store.Actor{UserID: 0, Name: "ada@example.com"})
	if err := st.SetReading(actx, sc7.ID, "information-and-data", srm.Data, "our boundary is the data's encryption"); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a control read differently")
	if got := party(t, pool, w.ID, sc7.ID); got != srm.Customer {
		t.Errorf("SC-7 read as information and data under PaaS: %s, want customer", got)
	}
	got := byRef(t, st, fw.ID, "SC-7")
	if !got.ReadDifferently() || got.Area != "information-and-data" || got.Layer != srm.Data || got.DefaultArea != "network-controls" {
		t.Errorf("SC-7 after SetReading = %+v", got)
	}
	as := assess(t, st, w)
	i := slices.IndexFunc(as, func(a srm.Assignment) bool { return a.Control.ID == sc7.ID })
	if r := as[i].Reason(); !strings.Contains(r, "read as “Information and data” by an admin: our boundary is the data's encryption") ||
		!strings.Contains(r, "srm's default: srm reads SC-7 as Network controls") {
		t.Errorf("Reason() = %q: it should say the admin's reading, why, and srm's default", r)
	}
	var actor, after string
	if err := pool.QueryRow(ctx, `SELECT actor, after->>'reading_reason' FROM audit
		WHERE action = 'control.updated' AND object_id = $1 ORDER BY id DESC LIMIT 1`, strconv.FormatInt(sc7.ID, 10)).Scan(&actor, &after); err != nil {
		t.Fatal(err)
	}
	if actor != "ada@example.com" || after != "our boundary is the data's encryption" {
		t.Errorf("audit row of the reading: actor %q, reason %q", actor, after)
	}

	// Importing the framework again keeps the admin's reading.
	if _, err := st.ImportBuiltin(ctx, "nist-800-53-rev5-low", false); err != nil {
		t.Fatal(err)
	}
	if got := byRef(t, st, fw.ID, "SC-7"); got.Area != "information-and-data" || !got.ReadDifferently() {
		t.Errorf("SC-7 after a new import = %+v, want the admin's reading kept", got)
	}

	if err := st.ResetReading(ctx, sc7.ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a control's reading reset")
	if got := party(t, pool, w.ID, sc7.ID); got != srm.Shared {
		t.Errorf("SC-7 back to srm's reading: %s, want shared", got)
	}
}

func TestMigrateDownWithAFrameworkImported(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	fw := mustImportBuiltin(t, st, "nist-800-53-rev5-low")
	w := srm.Workload{Name: "Held", Model: srm.IaaS, BaselineID: baselineBySlug(t, st, "azure-2026").ID, Frameworks: []int64{fw.ID}}
	if err := st.CreateWorkload(ctx, &w); err != nil {
		t.Fatal(err)
	}
	ac2 := byRef(t, st, fw.ID, "AC-2")
	saveStatus(t, st, w.ID, ac2.ID, srm.Status{Complete: true})
	if err := st.SetReading(ctx, ac2.ID, "governance", srm.Identity, "accounts are an HR process here"); err != nil {
		t.Fatal(err)
	}
	if err := store.MigrateDown(pool); err != nil {
		t.Fatalf("MigrateDown() with a framework imported: %v", err)
	}
	if err := store.Migrate(pool); err != nil {
		t.Fatalf("Migrate() after MigrateDown: %v", err)
	}
	st = store.New(pool)
	if fws := mustFrameworks(t, st); len(fws) != 1 || fws[0].Slug != srm.SRMFramework || fws[0].Controls != len(catalogOf(t, st)) {
		t.Errorf("frameworks after the round trip = %+v, want srm's own only", fws)
	}
	if _, ok := baselineBySlug(t, st, "azure-chart").Row("governance"); ok {
		t.Errorf("the governance row the import filled is still there after the round trip")
	}
}

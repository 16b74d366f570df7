package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// ---------------------------------------------------------------------------
// Helpers

var (
	leakOnce sync.Once
	leakErr  error
)

// checkMigrateReleasesConnections migrates a scratch database and reports
// an error when store.Migrate or store.MigrateDown keeps a connection of the
// pool acquired. storetest closes the template's pool after migrating it,
// and pgxpool.Pool.Close waits for every acquired connection, so such a leak
// would hang every database test instead of failing one.
func checkMigrateReleasesConnections() error {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		return nil // storetest skips or fails the test itself
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(base)
	if err != nil {
		return fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	admin, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer admin.Close()
	name := pgx.Identifier{fmt.Sprintf("srm_leakcheck_%d", os.Getpid())}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	// WITH (FORCE) ends a leaked session, so the database goes either way.
	defer admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	cfg = cfg.Copy()
	cfg.ConnConfig.Database = strings.Trim(name, `"`)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(*pgxpool.Pool) error
	}{{"Migrate", store.Migrate}, {"MigrateDown", store.MigrateDown}, {"Migrate", store.Migrate}}
	for _, step := range steps {
		if err := step.fn(pool); err != nil {
			return fmt.Errorf("store.%s: %w", step.name, err)
		}
		if n := pool.Stat().AcquiredConns(); n != 0 {
			// Not closing pool on purpose: Close would block forever.
			return fmt.Errorf("store.%s(pool) returned with %d pool connection(s) still acquired: "+
				"the *migrate.Migrate it builds is never closed, so golang-migrate's pgx5 driver keeps its "+
				"*sql.Conn (taken from stdlib.OpenDBFromPool(pool)) forever, and pgxpool.Pool.Close — "+
				"storetest's setup, and the app at shutdown — blocks forever; fix in store/store.go: "+
				"close m (m.Close()) before Migrate and MigrateDown return", step.name, n)
		}
	}
	pool.Close()
	return nil
}

// open returns a store on a fresh, migrated database of its own.
func open(t *testing.T) *store.Store {
	t.Helper()
	return store.New(openPool(t))
}

// openPool returns a pool on a fresh, migrated database of its own.
func openPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	leakOnce.Do(func() { leakErr = checkMigrateReleasesConnections() })
	if leakErr != nil {
		t.Fatal("blocked: store.Migrate leaks a pool connection, so storetest would hang; see TestMigrateReleasesItsConnections")
	}
	return storetest.Pool(t)
}

func baselineBySlug(t *testing.T, st *store.Store, slug string) srm.Baseline {
	t.Helper()
	bs, err := st.Baselines(storetest.Context(t))
	if err != nil {
		t.Fatalf("Baselines() error: %v", err)
	}
	for _, b := range bs {
		if b.Slug == slug {
			return b
		}
	}
	t.Fatalf("no baseline %q", slug)
	return srm.Baseline{}
}

func catalogOf(t *testing.T, st *store.Store) []srm.Control {
	t.Helper()
	cs, err := st.Controls(storetest.Context(t))
	if err != nil {
		t.Fatalf("Controls() error: %v", err)
	}
	return cs
}

func titled(t *testing.T, cs []srm.Control, title string) srm.Control {
	t.Helper()
	for _, c := range cs {
		if c.Title == title {
			return c
		}
	}
	t.Fatalf("no control titled %q", title)
	return srm.Control{}
}

func createWorkload(t *testing.T, st *store.Store, name string, m srm.ServiceModel, baselineID int64) srm.Workload {
	t.Helper()
	w := srm.Workload{Name: name, Description: "test workload", Model: m, BaselineID: baselineID}
	if err := st.CreateWorkload(storetest.Context(t), &w); err != nil {
		t.Fatalf("CreateWorkload(%q) error: %v", name, err)
	}
	return w
}

func saveStatus(t *testing.T, st *store.Store, workloadID, controlID int64, s srm.Status) {
	t.Helper()
	if err := st.SaveStatus(storetest.Context(t), workloadID, controlID, s); err != nil {
		t.Fatalf("SaveStatus(%d, %d) error: %v", workloadID, controlID, err)
	}
}

func statusesOf(t *testing.T, st *store.Store, workloadID int64) map[int64]srm.Status {
	t.Helper()
	ws, err := st.WorkloadState(storetest.Context(t), workloadID)
	if errors.Is(err, srm.ErrNotFound) {
		return map[int64]srm.Status{} // an unknown workload has none
	}
	if err != nil {
		t.Fatalf("WorkloadState(%d) error: %v", workloadID, err)
	}
	return ws.Statuses
}

// storedBaseline is the baseline with the given id as the catalog holds
// it, or an error wrapping srm.ErrNotFound.
func storedBaseline(st *store.Store, ctx context.Context, id int64) (srm.Baseline, error) {
	cat, err := st.Catalog(ctx)
	if err != nil {
		return srm.Baseline{}, err
	}
	if b, ok := cat.Baseline(id); ok {
		return b, nil
	}
	return srm.Baseline{}, fmt.Errorf("baseline %d: %w", id, srm.ErrNotFound)
}

// storedControl is the control with the given id as the catalog holds it,
// or an error wrapping srm.ErrNotFound.
func storedControl(st *store.Store, ctx context.Context, id int64) (srm.Control, error) {
	cat, err := st.Catalog(ctx)
	if err != nil {
		return srm.Control{}, err
	}
	if c, ok := cat.Control(id); ok {
		return c, nil
	}
	return srm.Control{}, fmt.Errorf("control %d: %w", id, srm.ErrNotFound)
}

func overridesOf(t *testing.T, st *store.Store, workloadID int64) map[int64]srm.Override {
	t.Helper()
	m, err := st.Overrides(storetest.Context(t), workloadID)
	if err != nil {
		t.Fatalf("Overrides(%d) error: %v", workloadID, err)
	}
	return m
}

// summaries returns every workload's summary from store.Workloads, by id.
func summaries(t *testing.T, st *store.Store) map[int64]srm.WorkloadSummary {
	t.Helper()
	page, err := st.Workloads(storetest.Context(t), store.WorkloadQuery{PerPage: 1000})
	if err != nil {
		t.Fatalf("Workloads() error: %v", err)
	}
	out := make(map[int64]srm.WorkloadSummary, len(page.Items))
	for _, s := range page.Items {
		out[s.ID] = s
	}
	return out
}

// assess runs the Go engine on what the store holds for w.
func assess(t *testing.T, st *store.Store, w srm.Workload) []srm.Assignment {
	t.Helper()
	b, err := storedBaseline(st, storetest.Context(t), w.BaselineID)
	if err != nil {
		t.Fatalf("Baseline(%d) error: %v", w.BaselineID, err)
	}
	ws, err := st.WorkloadState(t.Context(), w.ID)
	if err != nil {
		t.Fatalf("WorkloadState(%d) error: %v", w.ID, err)
	}
	as, err := srm.Assess(b, w.Model, ws.Controls(), overridesOf(t, st, w.ID), statusesOf(t, st, w.ID))
	if err != nil {
		t.Fatalf("Assess(%s, %s) error: %v", b.Slug, w.Model, err)
	}
	return as
}

func names(items []srm.WorkloadSummary) []string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = s.Name
	}
	return out
}

// ---------------------------------------------------------------------------
// The charts of DOMAIN.md

const (
	c = srm.Customer
	s = srm.Shared
	p = srm.Provider
)

type chartRow struct {
	area     srm.Area
	label    string
	inSource bool
	cells    [4]srm.Party // on-premises, IaaS, PaaS, SaaS
}

var wantBaselines = []struct {
	slug, name string
	rows       []chartRow // in the source's order
}{
	{"azure-chart", "Azure chart", []chartRow{
		{"information-and-data", "Information and data", true, [4]srm.Party{c, c, c, c}},
		{"devices", "Devices (mobile and PCs)", true, [4]srm.Party{c, c, c, c}},
		{"accounts-and-identities", "Accounts and identities", true, [4]srm.Party{c, c, c, c}},
		{"identity-and-directory", "Identity and directory infrastructure", true, [4]srm.Party{c, c, s, s}},
		{"applications", "Applications", true, [4]srm.Party{c, c, s, p}},
		{"network-controls", "Network controls", true, [4]srm.Party{c, c, s, p}},
		{"operating-system", "Operating system", true, [4]srm.Party{c, c, p, p}},
		{"physical-hosts", "Physical hosts", true, [4]srm.Party{c, p, p, p}},
		{"physical-network", "Physical network", true, [4]srm.Party{c, p, p, p}},
		{"physical-datacenter", "Physical datacenter", true, [4]srm.Party{c, p, p, p}},
		{"configurations-and-settings", "Configurations and settings", false, [4]srm.Party{c, c, c, c}},
	}},
	{"azure-2026", "Azure 2026 table", []chartRow{
		{"information-and-data", "Customer data", true, [4]srm.Party{c, c, c, c}},
		{"configurations-and-settings", "Configurations and settings", true, [4]srm.Party{c, c, c, c}},
		{"accounts-and-identities", "Identities and users", true, [4]srm.Party{c, c, c, c}},
		{"devices", "Client devices", true, [4]srm.Party{c, c, c, s}},
		{"applications", "Applications", true, [4]srm.Party{c, c, s, s}},
		{"network-controls", "Network controls", true, [4]srm.Party{c, c, s, p}},
		{"operating-system", "Operating system", true, [4]srm.Party{c, c, p, p}},
		{"physical-hosts", "Physical hosts", true, [4]srm.Party{c, p, p, p}},
		{"physical-network", "Physical network", true, [4]srm.Party{c, p, p, p}},
		{"physical-datacenter", "Physical datacenter", true, [4]srm.Party{c, p, p, p}},
		{"identity-and-directory", "Identity and directory infrastructure", false, [4]srm.Party{c, c, c, c}},
	}},
}

// domainCatalog is DOMAIN.md's 24 starter controls, titled as migration
// 000002 words them.
var domainCatalog = []struct {
	layer srm.Layer
	title string
	area  srm.Area
}{
	{srm.Physical, "Physical security of buildings and datacenters", "physical-datacenter"},
	{srm.Physical, "Protection of physical hosts", "physical-hosts"},
	{srm.Physical, "Protection of the physical network", "physical-network"},
	{srm.Identity, "Access to infrastructure and change control", "identity-and-directory"},
	{srm.Identity, "Single sign-on and multi-factor authentication", "accounts-and-identities"},
	{srm.Identity, "Audit of events and changes", "identity-and-directory"},
	{srm.Perimeter, "DDoS protection", "network-controls"},
	{srm.Perimeter, "Perimeter firewall with detection and alerts", "network-controls"},
	{srm.Network, "Limit communication between resources", "network-controls"},
	{srm.Network, "Deny by default", "network-controls"},
	{srm.Network, "Restrict inbound internet access, limit outbound", "network-controls"},
	{srm.Network, "Secure connectivity to on-premises networks", "network-controls"},
	{srm.Compute, "Secure access to virtual machines", "operating-system"},
	{srm.Compute, "Endpoint protection", "operating-system"},
	{srm.Compute, "Patching of systems", "operating-system"},
	{srm.Compute, "Security of the devices used to reach the workload", "devices"},
	{srm.Application, "Applications free of known vulnerabilities", "applications"},
	{srm.Application, "Secrets kept in a secure store", "applications"},
	{srm.Application, "Security as a design requirement", "applications"},
	{srm.Data, "Data in databases", "information-and-data"},
	{srm.Data, "Data on virtual machine disks", "information-and-data"},
	{srm.Data, "Data in SaaS applications", "information-and-data"},
	{srm.Data, "Data in cloud storage", "information-and-data"},
	{srm.Data, "Regulatory confidentiality, integrity and availability", "information-and-data"},
}

// ---------------------------------------------------------------------------
// Migrations, baselines and the catalog

func TestMigrateReleasesItsConnections(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		storetest.Pool(t) // skips, or fails under SRM_REQUIRE_DB
	}
	leakOnce.Do(func() { leakErr = checkMigrateReleasesConnections() })
	if leakErr != nil {
		t.Fatal(leakErr)
	}
}

func TestMigratedBaselinesMatchTheCharts(t *testing.T) {
	t.Parallel()
	st := open(t)
	bs, err := st.Baselines(storetest.Context(t))
	if err != nil {
		t.Fatalf("Baselines() error: %v", err)
	}
	if len(bs) != len(wantBaselines) {
		t.Fatalf("Baselines() returned %d baselines, want %d", len(bs), len(wantBaselines))
	}
	for i, want := range wantBaselines {
		b := bs[i]
		if b.Slug != want.slug || b.Name != want.name {
			t.Errorf("baseline %d = %s %q, want %s %q", i, b.Slug, b.Name, want.slug, want.name)
			continue
		}
		if b.ID <= 0 || b.Source == "" || !strings.HasPrefix(b.SourceURL, "https://learn.microsoft.com/") || b.AsOf == "" || b.Description == "" {
			t.Errorf("%s: ID %d, Source %q, SourceURL %q, AsOf %q, Description %q: want all set",
				b.Slug, b.ID, b.Source, b.SourceURL, b.AsOf, b.Description)
		}
		if _, err := srm.Matrix(b, catalogOf(t, st)); err != nil {
			t.Errorf("Matrix(%s) = %v, want every cell read", b.Slug, err)
		}
		if len(b.Rows) != len(want.rows) {
			t.Fatalf("%s has %d rows, want %d", b.Slug, len(b.Rows), len(want.rows))
		}
		for j, wr := range want.rows {
			r := b.Rows[j]
			if r.Area != wr.area {
				t.Errorf("%s row %d: area %q, want %q (rows in the source's order)", b.Slug, j, r.Area, wr.area)
				continue
			}
			if r.Label != wr.label {
				t.Errorf("%s/%s: label %q, want %q", b.Slug, r.Area, r.Label, wr.label)
			}
			if r.InSource != wr.inSource {
				t.Errorf("%s/%s: InSource = %v, want %v", b.Slug, r.Area, r.InSource, wr.inSource)
			}
			if !r.InSource && r.Note == "" {
				t.Errorf("%s/%s: row filled by srm has no note saying so", b.Slug, r.Area)
			}
			for k, m := range srm.ServiceModels {
				t.Run(fmt.Sprintf("%s/%s/%s", b.Slug, m.Label(), wr.label), func(t *testing.T) {
					if got := r.Cells[m]; got != wr.cells[k] {
						t.Errorf("cell = %q, want %q", got, wr.cells[k])
					}
				})
			}
		}
		again, err := storedBaseline(st, storetest.Context(t), b.ID)
		if err != nil || again.Slug != b.Slug || len(again.Rows) != len(b.Rows) {
			t.Errorf("Baseline(%d) = %s with %d rows, %v; want %s", b.ID, again.Slug, len(again.Rows), err, b.Slug)
		}
	}
	if _, err := storedBaseline(st, storetest.Context(t), 987654); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("Baseline(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestBuiltinCatalogCoversEveryLayerAndArea(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	cs := catalogOf(t, st)
	areas, err := st.Areas(ctx)
	if err != nil {
		t.Fatalf("Areas() error: %v", err)
	}
	if len(areas) != 11 {
		t.Errorf("Areas() has %d areas, want 11", len(areas))
	}
	for _, a := range areas {
		if a.Name == "" {
			t.Errorf("area %q has no name", a.Slug)
		}
	}

	byLayer := map[srm.Layer]int{}
	byArea := map[srm.Area]int{}
	last := -1
	for _, ctl := range cs {
		byLayer[ctl.Layer]++
		byArea[ctl.Area]++
		if !ctl.Builtin {
			t.Errorf("%q: Builtin = false in a fresh catalog", ctl.Title)
		}
		if ctl.Description == "" || ctl.CustomerPart == "" || ctl.ProviderPart == "" {
			t.Errorf("%q: description, customer part and provider part must all be set", ctl.Title)
		}
		if p := ctl.Validate(areas); len(p) != 0 {
			t.Errorf("%q.Validate() = %v, want no problems", ctl.Title, p)
		}
		if i := ctl.Layer.Index(); i < last {
			t.Errorf("Controls() not ordered by layer: %q (%s) after a %s control", ctl.Title, ctl.Layer, srm.Layers[last])
		} else {
			last = i
		}
	}
	for _, l := range srm.Layers {
		if byLayer[l] == 0 {
			t.Errorf("layer %s has no control", l)
		}
	}
	for _, a := range areas {
		if byArea[a.Slug] == 0 {
			t.Errorf("area %s is used by no control", a.Slug)
		}
	}
	for _, want := range domainCatalog {
		found := false
		for _, ctl := range cs {
			if ctl.Title == want.title {
				found = true
				if ctl.Layer != want.layer || ctl.Area != want.area {
					t.Errorf("%q: layer %s, area %s; want %s, %s", want.title, ctl.Layer, ctl.Area, want.layer, want.area)
				}
			}
		}
		if !found {
			t.Errorf("DOMAIN.md starter control %q is missing", want.title)
		}
	}
	if len(cs) < len(domainCatalog) {
		t.Errorf("catalog has %d controls, want at least %d", len(cs), len(domainCatalog))
	}
	patch := titled(t, cs, "Patching of systems")
	if got, err := storedControl(st, ctx, patch.ID); err != nil || got != patch {
		t.Errorf("Control(%d) = %+v, %v; want %+v", patch.ID, got, err, patch)
	}
	if _, err := storedControl(st, ctx, 987654); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("Control(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestMigrateDownThenUpRestoresTheCatalog(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	ctx := storetest.Context(t)
	if err := store.MigrateDown(pool); err != nil {
		t.Fatalf("MigrateDown() error: %v", err)
	}
	var table *string
	if err := pool.QueryRow(ctx, `SELECT to_regclass('controls')::text`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	if table != nil {
		t.Fatalf("after MigrateDown the table %s still exists", *table)
	}
	if err := store.Migrate(pool); err != nil {
		t.Fatalf("Migrate() after MigrateDown error: %v", err)
	}
	if err := store.Migrate(pool); err != nil {
		t.Fatalf("Migrate() when current error: %v, want nil", err)
	}
	st := store.New(pool)
	cs := catalogOf(t, st)
	if len(cs) != 25 {
		t.Errorf("catalog after the round trip has %d controls, want 25", len(cs))
	}
	titled(t, cs, "Patching of systems")
	bs, err := st.Baselines(ctx)
	if err != nil || len(bs) != 2 {
		t.Fatalf("Baselines() after the round trip = %d baselines, %v; want 2", len(bs), err)
	}
	w := createWorkload(t, st, "After the round trip", srm.PaaS, bs[0].ID)
	if sum := summaries(t, st)[w.ID]; sum.Progress.Total != 19 {
		t.Errorf("PaaS workload after the round trip counts %d controls, want 19", sum.Progress.Total)
	}
}

// ---------------------------------------------------------------------------
// Workloads

func TestWorkloadCreateReadUpdateDelete(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	t26 := baselineBySlug(t, st, "azure-2026")

	w := srm.Workload{Name: "Truck telemetry ingestion", Description: "Event hub", Model: srm.PaaS, BaselineID: chart.ID}
	if err := st.CreateWorkload(ctx, &w); err != nil {
		t.Fatalf("CreateWorkload() error: %v", err)
	}
	if w.ID <= 0 || w.Version != 1 || w.CreatedAt.IsZero() || w.UpdatedAt.IsZero() {
		t.Fatalf("created workload = %+v, want ID, Version 1 and times set", w)
	}
	got, err := st.Workload(ctx, w.ID)
	if err != nil {
		t.Fatalf("Workload(%d) error: %v", w.ID, err)
	}
	if got.Name != w.Name || got.Description != "Event hub" || got.Model != srm.PaaS || got.BaselineID != chart.ID ||
		got.Version != 1 || !got.CreatedAt.Equal(w.CreatedAt) {
		t.Errorf("Workload(%d) = %+v, want %+v", w.ID, got, w)
	}

	got.Name, got.Description, got.Model, got.BaselineID = "Telemetry (VMs)", "", srm.IaaS, t26.ID
	if _, err := st.UpdateWorkload(ctx, got); err != nil {
		t.Fatalf("UpdateWorkload() error: %v", err)
	}
	upd, err := st.Workload(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Name != "Telemetry (VMs)" || upd.Description != "" || upd.Model != srm.IaaS || upd.BaselineID != t26.ID || upd.Version != 2 {
		t.Errorf("after UpdateWorkload = %+v, want new name, IaaS, 2026 baseline, Version 2", upd)
	}
	if upd.UpdatedAt.Before(upd.CreatedAt) {
		t.Errorf("UpdatedAt %v before CreatedAt %v", upd.UpdatedAt, upd.CreatedAt)
	}

	if err := st.DeleteWorkload(ctx, w.ID); err != nil {
		t.Fatalf("DeleteWorkload() error: %v", err)
	}
	if _, err := st.Workload(ctx, w.ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("Workload(deleted) error = %v, want ErrNotFound", err)
	}
	if err := st.DeleteWorkload(ctx, w.ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("DeleteWorkload(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := st.UpdateWorkload(ctx, upd); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("UpdateWorkload(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := st.Workload(ctx, 987654); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("Workload(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestCreateWorkloadRefusesBadInput(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	tests := []struct {
		name string
		w    srm.Workload
		want error
	}{
		{"unknown baseline", srm.Workload{Name: "a", Model: srm.PaaS, BaselineID: 987654}, srm.ErrNotFound},
		{"unknown model", srm.Workload{Name: "b", Model: "cloud", BaselineID: chart.ID}, srm.ErrInvalid},
		{"NUL in name", srm.Workload{Name: "c\x00d", Model: srm.PaaS, BaselineID: chart.ID}, srm.ErrInvalid},
		{"invalid UTF-8 in description", srm.Workload{Name: "e", Description: "caf\xe9", Model: srm.PaaS, BaselineID: chart.ID}, srm.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.w
			if err := st.CreateWorkload(ctx, &w); !errors.Is(err, tt.want) {
				t.Errorf("CreateWorkload() error = %v, want %v", err, tt.want)
			}
		})
	}
	if page, err := st.Workloads(ctx, store.WorkloadQuery{}); err != nil || page.Total != 0 {
		t.Errorf("after refused creates: Total %d, %v; want 0, nil", page.Total, err)
	}
}

func TestWorkloadNameConflictIgnoresCase(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	first := createWorkload(t, st, "Fleet Telemetry", srm.PaaS, chart.ID)

	dup := srm.Workload{Name: "fleet TELEMETRY", Model: srm.SaaS, BaselineID: chart.ID}
	if err := st.CreateWorkload(ctx, &dup); !errors.Is(err, srm.ErrConflict) {
		t.Fatalf("CreateWorkload(duplicate name) error = %v, want ErrConflict", err)
	}
	// The store still works after the conflict.
	other := createWorkload(t, st, "Office suite", srm.SaaS, chart.ID)
	other.Name = "FLEET telemetry"
	if _, err := st.UpdateWorkload(ctx, other); !errors.Is(err, srm.ErrConflict) || errors.Is(err, srm.ErrStale) {
		t.Errorf("UpdateWorkload(to a taken name) error = %v, want ErrConflict (a taken name, not a stale version)", err)
	}
	got, err := st.Workload(ctx, first.ID)
	if err != nil || got.Name != "Fleet Telemetry" {
		t.Errorf("Workload(first) after conflicts = %q, %v; want %q", got.Name, err, "Fleet Telemetry")
	}
	page, err := st.Workloads(ctx, store.WorkloadQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Fleet Telemetry", "Office suite"}; !slices.Equal(names(page.Items), want) {
		t.Errorf("Workloads() after conflicts = %v, want %v", names(page.Items), want)
	}
}

func TestWorkloadListPagesFiltersAndSortsByName(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	// Created in an order that is not the sorted one; names mix case.
	var want []string
	for i := 54; i >= 0; i-- {
		name := fmt.Sprintf("workload %02d", i)
		if i%2 == 0 {
			name = fmt.Sprintf("Workload %02d", i)
		}
		createWorkload(t, st, name, srm.ServiceModels[i%4], chart.ID)
		want = append(want, name)
	}
	slices.Reverse(want) // 00 … 54

	p1, err := st.Workloads(ctx, store.WorkloadQuery{Sort: store.ByName, Page: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Total != 55 || len(p1.Items) != 50 {
		t.Fatalf("page 1: %d items, Total %d; want 50, 55", len(p1.Items), p1.Total)
	}
	p2, err := st.Workloads(ctx, store.WorkloadQuery{Sort: store.ByName, Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Total != 55 || len(p2.Items) != 5 {
		t.Fatalf("page 2: %d items, Total %d; want 5, 55", len(p2.Items), p2.Total)
	}
	if got := append(names(p1.Items), names(p2.Items)...); !slices.Equal(got, want) {
		t.Errorf("pages 1+2 by name =\n%v\nwant\n%v", got, want)
	}
	p3, err := st.Workloads(ctx, store.WorkloadQuery{Page: 3})
	if err != nil {
		t.Fatal(err)
	}
	if p3.Total != 55 || len(p3.Items) != 0 {
		t.Errorf("page 3: %d items, Total %d; want 0, 55", len(p3.Items), p3.Total)
	}
	small, err := st.Workloads(ctx, store.WorkloadQuery{Page: 4, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if small.Total != 55 || !slices.Equal(names(small.Items), want[30:40]) {
		t.Errorf("page 4 of 10 = %v (Total %d), want %v (Total 55)", names(small.Items), small.Total, want[30:40])
	}

	paas, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.PaaS})
	if err != nil {
		t.Fatal(err)
	}
	var wantPaaS []string
	for i, n := range want {
		if srm.ServiceModels[i%4] == srm.PaaS {
			wantPaaS = append(wantPaaS, n)
		}
	}
	if paas.Total != 14 || !slices.Equal(names(paas.Items), wantPaaS) {
		t.Errorf("PaaS filter = %v (Total %d), want %v (Total 14)", names(paas.Items), paas.Total, wantPaaS)
	}
	for _, it := range paas.Items {
		if it.Model != srm.PaaS || it.BaselineName != "Azure chart" || it.Progress != (srm.Progress{Total: 19}) {
			t.Errorf("%s: model %s, baseline %q, progress %+v; want PaaS, Azure chart, 0/19", it.Name, it.Model, it.BaselineName, it.Progress)
		}
	}
	pastEnd, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.SaaS, Page: 2})
	if err != nil || pastEnd.Total != 13 || len(pastEnd.Items) != 0 {
		t.Errorf("SaaS page 2 = %d items, Total %d, %v; want 0, 13, nil", len(pastEnd.Items), pastEnd.Total, err)
	}
}

func TestWorkloadListSortsByProgressBothWays(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	cs := catalogOf(t, st)

	alpha := createWorkload(t, st, "Alpha", srm.PaaS, chart.ID)     // 0/19
	bravo := createWorkload(t, st, "bravo", srm.PaaS, chart.ID)     // 2/19
	charlie := createWorkload(t, st, "Charlie", srm.PaaS, chart.ID) // 19/19
	delta := createWorkload(t, st, "Delta", srm.SaaS, chart.ID)     // 2/10
	createWorkload(t, st, "foxtrot", srm.PaaS, chart.ID)            // 0/19
	_ = alpha

	done := srm.Status{Complete: true}
	saveStatus(t, st, bravo.ID, titled(t, cs, "Data in databases").ID, done)
	saveStatus(t, st, bravo.ID, titled(t, cs, "Deny by default").ID, done)
	saveStatus(t, st, bravo.ID, titled(t, cs, "Patching of systems").ID, done) // provider under PaaS: not counted
	for _, a := range assess(t, st, charlie) {
		if a.Counted() {
			saveStatus(t, st, charlie.ID, a.Control.ID, done)
		}
	}
	saveStatus(t, st, delta.ID, titled(t, cs, "Data in databases").ID, done)
	saveStatus(t, st, delta.ID, titled(t, cs, "Single sign-on and multi-factor authentication").ID, done)

	sum := summaries(t, st)
	for id, want := range map[int64]srm.Progress{bravo.ID: {Done: 2, Total: 19}, charlie.ID: {Done: 19, Total: 19}, delta.ID: {Done: 2, Total: 10}} {
		if got := sum[id].Progress; got != want {
			t.Errorf("%s progress = %+v, want %+v", sum[id].Name, got, want)
		}
	}

	tests := []struct {
		q    store.WorkloadQuery
		want []string
	}{
		{store.WorkloadQuery{Sort: store.ByProgress}, []string{"Alpha", "foxtrot", "bravo", "Delta", "Charlie"}},
		{store.WorkloadQuery{Sort: store.ByProgressDesc}, []string{"Charlie", "Delta", "bravo", "Alpha", "foxtrot"}},
		{store.WorkloadQuery{Sort: store.ByName}, []string{"Alpha", "bravo", "Charlie", "Delta", "foxtrot"}},
		{store.WorkloadQuery{Sort: store.ByProgressDesc, Model: srm.PaaS}, []string{"Charlie", "bravo", "Alpha", "foxtrot"}},
		{store.WorkloadQuery{Sort: store.ByProgress, PerPage: 2, Page: 2}, []string{"bravo", "Delta"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.q), func(t *testing.T) {
			page, err := st.Workloads(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(page.Items); !slices.Equal(got, tt.want) {
				t.Errorf("Workloads(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// The stored assignments against the Go engine

// agree checks that what the database holds is what the engine computes
// from scratch: every assignments row (layer, party, counted, done, owner)
// against srm.Assess of its workload, every layer_progress row and every
// workload's progress against TallyByLayer, the portfolio against their
// sum, and every owner's numbers (per workload and in all) against the
// assessments of the controls they hold. after names the change just made.
func agree(t *testing.T, pool *pgxpool.Pool, st *store.Store, after string) {
	t.Helper()
	ctx := storetest.Context(t)
	type key struct{ workload, control int64 }
	type fact struct {
		layer         srm.Layer
		party         srm.Party
		counted, done bool
		owner         int64
	}
	type layerKey struct {
		workload int64
		layer    srm.Layer
	}
	type ownerKey struct{ owner, workload int64 }
	wantFacts := map[key]fact{}
	wantLayers := map[layerKey]srm.LayerProgress{}
	wantOwnerWork := map[ownerKey]srm.Progress{}
	wantOwners := map[int64]srm.Progress{}
	portfolio := srm.TallyByLayer(nil)
	sum := summaries(t, st)
	for _, ws := range sum {
		as := assess(t, st, ws.Workload)
		if want := srm.Tally(as); ws.Progress != want {
			t.Errorf("after %s: %s: store progress %+v, engine %+v", after, ws.Name, ws.Progress, want)
		}
		for i, lp := range srm.TallyByLayer(as) {
			wantLayers[layerKey{ws.ID, lp.Layer}] = lp
			portfolio[i].Controls += lp.Controls
			portfolio[i].Progress = portfolio[i].Progress.Plus(lp.Progress)
		}
		for _, a := range as {
			wantFacts[key{ws.ID, a.Control.ID}] = fact{a.Control.Layer, a.Party, a.Counted(), a.Done(), a.Status.OwnerID}
			if o := a.Status.OwnerID; o != 0 {
				wantOwnerWork[ownerKey{o, ws.ID}] = wantOwnerWork[ownerKey{o, ws.ID}].Plus(a.Progress())
				wantOwners[o] = wantOwners[o].Plus(a.Progress())
			}
		}
	}

	rows, _ := pool.Query(ctx, `SELECT workload_id, control_id, layer, party, counted, done, COALESCE(owner_id, 0) FROM assignments`)
	gotFacts := map[key]fact{}
	var (
		k key
		f fact
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.workload, &k.control, &f.layer, &f.party, &f.counted, &f.done, &f.owner}, func() error {
		gotFacts[k] = f
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for k, want := range wantFacts {
		if got, ok := gotFacts[k]; !ok || got != want {
			t.Errorf("after %s: assignment of control %d, workload %d: stored %+v (present %v), engine %+v",
				after, k.control, k.workload, got, ok, want)
		}
	}
	for k := range gotFacts {
		if _, ok := wantFacts[k]; !ok {
			t.Errorf("after %s: stored assignment of control %d, workload %d, which the engine does not know", after, k.control, k.workload)
		}
	}

	rows, _ = pool.Query(ctx, `SELECT workload_id, layer, controls, total, done FROM layer_progress`)
	gotLayers := map[layerKey]srm.LayerProgress{}
	var (
		lk layerKey
		lp srm.LayerProgress
	)
	if _, err := pgx.ForEachRow(rows, []any{&lk.workload, &lk.layer, &lp.Controls, &lp.Progress.Total, &lp.Progress.Done}, func() error {
		lp.Layer = lk.layer
		gotLayers[lk] = lp
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(gotLayers, wantLayers) {
		t.Errorf("after %s: layer_progress =\n%+v\nTallyByLayer of every workload =\n%+v", after, gotLayers, wantLayers)
	}

	rows, _ = pool.Query(ctx, `SELECT owner_id, workload_id, total, done FROM owner_progress WHERE total <> 0 OR done <> 0`)
	gotOwnerWork := map[ownerKey]srm.Progress{}
	var (
		ok2 ownerKey
		op  srm.Progress
	)
	if _, err := pgx.ForEachRow(rows, []any{&ok2.owner, &ok2.workload, &op.Total, &op.Done}, func() error {
		gotOwnerWork[ok2] = op
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	maps.DeleteFunc(wantOwnerWork, func(_ ownerKey, p srm.Progress) bool { return p == srm.Progress{} })
	if !maps.Equal(gotOwnerWork, wantOwnerWork) {
		t.Errorf("after %s: owner_progress =\n%+v\nengine =\n%+v", after, gotOwnerWork, wantOwnerWork)
	}
	owners, err := st.OwnerSummaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range owners {
		if o.Progress != wantOwners[o.ID] {
			t.Errorf("after %s: owner %s: store progress %+v, engine %+v", after, o.Name, o.Progress, wantOwners[o.ID])
		}
	}

	got, count, err := st.PortfolioProgress(ctx)
	if err != nil {
		t.Fatalf("PortfolioProgress() error: %v", err)
	}
	if count != len(sum) || !slices.Equal(got, portfolio) {
		t.Errorf("after %s: PortfolioProgress() = %d workloads,\n%+v\nsum of TallyByLayer = %d workloads,\n%+v",
			after, count, got, len(sum), portfolio)
	}
}

func TestStoredAssignmentsAgreeWithEngine(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	cs := catalogOf(t, st)
	ana, err := st.EnsureOwner(ctx, srm.Owner{Name: "Ana", Kind: srm.Person})
	if err != nil {
		t.Fatal(err)
	}

	var ws []srm.Workload
	for _, slug := range []string{"azure-chart", "azure-2026"} {
		b := baselineBySlug(t, st, slug)
		for _, m := range srm.ServiceModels {
			ws = append(ws, createWorkload(t, st, slug+" "+string(m), m, b.ID))
		}
	}
	// A custom control counts like a built-in one.
	custom := srm.Control{Layer: srm.Network, Area: "network-controls", Title: "Private endpoints only"}
	if err := st.CreateControl(ctx, &custom); err != nil {
		t.Fatal(err)
	}
	cs = append(cs, custom)

	physical := titled(t, cs, "Physical security of buildings and datacenters")
	ddos := titled(t, cs, "DDoS protection")
	patch := titled(t, cs, "Patching of systems")
	for wi, w := range ws {
		for ci, ctl := range cs {
			switch {
			case (ci+wi)%3 == 0:
				saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ana.ID, Complete: true})
			case (ci+wi)%5 == 1:
				saveStatus(t, st, w.ID, ctl.ID, srm.Status{NotApplicable: true, NAReason: "not here"})
			case (ci+wi)%7 == 2:
				saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ana.ID, Complete: true, NotApplicable: true, NAReason: "ticked, then n/a"})
			}
		}
		// Complete on a control that is the provider's under every cloud model.
		saveStatus(t, st, w.ID, physical.ID, srm.Status{Complete: true})
		saveStatus(t, st, w.ID, patch.ID, srm.Status{Complete: true, Note: "patched"})
	}
	overrides := []srm.Override{
		{WorkloadID: ws[3].ID, ControlID: ddos.ID, Party: srm.Customer, Reason: "Runs its own scrubbing service."}, // chart SaaS: provider → customer
		{WorkloadID: ws[0].ID, ControlID: patch.ID, Party: srm.Provider, Reason: "Vendor-managed appliance."},      // chart on-premises: customer → provider
		{WorkloadID: ws[6].ID, ControlID: ddos.ID, Party: srm.Shared, Reason: "Shared with the ISP."},              // 2026 PaaS: shared → shared
	}
	for _, o := range overrides {
		if err := st.SetOverride(ctx, o); err != nil {
			t.Fatalf("SetOverride(%+v) error: %v", o, err)
		}
	}

	sum := summaries(t, st)
	var portfolio []srm.LayerProgress
	totals := map[int]bool{}
	for _, w := range ws {
		as := assess(t, st, w)
		want := srm.Tally(as)
		if got := sum[w.ID].Progress; got != want {
			t.Errorf("%s: store progress %+v, engine %+v", w.Name, got, want)
		}
		if want.Done == 0 || want.Total == 0 || want.Done == want.Total {
			t.Errorf("%s: engine progress %+v is degenerate; the fixture should mix done and open controls", w.Name, want)
		}
		totals[want.Total] = true
		layers := srm.TallyByLayer(as)
		if portfolio == nil {
			portfolio = layers
			continue
		}
		for i := range layers {
			portfolio[i].Controls += layers[i].Controls
			portfolio[i].Progress = portfolio[i].Progress.Plus(layers[i].Progress)
		}
	}
	if len(totals) < 4 {
		t.Errorf("only %d distinct totals across models and baselines; the fixture does not tell them apart", len(totals))
	}
	got, count, err := st.PortfolioProgress(ctx)
	if err != nil {
		t.Fatalf("PortfolioProgress() error: %v", err)
	}
	if count != len(ws) {
		t.Errorf("PortfolioProgress() counts %d workloads, want %d", count, len(ws))
	}
	if !slices.Equal(got, portfolio) {
		t.Errorf("PortfolioProgress() =\n%+v\nsum of TallyByLayer =\n%+v", got, portfolio)
	}
	if srm.Sum(got).Total == 0 || got[0].Controls != 3*len(ws) {
		t.Errorf("PortfolioProgress() = %+v: want counted controls and 3 physical controls per workload", got)
	}

	// The override on the chart's SaaS workload adds DDoS to its count.
	saas := ws[3]
	before := sum[saas.ID].Progress
	if err := st.DeleteOverride(ctx, saas.ID, ddos.ID); err != nil {
		t.Fatal(err)
	}
	after := summaries(t, st)[saas.ID].Progress
	if after.Total != before.Total-1 {
		t.Errorf("removing the DDoS override from %s: total %d → %d, want one less", saas.Name, before.Total, after.Total)
	}
	if want := srm.Tally(assess(t, st, saas)); after != want {
		t.Errorf("%s without override: store %+v, engine %+v", saas.Name, after, want)
	}
	agree(t, pool, st, "statuses, overrides set and one removed")

	// Every other path that can move a party or a count.
	ben, err := st.EnsureOwner(ctx, srm.Owner{Name: "Ben", Kind: srm.Person})
	if err != nil {
		t.Fatal(err)
	}
	chart, y2026 := baselineBySlug(t, st, "azure-chart"), baselineBySlug(t, st, "azure-2026")
	fresh := createWorkload(t, st, "Created last", srm.IaaS, chart.ID)
	agree(t, pool, st, "a workload created")

	fresh.Model = srm.PaaS
	if fresh, err = st.UpdateWorkload(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a model change")
	fresh.BaselineID = y2026.ID
	if fresh, err = st.UpdateWorkload(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a baseline change")
	fresh.Name = "Created last, renamed"
	if _, err = st.UpdateWorkload(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a rename")

	apps := titled(t, cs, "Applications free of known vulnerabilities")
	saveStatus(t, st, ws[5].ID, apps.ID, srm.Status{OwnerID: ana.ID, Complete: true})
	agree(t, pool, st, "a status completed")
	saveStatus(t, st, ws[5].ID, apps.ID, srm.Status{OwnerID: ben.ID, Complete: true})
	agree(t, pool, st, "an owner change")
	saveStatus(t, st, ws[5].ID, apps.ID, srm.Status{OwnerID: ben.ID, Complete: true, NotApplicable: true, NAReason: "none"})
	agree(t, pool, st, "a status marked not applicable")
	cur := statusesOf(t, st, ws[5].ID)[apps.ID]
	if _, err := st.RecordStatus(ctx, ws[5].ID, apps.ID, srm.Status{Version: cur.Version}, srm.Owner{Name: "Cy team", Kind: srm.Team}); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a status reopened, to a new owner")
	if _, err := st.RecordStatus(ctx, ws[5].ID, apps.ID, srm.Status{Version: cur.Version, Complete: true}, srm.Owner{Name: "Dee", Kind: srm.Person}); !errors.Is(err, srm.ErrStale) {
		t.Fatalf("RecordStatus(stale) error = %v, want ErrStale", err)
	}
	agree(t, pool, st, "a refused save")

	// A person's save from the checklist (RecordWork): a row keeps what it
	// does not show, so ticking a control marked not applicable leaves it
	// uncounted; the control's own form then clears the mark.
	saveStatus(t, st, ws[5].ID, apps.ID, srm.Status{NotApplicable: true, NAReason: "not in this build", Note: "kept"})
	cur = statusesOf(t, st, ws[5].ID)[apps.ID]
	row, err := st.RecordWork(ctx, ws[5].ID, apps.ID, srm.Status{Version: cur.Version, Complete: true}, srm.Owner{Name: "Ana"},
		store.SaveWork{KeepDetails: true})
	if err != nil || !row.Complete || !row.NotApplicable || row.NAReason != "not in this build" || row.Note != "kept" || row.OwnerID != ana.ID {
		t.Fatalf("RecordWork(row tick, keeping the details) = %+v, %v; want complete by Ana, still not applicable, note kept", row, err)
	}
	agree(t, pool, st, "a row ticked on a control not applicable")
	if _, err := st.RecordWork(ctx, ws[5].ID, apps.ID, srm.Status{Version: row.Version, Complete: true}, srm.Owner{Name: "Ana"}, store.SaveWork{}); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "the mark cleared by the control's form")
	stored := statusesOf(t, st, ws[5].ID)[physical.ID]
	if _, err := st.RecordWork(ctx, ws[5].ID, physical.ID, srm.Status{Version: stored.Version, Complete: true}, srm.Owner{Name: "Eve"},
		store.SaveWork{}); !errors.Is(err, store.ErrProviderCarries) {
		t.Errorf("RecordWork(a control the provider carries) error = %v, want ErrProviderCarries", err)
	}
	if got := statusesOf(t, st, ws[5].ID)[physical.ID]; got != stored {
		t.Errorf("a control the provider carries: status %+v after the refused save, want %+v", got, stored)
	}
	agree(t, pool, st, "a save refused: the provider carries the control")

	// Bulk saves on every control of two workloads at once per statement:
	// owners swapped, given and taken away, ticks and not-applicable turned
	// both ways, across all layers, some controls without a status yet. The
	// summaries follow each statement exactly, not row by row.
	for round := range 3 {
		for _, w := range []srm.Workload{ws[2], ws[5]} {
			cur := statusesOf(t, st, w.ID)
			var changes []store.StatusChange
			for i, c := range cs {
				s := cur[c.ID]
				switch (i + round) % 4 {
				case 0:
					s.OwnerID = ana.ID
				case 1:
					s.OwnerID = ben.ID
				case 2:
					s.OwnerID = 0
				}
				s.Complete = (i+round)%3 != 0
				s.NotApplicable, s.NAReason = (i+round)%5 == 0, ""
				if s.NotApplicable {
					s.NAReason = "bulk"
				}
				changes = append(changes, store.StatusChange{ControlID: c.ID, Status: s})
			}
			if _, stale, err := st.RecordStatuses(ctx, w.ID, changes); err != nil || len(stale) > 0 {
				t.Fatalf("RecordStatuses(%s, round %d): %d stale, %v", w.Name, round, len(stale), err)
			}
		}
		agree(t, pool, st, fmt.Sprintf("bulk saves, round %d", round))
	}

	o := srm.Override{WorkloadID: ws[5].ID, ControlID: apps.ID, Party: srm.Provider, Reason: "Vendor patches it."}
	if err := st.SetOverride(ctx, o); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "an override to the provider")
	o.Party, o.Version = srm.Customer, overridesOf(t, st, ws[5].ID)[apps.ID].Version
	if err := st.SetOverride(ctx, o); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "an override replaced")
	if err := st.DeleteOverride(ctx, ws[5].ID, apps.ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "an override removed")

	moved := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Moves about"}
	if err := st.CreateControl(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a control added")
	for _, w := range ws[:4] {
		saveStatus(t, st, w.ID, moved.ID, srm.Status{OwnerID: ben.ID, Complete: true})
	}
	if moved, err = storedControl(st, ctx, moved.ID); err != nil {
		t.Fatal(err)
	}
	moved.Layer, moved.Area = srm.Physical, "physical-hosts" // customer everywhere → the provider's in the cloud
	if moved, err = st.UpdateControl(ctx, moved); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a control moved to another layer and area")
	moved.Description = "Words only."
	if moved, err = st.UpdateControl(ctx, moved); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a control's words changed")
	if err := st.DeleteControl(ctx, moved.ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a control removed")

	// Framework controls count like srm's own, for the workloads that hold
	// the framework only: attached, worked on, overridden, read as another
	// area by an admin, detached from one workload, and a newer version.
	res, err := importDoc(t, st, smallCatalog(t), store.ImportOptions{Slug: "small", Reading: reading(t, smallReading)})
	if err != nil {
		t.Fatal(err)
	}
	fw := res.Framework
	for _, w := range ws[:6] {
		if err := st.AttachFramework(ctx, w.ID, fw.ID); err != nil {
			t.Fatal(err)
		}
	}
	agree(t, pool, st, "a framework attached")
	var fcs []srm.Control
	for _, c := range catalogOf(t, st) {
		if c.FrameworkID == fw.ID {
			fcs = append(fcs, c)
		}
	}
	for wi, w := range ws[:6] {
		for ci, ctl := range fcs {
			if (ci+wi)%2 == 0 {
				saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ben.ID, Complete: (ci+wi)%4 == 0})
			}
		}
	}
	agree(t, pool, st, "statuses of framework controls")
	xx2 := byRef(t, st, fw.ID, "XX-2")
	if err := st.SetOverride(ctx, srm.Override{WorkloadID: ws[2].ID, ControlID: xx2.ID, Party: srm.Provider, Reason: "Managed firewall."}); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "an override of a framework control")
	if err := st.SetReading(ctx, xx2.ID, "physical-hosts", srm.Physical, "the boundary is an appliance in the rack"); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a framework control read as another area")
	if err := st.DetachFramework(ctx, ws[1].ID, fw.ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a framework detached from one workload")
	if _, err := importDoc(t, st, smallV3(t), store.ImportOptions{Slug: "small", Reading: reading(t, smallReading)}); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a newer version of a framework")

	// A migration that changes a baseline's cells asks srm to reassess.
	if _, err := pool.Exec(ctx, `UPDATE baseline_rows SET paas = 'customer', saas = 'customer'
		WHERE baseline_id = $1 AND area = 'network-controls'`, chart.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE catalog_version SET assessed = false`); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(pool); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "baseline rows changed")

	if err := st.DeleteWorkload(ctx, ws[1].ID); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a workload deleted")
}

func TestEmptyPortfolioListsEveryLayer(t *testing.T) {
	t.Parallel()
	st := open(t)
	got, _, err := st.PortfolioProgress(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	want := srm.TallyByLayer(nil)
	if !slices.Equal(got, want) {
		t.Errorf("PortfolioProgress() with no workloads = %+v, want %+v", got, want)
	}
}

// ---------------------------------------------------------------------------
// Statuses

func TestSaveStatusStampsCompletion(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	cs := catalogOf(t, st)
	w := createWorkload(t, st, "Warehouse system", srm.OnPrem, chart.ID)
	ctl := titled(t, cs, "Patching of systems")
	ana, err := st.EnsureOwner(ctx, srm.Owner{Name: "Ana Souza", Kind: srm.Person})
	if err != nil {
		t.Fatal(err)
	}
	ben, err := st.EnsureOwner(ctx, srm.Owner{Name: "Ben", Kind: srm.Person})
	if err != nil {
		t.Fatal(err)
	}

	saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ana.ID, Note: "started"})
	got := statusesOf(t, st, w.ID)[ctl.ID]
	if got.Complete || got.CompletedBy != "" || !got.CompletedAt.IsZero() || got.OwnerName != "Ana Souza" || got.Version != 1 {
		t.Fatalf("open status = %+v, want open, unstamped, owner Ana Souza, version 1", got)
	}

	start := time.Now()
	saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ana.ID, Complete: true, Note: "done",
		Evidence: "https://wiki.example.com/patching"})
	first := statusesOf(t, st, w.ID)[ctl.ID]
	if !first.Complete || first.CompletedBy != "Ana Souza" || first.Note != "done" ||
		first.Evidence != "https://wiki.example.com/patching" || first.Version != 2 {
		t.Fatalf("completed status = %+v, want complete by Ana Souza, version 2", first)
	}
	if d := first.CompletedAt.Sub(start); d < -time.Minute || d > time.Minute {
		t.Errorf("CompletedAt = %v, want about %v", first.CompletedAt, start)
	}

	// Saving again while complete, even with another owner, keeps the stamp.
	saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ben.ID, Complete: true, Note: "handed over"})
	again := statusesOf(t, st, w.ID)[ctl.ID]
	if !again.Complete || again.CompletedBy != "Ana Souza" || !again.CompletedAt.Equal(first.CompletedAt) {
		t.Errorf("re-saved complete status = %+v, want the original stamp (Ana Souza, %v)", again, first.CompletedAt)
	}
	if again.OwnerName != "Ben" || again.Note != "handed over" || again.Version != 3 {
		t.Errorf("re-saved status = %+v, want owner Ben, new note, version 3", again)
	}

	// Unticking clears the stamp.
	saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ben.ID, Note: "reopened"})
	open := statusesOf(t, st, w.ID)[ctl.ID]
	if open.Complete || open.CompletedBy != "" || !open.CompletedAt.IsZero() {
		t.Errorf("unticked status = %+v, want no stamp", open)
	}

	// Ticking again stamps the owner of that moment.
	saveStatus(t, st, w.ID, ctl.ID, srm.Status{OwnerID: ben.ID, Complete: true})
	if re := statusesOf(t, st, w.ID)[ctl.ID]; re.CompletedBy != "Ben" || re.CompletedAt.IsZero() {
		t.Errorf("re-ticked status = %+v, want stamped by Ben", re)
	}

	// Completing without an owner stamps the time and no name.
	other := titled(t, cs, "Endpoint protection")
	saveStatus(t, st, w.ID, other.ID, srm.Status{Complete: true})
	if nobody := statusesOf(t, st, w.ID)[other.ID]; !nobody.Complete || nobody.CompletedBy != "" || nobody.CompletedAt.IsZero() || nobody.OwnerID != 0 {
		t.Errorf("status completed without owner = %+v, want complete, stamped time, no name, no owner", nobody)
	}
}

func TestSaveStatusRefusesUnknownIDsAndBadText(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	ctl := titled(t, catalogOf(t, st), "Deny by default")
	w := createWorkload(t, st, "Web app", srm.PaaS, chart.ID)
	tests := []struct {
		name          string
		workload, ctl int64
		status        srm.Status
		want          error
	}{
		{"unknown workload", 987654, ctl.ID, srm.Status{}, srm.ErrNotFound},
		{"unknown control", w.ID, 987654, srm.Status{}, srm.ErrNotFound},
		{"unknown owner", w.ID, ctl.ID, srm.Status{OwnerID: 987654}, srm.ErrNotFound},
		{"NUL in note", w.ID, ctl.ID, srm.Status{Note: "a\x00b"}, srm.ErrInvalid},
		{"invalid UTF-8 in reason", w.ID, ctl.ID, srm.Status{NotApplicable: true, NAReason: "\xff"}, srm.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := st.SaveStatus(ctx, tt.workload, tt.ctl, tt.status); !errors.Is(err, tt.want) {
				t.Errorf("SaveStatus() error = %v, want %v", err, tt.want)
			}
		})
	}
	if got := statusesOf(t, st, w.ID); len(got) != 0 {
		t.Errorf("statuses after refused saves = %+v, want none", got)
	}
}

func TestStatusesSurviveAModelChange(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	cs := catalogOf(t, st)
	w := createWorkload(t, st, "Servers moved to VMs", srm.IaaS, chart.ID)
	patch := titled(t, cs, "Patching of systems")          // IaaS: customer; PaaS: provider
	deny := titled(t, cs, "Deny by default")               // IaaS: customer; PaaS: shared
	data := titled(t, cs, "Data on virtual machine disks") // customer under both
	ops, err := st.EnsureOwner(ctx, srm.Owner{Name: "Ops team", Kind: srm.Team})
	if err != nil {
		t.Fatal(err)
	}
	saveStatus(t, st, w.ID, patch.ID, srm.Status{OwnerID: ops.ID, Complete: true, Note: "monthly window"})
	saveStatus(t, st, w.ID, deny.ID, srm.Status{OwnerID: ops.ID, Complete: true})
	saveStatus(t, st, w.ID, data.ID, srm.Status{NotApplicable: true, NAReason: "no disks"})
	stamp := statusesOf(t, st, w.ID)[patch.ID]
	if got := summaries(t, st)[w.ID].Progress; got != (srm.Progress{Done: 2, Total: 21}) {
		t.Fatalf("IaaS progress = %+v, want 2/21 (22 counted, one not applicable)", got)
	}
	iaas := assess(t, st, w)

	w.Model = srm.PaaS
	if w, err = st.UpdateWorkload(ctx, w); err != nil {
		t.Fatalf("UpdateWorkload(→ PaaS) error: %v", err)
	}
	paasStatuses := statusesOf(t, st, w.ID)
	if len(paasStatuses) != 3 {
		t.Errorf("statuses after the move = %d, want 3", len(paasStatuses))
	}
	if got := paasStatuses[patch.ID]; !got.Complete || got.CompletedBy != "Ops team" || !got.CompletedAt.Equal(stamp.CompletedAt) || got.Note != "monthly window" {
		t.Errorf("patching status under PaaS = %+v, want the IaaS one kept", got)
	}
	paas := assess(t, st, w)
	if got := summaries(t, st)[w.ID].Progress; got != (srm.Progress{Done: 1, Total: 18}) || got != srm.Tally(paas) {
		t.Errorf("PaaS progress = %+v, engine %+v, want 1/18 (patching moved to Azure)", got, srm.Tally(paas))
	}
	var patchMove *srm.Move
	for _, m := range srm.Diff(iaas, paas) {
		if m.Control.ID == patch.ID {
			patchMove = &m
		}
	}
	if patchMove == nil || patchMove.From != srm.Customer || patchMove.To != srm.Provider || !patchMove.Status.Complete {
		t.Errorf("Diff(IaaS, PaaS) patching move = %+v, want customer → provider with its completed status", patchMove)
	}

	w.Model = srm.IaaS // w is the workload as the first update saved it, at its new version
	if _, err := st.UpdateWorkload(ctx, w); err != nil {
		t.Fatalf("UpdateWorkload(→ IaaS) error: %v", err)
	}
	back := statusesOf(t, st, w.ID)[patch.ID]
	if !back.Complete || back.CompletedBy != "Ops team" || !back.CompletedAt.Equal(stamp.CompletedAt) {
		t.Errorf("patching back under IaaS = %+v, want its old completed state", back)
	}
	if got := summaries(t, st)[w.ID].Progress; got != (srm.Progress{Done: 2, Total: 21}) {
		t.Errorf("IaaS progress after moving back = %+v, want 2/21", got)
	}
}

// ---------------------------------------------------------------------------
// Owners

func TestEnsureOwnerReturnsTheExistingOwnerIgnoringCase(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	first, err := st.EnsureOwner(ctx, srm.Owner{Name: "  Platform Team ", Kind: srm.Team})
	if err != nil {
		t.Fatalf("EnsureOwner(new) error: %v", err)
	}
	if first.ID <= 0 || first.Name != "Platform Team" || first.Kind != srm.Team {
		t.Fatalf("EnsureOwner(new) = %+v, want a trimmed team", first)
	}
	again, err := st.EnsureOwner(ctx, srm.Owner{Name: "platform team", Kind: srm.Person})
	if err != nil {
		t.Fatalf("EnsureOwner(existing) error: %v", err)
	}
	if again != first {
		t.Errorf("EnsureOwner(differently cased) = %+v, want %+v", again, first)
	}
	dup := srm.Owner{Name: "PLATFORM TEAM", Kind: srm.Team}
	if err := st.CreateOwner(ctx, &dup); !errors.Is(err, srm.ErrConflict) {
		t.Errorf("CreateOwner(taken name) error = %v, want ErrConflict", err)
	}
	bad := srm.Owner{Name: "Robot", Kind: "robot"}
	if err := st.CreateOwner(ctx, &bad); !errors.Is(err, srm.ErrInvalid) {
		t.Errorf("CreateOwner(unknown kind) error = %v, want ErrInvalid", err)
	}
	ana := srm.Owner{Name: "ana", Kind: srm.Person}
	if err := st.CreateOwner(ctx, &ana); err != nil || ana.ID <= 0 {
		t.Fatalf("CreateOwner(ana) = %+v, %v", ana, err)
	}
	owners, err := st.Owners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []srm.Owner{ana, first}; !slices.Equal(owners, want) {
		t.Errorf("Owners() = %+v, want %+v", owners, want)
	}
	if got, err := st.Owner(ctx, first.ID); err != nil || got != first {
		t.Errorf("Owner(%d) = %+v, %v; want %+v", first.ID, got, err, first)
	}
	if _, err := st.Owner(ctx, 987654); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("Owner(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestEnsureOwnerConcurrently(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	const rounds, callers = 25, 8
	for r := range rounds {
		name := fmt.Sprintf("Team %d", r)
		var wg sync.WaitGroup
		ids := make([]int64, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Go(func() {
				o, err := st.EnsureOwner(ctx, srm.Owner{Name: name, Kind: srm.Team})
				ids[i], errs[i] = o.ID, err
			})
		}
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("round %d: %d callers ensuring %q at once: caller %d got error %v, want the owner "+
					"(store.EnsureOwner: when another transaction inserts the same name concurrently, "+
					"ON CONFLICT DO NOTHING waits for it, but the UNION's SELECT runs on the statement's "+
					"snapshot taken before that commit, so no row comes back)", r, callers, name, i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("round %d: callers got owners %v, want one id", r, ids)
			}
		}
	}
}

func TestOwnerSummariesAndQueue(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	cs := catalogOf(t, st)
	fleet := createWorkload(t, st, "Fleet telemetry", srm.PaaS, chart.ID)
	office := createWorkload(t, st, "Office suite", srm.SaaS, chart.ID)
	ensure := func(name string, kind srm.OwnerKind) srm.Owner {
		o, err := st.EnsureOwner(ctx, srm.Owner{Name: name, Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	ana, ben, cy := ensure("Ana", srm.Person), ensure("ben", srm.Person), ensure("Cy team", srm.Team)

	patch := titled(t, cs, "Patching of systems")
	deny := titled(t, cs, "Deny by default")
	dbs := titled(t, cs, "Data in databases")
	disks := titled(t, cs, "Data on virtual machine disks")
	ddos := titled(t, cs, "DDoS protection")
	mfa := titled(t, cs, "Single sign-on and multi-factor authentication")
	audit := titled(t, cs, "Audit of events and changes")

	saveStatus(t, st, fleet.ID, patch.ID, srm.Status{OwnerID: ana.ID, Complete: true}) // provider under PaaS
	saveStatus(t, st, fleet.ID, deny.ID, srm.Status{OwnerID: ana.ID, Complete: true})  // shared
	saveStatus(t, st, fleet.ID, dbs.ID, srm.Status{OwnerID: ana.ID})                   // customer, open
	saveStatus(t, st, fleet.ID, disks.ID, srm.Status{OwnerID: ana.ID, NotApplicable: true, NAReason: "no VMs"})
	saveStatus(t, st, office.ID, ddos.ID, srm.Status{OwnerID: ana.ID})                // provider under SaaS
	saveStatus(t, st, office.ID, mfa.ID, srm.Status{OwnerID: ana.ID, Complete: true}) // customer
	saveStatus(t, st, fleet.ID, audit.ID, srm.Status{OwnerID: ben.ID})                // shared, open
	saveStatus(t, st, office.ID, audit.ID, srm.Status{Complete: true})                // nobody's

	got, err := st.OwnerSummaries(ctx)
	if err != nil {
		t.Fatalf("OwnerSummaries() error: %v", err)
	}
	want := []srm.OwnerSummary{
		{Owner: ana, Progress: srm.Progress{Done: 2, Total: 3}},
		{Owner: ben, Progress: srm.Progress{Done: 0, Total: 1}},
		{Owner: cy, Progress: srm.Progress{}},
	}
	if !slices.Equal(got, want) {
		t.Errorf("OwnerSummaries() =\n%+v\nwant\n%+v", got, want)
	}

	q, held, progress, err := st.Queue(ctx, ana.ID, 1, 100)
	if err != nil {
		t.Fatalf("Queue(Ana) error: %v", err)
	}
	if held != 6 || progress != (srm.Progress{Done: 2, Total: 3}) {
		t.Errorf("Queue(Ana) holds %d, progress %+v; want 6 and 2 of 3", held, progress)
	}
	if page2, held2, _, err := st.Queue(ctx, ana.ID, 2, 4); err != nil || len(page2) != 2 || held2 != 6 {
		t.Errorf("Queue(Ana, page 2 of 4 per page) = %d items, held %d, %v; want 2 items of 6", len(page2), held2, err)
	}
	type item struct {
		workload string
		title    string
		party    srm.Party
		complete bool
		na       bool
		counted  bool
	}
	wantQ := []item{ // open, then completed, then no longer counted; each by workload, layer and catalog order
		{"Fleet telemetry", dbs.Title, srm.Customer, false, false, true},
		{"Fleet telemetry", deny.Title, srm.Shared, true, false, true},
		{"Office suite", mfa.Title, srm.Customer, true, false, true},
		{"Fleet telemetry", patch.Title, srm.Provider, true, false, false},
		{"Fleet telemetry", disks.Title, srm.Customer, false, true, false},
		{"Office suite", ddos.Title, srm.Provider, false, false, false},
	}
	var gotQ []item
	for _, it := range q {
		gotQ = append(gotQ, item{it.WorkloadName, it.Control.Title, it.Party, it.Complete, it.NotApplicable, it.Counted()})
		if it.Complete != !it.CompletedAt.IsZero() || (it.Complete && it.CompletedBy != "Ana") {
			t.Errorf("queue item %q: Complete %v, CompletedBy %q, CompletedAt %v; want stamped by Ana when complete",
				it.Control.Title, it.Complete, it.CompletedBy, it.CompletedAt)
		}
		wantModel := map[string]srm.ServiceModel{"Fleet telemetry": srm.PaaS, "Office suite": srm.SaaS}[it.WorkloadName]
		wantID := map[string]int64{"Fleet telemetry": fleet.ID, "Office suite": office.ID}[it.WorkloadName]
		if it.Model != wantModel || it.WorkloadID != wantID {
			t.Errorf("queue item %q: workload %d %s, want %d %s", it.Control.Title, it.WorkloadID, it.Model, wantID, wantModel)
		}
	}
	if !slices.Equal(gotQ, wantQ) {
		t.Errorf("Queue(Ana) =\n%+v\nwant\n%+v", gotQ, wantQ)
	}
	for _, id := range []int64{cy.ID, 987654} {
		if q, _, _, err := st.Queue(ctx, id, 1, 100); err != nil || len(q) != 0 {
			t.Errorf("Queue(%d) = %d items, %v; want none", id, len(q), err)
		}
	}
}

// ---------------------------------------------------------------------------
// Overrides

func TestOverridesSetReplaceDelete(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	cs := catalogOf(t, st)
	w := createWorkload(t, st, "Web app on a document database", srm.PaaS, chart.ID)
	fw := titled(t, cs, "Perimeter firewall with detection and alerts")

	o := srm.Override{WorkloadID: w.ID, ControlID: fw.ID, Party: srm.Customer, Reason: "Brings its own network appliance."}
	if err := st.SetOverride(ctx, o); err != nil {
		t.Fatalf("SetOverride() error: %v", err)
	}
	got := overridesOf(t, st, w.ID)
	if len(got) != 1 {
		t.Fatalf("Overrides() = %+v, want one", got)
	}
	g := got[fw.ID]
	if g.WorkloadID != w.ID || g.ControlID != fw.ID || g.Party != srm.Customer || g.Reason != o.Reason || g.CreatedAt.IsZero() {
		t.Errorf("Overrides()[firewall] = %+v, want %+v with a time", g, o)
	}
	for _, a := range assess(t, st, w) {
		if a.Control.ID == fw.ID {
			if a.Party != srm.Customer || !strings.Contains(a.Reason(), "Brings its own network appliance.") {
				t.Errorf("assessed firewall: Party %q, Reason %q; want customer with the override's reason", a.Party, a.Reason())
			}
		}
	}

	o.Party, o.Reason, o.Version = srm.Provider, "Azure Firewall Manager runs it.", g.Version
	if err := st.SetOverride(ctx, o); err != nil {
		t.Fatalf("SetOverride(replace) error: %v", err)
	}
	if g := overridesOf(t, st, w.ID)[fw.ID]; g.Party != srm.Provider || g.Reason != "Azure Firewall Manager runs it." || g.Version != o.Version+1 {
		t.Errorf("replaced override = %+v, want provider with the new reason at version %d", g, o.Version+1)
	}
	if got := summaries(t, st)[w.ID].Progress.Total; got != 18 {
		t.Errorf("PaaS total with the firewall overridden to provider = %d, want 18", got)
	}

	if err := st.DeleteOverride(ctx, w.ID, fw.ID); err != nil {
		t.Fatalf("DeleteOverride() error: %v", err)
	}
	if got := overridesOf(t, st, w.ID); len(got) != 0 {
		t.Errorf("Overrides() after delete = %+v, want none", got)
	}
	if err := st.DeleteOverride(ctx, w.ID, fw.ID); err != nil {
		t.Errorf("DeleteOverride(none) error = %v, want nil", err)
	}
	if got := summaries(t, st)[w.ID].Progress.Total; got != 19 {
		t.Errorf("PaaS total without override = %d, want 19", got)
	}
}

func TestSetOverrideRefusesBadInput(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	fw := titled(t, catalogOf(t, st), "Perimeter firewall with detection and alerts")
	w := createWorkload(t, st, "Shipment tracker", srm.PaaS, chart.ID)
	tests := []struct {
		name string
		o    srm.Override
		want error
	}{
		{"empty reason", srm.Override{WorkloadID: w.ID, ControlID: fw.ID, Party: srm.Customer, Reason: ""}, srm.ErrInvalid},
		{"unknown party", srm.Override{WorkloadID: w.ID, ControlID: fw.ID, Party: "azure", Reason: "x"}, srm.ErrInvalid},
		{"NUL in reason", srm.Override{WorkloadID: w.ID, ControlID: fw.ID, Party: srm.Customer, Reason: "a\x00"}, srm.ErrInvalid},
		{"unknown workload", srm.Override{WorkloadID: 987654, ControlID: fw.ID, Party: srm.Customer, Reason: "x"}, srm.ErrNotFound},
		{"unknown control", srm.Override{WorkloadID: w.ID, ControlID: 987654, Party: srm.Customer, Reason: "x"}, srm.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := st.SetOverride(ctx, tt.o); !errors.Is(err, tt.want) {
				t.Errorf("SetOverride(%+v) error = %v, want %v", tt.o, err, tt.want)
			}
		})
	}
	if got := overridesOf(t, st, w.ID); len(got) != 0 {
		t.Errorf("overrides after refused sets = %+v, want none", got)
	}
}

// ---------------------------------------------------------------------------
// Custom controls

func TestCustomControls(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	before := catalogOf(t, st)
	w := createWorkload(t, st, "VM fleet", srm.IaaS, chart.ID)

	img := srm.Control{Layer: srm.Compute, Area: "operating-system", Title: "Hardened golden images",
		Description: "Machines start from a hardened image.", CustomerPart: "Build and scan the images.", ProviderPart: "Offer a gallery."}
	if err := st.CreateControl(ctx, &img); err != nil {
		t.Fatalf("CreateControl() error: %v", err)
	}
	if img.ID <= 0 {
		t.Fatalf("CreateControl() left ID = %d", img.ID)
	}
	got, err := storedControl(st, ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Builtin || got.Title != img.Title || got.Layer != srm.Compute || got.Area != "operating-system" || got.CustomerPart != img.CustomerPart {
		t.Errorf("Control(custom) = %+v, want %+v, not builtin", got, img)
	}
	cs := catalogOf(t, st)
	if len(cs) != len(before)+1 {
		t.Fatalf("catalog has %d controls, want %d", len(cs), len(before)+1)
	}
	// Custom controls follow the built-in ones of their layer.
	for i, ctl := range cs {
		if ctl.ID == img.ID && (i == 0 || i+1 == len(cs) || cs[i-1].Title != "Security of the devices used to reach the workload" || cs[i+1].Layer != srm.Application) {
			t.Errorf("custom compute control sits between %q and %q", cs[i-1].Title, cs[i+1].Title)
		}
	}
	if got := summaries(t, st)[w.ID].Progress.Total; got != 23 {
		t.Errorf("IaaS total with a custom OS control = %d, want 23", got)
	}

	conflicts := []srm.Control{
		{Layer: srm.Compute, Area: "operating-system", Title: "HARDENED golden images"},
		{Layer: srm.Compute, Area: "operating-system", Title: "patching of systems"}, // a built-in title
	}
	for _, ctl := range conflicts {
		if err := st.CreateControl(ctx, &ctl); !errors.Is(err, srm.ErrConflict) {
			t.Errorf("CreateControl(%q in compute) error = %v, want ErrConflict", ctl.Title, err)
		}
	}
	// The store still works after a conflict, and titles are unique per layer only.
	elsewhere := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Hardened golden images"}
	if err := st.CreateControl(ctx, &elsewhere); err != nil {
		t.Errorf("CreateControl(same title, other layer) error: %v", err)
	}
	badArea := srm.Control{Layer: srm.Data, Area: "quantum", Title: "Unknown area"}
	if err := st.CreateControl(ctx, &badArea); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("CreateControl(unknown area) error = %v, want ErrNotFound", err)
	}
	badLayer := srm.Control{Layer: "moat", Area: "information-and-data", Title: "Unknown layer"}
	if err := st.CreateControl(ctx, &badLayer); !errors.Is(err, srm.ErrInvalid) {
		t.Errorf("CreateControl(unknown layer) error = %v, want ErrInvalid", err)
	}

	// Edits start from the control as read, at its version.
	img = got
	img.Title, img.Layer, img.Area = "Hardened images", srm.Application, "applications"
	saved, err := st.UpdateControl(ctx, img)
	if err != nil {
		t.Fatalf("UpdateControl(custom) error: %v", err)
	}
	if saved.Title != "Hardened images" || saved.Version != img.Version+1 {
		t.Errorf("UpdateControl(custom) = %+v, want the new title at version %d", saved, img.Version+1)
	}
	if got, _ := storedControl(st, ctx, img.ID); got.Title != "Hardened images" || got.Layer != srm.Application || got.Area != "applications" || got.Version != img.Version+1 {
		t.Errorf("after UpdateControl = %+v, want it moved to application/applications at version %d", got, img.Version+1)
	}
	elsewhere, err = storedControl(st, ctx, elsewhere.ID)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere.Title = "hardened IMAGES"
	elsewhere.Layer = srm.Application
	if _, err := st.UpdateControl(ctx, elsewhere); !errors.Is(err, srm.ErrConflict) || errors.Is(err, srm.ErrStale) {
		t.Errorf("UpdateControl(to a taken title) error = %v, want ErrConflict (a taken title, not a stale version)", err)
	}

	patch := titled(t, before, "Patching of systems")
	edited := patch
	edited.Title = "Patching, sometimes"
	if _, err := st.UpdateControl(ctx, edited); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("UpdateControl(built-in) error = %v, want ErrNotFound", err)
	}
	if err := st.DeleteControl(ctx, patch.ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("DeleteControl(built-in) error = %v, want ErrNotFound", err)
	}
	if got, err := storedControl(st, ctx, patch.ID); err != nil || got != patch {
		t.Errorf("built-in control after refused edits = %+v, %v; want it unchanged", got, err)
	}
	if _, err := st.UpdateControl(ctx, srm.Control{ID: 987654, Layer: srm.Data, Area: "information-and-data", Title: "x"}); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("UpdateControl(unknown) error = %v, want ErrNotFound", err)
	}

	saveStatus(t, st, w.ID, img.ID, srm.Status{Complete: true})
	if err := st.DeleteControl(ctx, img.ID); err != nil {
		t.Fatalf("DeleteControl(custom with a status) error: %v", err)
	}
	if _, err := storedControl(st, ctx, img.ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("Control(deleted) error = %v, want ErrNotFound", err)
	}
	if _, ok := statusesOf(t, st, w.ID)[img.ID]; ok {
		t.Error("status of a deleted control is still there")
	}
	if err := st.DeleteControl(ctx, img.ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("DeleteControl(deleted) error = %v, want ErrNotFound", err)
	}
}

// TestAppRoleKeepsTheAssignments: srm's least-privilege serving role can
// make every change that moves an assignment, the bulk ones included (they
// lock the shared totals), and what it leaves agrees with the engine.
func TestAppRoleKeepsTheAssignments(t *testing.T) {
	t.Parallel()
	pool, role := storetest.AppPool(t, nil)
	app, owner := store.New(pool), store.New(role.Owner)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "admin@example.com"})
	chart := baselineBySlug(t, app, "azure-chart")
	w := srm.Workload{Name: "Served by the app role", Model: srm.IaaS, BaselineID: chart.ID}
	if err := app.CreateWorkload(ctx, &w); err != nil {
		t.Fatalf("CreateWorkload as the app role: %v", err)
	}
	other := srm.Workload{Name: "Another", Model: srm.SaaS, BaselineID: chart.ID}
	if err := app.CreateWorkload(ctx, &other); err != nil {
		t.Fatal(err)
	}
	patch := titled(t, catalogOf(t, app), "Patching of systems")
	if _, err := app.RecordStatus(ctx, w.ID, patch.ID, srm.Status{Complete: true}, srm.Owner{Name: "Ops", Kind: srm.Team}); err != nil {
		t.Fatalf("RecordStatus as the app role: %v", err)
	}
	if err := app.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: patch.ID, Party: srm.Provider, Reason: "Managed."}); err != nil {
		t.Fatalf("SetOverride as the app role: %v", err)
	}
	c := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Backups restored"}
	if err := app.CreateControl(ctx, &c); err != nil {
		t.Fatalf("CreateControl as the app role: %v", err)
	}
	w.Model = srm.PaaS
	if _, err := app.UpdateWorkload(ctx, w); err != nil {
		t.Fatalf("UpdateWorkload as the app role: %v", err)
	}
	if err := app.DeleteControl(ctx, c.ID); err != nil {
		t.Fatalf("DeleteControl as the app role: %v", err)
	}
	agree(t, role.Owner, owner, "changes by the app role")
}

// TestABaselineListsEachAreaOnce: a baseline that lists an area twice
// cannot be stored, so the engine never has to choose between two rows.
func TestABaselineListsEachAreaOnce(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	_, err := pool.Exec(t.Context(), `
		INSERT INTO baseline_rows (baseline_id, area, label, in_source, note, position, onprem, iaas, paas, saas)
		SELECT baseline_id, area, label || ' again', in_source, note, position + 100, onprem, iaas, paas, saas
		FROM baseline_rows ORDER BY baseline_id, position LIMIT 1`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Errorf("a second row for an area of a baseline: error = %v, want a unique violation", err)
	}
}

// TestAWorkloadChangeNeedsOneConnectionWhenTheCatalogChanged: a workload
// change that finds the catalog changed since the cache was filled loads it
// on its own transaction's connection. Loading it through a second one from
// the pool deadlocked the pool once every connection was held by such a
// change (requests hung until their deadline under catalog edits).
func TestAWorkloadChangeNeedsOneConnectionWhenTheCatalogChanged(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "test"})
	b := baselineBySlug(t, st, "azure-chart")
	createWorkload(t, st, "Warm the cache", srm.PaaS, b.ID)
	// Another process of srm changes the catalog: this one's cache is stale.
	otherPool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(otherPool.Close)
	other := store.New(otherPool)
	custom := srm.Control{Layer: srm.Network, Area: "network-controls", Title: "Private endpoints only"}
	if err := other.CreateControl(ctx, &custom); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w := srm.Workload{Name: "After the change", Model: srm.IaaS, BaselineID: b.ID}
	if err := st.CreateWorkload(ctx, &w); err != nil {
		t.Fatalf("creating a workload on a one-connection pool after a catalog change: %v", err)
	}
}

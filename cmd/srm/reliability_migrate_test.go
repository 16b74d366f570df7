package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/srmhq/srm/migrations"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

var migrationName = regexp.MustCompile(`^(\d+)_.*\.(up|down)\.sql$`)

// latestMigration is the highest version in the migrations folder.
func latestMigration(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	latest := 0
	for _, n := range names {
		if m := migrationName.FindStringSubmatch(n); m != nil {
			v, _ := strconv.Atoi(m[1])
			latest = max(latest, v)
		}
	}
	if latest == 0 {
		t.Fatal("no migrations found")
	}
	return latest
}

// newMigrator is store's migrator on fsys (the real migrations, or a test's).
func newMigrator(t *testing.T, pool *pgxpool.Pool, fsys fs.FS) *closeOnce {
	t.Helper()
	src, err := iofs.New(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	drv, err := pgxmigrate.WithInstance(stdlib.OpenDBFromPool(pool), &pgxmigrate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		t.Fatal(err)
	}
	// The migrator holds a connection of pool: give it back before the
	// pool closes (cleanups run last-in first-out), even when the test fails.
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { m.Close() }) })
	return &closeOnce{Migrate: m, once: &once}
}

// closeOnce is a migrator whose Close may be called again by the cleanup.
type closeOnce struct {
	*migrate.Migrate
	once *sync.Once
}

func (c *closeOnce) Close() { c.once.Do(func() { c.Migrate.Close() }) }

// fingerprint is the schema of the database and the number of rows in each
// of its tables, golang-migrate's schema_migrations left out: enough to tell
// which migrations are in, data-only ones included.
func fingerprint(t *testing.T, dbURL string, pool *pgxpool.Pool) string {
	t.Helper()
	// golang-migrate creates schema_migrations before the first migration.
	schema := pgDump(t, dbURL, "--schema-only", "--exclude-table=public.schema_migrations")
	rows, err := pool.Query(t.Context(), `SELECT quote_ident(tablename) FROM pg_tables
		WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(schema)
	b.WriteString("\n-- rows:")
	for _, tbl := range tables {
		var n int64
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, " %s=%d", tbl, n)
	}
	return b.String()
}

// referenceFingerprints migrates an empty database one step at a time and
// returns the fingerprint after each version (index 0: nothing applied).
func referenceFingerprints(t *testing.T, latest int) []string {
	t.Helper()
	dbURL := emptyDatabase(t)
	pool := openPool(t, dbURL)
	refs := []string{fingerprint(t, dbURL, pool)}
	m := newMigrator(t, pool, migrations.FS)
	defer m.Close()
	for v := 1; v <= latest; v++ {
		if err := m.Steps(1); err != nil {
			t.Fatalf("migrate step to %d: %v", v, err)
		}
		refs = append(refs, fingerprint(t, dbURL, pool))
	}
	return refs
}

// TestEveryMigrationIsOneTransaction checks that each migration file is
// wrapped in BEGIN; … COMMIT; (golang-migrate's pgx driver does not wrap
// them), so a failure or a kill never leaves half a migration applied.
func TestEveryMigrationIsOneTransaction(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	comments := regexp.MustCompile(`(?m)^\s*--.*$`)
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.TrimSpace(comments.ReplaceAllString(string(b), ""))
		if !strings.HasPrefix(strings.ToUpper(body), "BEGIN;") || !strings.HasSuffix(strings.ToUpper(body), "COMMIT;") {
			t.Errorf("%s does not start with BEGIN; and end with COMMIT;", n)
		}
		if strings.Count(strings.ToUpper(body), "COMMIT;") != 1 {
			t.Errorf("%s has more than one COMMIT;", n)
		}
	}
}

// TestFailingMigrationLeavesNothingHalfApplied adds a migration that fails
// after creating a table and a column: neither may remain, the database is
// reported dirty at that version, and srm serve then refuses to start with a
// message for the operator instead of hanging or serving.
func TestFailingMigrationLeavesNothingHalfApplied(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	pool := openPool(t, dbURL)
	bin := srmBinary(t)
	latest := latestMigration(t)
	before := pgDump(t, dbURL, "--schema-only")

	fsys := fstest.MapFS{}
	names, _ := fs.Glob(migrations.FS, "*.sql")
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		fsys[n] = &fstest.MapFile{Data: b}
	}
	broken := latest + 1
	fsys[fmt.Sprintf("%06d_broken.up.sql", broken)] = &fstest.MapFile{Data: []byte(`BEGIN;
CREATE TABLE reliability_half_applied (id int);
ALTER TABLE workloads ADD COLUMN half_applied int;
SELECT 1 / 0;
COMMIT;
`)}
	fsys[fmt.Sprintf("%06d_broken.down.sql", broken)] = &fstest.MapFile{Data: []byte("SELECT 1;\n")}
	m := newMigrator(t, pool, fsys)
	err := m.Up()
	if err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("Up with a failing migration = %v, want division by zero", err)
	}
	// The migrator's own connection is left in the aborted transaction
	// (m.Version fails on it), so read the version on another.
	m.Close() // as store.Migrate does; releases the advisory lock
	if v, dirty := migrationState(t, pool); int(v) != broken || !dirty {
		t.Errorf("after the failure schema_migrations = (%d, %v), want (%d, dirty)", v, dirty, broken)
	}

	var table, column bool
	if err := pool.QueryRow(t.Context(), `SELECT to_regclass('public.reliability_half_applied') IS NOT NULL,
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'workloads' AND column_name = 'half_applied')`).
		Scan(&table, &column); err != nil {
		t.Fatal(err)
	}
	if table || column {
		t.Errorf("the failed migration left a half-applied change: table %v, column %v", table, column)
	}
	if after := pgDump(t, dbURL, "--schema-only"); after != before {
		t.Errorf("the failed migration changed the schema: %s", firstDifference(before, after))
	}

	// srm serve on the dirty database: a clear refusal, quickly.
	p := spawnSRM(t, bin, dbURL, "serve")
	if !p.wait(20 * time.Second) {
		t.Fatalf("srm serve on a dirty database neither served nor exited within 20 s (advisory lock left held?); output:\n%s", p.logs.String())
	}
	out := p.logs.String()
	if p.code == 0 || strings.Contains(out, "srm is serving") {
		t.Errorf("srm serve on a dirty database: exit %d, want a refusal; output:\n%s", p.code, out)
	}
	if !strings.Contains(out, "dirty") || !strings.Contains(out, fmt.Sprintf("version %d", broken)) {
		t.Errorf("srm serve on a dirty database does not say it is dirty at version %d:\n%s", broken, out)
	}
}

// TestDirtyDatabaseStopsServe marks a current database dirty, as a
// migration that failed halfway would: srm serve and srm migrate must stop
// with a message that names the problem and the version, and exit non-zero.
func TestDirtyDatabaseStopsServe(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	pool := openPool(t, dbURL)
	bin := srmBinary(t)
	latest := latestMigration(t)
	if _, err := pool.Exec(t.Context(), `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "migrate"} {
		start := time.Now()
		p := spawnSRM(t, bin, dbURL, cmd)
		if !p.wait(20 * time.Second) {
			t.Fatalf("srm %s on a dirty database did not exit within 20 s; output:\n%s", cmd, p.logs.String())
		}
		out := p.logs.String()
		t.Logf("srm %s on a dirty database: exit %d after %v:\n%s", cmd, p.code, time.Since(start).Round(time.Millisecond), out)
		if p.code == 0 || strings.Contains(out, "srm is serving") {
			t.Errorf("srm %s: exit %d, want non-zero and no serving", cmd, p.code)
		}
		for _, want := range []string{"dirty", fmt.Sprintf("version %d", latest)} {
			if !strings.Contains(out, want) {
				t.Errorf("srm %s: the message does not contain %q", cmd, want)
			}
		}
		if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
			t.Errorf("srm %s: a stack trace instead of a message", cmd)
		}
		// Here every change of the dirty version is in (as after srm was
		// killed between a migration's COMMIT and golang-migrate clearing
		// the flag: TestKillDuringMigrate finds that the most common way to
		// a dirty version). The way out is `version = N`, not N-1.
		if !strings.Contains(out, fmt.Sprintf("SET version = %d, dirty = false", latest)) {
			t.Errorf("srm %s: the message only covers a migration whose changes are absent (set the version before "+
				"it); it does not say what to do when they are present, which is the state here and the usual one "+
				"after srm is killed during a migration (re-running a migration whose changes are in fails, or for a "+
				"data-only one could apply it twice). store.migrateError (store/store.go) should give both: changes "+
				"present → `UPDATE schema_migrations SET version = %d, dirty = false`; absent → version %d", cmd, latest, latest-1)
		}
	}
}

// TestMigrateTwiceAndDownUp: `srm migrate` on an empty database, then again:
// the second run changes nothing (schema and data identical). Reverting the
// newest migration and applying it again gives the same schema, and so does
// reverting everything and applying everything.
func TestMigrateTwiceAndDownUp(t *testing.T) {
	t.Parallel()
	dbURL := emptyDatabase(t)
	pool := openPool(t, dbURL)
	bin := srmBinary(t)
	latest := latestMigration(t)

	out, code := runSRM(t, bin, dbURL, "migrate")
	if code != 0 || !strings.Contains(out, "migrations applied") {
		t.Fatalf("srm migrate on an empty database: exit %d\n%s", code, out)
	}
	first := pgDump(t, dbURL)
	out, code = runSRM(t, bin, dbURL, "migrate")
	if code != 0 {
		t.Fatalf("srm migrate again: exit %d\n%s", code, out)
	}
	if second := pgDump(t, dbURL); second != first {
		t.Errorf("srm migrate a second time changed the database: %s", firstDifference(first, second))
	}
	if v, dirty := migrationState(t, pool); int(v) != latest || dirty {
		t.Errorf("schema_migrations = (%d, %v), want (%d, false)", v, dirty, latest)
	}

	schema := pgDump(t, dbURL, "--schema-only")
	m := newMigrator(t, pool, migrations.FS)
	if err := m.Steps(-1); err != nil {
		t.Fatalf("revert the newest migration: %v", err)
	}
	if v, _, _ := m.Version(); int(v) != latest-1 {
		t.Errorf("after one step down the version is %d, want %d", v, latest-1)
	}
	if down := pgDump(t, dbURL, "--schema-only"); down == schema {
		t.Errorf("reverting migration %d changed nothing in the schema", latest)
	}
	if err := m.Steps(1); err != nil {
		t.Fatalf("apply the newest migration again: %v", err)
	}
	m.Close()
	if again := pgDump(t, dbURL, "--schema-only"); again != schema {
		t.Errorf("newest down then up gives a different schema: %s", firstDifference(schema, again))
	}

	if err := store.MigrateDown(pool); err != nil {
		t.Fatalf("MigrateDown: %v", err)
	}
	var tables int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("after all the way down %d tables remain", tables)
	}
	if err := store.Migrate(pool); err != nil {
		t.Fatalf("Migrate after MigrateDown: %v", err)
	}
	if again := pgDump(t, dbURL, "--schema-only"); again != schema {
		t.Errorf("all down then all up gives a different schema: %s", firstDifference(schema, again))
	}
}

// TestConcurrentMigrateOnEmptyDatabase starts two `srm migrate` at the same
// moment on an empty database, several times: both must succeed and the
// result must be exactly one application of every migration (the schema and
// the row counts of a database migrated alone).
func TestConcurrentMigrateOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	bin := srmBinary(t)
	latest := latestMigration(t)
	refURL := emptyDatabase(t)
	refPool := openPool(t, refURL)
	if out, code := runSRM(t, bin, refURL, "migrate"); code != 0 {
		t.Fatalf("srm migrate: exit %d\n%s", code, out)
	}
	ref := fingerprint(t, refURL, refPool)
	rounds := 3
	if longRun() {
		rounds = 10
	}
	for round := range rounds {
		dbURL := emptyDatabase(t)
		pool := openPool(t, dbURL)
		ps := []*srmProc{spawnSRM(t, bin, dbURL, "migrate"), spawnSRM(t, bin, dbURL, "migrate")}
		for i, p := range ps {
			if !p.wait(time.Minute) {
				t.Fatalf("round %d: srm migrate #%d did not finish within a minute:\n%s", round, i+1, p.logs.String())
			}
			if p.code != 0 {
				t.Errorf("round %d: srm migrate #%d exit %d:\n%s", round, i+1, p.code, p.logs.String())
			}
		}
		if got := fingerprint(t, dbURL, pool); got != ref {
			t.Errorf("round %d: two concurrent srm migrate gave a different database than one: %s", round, firstDifference(ref, got))
		}
		if v, dirty := migrationState(t, pool); int(v) != latest || dirty {
			t.Errorf("round %d: schema_migrations = (%d, %v), want (%d, false)", round, v, dirty, latest)
		}
	}
}

// TestKillDuringMigrate SIGKILLs `srm migrate` at different moments on an
// empty database (what happens when a container is stopped during its first
// start). Whatever the moment, the database must hold whole migrations only:
// exactly the state after some version. When golang-migrate had marked the
// version dirty, srm refuses to start until an operator resets the version;
// the test follows the procedure in docs/deploy.md (set the version to the
// one whose state the database is in, dirty false) and checks that srm
// migrate then completes. It reports how often a kill left the database
// dirty.
func TestKillDuringMigrate(t *testing.T) {
	t.Parallel()
	bin := srmBinary(t)
	latest := latestMigration(t)
	refs := referenceFingerprints(t, latest)

	// How long does a full migration take here?
	timing := emptyDatabase(t)
	start := time.Now()
	if out, code := runSRM(t, bin, timing, "migrate"); code != 0 {
		t.Fatalf("srm migrate: exit %d\n%s", code, out)
	}
	full := time.Since(start)

	rounds := 6
	if longRun() {
		rounds = 30
	}
	outcomes := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for round := range rounds {
		delay := time.Duration(rand.Int64N(int64(full)))
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			outcome := killMigrateOnce(t, bin, refs, delay)
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
			_ = round
		})
	}
	wg.Wait()
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, outcomes[k]))
	}
	t.Logf("srm migrate (takes %v here) killed at a random moment, %d times: %s",
		full.Round(time.Millisecond), rounds, strings.Join(parts, ", "))
}

// killMigrateOnce runs one kill and recovery and describes the outcome.
func killMigrateOnce(t *testing.T, bin string, refs []string, delay time.Duration) string {
	dbURL := emptyDatabase(t)
	pool := openPool(t, dbURL)
	p := spawnSRM(t, bin, dbURL, "migrate")
	time.Sleep(delay)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
	waitQuiet(t, pool)

	got := fingerprint(t, dbURL, pool)
	level := slices.Index(refs, got)
	var version int64 = -1
	dirty := false
	err := pool.QueryRow(context.Background(), `SELECT version, dirty FROM schema_migrations`).Scan(&version, &dirty)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("read schema_migrations: %v", err)
	}
	if level < 0 {
		t.Errorf("killed after %v: the database matches no whole number of migrations (version %d, dirty %v)",
			delay.Round(time.Millisecond), version, dirty)
		return "half-applied"
	}
	outcome := ""
	switch {
	case p.code == 0:
		outcome = "finished before the kill"
	case !dirty:
		outcome = "clean (next start continues)"
		if version >= 0 && int(version) != level {
			t.Errorf("killed after %v: schema_migrations says %d (clean) but the database is at %d", delay, version, level)
		}
	case int(version) == level:
		outcome = "dirty, migration committed"
	case int(version) == level+1:
		outcome = "dirty, migration rolled back"
	default:
		t.Errorf("killed after %v: dirty at %d but the database is at %d", delay, version, level)
		return "inconsistent"
	}

	out, code := runSRM(t, bin, dbURL, "migrate")
	if dirty {
		if code == 0 || !strings.Contains(out, "dirty") {
			t.Errorf("srm migrate on a database left dirty by a kill: exit %d, want a refusal:\n%s", code, out)
		}
		// The operator's repair (docs/deploy.md): every migration is one
		// transaction, so the database is wholly at one version.
		if level == 0 {
			_, err = pool.Exec(context.Background(), `DELETE FROM schema_migrations`)
		} else {
			_, err = pool.Exec(context.Background(), `UPDATE schema_migrations SET version = $1, dirty = false`, level)
		}
		if err != nil {
			t.Fatal(err)
		}
		out, code = runSRM(t, bin, dbURL, "migrate")
	}
	if code != 0 {
		t.Errorf("srm migrate after a kill (%s): exit %d\n%s", outcome, code, out)
	} else if got := fingerprint(t, dbURL, pool); got != refs[len(refs)-1] {
		t.Errorf("after a kill (%s) and srm migrate the database differs from a clean one: %s", outcome,
			firstDifference(refs[len(refs)-1], got))
	}
	return outcome
}

// TestFailedMigrationTellsTheOperator makes a real migration fail (an object
// it creates is already there) and reads what `srm migrate` says: it must
// say that the database is now dirty at that version and what to do, in a
// few lines, as the next start does.
func TestFailedMigrationTellsTheOperator(t *testing.T) {
	t.Parallel()
	dbURL := emptyDatabase(t)
	pool := openPool(t, dbURL)
	bin := srmBinary(t)
	// Migration 000003 creates layer_progress.
	if _, err := pool.Exec(t.Context(), `CREATE TABLE layer_progress (x int)`); err != nil {
		t.Fatal(err)
	}
	out, code := runSRM(t, bin, dbURL, "migrate")
	if code == 0 {
		t.Fatalf("srm migrate succeeded over a conflicting table:\n%s", out)
	}
	if v, dirty := migrationState(t, pool); v != 3 || !dirty {
		t.Errorf("schema_migrations = (%d, %v), want (3, dirty)", v, dirty)
	}
	var problems []string
	if !strings.Contains(out, "dirty") || !strings.Contains(out, "version 3") {
		problems = append(problems, "it does not say that the database is now dirty at version 3 nor what to do")
	}
	if len(out) > 2000 {
		problems = append(problems, fmt.Sprintf("it is %d characters long: it quotes the whole migration file", len(out)))
	}
	if len(problems) > 0 {
		t.Errorf("what srm migrate says when a migration fails: %s.\n"+
			"Cause: store.migrateError (store/store.go) calls m.Version() on the migrator's connection, which the failed "+
			"migration left inside an aborted transaction, so the dirty check fails and the raw golang-migrate error "+
			"(with the SQL of the file) is returned. Fix: read schema_migrations on another connection (or say "+
			"\"the database is now dirty at version N\" from the migrate.ErrDirty/database.Error), and drop the query "+
			"text from the error (database.Error.Query). First 600 characters of what it said:\n%.600s",
			strings.Join(problems, "; "), out)
	}
}

package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// BenchmarkCompleteAControlOnSeededDatabase measures "complete a control"
// as `make bench` drives it (POST /workloads/{id}/controls/{cid} with an
// owner, complete ticked and unticked in turn, the version stored now, no
// HX-Request: 303), through the whole server and a signed-in session,
// against a database seeded beforehand, e.g. `srm seed --workloads 2000
// --framework nist-800-53-rev5-moderate`, named by SRM_BULK_BENCH_URL. It
// writes to that database. Without the variable it skips.
//
// Besides the time per request it reports the CPU per request of this
// process (srm's handler, and the test's small part) and of the one
// PostgreSQL backend that serves it (the pool has one connection), read
// from /proc: srm-cpu-ms/op and pg-cpu-ms/op. Run with a fixed count, e.g.
// -benchtime=3000x, so the clock-tick resolution of /proc averages out.
func BenchmarkCompleteAControlOnSeededDatabase(b *testing.B) {
	dbURL := os.Getenv("SRM_BULK_BENCH_URL")
	if dbURL == "" {
		b.Skip("SRM_BULK_BENCH_URL is not set")
	}
	ctx := store.WithActor(storetest.Context(b), store.Command("bench"))
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	st := store.New(pool)
	h := &harness{t: b, st: st, pool: pool, srv: newServer(b, st, web.Config{})}
	// A new account each run: the database outlives the benchmark.
	u := newUser(b, st, fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano()), srm.RoleEditor)
	h.signIn(u.Email, testPassword)

	// Controls the customer carries (customer or shared), of the first
	// workloads, with the version each status has now.
	type target struct {
		path    string
		version int64
	}
	rows, _ := pool.Query(ctx, `
		SELECT a.workload_id, a.control_id, COALESCE(s.version, 0)
		FROM assignments a LEFT JOIN statuses s USING (workload_id, control_id)
		WHERE a.workload_id IN (SELECT id FROM workloads ORDER BY id LIMIT 40) AND a.party IN ('customer', 'shared')
		ORDER BY a.control_id, a.workload_id LIMIT 400`)
	var targets []target
	var wid, cid, ver int64
	if _, err := pgx.ForEachRow(rows, []any{&wid, &cid, &ver}, func() error {
		targets = append(targets, target{fmt.Sprintf("/workloads/%d/controls/%d", wid, cid), ver})
		return nil
	}); err != nil || len(targets) == 0 {
		b.Fatalf("%d controls to complete: %v", len(targets), err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) == 0 {
		b.Fatalf("owners: %v", err)
	}
	// Warm the catalog and owners caches, as a running server has them.
	if rec := h.get(targets[0].path); rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d", targets[0].path, rec.Code)
	}

	srmCPU, pgCPU := processCPU(), backendCPU(backend)
	if pgCPU < 0 {
		b.Fatal("the backend's CPU cannot be read: is PostgreSQL on this machine?")
	}
	round := 0
	for b.Loop() {
		t := &targets[round%len(targets)]
		form := url.Values{"owner": {owners[round%len(owners)].Name}, "version": {strconv.FormatInt(t.version, 10)}}
		if (round/len(targets))%2 == 0 {
			form.Set("complete", "1")
		}
		rec := h.post(t.path, form)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("POST %s: %d\n%s", t.path, rec.Code, snippet(rec.Body.String()))
		}
		t.version++
		round++
	}
	b.StopTimer()
	n := float64(round)
	b.ReportMetric(float64(processCPU()-srmCPU)/float64(time.Millisecond)/n, "srm-cpu-ms/op")
	b.ReportMetric(float64(backendCPU(backend)-pgCPU)/float64(time.Millisecond)/n, "pg-cpu-ms/op")
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store/storetest"
)

// mixedLoad sends every kind of write srm has, from several goroutines, until
// ctx ends: status saves, overrides, new workloads with a model change and
// some deleted again, and custom controls created and deleted (each of which
// recomputes the whole summary). It counts answers by status and keeps the
// unexpected ones (anything but 2xx, 3xx, 404, 409 and 422) that came while
// srm was meant to be up. Requests in flight when ctx ends are finished.
type mixedLoad struct {
	base    string
	pool    *pgxpool.Pool
	round   int
	alive   *atomic.Bool // false once the test killed srm
	mu      sync.Mutex
	codes   map[int]int
	unknown []string
	wrote   atomic.Int64
}

func (l *mixedLoad) note(what string, r reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.err != nil {
		l.codes[0]++
	} else {
		l.codes[r.code]++
	}
	if r.err == nil && r.code < 400 {
		l.wrote.Add(1)
	}
	if !l.alive.Load() {
		return // after the kill every request fails; that is the point
	}
	// 409 and 422: a version or name taken meanwhile by another writer;
	// 404: a workload or control another writer deleted meanwhile.
	// 500: judged from srm's log by the test (a deadlock is a known fault).
	if r.err != nil || (r.code >= 400 && r.code != http.StatusConflict && r.code != http.StatusUnprocessableEntity &&
		r.code != http.StatusNotFound && r.code != http.StatusInternalServerError) {
		l.unknown = append(l.unknown, fmt.Sprintf("%s: %v: %.400s", what, r, r.body))
	}
}

func (l *mixedLoad) run(ctx context.Context, t *testing.T) {
	var areas []string
	rows, err := l.pool.Query(ctx, `SELECT slug FROM areas ORDER BY slug`)
	if err == nil {
		areas, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Errorf("areas: %v", err)
		return
	}
	var baseline int64
	if err := l.pool.QueryRow(ctx, `SELECT id FROM baselines ORDER BY position LIMIT 1`).Scan(&baseline); err != nil {
		t.Errorf("baseline: %v", err)
		return
	}
	layers := []string{"physical", "identity", "perimeter", "network", "compute", "application", "data"}
	models := []string{"onprem", "iaas", "paas", "saas"}
	parties := []string{"customer", "shared", "provider"}
	var wg sync.WaitGroup
	bg := context.Background() // requests in flight finish; loops stop with ctx
	loop := func(g int, step func(rnd *rand.Rand, i int)) {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(l.round), uint64(g)))
			for i := 0; ctx.Err() == nil; i++ {
				step(rnd, i)
				if !l.alive.Load() {
					time.Sleep(5 * time.Millisecond) // srm is gone: do not spin
				}
			}
		})
	}
	// Status saves, conditional on the version read just before.
	for g := range 2 {
		loop(g, func(rnd *rand.Rand, i int) {
			var wid, cid, version int64
			err := l.pool.QueryRow(ctx, `
				SELECT a.workload_id, a.control_id, COALESCE(s.version, 0)
				FROM assignments a LEFT JOIN statuses s USING (workload_id, control_id)
				WHERE a.party <> 'provider' AND a.workload_id = (SELECT id FROM workloads ORDER BY random() LIMIT 1)
				ORDER BY random() LIMIT 1`).Scan(&wid, &cid, &version)
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				return
			}
			r := post(bg, fmt.Sprintf("%s/workloads/%d/controls/%d", l.base, wid, cid),
				statusForm(version, fmt.Sprintf("crash drill %d/%d/%d", l.round, g, i), rnd.IntN(2) == 0))
			l.note("status", r)
		})
	}
	// Overrides.
	loop(2, func(rnd *rand.Rand, i int) {
		var wid, cid, version int64
		err := l.pool.QueryRow(ctx, `
			SELECT w.id, c.id, COALESCE(o.version, 0)
			FROM (SELECT id FROM workloads ORDER BY random() LIMIT 1) w
			CROSS JOIN LATERAL (SELECT id FROM controls ORDER BY random() LIMIT 1) c
			LEFT JOIN overrides o ON o.workload_id = w.id AND o.control_id = c.id`).Scan(&wid, &cid, &version)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			return
		}
		r := post(bg, fmt.Sprintf("%s/workloads/%d/controls/%d/override", l.base, wid, cid), url.Values{
			"party": {parties[rnd.IntN(3)]}, "reason": {"crash drill"}, "version": {strconv.FormatInt(version, 10)}})
		l.note("override", r)
	})
	// Workloads (create, change model, sometimes delete) and custom
	// controls (create, sometimes delete; each recomputes everything) from
	// one goroutine, one after the other: registering a workload while a
	// control is added leaves the summary wrong whether or not anything is
	// killed (TestCustomControlWhileWorkloadsAreRegistered), and this test
	// is about crashes.
	loop(3, func(rnd *rand.Rand, i int) {
		if i%2 == 0 {
			title := fmt.Sprintf("Crash drill control %d-%d", l.round, i)
			r := post(bg, l.base+"/controls", url.Values{"title": {title}, "layer": {layers[rnd.IntN(len(layers))]},
				"area": {areas[rnd.IntN(len(areas))]}, "description": {"made by the crash test"}})
			l.note("create control", r)
			if r.err != nil || r.code != http.StatusSeeOther || i%4 == 0 {
				return
			}
			var id int64
			if err := l.pool.QueryRow(ctx, `SELECT id FROM controls WHERE title = $1`, title).Scan(&id); err != nil {
				return
			}
			l.note("delete control", post(bg, fmt.Sprintf("%s/controls/%d/delete", l.base, id), url.Values{}))
			return
		}
		r := post(bg, l.base+"/workloads", url.Values{
			"name": {fmt.Sprintf("Crash drill %d-%d", l.round, i)}, "description": {"made by the crash test"},
			"model": {models[rnd.IntN(4)]}, "baseline": {strconv.FormatInt(baseline, 10)}})
		l.note("create workload", r)
		if r.err != nil || r.code != http.StatusSeeOther {
			return
		}
		path := r.location
		r = post(bg, l.base+path, url.Values{
			"name": {fmt.Sprintf("Crash drill %d-%d", l.round, i)}, "description": {"moved by the crash test"},
			"model": {models[rnd.IntN(4)]}, "baseline": {strconv.FormatInt(baseline, 10)},
			"version": {"1"}, "confirm": {"1"}})
		l.note("change model", r)
		if i%3 == 0 {
			l.note("delete workload", post(bg, l.base+path+"/delete", url.Values{}))
		}
	})
	wg.Wait()
}

// checkPagesServe fails the test unless the main pages of a running srm
// answer 200.
func checkPagesServe(t *testing.T, p *srmProc, pool *pgxpool.Pool) {
	t.Helper()
	for _, path := range []string{"/readyz", "/", "/?sort=progress", "/owners", "/controls", "/matrix", "/matrix/compare"} {
		mustGet(t, p.base+path)
	}
	rows, err := pool.Query(t.Context(), `SELECT id FROM workloads ORDER BY random() LIMIT 10`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		mustGet(t, fmt.Sprintf("%s/workloads/%d", p.base, id))
	}
}

// TestSRMKilledMidWritesLeavesNoPartialChange runs srm under a mix of every
// kind of write and SIGKILLs it at a random moment, several times. After
// each kill the progress summary must agree with a recount through the
// assignments table (no half-done change), and the next start must be clean:
// the migrations a no-op (same version, not dirty, same schema) and the
// pages serving. A first round ends without a kill, to tell a concurrency
// fault from a crash fault. It also kills `srm seed` in the middle of its
// one big transaction: all of it or none of it must be there, and the
// triggers it pauses must be on again.
func TestSRMKilledMidWritesLeavesNoPartialChange(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	bin := srmBinary(t)
	pool := openPool(t, dbURL)
	if out, code := runSRM(t, bin, dbURL, "seed", "--workloads", "200"); code != 0 {
		t.Fatalf("srm seed: exit %d\n%s", code, out)
	}
	schema := pgDump(t, dbURL, "--schema-only")
	version, dirty := migrationState(t, pool)

	rounds := 3
	if longRun() {
		rounds = 10
	}
	p := startSRM(t, bin, dbURL)
	var figures []string
	for round := range rounds {
		checkPagesServe(t, p, pool)
		logFrom := len(p.logs.String())
		alive := &atomic.Bool{}
		alive.Store(true)
		load := &mixedLoad{base: p.base, pool: pool, round: round, alive: alive, codes: map[int]int{}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { load.run(ctx, t); close(done) }()
		hold := time.Duration(400+rand.IntN(1200)) * time.Millisecond
		time.Sleep(hold)
		kill := round > 0
		if kill {
			alive.Store(false)
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.wait(10 * time.Second)
		}
		cancel()
		<-done
		waitQuiet(t, pool)
		what := "stopped the load"
		if kill {
			what = "SIGKILL"
		}
		figures = append(figures, fmt.Sprintf("round %d: %s after %v, %d writes answered <400, answers %v",
			round, what, hold, load.wrote.Load(), load.codes))
		if len(load.unknown) > 0 {
			t.Errorf("round %d: %d unexpected answers while srm was up, e.g.:\n  %s\nsrm logged:\n%s", round, len(load.unknown),
				strings.Join(load.unknown[:min(8, len(load.unknown))], "\n  "), errorLines(p.logs.String()[logFrom:]))
		}
		var deadlocks int
		for _, line := range strings.Split(p.logs.String()[logFrom:], "\n") {
			switch {
			case !strings.Contains(line, "level=ERROR"):
			case strings.Contains(line, "40P01"):
				deadlocks++
			default:
				t.Errorf("round %d: srm logged an error: %s", round, line)
			}
		}
		if deadlocks > 0 {
			t.Logf("round %d: %d writes failed with 500 on a deadlock (known: TestOppositeModelChangesDoNotDeadlock)", round, deadlocks)
		}
		bad, err := summaryMismatches(t.Context(), pool)
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Errorf("round %d (%s): the progress summary disagrees with a recount (%d rows, at most 50 shown):\n  %s",
				round, what, len(bad), strings.Join(bad, "\n  "))
		}
		if kill {
			p = startSRM(t, bin, dbURL) // the next start
			if v, d := migrationState(t, pool); v != version || d != dirty {
				t.Errorf("round %d: after restart schema_migrations = (%d, %v), want (%d, %v)", round, v, d, version, dirty)
			}
			if strings.Contains(p.logs.String(), "level=ERROR") {
				t.Errorf("round %d: the restart logged an error:\n%s", round, p.logs.String())
			}
		}
	}
	checkPagesServe(t, p, pool)
	if got := pgDump(t, dbURL, "--schema-only"); got != schema {
		t.Errorf("the schema changed across crashes and restarts: %s", firstDifference(schema, got))
	}
	t.Logf("srm killed mid-writes:\n  %s", strings.Join(figures, "\n  "))

	// srm seed: one transaction with triggers paused; SIGKILL it midway.
	var before int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM workloads`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	seed := spawnSRM(t, bin, dbURL, "seed", "--workloads", strconv.Itoa(n), "--seed", "7")
	// Kill it once its transaction has written something.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var busy bool
		if err := pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND query ILIKE '%copy%')`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy || !seed.running() || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	killedMidway := seed.running()
	_ = seed.cmd.Process.Signal(syscall.SIGKILL)
	seed.wait(10 * time.Second)
	waitQuiet(t, pool)
	var after int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM workloads`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	switch {
	case after == before:
		t.Logf("srm seed --workloads %d killed midway (during COPY: %v): nothing of it stored", n, killedMidway)
	case after == before+n && !killedMidway:
		t.Logf("srm seed finished before the kill; all %d workloads stored", n)
	default:
		t.Errorf("srm seed killed midway left %d workloads, want %d (none) or %d (all)", after, before, before+n)
	}
	var off []string
	rows, err := pool.Query(t.Context(), `SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O' ORDER BY 1`)
	if err == nil {
		off, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(off) > 0 {
		t.Errorf("triggers left disabled after srm seed was killed: %v", off)
	}
	checkSummary(t, pool)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
	p = startSRM(t, bin, dbURL)
	checkPagesServe(t, p, pool)
	if v, d := migrationState(t, pool); v != version || d != dirty {
		t.Errorf("after the seed kill schema_migrations = (%d, %v), want (%d, %v)", v, d, version, dirty)
	}
}

// errorLines keeps the ERROR and WARN lines of srm's log.
func errorLines(logs string) string {
	var keep []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

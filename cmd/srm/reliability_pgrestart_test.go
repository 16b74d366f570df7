package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// event is one request the load made, of a kind: "write" (a status POST),
// "read" (a page) or "readyz".
type event struct {
	kind string
	path string
	r    reply
}

func (e event) end() time.Time { return e.r.start.Add(e.r.dur) }

func (e event) ok() bool {
	if e.r.err != nil {
		return false
	}
	if e.kind == "write" {
		return e.r.code == http.StatusSeeOther
	}
	return e.r.code == http.StatusOK
}

type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// writeLoop posts status changes (a note, and complete on every other
// write) to its slots in turn, one every `every`. A write that does not get
// a 303 is sent again, unchanged, until it does: srm treats a repeated
// submission of what is already stored as success, so an unknown outcome
// (the database went away after committing) is resolved without guessing.
// After ctx ends it finishes the write in hand (for at most 15 s).
func writeLoop(ctx context.Context, base string, g int, slots []*slot, every time.Duration, rec *recorder) (unresolved int) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var (
		cur      *slot
		note     string
		complete bool
		seq      int
		giveUpAt time.Time
	)
	for {
		if cur == nil {
			if ctx.Err() != nil {
				return 0
			}
			cur = slots[seq%len(slots)]
			seq++
			note, complete = fmt.Sprintf("reliability writer %d, write %d", g, seq), seq%2 == 0
		}
		r := post(context.Background(), base+cur.path(), statusForm(cur.version, note, complete))
		rec.add(event{kind: "write", path: cur.path(), r: r})
		switch {
		case r.err == nil && r.code == http.StatusSeeOther:
			cur.version++
			cur.acked++
			cur.lastNote, cur.lastDone = note, complete
			cur = nil
		case r.err == nil && r.code == http.StatusServiceUnavailable:
			// Retry the same write on the next tick.
		default:
			// Anything else is reported by the analysis; move on, since
			// this slot's version is no longer known.
			cur = nil
		}
		if ctx.Err() != nil && cur != nil {
			if giveUpAt.IsZero() {
				giveUpAt = time.Now().Add(15 * time.Second)
			}
			if time.Now().After(giveUpAt) {
				return 1
			}
		}
		<-tick.C
	}
}

// probeLoop reads /readyz, the portfolio and a workload page in turn.
func probeLoop(ctx context.Context, base string, wid int64, every time.Duration, rec *recorder) {
	paths := []string{"/readyz", "/", fmt.Sprintf("/workloads/%d", wid)}
	for i := 0; ctx.Err() == nil; i++ {
		path := paths[i%len(paths)]
		kind := "read"
		if path == "/readyz" {
			kind = "readyz"
		}
		rec.add(event{kind: kind, path: path, r: get(context.Background(), base+path)})
		time.Sleep(every)
	}
}

// restartCycle is one outage: when the server was stopped or killed, when
// it was gone, when it was started and when it accepted connections again.
type restartCycle struct {
	mode                               string // "fast stop" or "SIGKILL"
	stopAt, downAt, startAt, upAt, end time.Time
}

// cycleFigures is what the load saw during one cycle.
type cycleFigures struct {
	downRequests int           // requests made entirely while PostgreSQL was down
	downMax      time.Duration // the slowest of them
	downBad      []string      // those that were not a quick, clear 503
	recovery     map[string]time.Duration
}

// TestPostgresRestartUnderWrites restarts srm's PostgreSQL under a steady
// stream of writes and reads, once with a fast stop and once by killing the
// postmaster (SIGKILL; the next start runs crash recovery), on a cluster of
// its own with fsync on. It requires that every write srm acknowledged is
// stored, that while the database is down every request fails within a
// second with a 503 and the "database is not answering" page, that /readyz
// answers 503 then, and that srm serves reads and writes again within 2 s of
// the database accepting connections, without being restarted.
// SRM_RELIABILITY=1 (make reliability) runs five cycles of each kind, with
// longer outages.
func TestPostgresRestartUnderWrites(t *testing.T) {
	c := newCluster(t)
	bin := srmBinary(t)
	dbURL := c.URL("srm")
	srmP := startSRM(t, bin, dbURL, "--demo")
	pool := openPool(t, dbURL)
	slots := customerSlots(t, pool)
	pool.Close() // the test does not touch the database while it restarts

	modes := []string{"fast stop", "SIGKILL"}
	warm, down, settle := 500*time.Millisecond, 1200*time.Millisecond, 2200*time.Millisecond
	if longRun() {
		modes = nil
		for range 5 {
			modes = append(modes, "fast stop", "SIGKILL")
		}
		warm, down, settle = 2*time.Second, 3*time.Second, 3*time.Second
	}
	const writers = 2
	const writeEvery, probeEvery = 20 * time.Millisecond, 30 * time.Millisecond

	rec := &recorder{}
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var wg sync.WaitGroup
	unresolved := make([]int, writers)
	for g := range writers {
		var mine []*slot
		for i, s := range slots {
			if i%writers == g {
				mine = append(mine, s)
			}
		}
		wg.Go(func() { unresolved[g] = writeLoop(ctx, srmP.base, g, mine, writeEvery, rec) })
	}
	wg.Go(func() { probeLoop(ctx, srmP.base, slots[0].wid, probeEvery, rec) })

	var cycles []restartCycle
	for _, mode := range modes {
		time.Sleep(warm)
		cy := restartCycle{mode: mode, stopAt: time.Now()}
		if mode == "SIGKILL" {
			c.kill()
		} else {
			c.stopFast()
		}
		cy.downAt = time.Now()
		time.Sleep(down)
		cy.startAt = time.Now()
		cy.upAt = c.start()
		time.Sleep(settle)
		cy.end = time.Now()
		cycles = append(cycles, cy)
	}
	stopLoad()
	wg.Wait()

	if !srmP.running() {
		t.Fatalf("srm exited during the test (code %d); output:\n%s", srmP.code, srmP.logs.String())
	}

	events := rec.all()
	var anomalies []string
	writes, fails503 := 0, 0
	var maxAny time.Duration
	for _, e := range events {
		if e.kind == "write" {
			writes++
		}
		if e.r.err == nil && e.r.code == http.StatusServiceUnavailable {
			fails503++
		}
		if !e.ok() {
			maxAny = max(maxAny, e.r.dur)
			if e.r.err != nil || e.r.code != http.StatusServiceUnavailable {
				anomalies = append(anomalies, fmt.Sprintf("%s %s at %s: %v after %v: %.300s", e.kind, e.path,
					e.r.start.Format("15:04:05.000"), e.r, e.r.dur.Round(time.Millisecond), e.r.body))
			}
		}
	}

	figs := make([]cycleFigures, len(cycles))
	for i, cy := range cycles {
		f := &figs[i]
		f.recovery = map[string]time.Duration{}
		for _, e := range events {
			if e.r.start.Before(cy.downAt) || e.end().After(cy.startAt) {
				continue
			}
			f.downRequests++
			f.downMax = max(f.downMax, e.r.dur)
			want := "The database is not answering"
			if e.kind == "readyz" {
				want = "database unavailable"
			}
			if e.r.err != nil || e.r.code != http.StatusServiceUnavailable || e.r.dur >= time.Second ||
				!strings.Contains(e.r.body, want) || looksLikeACrash(e.r.body) {
				f.downBad = append(f.downBad, fmt.Sprintf("%s %s: %v after %v: %.300s", e.kind, e.path, e.r,
					e.r.dur.Round(time.Millisecond), e.r.body))
			}
		}
		// Recovery: from the moment PostgreSQL accepted connections to the
		// end of the first success after the last failure, per kind.
		for _, kind := range []string{"read", "write", "readyz"} {
			var lastFail time.Time
			for _, e := range events {
				if e.kind == kind && !e.ok() && e.end().After(cy.upAt) && e.r.start.Before(cy.end) {
					lastFail = e.end()
				}
			}
			from := cy.upAt
			if lastFail.After(from) {
				from = lastFail
			}
			rec := time.Duration(-1)
			for _, e := range events {
				if e.kind == kind && e.ok() && !e.r.start.Before(from) && e.r.start.Before(cy.end) {
					rec = max(0, e.end().Sub(cy.upAt))
					break
				}
			}
			f.recovery[kind] = rec
		}
	}

	pool = openPool(t, dbURL)
	lost, what := lostWrites(t, pool, slots)
	acked := 0
	for _, s := range slots {
		acked += s.acked
	}

	// The figures, for docs/reliability.md.
	var b strings.Builder
	fmt.Fprintf(&b, "PostgreSQL restarts under load: %d writers every %v, reads every %v, fsync on\n", writers, writeEvery, probeEvery)
	for i, cy := range cycles {
		f := figs[i]
		fmt.Fprintf(&b, "  cycle %d (%s): down %v; %d requests while down, slowest %v, %d not a quick clear 503; "+
			"PostgreSQL accepting connections %v after start; srm serving again after: reads %v, writes %v, readyz %v\n",
			i+1, cy.mode, cy.startAt.Sub(cy.downAt).Round(time.Millisecond), f.downRequests,
			f.downMax.Round(time.Millisecond), len(f.downBad), cy.upAt.Sub(cy.startAt).Round(time.Millisecond),
			fmtRecovery(f.recovery["read"]), fmtRecovery(f.recovery["write"]), fmtRecovery(f.recovery["readyz"]))
	}
	fmt.Fprintf(&b, "  writes sent %d (retries included), acknowledged %d, lost %d; 503 answers %d; slowest failed request %v; other anomalies %d",
		writes, acked, lost, fails503, maxAny.Round(time.Millisecond), len(anomalies))
	t.Log(b.String())

	for i, f := range figs {
		cy := cycles[i]
		if f.downRequests == 0 {
			t.Errorf("cycle %d (%s): no request fell entirely within the outage; the test measured nothing", i+1, cy.mode)
		}
		if len(f.downBad) > 0 {
			t.Errorf("cycle %d (%s): %d requests while PostgreSQL was down were not a 503 with the clear page within 1 s, e.g.:\n  %s",
				i+1, cy.mode, len(f.downBad), strings.Join(f.downBad[:min(5, len(f.downBad))], "\n  "))
		}
		for kind, d := range f.recovery {
			if d < 0 || d > 2*time.Second {
				var after []string
				for _, e := range events {
					if e.kind == kind && e.end().After(cy.upAt) && e.r.start.Before(cy.end) {
						after = append(after, fmt.Sprintf("%+v: %v in %v %.120s", e.r.start.Sub(cy.upAt).Round(time.Millisecond),
							e.r, e.r.dur.Round(time.Millisecond), strings.Join(strings.Fields(e.r.body), " ")))
					}
				}
				t.Errorf("cycle %d (%s): %s did not succeed again within 2 s of PostgreSQL accepting connections (%s); "+
					"%s requests after that moment (start relative to it):\n  %s\nsrm logged:\n%s",
					i+1, cy.mode, kind, fmtRecovery(d), kind, strings.Join(after[:min(20, len(after))], "\n  "), errorLines(srmP.logs.String()))
			}
		}
	}
	if len(anomalies) > 0 {
		t.Errorf("%d requests failed with something other than a 503 (want only 200/303 or 503), e.g.:\n  %s",
			len(anomalies), strings.Join(anomalies[:min(10, len(anomalies))], "\n  "))
	}
	if lost > 0 {
		t.Errorf("%d acknowledged writes are not in the database:\n  %s", lost, strings.Join(what[:min(10, len(what))], "\n  "))
	} else if len(what) > 0 {
		t.Logf("notes:\n  %s", strings.Join(what, "\n  "))
	}
	for g, n := range unresolved {
		if n > 0 {
			t.Errorf("writer %d: its last write was still not acknowledged 15 s after the load stopped", g)
		}
	}
	if acked == 0 {
		t.Error("no write was acknowledged")
	}
	checkSummary(t, pool)
	if strings.Contains(srmP.logs.String(), "panic") {
		t.Errorf("srm logged a panic:\n%s", srmP.logs.String())
	}
}

func fmtRecovery(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srmhq/srm/store/storetest"
)

// TestSIGTERMWithARequestInFlight sends SIGTERM to `srm serve` while a
// status save waits on a row lock the test holds. It requires that /readyz
// answers 503 right after the signal (so a load balancer stops sending
// traffic before the process goes), that the save in flight completes
// (303, and stored), and that srm exits 0 within 15 s.
func TestSIGTERMWithARequestInFlight(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	bin := srmBinary(t)
	pool := openPool(t, dbURL)
	p := startSRM(t, bin, dbURL, "--demo")
	s := customerSlots(t, pool)[0]
	mustGet(t, p.base+"/readyz")

	lock, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.Background()) //nolint:errcheck // a no-op once rolled back
	if _, err := lock.Exec(t.Context(), `SELECT 1 FROM workloads WHERE id = $1 FOR UPDATE`, s.wid); err != nil {
		t.Fatal(err)
	}
	const note = "saved while srm was shutting down"
	inFlight := make(chan reply, 1)
	go func() { inFlight <- post(context.Background(), p.base+s.path(), statusForm(s.version, note, false)) }()
	waitForLockWaiters(t, pool, 1)

	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Poll /readyz for 300 ms, as a load balancer's probe would.
	type probe struct {
		after time.Duration
		what  string
	}
	var probes []probe
	saw503 := time.Duration(-1)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	for time.Since(signalled) < 300*time.Millisecond {
		r := get(ctx, p.base+"/readyz")
		what := r.String()
		if r.err != nil {
			what = "no answer"
			if strings.Contains(r.err.Error(), "connection refused") {
				what = "connection refused"
			}
		}
		if len(probes) == 0 || probes[len(probes)-1].what != what {
			probes = append(probes, probe{time.Since(signalled), what})
		}
		if r.err == nil && r.code == http.StatusServiceUnavailable && saw503 < 0 {
			saw503 = time.Since(signalled)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := lock.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	var r reply
	select {
	case r = <-inFlight:
	case <-time.After(15 * time.Second):
		t.Fatal("the request in flight did not finish within 15 s")
	}
	exited := p.wait(15*time.Second - time.Since(signalled))
	exitAfter := time.Since(signalled)

	var seen []string
	for _, pr := range probes {
		seen = append(seen, fmt.Sprintf("%s from %v", pr.what, pr.after.Round(time.Millisecond)))
	}
	t.Logf("after SIGTERM: /readyz %s; request in flight %v after %v; srm exited %v (code %d) %v after the signal",
		strings.Join(seen, ", then "), r, r.dur.Round(time.Millisecond), exited, p.code, exitAfter.Round(time.Millisecond))

	if r.err != nil || r.code != http.StatusSeeOther {
		t.Errorf("the request in flight at SIGTERM = %v, want 303; body: %.300s", r, r.body)
	}
	var stored string
	if err := pool.QueryRow(t.Context(), `SELECT note FROM statuses WHERE workload_id = $1 AND control_id = $2`, s.wid, s.cid).Scan(&stored); err != nil || stored != note {
		t.Errorf("the note saved during shutdown is %q (%v), want %q", stored, err, note)
	}
	if !exited || p.code != 0 {
		t.Errorf("srm did not exit cleanly within 15 s of SIGTERM (exited %v, code %d); output:\n%s", exited, p.code, p.logs.String())
	}
	if saw503 < 0 {
		t.Errorf("/readyz never answered 503 after SIGTERM; it went %s. "+
			"cmd/srm/serve.go serve() sets stopping and calls srv.Shutdown at once, and Shutdown closes the listener "+
			"first, so a readiness probe gets no answer instead of 503 and the flag is never seen. A load balancer only "+
			"notices after its probe fails repeatedly, while it may still route new requests to a port that refuses "+
			"them. Suggested fix: after the signal, set stopping, keep serving for a short drain delay (a few seconds, "+
			"configurable, e.g. SRM_DRAIN; longer than probe interval × failure threshold) so /readyz answers 503 and "+
			"the balancer takes the instance out, then call Shutdown.", strings.Join(seen, ", then "))
	}
}

// TestTwoInstancesSeeEachOthersChanges runs two srm processes on one
// database: a custom control added or renamed on one appears at once on the
// other's workload page (each process caches the catalog and checks its
// version), and status saves show on the other instance's control page at
// once.
func TestTwoInstancesSeeEachOthersChanges(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	bin := srmBinary(t)
	pool := openPool(t, dbURL)
	a := startSRM(t, bin, dbURL, "--demo")
	b := startSRM(t, bin, dbURL)
	s := customerSlots(t, pool)[0]
	page := fmt.Sprintf("/workloads/%d", s.wid)
	var area string
	if err := pool.QueryRow(t.Context(), `SELECT slug FROM areas ORDER BY slug LIMIT 1`).Scan(&area); err != nil {
		t.Fatal(err)
	}

	// Both instances have loaded (and cached) the catalog.
	const title = "Second instance drill control"
	for _, p := range []*srmProc{a, b} {
		if strings.Contains(mustGet(t, p.base+page), title) {
			t.Fatal("the control exists before the test adds it")
		}
	}
	if r := post(t.Context(), a.base+"/controls", url.Values{"title": {title}, "layer": {"data"}, "area": {area}}); r.code != http.StatusSeeOther {
		t.Fatalf("POST /controls on A = %v: %.300s", r, r.body)
	}
	if !strings.Contains(mustGet(t, b.base+page), title) {
		t.Errorf("a control added on instance A does not show on instance B's workload page")
	}
	if !strings.Contains(mustGet(t, b.base+"/controls"), title) {
		t.Errorf("a control added on instance A is not in instance B's catalog")
	}

	var cid, cversion int64
	if err := pool.QueryRow(t.Context(), `SELECT id, version FROM controls WHERE title = $1`, title).Scan(&cid, &cversion); err != nil {
		t.Fatal(err)
	}
	const renamed = "Second instance drill control, renamed"
	if r := post(t.Context(), fmt.Sprintf("%s/controls/%d", b.base, cid), url.Values{"title": {renamed}, "layer": {"data"},
		"area": {area}, "version": {strconv.FormatInt(cversion, 10)}}); r.code != http.StatusSeeOther {
		t.Fatalf("POST /controls/%d on B = %v: %.300s", cid, r, r.body)
	}
	if body := mustGet(t, a.base+page); !strings.Contains(body, renamed) {
		t.Errorf("a control renamed on instance B still shows its old title on instance A")
	}

	if r := post(t.Context(), a.base+s.path(), statusForm(s.version, "saved on instance A", true)); r.code != http.StatusSeeOther {
		t.Fatalf("status on A = %v: %.300s", r, r.body)
	}
	// The checklist row shows owner and completion only; the note is on
	// the control's own page.
	if !strings.Contains(mustGet(t, b.base+s.path()), "saved on instance A") {
		t.Errorf("a note saved on instance A does not show on instance B")
	}
	if r := post(t.Context(), b.base+s.path(), statusForm(s.version+1, "saved on instance B", false)); r.code != http.StatusSeeOther {
		t.Fatalf("status on B = %v: %.300s", r, r.body)
	}
	if !strings.Contains(mustGet(t, a.base+s.path()), "saved on instance B") {
		t.Errorf("a note saved on instance B does not show on instance A")
	}
	// A stale save on A (it had not seen B's) is refused with 409, not lost.
	if r := post(t.Context(), a.base+s.path(), statusForm(s.version+1, "late save on A", true)); r.code != http.StatusConflict {
		t.Errorf("a save on A based on the version B replaced = %v, want 409", r)
	}

	// Sessions live in PostgreSQL: one made on A works on B, and signing
	// out on B ends it on A.
	fromA, _ := sessions.Load(a.base)
	sessions.Store(b.base, fromA)
	if r := get(t.Context(), b.base+"/owners"); r.code != http.StatusOK {
		t.Errorf("GET /owners on B with the session made on A = %v, want 200", r)
	}
	if r := post(t.Context(), b.base+"/signout", url.Values{}); r.code != http.StatusSeeOther {
		t.Fatalf("sign out on B = %v: %.300s", r, r.body)
	}
	if r := get(t.Context(), a.base+"/owners"); r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/signin") {
		t.Errorf("GET /owners on A after signing out on B = %v to %q, want 303 to sign in", r, r.location)
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

// cheapHash is an argon2id hash of pw with credential.CheapParams, far
// below srm's own (1 MiB, one pass), so that a test can sign in hundreds
// of times. CheckPassword takes the parameters from the hash.
func cheapHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := credential.CheapParams.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// probe is one request made with a session cookie, and how it was served.
type probe struct {
	start time.Time
	code  int
	role  srm.Role // the role the page was rendered for; "" when not served
	name  string   // the name the page shows for the person
}

// served reads what GET / answered with cookie: the status, and on 200 the
// role and name of the person the page was served to.
func served(t testing.TB, srv http.Handler, cookie string) probe {
	p := probe{start: time.Now()}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cookie})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	p.code = rec.Code
	if rec.Code != http.StatusOK {
		return p
	}
	doc, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		t.Errorf("parse /: %v", err)
		return p
	}
	who := doc.Find(tid("account") + " .who")
	p.role = srm.Role(text(who.Find(".role")))
	p.name = strings.TrimSpace(strings.TrimSuffix(text(who), string(p.role)))
	return p
}

// revocationKind is one change that must end every session made before it,
// including those whose sign-in was in flight while it was made.
type revocationKind struct {
	name string
	role srm.Role // the account's role before the change
	// change makes the change; the account's name becomes "after" in the
	// same transaction when the change leaves sessions that can still work.
	change func(ctx context.Context, st *store.Store, h *harness, u srm.User) error
	// stale reports whether a page served after the change committed was
	// served from the account as it was before.
	stale func(p probe) bool
}

// TestSignInsInFlightCannotOutliveARevocation races sign-ins against each
// change that must end an account's sessions at once: a sign-in that read
// the account before the change must not leave a session that works after
// it, and no request that starts after the change has committed may be
// served with the rights the account had before. Four goroutines sign in
// in a loop (more would lock the account: every attempt counts until it is
// settled) while eight others use every session they obtained; the change
// is made while sign-ins are in flight, many times over.
func TestSignInsInFlightCannotOutliveARevocation(t *testing.T) {
	t.Parallel()
	const rounds = 12
	servedAtAll := func(p probe) bool { return p.code == http.StatusOK }
	kinds := []revocationKind{
		{"disable", srm.RoleEditor, func(ctx context.Context, st *store.Store, _ *harness, u srm.User) error {
			u.Disabled = true
			_, err := st.UpdateUser(ctx, u)
			return err
		}, servedAtAll},
		{"demote admin to viewer", srm.RoleAdmin, func(ctx context.Context, st *store.Store, _ *harness, u srm.User) error {
			u.Role, u.Name = srm.RoleViewer, "after"
			_, err := st.UpdateUser(ctx, u)
			return err
		}, func(p probe) bool { return p.code == http.StatusOK && (p.role != srm.RoleViewer || p.name != "after") }},
		{"change the password", srm.RoleEditor, func(ctx context.Context, st *store.Store, h *harness, u srm.User) error {
			// Sign-ins keep using the old password: none may work after.
			return st.SetPassword(ctx, u.ID, cheapHash(h.t, "a brand new password"))
		}, servedAtAll},
		{"enrol an authenticator", srm.RoleEditor, func(ctx context.Context, st *store.Store, _ *harness, u srm.User) error {
			// From now on a password alone reaches only the code step.
			return st.EnableTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP", 1, []string{"x"})
		}, servedAtAll},
		{"require an authenticator of everyone", srm.RoleEditor, func(ctx context.Context, st *store.Store, _ *harness, _ srm.User) error {
			// From now on a password alone reaches only enrolment.
			return st.SetMFARequired(ctx, true)
		}, servedAtAll},
		{"sign out everywhere", srm.RoleEditor, func(ctx context.Context, _ *store.Store, h *harness, u srm.User) error {
			// Renamed in the same transaction, so a session's page tells
			// which side of the revocation its sign-in read the account.
			tx, err := h.pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, `SELECT set_config('srm.actor', '{"actor": "race test"}', true)`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET name = 'after' WHERE id = $1`, u.ID); err != nil {
				return err
			}
			if err := store.New(tx).RevokeSessions(ctx, u.ID); err != nil {
				return err
			}
			return tx.Commit(ctx)
		}, func(p probe) bool { return p.code == http.StatusOK && p.name != "after" }},
	}
	for ki, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := store.WithActor(t.Context(), store.Actor{Name: "race test"})
			var overlapped, sessions, stale, told int
			for round := range rounds {
				if kind.name == "require an authenticator of everyone" {
					if err := h.st.SetMFARequired(ctx, false); err != nil {
						t.Fatal(err)
					}
				}
				u := srm.User{Email: fmt.Sprintf("racer%d@example.com", round), Name: "before", Role: kind.role}
				if err := h.st.CreateUser(ctx, &u, cheapHash(t, testPassword)); err != nil {
					t.Fatal(err)
				}
				r := raceOnce(ctx, t, h, ki, round, u, kind)
				overlapped += r.overlapped
				sessions += r.sessions
				stale += r.stale
				told += r.told
				if t.Failed() {
					break
				}
			}
			t.Logf("%d rounds: %d sessions obtained, %d sign-ins in flight while the change was made, %d told to sign in again, %d served stale",
				rounds, sessions, overlapped, told, stale)
			if overlapped == 0 {
				t.Errorf("no sign-in was in flight while the change was made: the race was never run")
			}
		})
	}
}

type raceResult struct{ overlapped, sessions, stale, told int }

// raceOnce runs one round of the race on account u.
func raceOnce(ctx context.Context, t *testing.T, h *harness, kind, round int, u srm.User, k revocationKind) raceResult {
	t.Helper()
	const signers, probers = 4, 8
	var (
		mu        sync.Mutex
		cookies   []string
		signIns   []struct{ start, end time.Time }
		statuses  = map[int]int{}
		probes    []probe
		completed atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	form := url.Values{"email": {u.Email}, "password": {testPassword}}.Encode()
	for g := range signers {
		wg.Go(func() {
			for !stop.Load() {
				req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				// A client of its own: failures after the change must not
				// reach the per-client cap of later rounds.
				req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", kind+1, round+1, g+1)
				rec := httptest.NewRecorder()
				start := time.Now()
				h.srv.ServeHTTP(rec, req)
				end := time.Now()
				completed.Add(1)
				mu.Lock()
				signIns = append(signIns, struct{ start, end time.Time }{start, end})
				statuses[rec.Code]++
				for _, c := range rec.Result().Cookies() {
					if c.Name == web.SessionCookie && c.Value != "" && c.MaxAge >= 0 {
						cookies = append(cookies, c.Value)
					}
				}
				mu.Unlock()
			}
		})
	}
	for g := range probers {
		wg.Go(func() {
			for i := g; !stop.Load(); i++ {
				mu.Lock()
				n := len(cookies)
				var c string
				if n > 0 {
					c = cookies[i%n]
				}
				mu.Unlock()
				if c == "" {
					time.Sleep(time.Millisecond)
					continue
				}
				p := served(t, h.srv, c)
				mu.Lock()
				probes = append(probes, p)
				mu.Unlock()
			}
		})
	}
	// Let sign-ins get going, then change the account while some are in
	// flight, and let both sides carry on for a while after.
	for completed.Load() < 6 {
		time.Sleep(time.Millisecond)
	}
	changeStart := time.Now()
	if err := k.change(ctx, h.st, h, u); err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatalf("round %d: %s: %v", round, k.name, err)
	}
	committed := time.Now()
	after := completed.Load()
	for completed.Load() < after+6 && time.Since(committed) < 2*time.Second {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	var r raceResult
	r.sessions = len(cookies)
	r.told = statuses[http.StatusConflict]
	for code, n := range statuses {
		switch code {
		case http.StatusSeeOther, // signed in, or on to the code or enrolment step
			http.StatusConflict,            // the account changed meanwhile: sign in again
			http.StatusForbidden,           // disabled
			http.StatusUnprocessableEntity, // the old password
			http.StatusTooManyRequests:     // locked after failures with the old password
		default:
			t.Errorf("round %d: %d sign-ins answered %d", round, n, code)
		}
	}
	for _, s := range signIns {
		if s.start.Before(changeStart) && s.end.After(committed) {
			r.overlapped++
		}
	}
	for _, p := range probes {
		if p.start.After(committed) && k.stale(p) {
			r.stale++
			if r.stale == 1 {
				t.Errorf("round %d: a request made %v after %q committed was served from the account as it was before (role %s, name %q)",
					round, p.start.Sub(committed), k.name, p.role, p.name)
			}
		}
	}
	// Every session obtained, whenever its sign-in ran: none made from the
	// account as it was before may work now.
	for _, c := range cookies {
		if p := served(t, h.srv, c); k.stale(p) {
			r.stale++
			t.Errorf("round %d: after %q, a session made before it still works (role %s, name %q)", round, k.name, p.role, p.name)
			break
		}
	}
	return r
}

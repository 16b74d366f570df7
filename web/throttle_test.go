package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// TestABurstFromOneClientChecksExactlyTheCap: one client that has 15 of
// its 20 failures left sends 60 wrong sign-ins at once, each for a
// different email so no account lock slows it down: exactly 5 more
// passwords are checked; the rest are refused with 429 before any check.
// (The 15 are set up directly, so that the burst costs 5 password hashes,
// not 20, and stays well inside the request deadline on a slow machine.)
func TestABurstFromOneClientChecksExactlyTheCap(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{})}
	// httptest requests come from 192.0.2.1.
	if _, err := pool.Exec(t.Context(), `INSERT INTO signin_failures (email, client_ip)
		SELECT 'earlier' || g || '@example.com', '192.0.2.1' FROM generate_series(1, 15) g`); err != nil {
		t.Fatal(err)
	}
	const burst = 60
	codes := make([]int, burst)
	bodies := make([]string, burst)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range codes {
		wg.Go(func() {
			<-start
			rec := h.signedOut().post("/signin", url.Values{"email": {fmt.Sprintf("burst%d@example.com", i)}, "password": {"wrong password"}})
			codes[i], bodies[i] = rec.Code, rec.Body.String()
		})
	}
	close(start)
	wg.Wait()
	checked := 0
	for i, c := range codes {
		switch c {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("a sign-in of the burst got %d, want 422 or 429: %s", c, snippet(bodies[i]))
		}
	}
	if checked != 5 {
		t.Errorf("%d of %d concurrent wrong sign-ins from a client with 5 failures left had their password checked, want exactly 5", checked, burst)
	}
	if n := count(t, h, `SELECT count(*) FROM signin_failures`); n != 20 {
		t.Errorf("%d failures counted for the client, want 20", n)
	}
}

// TestIPv6ClientsAreCountedByTheirSlash64: behind a trusted proxy, a client
// with a /64 of its own cannot get a new cap of 20 failures by moving to
// another address in it; another /64 is another client, and the audit
// trail keeps each full address.
func TestIPv6ClientsAreCountedByTheirSlash64(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{TrustedProxies: []string{"192.0.2.0/24"}})}
	u := newUser(t, st, "six@example.com", srm.RoleViewer)
	for i := range 20 {
		rec := h.signedOut().post("/signin", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password"}},
			"X-Forwarded-For", fmt.Sprintf("2001:db8:1:2:%x::1", i))
		wantStatus(t, fmt.Sprintf("guess %d", i), rec, http.StatusUnprocessableEntity)
	}
	rec := h.signedOut().post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}, "X-Forwarded-For", "2001:db8:1:2:ffff::77")
	wantStatus(t, "21st attempt from the same /64", rec, http.StatusTooManyRequests)
	rec = h.signedOut().post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}, "X-Forwarded-For", "2001:db8:1:3::1")
	wantStatus(t, "a client in another /64", rec, http.StatusSeeOther)
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND client_ip = '2001:db8:1:2:13::1'`); n != 1 {
		t.Errorf("%d failed sign-ins audited with the full address 2001:db8:1:2:13::1, want 1", n)
	}
}

// TestClientsWithoutAnAddressShareOneCap: requests whose client address
// cannot be known (through the trusted proxy without X-Forwarded-For, or
// with nothing usable in it) are one client together, so hiding the
// address buys no cap of its own; and an IPv4 client written as
// IPv4-mapped IPv6 is the same client as written plainly.
func TestClientsWithoutAnAddressShareOneCap(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{TrustedProxies: []string{"192.0.2.0/24"}})}
	u := newUser(t, st, "nowhere@example.com", srm.RoleViewer)
	hidden := [][]string{nil, {"X-Forwarded-For", "not an address"}, {"X-Forwarded-For", "192.0.2.9"}, {"X-Forwarded-For", ""}}
	for i := range 20 {
		rec := h.signedOut().post("/signin", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password"}},
			hidden[i%len(hidden)]...)
		wantStatus(t, fmt.Sprintf("guess %d", i), rec, http.StatusUnprocessableEntity)
	}
	rec := h.signedOut().post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}, "X-Forwarded-For", "garbage")
	wantStatus(t, "21st attempt without an address", rec, http.StatusTooManyRequests)

	for i := range 20 {
		h.signedOut().post("/signin", url.Values{"email": {fmt.Sprintf("v4guess%d@example.com", i)}, "password": {"wrong password"}},
			"X-Forwarded-For", "198.51.100.4")
	}
	rec = h.signedOut().post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}, "X-Forwarded-For", "::ffff:198.51.100.4")
	wantStatus(t, "the same IPv4 client, IPv4-mapped", rec, http.StatusTooManyRequests)
}

// TestADisabledAccountAnswersAsAWrongPassword: the right password of a
// disabled account gets exactly the answer of a wrong one, so the answer
// tells nobody whether they guessed it; the audit trail has the reason.
func TestADisabledAccountAnswersAsAWrongPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.as(srm.RoleViewer)
	wantRedirect(t, "disable", h.submit(h.userForm(v.user.ID), url.Values{"disabled": {"1"}}), "/admin/users/"+itoa(v.user.ID)+"?done=saved")
	right := h.signedOut().post("/signin", url.Values{"email": {v.user.Email}, "password": {testPassword}})
	wrong := h.signedOut().post("/signin", url.Values{"email": {v.user.Email}, "password": {"not the password"}})
	wantStatus(t, "the right password of a disabled account", right, http.StatusUnprocessableEntity)
	if right.Code != wrong.Code || right.Body.String() != wrong.Body.String() {
		t.Errorf("right password: %d %q\nwrong password: %d %q", right.Code, snippet(right.Body.String()), wrong.Code, snippet(wrong.Body.String()))
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = '`+v.user.Email+`' AND after->>'reason' = 'account disabled'`); n != 1 {
		t.Errorf("%d failed sign-ins audited as 'account disabled', want 1", n)
	}
}

// TestAPasswordTypedAsTheEmailIsNotKept: what is typed into the email
// field is recorded only when it is an email address; anything else is
// recorded as not one, so a password typed there by mistake is not kept.
func TestAPasswordTypedAsTheEmailIsNotKept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const secret = "Tr0ub4dor&3 horse"
	rec := h.signedOut().post("/signin", url.Values{"email": {secret}, "password": {"whatever"}})
	wantStatus(t, "a password as the email", rec, http.StatusUnprocessableEntity)
	rec = h.signedOut().post("/signin", url.Values{"email": {"nobody@example.com"}, "password": {"whatever"}})
	wantStatus(t, "an unknown email", rec, http.StatusUnprocessableEntity)
	if n := count(t, h, `SELECT count(*) FROM audit WHERE concat_ws(' ', object_name, actor, after::text, before::text) ILIKE '%Tr0ub4dor%'`); n != 0 {
		t.Errorf("%d audit rows hold what was typed as the email", n)
	}
	if n := count(t, h, `SELECT count(*) FROM signin_failures WHERE email ILIKE '%Tr0ub4dor%'`); n != 0 {
		t.Errorf("%d failure rows hold what was typed as the email", n)
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = '(not an email address)'`); n != 1 {
		t.Errorf("%d failed sign-ins audited as not an email address, want 1", n)
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = 'nobody@example.com'`); n != 1 {
		t.Errorf("%d failed sign-ins audited for nobody@example.com, want 1", n)
	}
}

// ageFailures moves every counted sign-in failure d into the past, as if
// d had passed.
func ageFailures(t *testing.T, h *harness, d time.Duration) {
	t.Helper()
	if _, err := h.pool.Exec(t.Context(), `UPDATE signin_failures SET at = at - make_interval(secs => $1)`, d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

// guessEveryMinute makes one wrong guess a minute, from minute 0 to minute
// 9, with guess, and checks the answers: the first four are merely wrong,
// the fifth locks the account, the four while it is locked are refused, and
// five minutes after the fifth the lockout is over, so the guess of minute
// 9 is checked again (merely wrong: one failure, no lock).
func guessEveryMinute(t *testing.T, h *harness, guess func() int) {
	t.Helper()
	for minute := range 10 {
		if minute > 0 {
			ageFailures(t, h, time.Minute)
		}
		want := http.StatusTooManyRequests
		if minute < 4 || minute == 9 {
			want = http.StatusUnprocessableEntity
		}
		if got := guess(); got != want {
			t.Errorf("a wrong guess at minute %d: status %d, want %d", minute, got, want)
		}
	}
}

// TestAttemptsWhileLockedDoNotProlongTheLock: someone guessing once a
// minute locks the account with the fifth wrong guess; the guesses while
// it is locked are refused without a check, audited, and do not prolong
// the lock, so five minutes after the fifth the person can sign in.
func TestAttemptsWhileLockedDoNotProlongTheLock(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	u := newUser(t, h.st, "steady@example.com", srm.RoleEditor)
	out := h.signedOut()
	guessEveryMinute(t, h, func() int {
		return out.post("/signin", url.Values{"email": {u.Email}, "password": {"a wrong guess"}}).Code
	})
	wantStatus(t, "the right password five minutes after the fifth failure",
		out.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}), http.StatusSeeOther)
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = 'steady@example.com' AND after->>'reason' = 'locked'`); n != 4 {
		t.Errorf("%d attempts audited as refused while locked, want 4", n)
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.locked' AND object_name = 'steady@example.com'`); n != 1 {
		t.Errorf("%d lockouts audited, want 1", n)
	}
}

// TestPasswordChangeAttemptsWhileLockedDoNotProlongTheLock: the same on
// the account page's password form, which shares the lockout.
func TestPasswordChangeAttemptsWhileLockedDoNotProlongTheLock(t *testing.T) {
	t.Parallel()
	h := newHarness(t).as(srm.RoleViewer)
	guess := url.Values{"current_password": {"a wrong guess here"}, "new_password": {newPassword}, "confirm_password": {newPassword}}
	guessEveryMinute(t, h, func() int { return h.post("/account/password", guess).Code })
	right := url.Values{"current_password": {testPassword}, "new_password": {newPassword}, "confirm_password": {newPassword}}
	wantRedirect(t, "the right password five minutes after the fifth failure", h.post("/account/password", right), "/account?password=changed")
}

// TestAnAdminCanUnlockAnAccount: the admin page of a locked account says
// until when it is locked and offers to unlock it; unlocking lets the
// person sign in at once and is audited. Nobody but an admin can.
func TestAnAdminCanUnlockAnAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	u := newUser(t, h.st, "unlock@example.com", srm.RoleEditor)
	out := h.signedOut()
	for i := range 5 {
		out.post("/signin", url.Values{"email": {u.Email}, "password": {"wrong password " + itoa(int64(i))}})
	}
	page := "/admin/users/" + itoa(u.ID)
	doc := h.page(page)
	if got := text(doc.Find(tid("locked-flag"))); !strings.Contains(got, "Locked") || !strings.Contains(got, "UTC") {
		t.Errorf("locked account's page flag = %q, want Locked … until a time", got)
	}
	if doc.Find(tid("unlock-form")).Length() != 1 {
		t.Fatal("no unlock form on a locked account's page")
	}

	editor := h.as(srm.RoleEditor)
	wantStatus(t, "an editor unlocks", editor.post(page+"/unlock", nil), http.StatusForbidden)
	wantStatus(t, "without the anti-forgery token", h.post(page+"/unlock", nil, "X-CSRF-Token", "wrong"), http.StatusForbidden)
	wantStatus(t, "still locked", out.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}), http.StatusTooManyRequests)

	wantRedirect(t, "an admin unlocks", h.submit(doc.Find(tid("unlock-form")), nil), page+"?done=unlocked")
	after := h.page(page + "?done=unlocked")
	if after.Find(tid("locked-flag")).Length() != 0 || after.Find(tid("unlock-form")).Length() != 0 || after.Find(tid("notice")).Length() != 1 {
		t.Error("after unlocking, the page still shows the lock, or no notice")
	}
	var actor string
	if err := h.pool.QueryRow(t.Context(), `SELECT actor FROM audit WHERE action = 'user.unlocked' AND object_id = $1`, itoa(u.ID)).Scan(&actor); err != nil || actor != h.user.Email {
		t.Errorf("user.unlocked audited by %q, %v; want %s", actor, err, h.user.Email)
	}
	wantStatus(t, "signing in after the unlock", out.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}), http.StatusSeeOther)
}

// TestAClientAtItsCapIsRefusedOneWayEverywhere: a client with 20 failures
// standing is refused before any check, on the sign-in form and on the
// forms of a signed-in person alike, and the refusals count for nothing.
// Anonymous refusals at the sign-in form are not audited (nobody without
// an account can fill the audit trail with them) and tell of the network;
// a signed-in person's are audited under their account as "locked".
func TestAClientAtItsCapIsRefusedOneWayEverywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t).as(srm.RoleViewer)
	other := newUser(t, h.st, "capped@example.com", srm.RoleViewer)
	// httptest requests come from 192.0.2.1.
	if _, err := h.pool.Exec(t.Context(), `INSERT INTO signin_failures (email, client_ip)
		SELECT 'earlier' || g || '@example.com', '192.0.2.1' FROM generate_series(1, 20) g`); err != nil {
		t.Fatal(err)
	}
	audited := func(who string) int {
		return count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = '`+who+`'`)
	}
	for i := range 3 {
		rec := h.signedOut().post("/signin", url.Values{"email": {other.Email}, "password": {testPassword}})
		wantStatus(t, fmt.Sprintf("sign-in %d from a client at its cap, right password", i), rec, http.StatusTooManyRequests)
		if !strings.Contains(rec.Body.String(), "from your network") || rec.Header().Get("Retry-After") != "300" {
			t.Errorf("sign-in %d at the client's cap: Retry-After %q, body %s; want 300 and a word on the network", i, rec.Header().Get("Retry-After"), snippet(rec.Body.String()))
		}
	}
	if n := audited(other.Email); n != 0 {
		t.Errorf("%d refusals at the client's cap audited for the sign-in form, want 0", n)
	}
	rec := h.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {newPassword}, "confirm_password": {newPassword}})
	wantStatus(t, "a password change from a client at its cap, right password", rec, http.StatusTooManyRequests)
	if ok, err := h.st.UserForSignIn(storetest.Context(t), h.user.Email); err != nil {
		t.Fatal(err)
	} else if changed, _ := credential.CheckPassword(ok.PasswordHash, newPassword); changed {
		t.Error("the password changed from a client at its cap")
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = '`+h.user.Email+`' AND after->>'reason' = 'locked'`); n != 1 {
		t.Errorf("%d refusals of the signed-in person at the client's cap audited as locked, want 1", n)
	}
	if n := count(t, h, `SELECT count(*) FROM signin_failures`); n != 20 {
		t.Errorf("%d failures stand after the refusals, want the 20 there were", n)
	}
}

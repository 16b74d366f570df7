package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

func TestSessionCookieIsHostOnlySecureHTTPOnlyLaxAndStoredHashed(t *testing.T) {
	t.Parallel()
	h := newHarness(t).signedOut()
	u := newUser(t, h.st, "cookie@example.com", srm.RoleEditor)
	rec := h.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}})
	wantRedirect(t, "sign in", rec, "/")
	var c *http.Cookie
	for _, k := range rec.Result().Cookies() {
		if k.Name == web.SessionCookie {
			c = k
		}
	}
	if c == nil {
		t.Fatalf("no %s cookie after signing in", web.SessionCookie)
	}
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %+v: want __Host- name, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", c)
	}
	var token string
	var uid int64
	if err := h.pool.QueryRow(t.Context(), `SELECT token, user_id FROM sessions WHERE user_id = $1`, u.ID).Scan(&token, &uid); err != nil {
		t.Fatalf("the session row of %s: %v", u.Email, err)
	}
	sum := sha256.Sum256([]byte(c.Value))
	if token == c.Value || token != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("stored token %q: want the SHA-256 of the cookie's token, never the token itself", token)
	}
}

func TestSigningInAgainRenewsTheTokenAndSigningOutEndsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := h.cookie
	// Signing in again from the same browser, which sends its cookie.
	rec := h.post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}})
	wantRedirect(t, "sign in again", rec, "/")
	if h.cookie == first {
		t.Fatal("signing in again kept the same session token")
	}
	old := &harness{t: t, st: h.st, pool: h.pool, srv: h.srv, cookie: first}
	if rec := old.get("/"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET / with the token from before signing in again: %d, want 303 to sign in", rec.Code)
	}
	kept := h.cookie
	wantRedirect(t, "sign out", h.post("/signout", nil), "/signin?out=1")
	if h.cookie != "" {
		t.Error("signing out left the session cookie in place")
	}
	replay := &harness{t: t, st: h.st, pool: h.pool, srv: h.srv, cookie: kept}
	if rec := replay.get("/"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET / with a signed-out token: %d, want 303 to sign in", rec.Code)
	}
	if n := count(t, h, fmt.Sprintf(`SELECT count(*) FROM sessions WHERE user_id = %d`, h.user.ID)); n != 0 {
		t.Errorf("%d session rows left after signing out, want 0", n)
	}
	if n := count(t, h, fmt.Sprintf(`SELECT count(*) FROM audit WHERE action = 'signout' AND actor_id = %d`, h.user.ID)); n != 1 {
		t.Errorf("%d signout audit rows, want 1", n)
	}
}

// timedServer is a harness whose server signs people out after idle without
// a request, or lifetime whatever they do, by a clock the test moves.
func timedServer(t *testing.T, idle, lifetime time.Duration) (*harness, *testClock) {
	pool := storetest.Pool(t)
	st := store.New(pool)
	clock := &testClock{}
	h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{IdleTimeout: idle, Lifetime: lifetime, Now: clock.Now})}
	return h.signInAs(srm.RoleViewer), clock
}

func TestIdleSessionsEnd(t *testing.T) {
	t.Parallel()
	// An idle timeout of an hour, moved past by the test's clock: a
	// timeout of seconds would also run out on a slow machine's wall clock
	// between signing in and the first request (the last request's time is
	// kept in whole seconds).
	h, clock := timedServer(t, time.Hour, 24*time.Hour)
	wantStatus(t, "at once", h.get("/"), http.StatusOK)
	clock.advance(59 * time.Minute)
	wantStatus(t, "after 59 minutes idle", h.get("/"), http.StatusOK)
	clock.advance(time.Hour + time.Minute)
	rec := h.get("/owners")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin?idle=1") {
		t.Fatalf("GET /owners after 61 minutes idle with a 1 h idle timeout: %d to %q, want 303 to /signin?idle=1…", rec.Code, rec.Header().Get("Location"))
	}
	doc := parse(t, h.get(rec.Header().Get("Location")))
	if msg := text(doc.Find(tid("notice"))); !strings.Contains(msg, "without activity") {
		t.Errorf("sign-in page after an idle timeout says %q, want why", msg)
	}
}

func TestSessionsEndAfterTheirLifetimeHoweverBusy(t *testing.T) {
	t.Parallel()
	// An hour, so that the database's own expiry (by the wall clock) stays
	// far off while the server's clock is moved past it.
	h, clock := timedServer(t, 24*time.Hour, time.Hour)
	for range 6 { // a request every 10 minutes, for 50 minutes
		wantStatus(t, "within the lifetime", h.get("/"), http.StatusOK)
		clock.advance(10 * time.Minute)
	}
	clock.advance(10*time.Minute + time.Second)
	if rec := h.get("/"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET / after the session's lifetime: %d, want 303 to sign in", rec.Code)
	}
}

func TestRevokedSessionsEndOnTheNextRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	other := h.as(srm.RoleEditor)
	wantStatus(t, "before", other.get("/"), http.StatusOK)
	if err := h.st.RevokeSessions(storetest.Context(t), other.user.ID); err != nil {
		t.Fatal(err)
	}
	if rec := other.get("/"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET / after the sessions were revoked: %d, want 303 to sign in", rec.Code)
	}
	wantStatus(t, "the admin's own session", h.get("/"), http.StatusOK)
}

func TestWrongPasswordsLockTheAccountForFiveMinutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	out := h.signedOut()
	u := newUser(t, h.st, "locked@example.com", srm.RoleEditor)
	for i := range 5 {
		rec := out.post("/signin", url.Values{"email": {"Locked@Example.com"}, "password": {"wrong password " + fmt.Sprint(i)}})
		want := http.StatusUnprocessableEntity
		if i == 4 {
			want = http.StatusTooManyRequests
		}
		wantStatus(t, fmt.Sprintf("wrong password %d", i+1), rec, want)
	}
	rec := out.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}})
	wantStatus(t, "the right password while locked", rec, http.StatusTooManyRequests)
	if out.cookie != "" {
		t.Error("a locked account got a session")
	}
	if msg := text(parse(t, rec).Find(tid("form-error"))); !strings.Contains(msg, "locked for five minutes") {
		t.Errorf("locked sign-in says %q", msg)
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.locked' AND object_name = 'locked@example.com'`); n != 1 {
		t.Errorf("%d lockout audit rows, want 1", n)
	}
	if n := count(t, h, `SELECT count(*) FROM audit WHERE action = 'signin.failed' AND object_name = 'locked@example.com'`); n != 6 {
		t.Errorf("%d failed sign-in audit rows, want 6", n)
	}
	// Five minutes on, the account opens again.
	if _, err := h.pool.Exec(t.Context(), `UPDATE signin_failures SET at = at - interval '5 minutes 1 second'`); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "after five minutes", out.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}), http.StatusSeeOther)
}

func TestOneClientIsCappedWhateverItClaimsInXForwardedFor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	out := h.signedOut()
	u := newUser(t, h.st, "victim@example.com", srm.RoleViewer)
	for i := range 20 {
		rec := out.post("/signin", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password"}},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		wantStatus(t, fmt.Sprintf("guess %d", i), rec, http.StatusUnprocessableEntity)
	}
	rec := out.post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}, "X-Forwarded-For", "198.51.100.7")
	wantStatus(t, "21st attempt from one client", rec, http.StatusTooManyRequests)

	// Behind a trusted proxy, the address the proxy saw is the client.
	pool := storetest.Pool(t)
	st := store.New(pool)
	proxied := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{TrustedProxies: []string{"192.0.2.0/24"}})}
	v := newUser(t, st, "proxied@example.com", srm.RoleViewer)
	for i := range 20 {
		proxied.post("/signin", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}, "password": {"wrong password"}},
			"X-Forwarded-For", "203.0.113.9")
	}
	rec = proxied.post("/signin", url.Values{"email": {v.Email}, "password": {testPassword}}, "X-Forwarded-For", "203.0.113.10")
	wantStatus(t, "another client behind the trusted proxy", rec, http.StatusSeeOther)
	var ip string
	if err := pool.QueryRow(t.Context(), `SELECT client_ip FROM audit WHERE action = 'signin.succeeded'`).Scan(&ip); err != nil || ip != "203.0.113.10" {
		t.Errorf("audited client IP behind the proxy = %q, %v; want 203.0.113.10", ip, err)
	}
}

func TestUnknownEmailsCostAsMuchAsWrongPasswords(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	u := newUser(t, h.st, "timing@example.com", srm.RoleViewer)
	median := func(email string) time.Duration {
		var ds []time.Duration
		for range 7 {
			out := h.signedOut()
			start := time.Now()
			rec := out.post("/signin", url.Values{"email": {email}, "password": {"wrong password"}})
			ds = append(ds, time.Since(start))
			if rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusTooManyRequests {
				t.Fatalf("sign in as %s: %d", email, rec.Code)
			}
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	known, unknown := median(u.Email), median("nobody@example.com")
	ratio := float64(unknown) / float64(known)
	t.Logf("median sign-in: wrong password %v, unknown email %v (ratio %.2f)", known, unknown, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("an unknown email takes %v and a wrong password %v: timing tells them apart", unknown, known)
	}
}

// openRedirects are addresses an attacker puts in ?next= hoping srm sends a
// person there after signing in.
func openRedirects() []string {
	hosts := []string{"evil.example", "evil.example:443", "127.0.0.1.evil.example", "[::1]", "evil.example%2F", "evil。example"}
	shapes := []string{
		"//%s", "///%s", "////%s", "/\\%s", "\\\\%s", "\\/%s", "/\\/%s", "https://%s", "http://%s", "https:%s", "https:/%s",
		"http:/\\%s", "//%s/%%2F..", "/%%2F%%2F%s", "/%%5C%s", "%%2F%%2F%s", "%%5C%%5C%s", " //%s", "\t//%s", "/\t/%s", "/\n/%s",
		"/\r/%s", "//%s@srm.test", "https://srm.test@%s", "//srm.test%%40%s", "//%%09/%s", "/%%09/%s", "//%s%%00.srm.test",
		"ftp://%s", "//%s/", "%s", "@%s", "///\\%s", "/%%2f%%2f%s", "javascript://%s/%%0Aalert(1)", "https:%%2F%%2F%s",
	}
	var out []string
	for _, sh := range shapes {
		for _, h := range hosts {
			out = append(out, fmt.Sprintf(sh, h))
		}
	}
	return append(out, "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
		"/signin?next=//evil.example", "/%00", "\x00//evil.example", "/\x7f/evil.example", "//\u2215evil.example",
		"／／evil.example", "/.//evil.example", "/..//evil.example", strings.Repeat("/", 3000)+"evil.example")
}

func TestSignInOnlyRedirectsToPathsOnSrm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	payloads := openRedirects()
	if len(payloads) < 100 {
		t.Fatalf("only %d open-redirect payloads", len(payloads))
	}
	base, _ := url.Parse("https://srm.test/signin")
	check := func(via, payload, loc string) {
		t.Helper()
		target, err := base.Parse(loc)
		if err != nil || target.Host != "srm.test" || target.Scheme != "https" ||
			!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n\x00") {
			t.Errorf("%s with next=%q redirects to %q, which leaves srm", via, payload, loc)
		}
	}
	// Every payload through the rule itself, and through the signed-in
	// visit to the sign-in page, which redirects at once.
	for _, p := range payloads {
		check("safeNext", p, web.SafeNext(p))
		req := httptest.NewRequest(http.MethodGet, "/signin?next="+url.QueryEscape(p), nil)
		rec := h.do(req)
		check("the sign-in page, signed in,", p, rec.Header().Get("Location"))
	}
	// A sign-in (a password hash each) uses the same rule: a few payloads
	// of each kind prove it.
	for _, p := range []string{payloads[0], payloads[len(payloads)/2], "https://evil.example", "/\\evil.example",
		"javascript:alert(1)"} {
		out := h.signedOut()
		rec := out.post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}, "next": {p}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("sign in with next=%q: %d", p, rec.Code)
		}
		check("signing in", p, rec.Header().Get("Location"))
	}
	t.Logf("%d open-redirect payloads, none left srm", len(payloads))
	// A path on srm, with its query, is kept.
	out := h.signedOut()
	rec := out.post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}, "next": {"/owners?page=2"}})
	wantRedirect(t, "a path on srm", rec, "/owners?page=2")
}

func TestSecurityHeadersOnEveryHTMLResponse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	out := h.signedOut()
	cases := []struct {
		name    string
		rec     *httptest.ResponseRecorder
		private bool
	}{
		{"sign-in page", out.get("/signin"), false},
		{"failed sign-in", out.post("/signin", url.Values{"email": {"x@example.com"}, "password": {"wrong password"}}), false},
		{"portfolio", h.get("/"), true},
		{"not found, signed in", h.get("/no/such/page"), true},
		{"forbidden", h.as(srm.RoleViewer).get("/admin/users"), true},
		{"unauthorized", out.post("/owners", url.Values{"owner_name": {"x"}}), false},
	}
	for _, c := range cases {
		hd := c.rec.Header()
		csp := hd.Get("Content-Security-Policy")
		for _, d := range []string{"script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: Content-Security-Policy %q lacks %s", c.name, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy allows inline code: %q", c.name, csp)
		}
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: nosniff %q, referrer policy %q", c.name, hd.Get("X-Content-Type-Options"), hd.Get("Referrer-Policy"))
		}
		if c.private && !strings.Contains(hd.Get("Cache-Control"), "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-store on a signed-in page", c.name, hd.Get("Cache-Control"))
		}
		if hd.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", c.name)
		}
	}
	rec := out.do(httptest.NewRequest(http.MethodGet, "https://srm.test/signin", nil))
	if hsts := rec.Header().Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("over TLS: Strict-Transport-Security %q, want one", hsts)
	}
}

// A request that is still running when its session is revoked saves the
// session at its end; that save must not bring the session back.
func TestARevokedSessionStaysRevoked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	other := h.as(srm.RoleEditor)
	sum := sha256.Sum256([]byte(other.cookie))
	hash := base64.RawURLEncoding.EncodeToString(sum[:])
	var data []byte
	var expiry time.Time
	if err := h.pool.QueryRow(t.Context(), `SELECT data, expiry FROM sessions WHERE token = $1`, hash).Scan(&data, &expiry); err != nil {
		t.Fatal(err)
	}
	if err := h.st.RevokeSessions(storetest.Context(t), other.user.ID); err != nil {
		t.Fatal(err)
	}
	// What scs does at the end of that request.
	if err := h.st.Sessions().CommitCtx(t.Context(), hash, data, expiry); err != nil {
		t.Fatal(err)
	}
	if n := count(t, h, `SELECT count(*) FROM sessions WHERE token = '`+hash+`'`); n != 0 {
		t.Fatalf("the revoked session is stored again (%d rows)", n)
	}
	if rec := other.get("/"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET / with the revoked session: %d, want 303 to sign in", rec.Code)
	}
}

// TestParallelGuessesCannotPassTheLockout: guesses sent all at once must not
// each see "fewer than five failures" while the first is still being
// checked. Each attempt is counted before its password is, so of twelve
// parallel wrong guesses at most four are answered as merely wrong; the
// others find the account locked.
func TestParallelGuessesCannotPassTheLockout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	u := newUser(t, h.st, "parallel@example.com", srm.RoleViewer)
	codes := make([]int, 12)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			codes[i] = h.signedOut().post("/signin", url.Values{"email": {u.Email}, "password": {"a wrong guess, number " + itoa(int64(i))}}).Code
		})
	}
	wg.Wait()
	wrong := 0
	for _, c := range codes {
		switch c {
		case http.StatusUnprocessableEntity:
			wrong++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("a parallel guess got %d, want 422 or 429", c)
		}
	}
	const allowed = 4 // five failures lock the account, and the fifth is already answered 429
	if wrong > allowed {
		t.Errorf("%d of 12 parallel guesses were checked as merely wrong; the lockout allows %d before it locks", wrong, allowed)
	}
	wantStatus(t, "the right password after the guesses", h.signedOut().post("/signin", url.Values{"email": {u.Email}, "password": {testPassword}}),
		http.StatusTooManyRequests)
}

// TestAnOversizedFormIsTooLargeNotExpired: a browser sends the anti-forgery
// token in the form body, so checking it reads the form first; a form over
// the size limit must be answered 413 "That was too much", not 403 as if the
// page were out of date.
func TestAnOversizedFormIsTooLargeNotExpired(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := url.Values{"csrf": {h.csrf}, "name": {strings.Repeat("x", 2<<20)}}.Encode()
	req := httptest.NewRequest(http.MethodPost, "/owners", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: h.cookie})
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	wantStatus(t, "POST /owners with a 2 MiB form", rec, http.StatusRequestEntityTooLarge)
	if body := rec.Body.String(); !strings.Contains(body, "1 MB at most") {
		t.Errorf("the 413 page does not say the limit (1 MB at most):\n%s", body)
	}

	// The same form at a normal size, token in the body, is accepted.
	req = httptest.NewRequest(http.MethodPost, "/owners", strings.NewReader(url.Values{"csrf": {h.csrf}, "name": {"Body token team"}, "kind": {"team"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: h.cookie})
	rec = httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code == http.StatusForbidden || rec.Code >= 500 {
		t.Errorf("POST /owners with the token in the body = %d, want it accepted", rec.Code)
	}
}

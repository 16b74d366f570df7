package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// testClock is the server's clock of session times, which a test moves
// forward instead of sleeping.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// advance moves the clock forward by d.
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// stale is just past the step-up window: a proof of identity this old no
// longer counts.
const stale = web.DefaultStepUpWindow + time.Minute

// newClockHarness is newHarness with a clock the test moves, signed in
// as a new account with role.
func newClockHarness(t *testing.T, role srm.Role) (*harness, *testClock) {
	t.Helper()
	pool, app := storetest.AppPool(t, nil) // as srm serve runs
	st := store.New(pool)
	clock := &testClock{}
	h := &harness{t: t, st: st, pool: pool, dbOwner: store.New(app.Owner), srv: newServer(t, st, web.Config{Now: clock.Now})}
	return h.signInAs(role), clock
}

// confirmForm requires rec to be the "Confirm it's you" page (401, since
// nothing was done) and returns its form.
func confirmForm(t *testing.T, what string, rec *httptest.ResponseRecorder) *goquery.Selection {
	t.Helper()
	return confirmFormWith(t, what, rec, http.StatusUnauthorized)
}

// confirmFormWith is confirmForm for a page answered with status.
func confirmFormWith(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) *goquery.Selection {
	t.Helper()
	wantStatus(t, what, rec, status)
	doc := parse(t, rec)
	if got := text(doc.Find("h1")); got != "Confirm it's you" {
		t.Fatalf("%s: heading %q, want the confirmation page", what, got)
	}
	form := doc.Find(tid("confirm-form"))
	if form.Length() != 1 {
		t.Fatalf("%s: no confirmation form; page:\n%s", what, snippet(text(doc.Selection)))
	}
	wantLabelled(t, what, doc)
	return form
}

// wantLabelled fails the test unless every visible field of doc's forms
// has a label that names it.
func wantLabelled(t *testing.T, what string, doc *goquery.Document) {
	t.Helper()
	doc.Find("form input, form select, form textarea").Each(func(_ int, s *goquery.Selection) {
		switch s.AttrOr("type", "text") {
		case "hidden", "submit", "button":
			return
		}
		id := s.AttrOr("id", "")
		if id == "" || text(doc.Find(`label[for="`+id+`"]`)) == "" {
			if text(s.Closest("label")) == "" {
				t.Errorf("%s: field %q has no label", what, s.AttrOr("name", ""))
			}
		}
	})
}

// failures counts the failed sign-ins of account email standing now.
func (h *harness) failures(email string) int {
	h.t.Helper()
	var n int
	if err := h.pool.QueryRow(h.t.Context(), `SELECT count(*) FROM signin_failures WHERE lower(email) = lower($1)`, email).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// TestStepUpAddingAnAdmin: an admin whose proof of identity is older than
// ten minutes adds an admin account. srm adds nothing and asks for the
// password in place, carrying what was typed; a wrong password does
// nothing and counts as a failed sign-in; the right one adds the account
// as typed and renews the session. For ten minutes it does not ask again,
// then it does; adding an account that is not an admin never asks.
func TestStepUpAddingAnAdmin(t *testing.T) {
	t.Parallel()
	h, clock := newClockHarness(t, srm.RoleAdmin)
	add := func(email, role string) *httptest.ResponseRecorder {
		return h.submit(h.page("/admin/users").Find(tid("add-user-form")), url.Values{
			"email": {email}, "name": {"Ada Lovelace"}, "role": {role}, "password": {"a long initial password"}})
	}
	exists := func(email string) bool {
		_, err := h.st.UserForSignIn(storetest.Context(t), email)
		return err == nil
	}

	// Just signed in: a fresh proof.
	wantStatus(t, "add an admin just after signing in", add("fresh@example.com", "admin"), http.StatusSeeOther)

	clock.advance(stale)
	form := confirmForm(t, "add an admin after 11 minutes", add("ada@example.com", "admin"))
	if exists("ada@example.com") {
		t.Fatal("an admin was added without a fresh proof of identity")
	}
	if form.AttrOr("action", "") != "/admin/users" {
		t.Errorf("confirmation form posts to %q, want /admin/users", form.AttrOr("action", ""))
	}
	for name, want := range map[string]string{"email": "ada@example.com", "name": "Ada Lovelace", "role": "admin"} {
		if got := form.Find(`input[type="hidden"][name="`+name+`"]`).AttrOr("value", ""); got != want {
			t.Errorf("confirmation form carries %s = %q, want %q", name, got, want)
		}
	}
	if form.Find(`input[name="reauth_password"][type="password"]`).Length() != 1 || form.Find(`input[name="reauth_code"]`).Length() != 0 {
		t.Error("confirmation form of an account without MFA: want a password field and no code field")
	}

	// A wrong password: nothing done, one more failed sign-in, audited.
	before := h.failures(h.user.Email)
	rec := h.submit(form, url.Values{"reauth_password": {"not the password"}})
	form = confirmFormWith(t, "confirm with a wrong password", rec, http.StatusUnprocessableEntity)
	if exists("ada@example.com") {
		t.Fatal("a wrong password added the admin")
	}
	if got := h.failures(h.user.Email); got != before+1 {
		t.Errorf("failed sign-ins after a wrong password = %d, want %d", got, before+1)
	}
	if parse(t, rec).Find(tid("form-error")).Length() != 1 {
		t.Error("a wrong password is refused without a message")
	}
	if !slices.Contains(audited(t, h.pool, h.user.ID), "reauth.failed") {
		t.Errorf("audit = %q, want reauth.failed", audited(t, h.pool, h.user.ID))
	}

	// The right password: done as typed, on a new session token.
	oldCookie := h.cookie
	rec = h.submit(form, url.Values{"reauth_password": {testPassword}})
	wantStatus(t, "confirm with the right password", rec, http.StatusSeeOther)
	cred, err := h.st.UserForSignIn(storetest.Context(t), "ada@example.com")
	if err != nil {
		t.Fatalf("after confirming: no account ada@example.com: %v", err)
	}
	if u := cred.User; u.Name != "Ada Lovelace" || u.Role != srm.RoleAdmin {
		t.Errorf("after confirming: account = %+v, want the name and role typed", u)
	}
	if want := "/admin/users/" + itoa(cred.User.ID) + "?done=added"; rec.Header().Get("Location") != want {
		t.Errorf("after confirming: Location = %q, want %q", rec.Header().Get("Location"), want)
	}
	if ok, _ := credential.CheckPassword(cred.PasswordHash, "a long initial password"); !ok {
		t.Error("after confirming: the initial password typed was not kept")
	}
	if h.cookie == oldCookie {
		t.Error("confirming identity kept the session token")
	}
	stolen := h.signedOut()
	stolen.cookie = oldCookie
	if rec := stolen.get("/admin/users"); rec.Code != http.StatusSeeOther {
		t.Errorf("the session token from before confirming still works: GET /admin/users = %d", rec.Code)
	}
	if !slices.Contains(audited(t, h.pool, h.user.ID), "reauth.succeeded") {
		t.Errorf("audit = %q, want reauth.succeeded", audited(t, h.pool, h.user.ID))
	}

	// Fresh for ten minutes, then stale again.
	clock.advance(web.DefaultStepUpWindow - 2*time.Minute)
	wantStatus(t, "add an admin 8 minutes after confirming", add("grace@example.com", "admin"), http.StatusSeeOther)
	clock.advance(3 * time.Minute)
	confirmForm(t, "add an admin 11 minutes after confirming", add("hopper@example.com", "admin"))
	if exists("hopper@example.com") {
		t.Error("an admin was added with a stale proof")
	}
	// Accounts that are not admins need no proof.
	wantStatus(t, "add an editor with a stale proof", add("editor@example.com", "editor"), http.StatusSeeOther)
}

// TestStepUpGuardsEveryDangerousAction: each action the issue lists does
// nothing with a stale proof of identity and shows the confirmation page
// (with a code field when the account has an authenticator); a wrong
// password does nothing and counts as a failed sign-in; the right password
// (and code) does it.
func TestStepUpGuardsEveryDangerousAction(t *testing.T) {
	t.Parallel()
	type action struct {
		name string
		role srm.Role
		mfa  bool // the acting account has an authenticator
		// do submits the action's form as the page serves it and reports
		// whether it has happened.
		setup func(t *testing.T, h *harness) (submit func() *httptest.ResponseRecorder, done func() bool)
	}
	actions := []action{
		{name: "raise an editor to admin", role: srm.RoleAdmin, setup: func(t *testing.T, h *harness) (func() *httptest.ResponseRecorder, func() bool) {
			u := newUser(t, h.st, "raised@example.com", srm.RoleEditor)
			return func() *httptest.ResponseRecorder {
					return h.submit(h.page(userPath(u.ID)).Find(tid("user-form")), url.Values{"role": {"admin"}})
				}, func() bool {
					got, err := h.st.User(storetest.Context(t), u.ID)
					return err == nil && got.Role == srm.RoleAdmin
				}
		}},
		{name: "reset someone's authenticator", role: srm.RoleAdmin, mfa: true, setup: func(t *testing.T, h *harness) (func() *httptest.ResponseRecorder, func() bool) {
			other := h.as(srm.RoleViewer)
			other.enrolTOTP()
			return func() *httptest.ResponseRecorder {
					return h.submit(h.page(userPath(other.user.ID)).Find(tid("mfa-reset-form")), nil)
				}, func() bool {
					got, err := h.st.User(storetest.Context(t), other.user.ID)
					return err == nil && !got.MFA
				}
		}},
		{name: "require MFA of everyone", role: srm.RoleAdmin, mfa: true, setup: func(t *testing.T, h *harness) (func() *httptest.ResponseRecorder, func() bool) {
			return func() *httptest.ResponseRecorder {
					return h.submit(h.page("/admin/users").Find(tid("settings-form")), url.Values{"require_mfa": {"1"}})
				}, func() bool {
					on, err := h.st.MFARequired(storetest.Context(t))
					return err == nil && on
				}
		}},
		{name: "set up one's own authenticator", role: srm.RoleViewer, setup: func(t *testing.T, h *harness) (func() *httptest.ResponseRecorder, func() bool) {
			return func() *httptest.ResponseRecorder {
					form := h.page("/account/mfa").Find(tid("enrol-form"))
					return h.submit(form, url.Values{"code": {totpAt(t, h.enrolSecret(), time.Now())}})
				}, func() bool {
					got, err := h.st.User(storetest.Context(t), h.user.ID)
					return err == nil && got.MFA
				}
		}},
		{name: "remove one's own authenticator", role: srm.RoleViewer, mfa: true, setup: func(t *testing.T, h *harness) (func() *httptest.ResponseRecorder, func() bool) {
			return func() *httptest.ResponseRecorder {
					// A recovery code: the step-up's own code spends the app's
					// current one.
					return h.submit(h.page("/account").Find(tid("remove-mfa-form")), url.Values{"code": {h.spareCode()}})
				}, func() bool {
					got, err := h.st.User(storetest.Context(t), h.user.ID)
					return err == nil && !got.MFA
				}
		}},
		{name: "renew one's recovery codes", role: srm.RoleEditor, mfa: true, setup: func(t *testing.T, h *harness) (func() *httptest.ResponseRecorder, func() bool) {
			return func() *httptest.ResponseRecorder {
					return h.submit(h.page("/account").Find(tid("new-codes-form")), url.Values{"code": {h.spareCode()}})
				}, func() bool {
					return slices.Contains(audited(t, h.pool, h.user.ID), "mfa.codes.replaced")
				}
		}},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			h, clock := newClockHarness(t, a.role)
			var secret string
			if a.mfa {
				secret, h.codes = h.enrolTOTP()
			}
			submit, done := a.setup(t, h)

			clock.advance(stale)
			form := confirmForm(t, a.name+" with a stale proof", submit())
			if done() {
				t.Fatal("done without a fresh proof of identity")
			}
			if got := form.Find(`input[name="reauth_code"]`).Length() == 1; got != a.mfa {
				t.Errorf("confirmation form has a code field: %v, want %v (the account has an authenticator: %v)", got, a.mfa, a.mfa)
			}

			before := h.failures(h.user.Email)
			rec := h.submit(form, url.Values{"reauth_password": {"wrong " + testPassword}})
			wantStatus(t, a.name+" with a wrong password", rec, http.StatusUnprocessableEntity)
			if done() {
				t.Fatal("done with a wrong password")
			}
			if got := h.failures(h.user.Email); got != before+1 {
				t.Errorf("failed sign-ins after a wrong password = %d, want %d", got, before+1)
			}
			form = parse(t, rec).Find(tid("confirm-form"))

			proof := url.Values{"reauth_password": {testPassword}}
			if a.mfa {
				// The right password with a wrong code does nothing either.
				proof.Set("reauth_code", wrongCode(t, secret))
				rec := h.submit(form, proof)
				wantStatus(t, a.name+" with a wrong code", rec, http.StatusUnprocessableEntity)
				if done() {
					t.Fatal("done with the password and a wrong code")
				}
				form = parse(t, rec).Find(tid("confirm-form"))
				proof.Set("reauth_code", totpAt(t, secret, time.Now().Add(30*time.Second)))
			}
			rec = h.submit(form, proof)
			if rec.Code != http.StatusSeeOther && rec.Code != http.StatusOK {
				t.Fatalf("%s with the right proof: status %d, want it done; body:\n%s", a.name, rec.Code, snippet(rec.Body.String()))
			}
			if !done() {
				t.Fatalf("%s with the right proof: not done; status %d, body:\n%s", a.name, rec.Code, snippet(rec.Body.String()))
			}
		})
	}
}

// spareCode is an unused recovery code of h's account, spent by the caller.
func (h *harness) spareCode() string {
	h.t.Helper()
	if len(h.codes) == 0 {
		h.t.Fatal("no recovery codes left")
	}
	c := h.codes[0]
	h.codes = h.codes[1:]
	return c
}

// TestStepUpStopsAStolenAdminSession is the attack from issue 10: with an
// admin's session, stolen more than ten minutes after they proved who they
// are, an attacker tries to make an admin account of their own (or raise
// one) to reset the victim's authenticator with it. Nothing of it happens.
// With the session of someone without an authenticator, the attacker
// cannot enrol one of their own either.
func TestStepUpStopsAStolenAdminSession(t *testing.T) {
	t.Parallel()
	victim, clock := newClockHarness(t, srm.RoleAdmin)
	victim.enrolTOTP()
	accomplice := newUser(t, victim.st, "accomplice@example.com", srm.RoleEditor)
	clock.advance(stale)

	attacker := victim.signedOut()
	attacker.cookie, attacker.csrf = victim.cookie, victim.csrf
	confirmForm(t, "stolen session adds an admin", attacker.post("/admin/users", url.Values{
		"email": {"mallory@example.com"}, "role": {"admin"}, "password": {"mallory's own password"}}))
	if _, err := victim.st.UserForSignIn(storetest.Context(t), "mallory@example.com"); err == nil {
		t.Fatal("a stolen session added an admin account")
	}
	confirmForm(t, "stolen session raises an account to admin", attacker.post(userPath(accomplice.ID), url.Values{
		"name": {""}, "role": {"admin"}, "version": {itoa(accomplice.Version)}}))
	if u, _ := victim.st.User(storetest.Context(t), accomplice.ID); u.Role != srm.RoleEditor {
		t.Fatalf("a stolen session raised an account to %s", u.Role)
	}
	// Guessing the password on the way locks the account like sign-in does.
	for range 5 {
		attacker.post("/admin/users", url.Values{"email": {"mallory@example.com"}, "role": {"admin"},
			"password": {"mallory's own password"}, "reauth": {"1"}, "reauth_password": {"guess"}, "reauth_code": {"123456"}})
	}
	rec := attacker.post("/admin/users", url.Values{"email": {"mallory@example.com"}, "role": {"admin"},
		"password": {"mallory's own password"}, "reauth": {"1"}, "reauth_password": {"guess"}})
	wantStatus(t, "the sixth guess", rec, http.StatusTooManyRequests)
	if u, _ := victim.st.User(storetest.Context(t), victim.user.ID); !u.MFA {
		t.Fatal("the victim's authenticator is gone")
	}

	// A viewer without an authenticator: the attacker sees a secret but
	// cannot turn it on.
	viewer := victim.as(srm.RoleViewer)
	clock.advance(stale)
	thief := viewer.signedOut()
	thief.cookie, thief.csrf = viewer.cookie, viewer.csrf
	secret := thief.enrolSecret()
	confirmForm(t, "stolen session enrols an authenticator", thief.post("/account/mfa", url.Values{"code": {totpAt(t, secret, time.Now())}}))
	if u, _ := victim.st.User(storetest.Context(t), viewer.user.ID); u.MFA {
		t.Fatal("a stolen session enrolled the attacker's authenticator")
	}
}

// TestStepUpAfterCodeSignIn: signing in with the password and a code is a
// fresh proof; ten minutes later the confirmation page asks for both, and
// a recovery code does instead of the app's.
func TestStepUpAfterCodeSignIn(t *testing.T) {
	t.Parallel()
	h, clock := newClockHarness(t, srm.RoleAdmin)
	secret, codes := h.enrolTOTP()
	clock.advance(stale) // the proof of the first sign-in is stale: the next one must count on its own
	h.firstFactor(h.user.Email, "/signin/code")
	wantRedirect(t, "POST /signin/code", h.post("/signin/code", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}}), "/")
	h.csrf = h.page("/").Find(`input[name="csrf"]`).First().AttrOr("value", "")
	settings := func() *httptest.ResponseRecorder {
		return h.submit(h.page("/admin/users").Find(tid("settings-form")), url.Values{"require_mfa": {"1"}})
	}
	wantRedirect(t, "require MFA just after signing in", settings(), "/admin/users?done=settings#settings")
	off := h.page("/admin/users").Find(tid("settings-form"))

	clock.advance(stale)
	form := confirmForm(t, "turn the requirement off with a stale proof", h.submit(off, url.Values{"require_mfa": nil}))
	if on, _ := h.st.MFARequired(storetest.Context(t)); !on {
		t.Fatal("the requirement was turned off without a fresh proof")
	}
	if _, has := form.Find(`input[type="hidden"][name="require_mfa"]`).Attr("value"); has {
		t.Error("the confirmation form ticks a box that was unticked")
	}
	rec := h.submit(form, url.Values{"reauth_password": {testPassword}, "reauth_code": {codes[0]}})
	wantRedirect(t, "confirm with a recovery code", rec, "/admin/users?done=settings#settings")
	if on, _ := h.st.MFARequired(storetest.Context(t)); on {
		t.Error("confirming with the password and a recovery code did not turn the requirement off")
	}
}

// TestStepUpBySingleSignOn: an account without a password confirms who it
// is with a fresh round trip through single sign-on, and then finds its
// form as it sent it, one button away.
func TestStepUpBySingleSignOn(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	s := newSSOServerWith(t, nil, func(c *web.Config) { c.Now = clock.Now })
	admin := srm.User{Email: "sso-admin@example.com", Role: srm.RoleAdmin, Issuer: s.op.issuer(), Subject: s.op.subject}
	if err := s.st.CreateOIDCUser(storetest.Context(t), &admin); err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	b.pool = s.pool
	s.signIn(b, "/", "/")
	b.csrf = b.page("/").Find(`input[name="csrf"]`).First().AttrOr("value", "")
	target := newUser(t, s.st, "to-raise@example.com", srm.RoleViewer)

	clock.advance(stale)
	rec := b.submit(b.page(userPath(target.ID)).Find(tid("user-form")), url.Values{"role": {"admin"}, "name": {"Raised by SSO"}})
	wantStatus(t, "raise to admin with a stale proof", rec, http.StatusUnauthorized)
	doc := parse(t, rec)
	sso := doc.Find(tid("confirm-sso-form"))
	if sso.Length() != 1 || doc.Find(`input[name="reauth_password"]`).Length() != 0 {
		t.Fatal("confirmation page of a single-sign-on account: want a single-sign-on button and no password field")
	}
	wantLabelled(t, "single-sign-on confirmation", doc)
	if u, _ := s.st.User(storetest.Context(t), target.ID); u.Role != srm.RoleViewer {
		t.Fatal("raised without a fresh proof")
	}

	rec = b.submit(sso, nil)
	wantStatus(t, "POST /reauth/sso", rec, http.StatusSeeOther)
	callback, state := followProvider(t, s, rec)
	wantRedirect(t, "single sign-on callback", finish(b, callback, state), "/reauth/continue")
	doc = b.page("/reauth/continue")
	form := doc.Find(tid("continue-form"))
	if got := form.Find(`input[name="name"]`).AttrOr("value", ""); got != "Raised by SSO" {
		t.Errorf("continue form carries name = %q, want what was typed", got)
	}
	rec = b.submit(form, nil)
	wantRedirect(t, "continue", rec, userPath(target.ID)+"?done=saved")
	if u, _ := s.st.User(storetest.Context(t), target.ID); u.Role != srm.RoleAdmin || u.Name != "Raised by SSO" {
		t.Errorf("after confirming by single sign-on: %+v, want admin named as typed", u)
	}
	if !slices.Contains(audited(t, s.pool, admin.ID), "reauth.succeeded") {
		t.Errorf("audit = %q, want reauth.succeeded", audited(t, s.pool, admin.ID))
	}
	// The stash is used once: the page does not come back.
	wantRedirect(t, "GET /reauth/continue again", b.get("/reauth/continue"), "/")
}

// followProvider takes srm's redirect to the provider, lets the provider
// sign the person in, and returns where it sends the browser back and the
// state cookie srm set.
func followProvider(t *testing.T, s *ssoServer, rec *httptest.ResponseRecorder) (callback, state string) {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == ssoCookie {
			state = c.Value
		}
	}
	loc := rec.Header().Get("Location")
	if state == "" || !strings.HasPrefix(loc, s.op.issuer()+"/authorize?") {
		t.Fatalf("want a redirect to the provider with a state cookie; got %q", loc)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back.RequestURI(), state
}

// userPath is the admin page of account id.
func userPath(id int64) string { return "/admin/users/" + itoa(id) }

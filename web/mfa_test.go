package web_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

func TestMFAEnrolmentEndToEnd(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleEditor)

	doc := h.page("/account")
	if got := text(doc.Find(tid("mfa-status"))); !strings.HasPrefix(got, "Off.") {
		t.Errorf("account before enrolment: MFA status = %q, want Off", got)
	}
	if doc.Find(`a[href="/account/mfa"]`).Length() == 0 {
		t.Error("account before enrolment: no link to set up an authenticator")
	}

	doc = h.page("/account/mfa")
	secret := strings.ReplaceAll(text(doc.Find(tid("secret"))), " ", "")
	if len(secret) != 32 {
		t.Fatalf("manual-entry secret = %q, want 32 base32 characters", secret)
	}
	if got := text(doc.Find(tid("secret"))); !strings.Contains(got, secret[:4]+" "+secret[4:8]+" ") {
		t.Errorf("manual-entry secret %q is not in groups of four", got)
	}
	wantQR(t, doc)
	doc.Find("input").Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(strings.ToUpper(s.AttrOr("value", "")), secret) {
			t.Errorf("the secret is in a form field: %s", s.AttrOr("name", ""))
		}
	})
	if again := h.enrolSecret(); again != secret {
		t.Errorf("reloading the enrolment page changed the secret from %q to %q", secret, again)
	}

	rec := h.post("/account/mfa", url.Values{"code": {totpAt(t, secret, time.Now())}})
	wantStatus(t, "POST /account/mfa with the current code", rec, http.StatusOK)
	codes := recoveryCodes(parse(t, rec))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown = %q, want 10", codes)
	}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || strings.ToLower(c) != c {
			t.Errorf("recovery code %q is not xxxxx-xxxxx in lower case", c)
		}
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(codes))); len(distinct) != 10 {
		t.Errorf("recovery codes are not all different: %q", codes)
	}
	if !strings.Contains(rec.Body.String(), "shown only once") {
		t.Error("the recovery codes page does not say they are shown only once")
	}
	if got := parse(t, rec).Find(tid("continue")).AttrOr("href", ""); got != "/" {
		t.Errorf("continue link = %q, want /", got)
	}
	if !slices.Contains(audited(t, pool, h.user.ID), "mfa.enrolled") {
		t.Errorf("audit of user %d = %q, want mfa.enrolled", h.user.ID, audited(t, pool, h.user.ID))
	}

	// The codes were shown once: the account page only counts them.
	doc = h.page("/account")
	if got := text(doc.Find(tid("mfa-status"))); !strings.HasPrefix(got, "On.") {
		t.Errorf("account after enrolment: MFA status = %q, want On", got)
	}
	if got := text(doc.Find(tid("codes-left"))); !strings.HasPrefix(got, "10 of 10") {
		t.Errorf("account after enrolment: codes left = %q, want 10 of 10", got)
	}
	if strings.Contains(doc.Text(), codes[0]) {
		t.Error("the account page shows a recovery code again")
	}
	if doc := h.page("/account/mfa"); doc.Find(tid("enrolled")).Length() != 1 || doc.Find(tid("secret")).Length() != 0 {
		t.Error("GET /account/mfa with an authenticator: want the already-enrolled notice and no new secret")
	}
	wantStatus(t, "POST /account/mfa again", h.post("/account/mfa", url.Values{"code": {totpAt(t, secret, time.Now())}}), http.StatusConflict)

	// Signing in now asks for the code, and nothing else is reachable first.
	h.firstFactor(h.user.Email, "/signin/code")
	wantRedirect(t, "GET / before the code", h.get("/"), "/signin/code")
	wantRedirect(t, "GET /account before the code", h.get("/account"), "/signin/code")
	wantRedirect(t, "GET /account/mfa before the code", h.get("/account/mfa"), "/signin/code")
	wantStatus(t, "POST /owners before the code", h.post("/owners", url.Values{"owner_name": {"Sneaky"}, "owner_kind": {"team"}}), http.StatusForbidden)
	wantStatus(t, "POST /account/mfa before the code", h.post("/account/mfa", url.Values{"code": {"123456"}}), http.StatusForbidden)
	wantStatus(t, "POST /account/mfa/remove before the code", h.post("/account/mfa/remove", url.Values{"code": {"123456"}}), http.StatusForbidden)

	// The code that confirmed enrolment is spent; the next one works.
	wantStatus(t, "POST /signin/code with the enrolment's code", h.post("/signin/code", url.Values{"code": {totpAt(t, secret, time.Now())}}), http.StatusUnprocessableEntity)
	wantRedirect(t, "POST /signin/code with the next code", h.post("/signin/code", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}}), "/")
	h.page("/")
}

func TestMFAEnrolmentRefusesAWrongCode(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleViewer)
	secret := h.enrolSecret()

	for _, code := range []string{wrongCode(t, secret), "", "12345", "abcdef", strings.Repeat("1", 100)} {
		rec := h.post("/account/mfa", url.Values{"code": {code}})
		wantStatus(t, "POST /account/mfa with "+code, rec, http.StatusUnprocessableEntity)
		doc := parse(t, rec)
		if doc.Find(tid("form-error")).Length() != 1 {
			t.Errorf("POST /account/mfa with %q: no message", code)
		}
		if got := strings.ReplaceAll(text(doc.Find(tid("secret"))), " ", ""); got != secret {
			t.Errorf("POST /account/mfa with %q: secret = %q, want the same %q", code, got, secret)
		}
		wantQR(t, doc)
	}
	if u, err := h.st.User(storetest.Context(t), h.user.ID); err != nil || u.MFA {
		t.Errorf("after wrong codes: User = %+v, %v; want no authenticator", u, err)
	}
	if slices.Contains(audited(t, pool, h.user.ID), "mfa.enrolled") {
		t.Error("wrong codes were audited as an enrolment")
	}
	// A code with a space in the middle, as apps show it, is fine.
	code := totpAt(t, secret, time.Now())
	wantStatus(t, "POST /account/mfa with a spaced code", h.post("/account/mfa", url.Values{"code": {code[:3] + " " + code[3:]}}), http.StatusOK)
}

func TestMFAEnrolmentSecretStaysWithItsAccount(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	seen := h.enrolSecret()

	// Someone else signs in in the same browser without signing out first.
	other := newUser(t, h.st, "other@example.com", srm.RoleViewer)
	wantRedirect(t, "POST /signin as other", h.post("/signin", url.Values{"email": {other.Email}, "password": {testPassword}}), "/")
	if got := h.enrolSecret(); got == seen {
		t.Error("the next person in the browser was offered the secret the previous one saw")
	}
}

func TestTOTPCodeWorksOnce(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	secret, _ := h.enrolTOTP()

	next := totpAt(t, secret, time.Now().Add(30*time.Second))
	h.firstFactor(h.user.Email, "/signin/code")
	wantRedirect(t, "POST /signin/code", h.post("/signin/code", url.Values{"code": {next}}), "/")

	h.firstFactor(h.user.Email, "/signin/code")
	rec := h.post("/signin/code", url.Values{"code": {next}})
	wantStatus(t, "POST /signin/code with a used code", rec, http.StatusUnprocessableEntity)
	if parse(t, rec).Find(tid("form-error")).Length() != 1 {
		t.Error("a used code is refused without a message")
	}
	wantRedirect(t, "GET / after a refused code", h.get("/"), "/signin/code")
}

func TestRecoveryCodeWorksOnce(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleViewer)
	_, codes := h.enrolTOTP()

	h.firstFactor(h.user.Email, "/signin/code")
	wantRedirect(t, "POST /signin/code with a recovery code", h.post("/signin/code", url.Values{"code": {strings.ToUpper(codes[3])}}), "/")
	if got := text(h.page("/account").Find(tid("codes-left"))); !strings.HasPrefix(got, "9 of 10") {
		t.Errorf("codes left after one use = %q, want 9 of 10", got)
	}

	h.firstFactor(h.user.Email, "/signin/code")
	wantStatus(t, "POST /signin/code with the same recovery code", h.post("/signin/code", url.Values{"code": {codes[3]}}), http.StatusUnprocessableEntity)
	wantRedirect(t, "POST /signin/code with another recovery code", h.post("/signin/code", url.Values{"code": {codes[4]}}), "/")

	actions := audited(t, pool, h.user.ID)
	if !slices.Contains(actions, "signin.succeeded") {
		t.Errorf("audit = %q, want signin.succeeded", actions)
	}
}

func TestMFAFiveWrongCodesLockTheAccount(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	secret, _ := h.enrolTOTP()

	h.firstFactor(h.user.Email, "/signin/code")
	bad := wrongCode(t, secret)
	for i := 1; i < 5; i++ {
		wantStatus(t, "wrong code "+itoa(int64(i)), h.post("/signin/code", url.Values{"code": {bad}}), http.StatusUnprocessableEntity)
	}
	wantStatus(t, "wrong code 5", h.post("/signin/code", url.Values{"code": {bad}}), http.StatusTooManyRequests)

	// Locked: even the right password is turned away for now.
	h.cookie, h.csrf = "", ""
	wantStatus(t, "POST /signin while locked", h.post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}}), http.StatusTooManyRequests)
}

func TestMFARequiredAllowsOnlyEnrolment(t *testing.T) {
	t.Parallel()
	admin, pool := newMFAHarness(t, srm.RoleAdmin)
	h := admin.as(srm.RoleEditor)
	wantStatus(t, "GET / before the requirement", h.get("/"), http.StatusOK)

	if err := h.st.SetMFARequired(storetest.Context(t), true); err != nil {
		t.Fatal(err)
	}
	// The sessions of everyone without an authenticator have ended.
	for _, who := range []*harness{h, admin} {
		rec := who.get("/")
		wantStatus(t, "GET / after the requirement", rec, http.StatusSeeOther)
		if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/signin") {
			t.Errorf("GET / after the requirement: Location = %q, want /signin…", loc)
		}
	}
	if !slices.Contains(audited(t, pool, h.user.ID), "sessions.revoked") {
		t.Errorf("audit of user %d = %q, want sessions.revoked", h.user.ID, audited(t, pool, h.user.ID))
	}

	// Signing in again leads to enrolment and nowhere else.
	h.cookie, h.csrf = "", ""
	wantRedirect(t, "POST /signin", h.post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}, "next": {"/owners"}}), "/account/mfa")
	doc := h.page("/account/mfa")
	h.csrf = doc.Find(`input[name="csrf"]`).First().AttrOr("value", "")
	if doc.Find(tid("required")).Length() != 1 {
		t.Error("enrolment page: no notice that an authenticator is required")
	}
	if doc.Find(`nav[aria-label="Main"]`).Length() != 0 {
		t.Error("enrolment page: the menu is shown while only enrolment is open")
	}
	for _, path := range []string{"/", "/account", "/owners", "/matrix", "/admin/users", "/signin/code"} {
		rec := h.get(path)
		if path == "/signin/code" {
			if rec.Code == http.StatusOK {
				t.Errorf("GET %s while enrolling: 200, want no way round enrolment", path)
			}
			continue
		}
		wantRedirect(t, "GET "+path+" while enrolling", rec, "/account/mfa")
	}
	wantStatus(t, "POST /owners while enrolling", h.post("/owners", url.Values{"owner_name": {"Sneaky"}, "owner_kind": {"team"}}), http.StatusForbidden)
	wantStatus(t, "POST /account/mfa/remove while enrolling", h.post("/account/mfa/remove", url.Values{"code": {"123456"}}), http.StatusForbidden)
	wantStatus(t, "POST /signin/code while enrolling", h.post("/signin/code", url.Values{"code": {"123456"}}), http.StatusSeeOther)
	wantRedirect(t, "GET / after POST /signin/code", h.get("/"), "/account/mfa")

	// Enrolling lifts it, and carries on where signing in was going.
	secret := strings.ReplaceAll(text(doc.Find(tid("secret"))), " ", "")
	rec := h.post("/account/mfa", url.Values{"code": {totpAt(t, secret, time.Now())}})
	wantStatus(t, "POST /account/mfa", rec, http.StatusOK)
	page := parse(t, rec)
	if got := page.Find(tid("continue")).AttrOr("href", ""); got != "/owners" {
		t.Errorf("continue link = %q, want /owners", got)
	}
	if page.Find(`nav[aria-label="Main"]`).Length() != 1 {
		t.Error("recovery codes page: no menu once enrolled")
	}
	h.page("/")
	h.page("/owners")
	wantStatus(t, "POST /owners after enrolling", h.post("/owners", url.Values{"owner_name": {"Platform team"}, "owner_kind": {"team"}}), http.StatusSeeOther)

	// From now on signing in asks for the code.
	h.firstFactor(h.user.Email, "/signin/code")
	wantRedirect(t, "POST /signin/code", h.post("/signin/code", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}}), "/")
}

func TestAccountPageShowsWhoIsSignedIn(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleEditor)
	doc := h.page("/account")
	for id, want := range map[string]string{
		"email":         h.user.Email,
		"signin-method": "password",
	} {
		if got := text(doc.Find(tid(id))); got != want {
			t.Errorf("account %s = %q, want %q", id, got, want)
		}
	}
	if got := text(doc.Find(tid("role"))); !strings.HasPrefix(got, "editor") {
		t.Errorf("account role = %q, want editor…", got)
	}
	if doc.Find(`nav a[aria-current]`).Length() != 0 {
		t.Error("account page marks a menu section as current")
	}
	wantRedirect(t, "GET /account signed out", h.signedOut().get("/account"), "/signin?next=%2Faccount")
}

func TestAccountRemoveMFANeedsACodeAndIsRefusedWhileRequired(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleViewer)
	secret, _ := h.enrolTOTP()

	// Required: refused whatever the code.
	if err := h.st.SetMFARequired(storetest.Context(t), true); err != nil {
		t.Fatal(err)
	}
	if doc := h.page("/account"); doc.Find(tid("remove-mfa-form")).Length() != 0 || doc.Find(tid("mfa-required")).Length() != 1 {
		t.Error("account page while MFA is required: want no remove form, and why")
	}
	rec := h.post("/account/mfa/remove", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}})
	wantStatus(t, "POST /account/mfa/remove while required", rec, http.StatusForbidden)
	if parse(t, rec).Find(tid("form-error")).Length() != 1 {
		t.Error("removal while required is refused without a message")
	}
	if err := h.st.SetMFARequired(storetest.Context(t), false); err != nil {
		t.Fatal(err)
	}

	// A wrong or missing code is refused.
	for _, code := range []string{"", wrongCode(t, secret), "aaaaa-aaaaa"} {
		rec := h.post("/account/mfa/remove", url.Values{"code": {code}})
		wantStatus(t, "POST /account/mfa/remove with "+code, rec, http.StatusUnprocessableEntity)
		if parse(t, rec).Find(tid("form-error")).Length() != 1 {
			t.Errorf("removal with %q refused without a message", code)
		}
	}
	if u, err := h.st.User(storetest.Context(t), h.user.ID); err != nil || !u.MFA {
		t.Fatalf("after refused removals: User = %+v, %v; want the authenticator kept", u, err)
	}
	if slices.Contains(audited(t, pool, h.user.ID), "mfa.removed") {
		t.Fatal("a refused removal was audited")
	}

	// The current code removes it.
	form := h.page("/account").Find(tid("remove-mfa-form"))
	rec = h.submit(form, url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}})
	wantRedirect(t, "POST /account/mfa/remove with the current code", rec, "/account?mfa=removed")
	doc := h.page("/account?mfa=removed")
	if got := text(doc.Find(tid("mfa-status"))); !strings.HasPrefix(got, "Off.") {
		t.Errorf("after removal: MFA status = %q, want Off", got)
	}
	if doc.Find(tid("notice")).Length() != 1 {
		t.Error("after removal: no notice")
	}
	if !slices.Contains(audited(t, pool, h.user.ID), "mfa.removed") {
		t.Errorf("audit of user %d = %q, want mfa.removed", h.user.ID, audited(t, pool, h.user.ID))
	}
	if n, err := h.st.RecoveryCodesLeft(storetest.Context(t), h.user.ID); err != nil || n != 0 {
		t.Errorf("RecoveryCodesLeft after removal = %d, %v; want 0", n, err)
	}

	// Signing in needs only the password again.
	h.signIn(h.user.Email, testPassword)
}

func TestAccountRemoveMFAWithARecoveryCode(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	_, codes := h.enrolTOTP()
	wantRedirect(t, "POST /account/mfa/remove with a recovery code", h.post("/account/mfa/remove", url.Values{"code": {codes[0]}}), "/account?mfa=removed")
	if u, err := h.st.User(storetest.Context(t), h.user.ID); err != nil || u.MFA {
		t.Errorf("after removal: User = %+v, %v; want no authenticator", u, err)
	}
}

func TestAccountRemoveMFAGuessingLocksOut(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	secret, _ := h.enrolTOTP()
	bad := wrongCode(t, secret)
	for i := 1; i < 5; i++ {
		wantStatus(t, "wrong code "+itoa(int64(i)), h.post("/account/mfa/remove", url.Values{"code": {bad}}), http.StatusUnprocessableEntity)
	}
	wantStatus(t, "wrong code 5", h.post("/account/mfa/remove", url.Values{"code": {bad}}), http.StatusTooManyRequests)
	wantStatus(t, "right code while locked", h.post("/account/mfa/remove", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}}), http.StatusTooManyRequests)
	if u, err := h.st.User(storetest.Context(t), h.user.ID); err != nil || !u.MFA {
		t.Errorf("after guessing: User = %+v, %v; want the authenticator kept", u, err)
	}
}

// newMFAHarness is newHarness signed in as a new account with role, with
// the pool behind the store for reading the audit trail.
func newMFAHarness(t *testing.T, role srm.Role) (*harness, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.Pool(t)
	st := store.New(pool)
	h := &harness{t: t, st: st, srv: newServer(t, st, web.Config{})}
	return h.signInAs(role), pool
}

// totpAt is the authenticator code for secret at time at, as an app makes it.
func totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("GenerateCodeCustom: %v", err)
	}
	return code
}

// wrongCode is a six-digit code that matches none of the codes srm
// accepts for secret now (one step of drift either way, and the next).
func wrongCode(t testing.TB, secret string) string {
	t.Helper()
	now := time.Now()
	var valid []string
	for step := -1; step <= 2; step++ {
		valid = append(valid, totpAt(t, secret, now.Add(time.Duration(step)*30*time.Second)))
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444"} {
		if !slices.Contains(valid, c) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// wantQR fails the test unless doc shows a QR code as a PNG in a data: URI.
func wantQR(t *testing.T, doc *goquery.Document) {
	t.Helper()
	src := doc.Find(tid("qr")).AttrOr("src", "")
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR code src = %.40q…, want a data:image/png URI", src)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("QR code: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
}

// enrolSecret opens the enrolment page and reads the secret from its
// manual-entry text.
func (h *harness) enrolSecret() string {
	h.t.Helper()
	doc := h.page("/account/mfa")
	secret := strings.ReplaceAll(text(doc.Find(tid("secret"))), " ", "")
	if secret == "" {
		h.t.Fatalf("GET /account/mfa: no secret to type in; page:\n%s", snippet(text(doc.Selection)))
	}
	return secret
}

// enrolTOTP sets up an authenticator for h's account with the current code
// and returns its secret and the recovery codes shown.
func (h *harness) enrolTOTP() (secret string, codes []string) {
	h.t.Helper()
	secret = h.enrolSecret()
	rec := h.post("/account/mfa", url.Values{"code": {totpAt(h.t, secret, time.Now())}})
	if rec.Code != http.StatusOK {
		h.t.Fatalf("POST /account/mfa with the current code: status = %d, want 200; body:\n%s", rec.Code, snippet(rec.Body.String()))
	}
	codes = recoveryCodes(parse(h.t, rec))
	if len(codes) != 10 {
		h.t.Fatalf("recovery codes = %q, want 10", codes)
	}
	return secret, codes
}

// recoveryCodes reads the recovery codes off the page shown after
// enrolment.
func recoveryCodes(doc *goquery.Document) []string {
	var codes []string
	doc.Find(tid("recovery-codes") + " li").Each(func(_ int, s *goquery.Selection) { codes = append(codes, text(s)) })
	return codes
}

// firstFactor posts the password of email on a fresh session and
// requires a redirect to where; it keeps the session and the anti-forgery
// token of the page there.
func (h *harness) firstFactor(email, where string) {
	h.t.Helper()
	h.cookie, h.csrf = "", ""
	rec := h.post("/signin", url.Values{"email": {email}, "password": {testPassword}})
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != where {
		h.t.Fatalf("POST /signin as %s: status %d to %q, want 303 to %q; body:\n%s", email, rec.Code, loc, where, snippet(rec.Body.String()))
	}
	h.csrf = h.page(where).Find(`input[name="csrf"]`).First().AttrOr("value", "")
	if h.csrf == "" {
		h.t.Fatalf("GET %s: no anti-forgery token", where)
	}
}

// audited returns the audit actions about user id, oldest first.
func audited(t testing.TB, pool *pgxpool.Pool, id int64) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT action FROM audit WHERE object_type = 'user' AND object_id = $1 ORDER BY id`, itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return actions
}

// TestAdminResetsALostAuthenticator: someone has lost their phone and
// their recovery codes. An admin resets the authenticator: it and the
// codes go, the person's sessions end, the audit trail names the admin,
// and the person signs in with their password again, or must set up a new
// authenticator when an admin requires one. Admins cannot reset their own
// this way, since a stolen session could then drop the second factor.
func TestAdminResetsALostAuthenticator(t *testing.T) {
	t.Parallel()
	user, pool := newMFAHarness(t, srm.RoleEditor)
	user.enrolTOTP()
	admin := user.as(srm.RoleAdmin)
	page := "/admin/users/" + itoa(user.user.ID)

	rec := admin.submit(admin.page(page).Find(tid("mfa-reset-form")), nil)
	wantRedirect(t, "POST reset authenticator", rec, page+"?done=mfa-reset")
	doc := admin.page(page + "?done=mfa-reset")
	if doc.Find(tid("notice")).Length() != 1 || doc.Find(tid("mfa-reset-form")).Length() != 0 {
		t.Error("after the reset: want a notice and no reset form (there is nothing left to reset)")
	}
	if u, err := user.st.User(storetest.Context(t), user.user.ID); err != nil || u.MFA {
		t.Errorf("after the reset: User = %+v, %v; want no authenticator", u, err)
	}
	if n, err := user.st.RecoveryCodesLeft(storetest.Context(t), user.user.ID); err != nil || n != 0 {
		t.Errorf("RecoveryCodesLeft after the reset = %d, %v; want 0", n, err)
	}
	if rec := user.get("/account"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
		t.Errorf("the person's session after the reset: GET /account = %d to %q, want 303 to sign in", rec.Code, rec.Header().Get("Location"))
	}
	var actor string
	if err := pool.QueryRow(t.Context(), `SELECT actor FROM audit WHERE action = 'mfa.reset' AND object_id = $1`, itoa(user.user.ID)).Scan(&actor); err != nil || actor != admin.user.Email {
		t.Errorf("audit of the reset: actor %q, %v; want %q", actor, err, admin.user.Email)
	}
	if got := audited(t, pool, user.user.ID); !slices.Contains(got, "sessions.revoked") {
		t.Errorf("audit of user %d = %q, want sessions.revoked too", user.user.ID, got)
	}
	user.signIn(user.user.Email, testPassword) // the password alone again

	// Required MFA: after a reset the next sign-in goes to enrolment.
	// (Requiring it signs out whoever has no authenticator: the admin sets
	// one up first.)
	user.enrolTOTP()
	admin.enrolTOTP()
	if err := user.st.SetMFARequired(storetest.Context(t), true); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, "POST reset while MFA is required", admin.post(page+"/mfa/reset", nil), page+"?done=mfa-reset")
	user.firstFactor(user.user.Email, "/account/mfa")

	// Not one's own, not even by posting the form by hand.
	own := "/admin/users/" + itoa(admin.user.ID)
	if admin.page(own).Find(tid("mfa-reset-form")).Length() != 0 {
		t.Error("an admin's own page offers to reset their own authenticator")
	}
	wantStatus(t, "POST reset own authenticator", admin.post(own+"/mfa/reset", nil), http.StatusForbidden)
	if u, err := admin.st.User(storetest.Context(t), admin.user.ID); err != nil || !u.MFA {
		t.Errorf("after trying to reset their own: User = %+v, %v; want the authenticator kept", u, err)
	}
}

// TestNewRecoveryCodesReplaceTheOldOnes: someone running low on recovery
// codes gets ten new ones with a code from their app; the old ones stop
// working, the new ones work, wrong codes are refused and counted, and it
// works while an admin requires MFA (nothing is removed).
func TestNewRecoveryCodesReplaceTheOldOnes(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleViewer)
	secret, old := h.enrolTOTP()
	if err := h.st.SetMFARequired(storetest.Context(t), true); err != nil {
		t.Fatal(err)
	}

	rec := h.post("/account/mfa/codes", url.Values{"code": {wrongCode(t, secret)}})
	wantStatus(t, "POST /account/mfa/codes with a wrong code", rec, http.StatusUnprocessableEntity)
	if parse(t, rec).Find(tid("codes-error")).Length() != 1 {
		t.Error("a wrong code is refused without a message")
	}
	rec = h.submit(h.page("/account").Find(tid("new-codes-form")), url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}})
	wantStatus(t, "POST /account/mfa/codes with the current code", rec, http.StatusOK)
	codes := recoveryCodes(parse(t, rec))
	if len(codes) != 10 {
		t.Fatalf("new recovery codes = %q, want 10", codes)
	}
	for _, c := range codes {
		if slices.Contains(old, c) {
			t.Errorf("new code %q is an old one", c)
		}
	}
	if got := text(h.page("/account").Find(tid("codes-left"))); !strings.HasPrefix(got, "10 of 10") {
		t.Errorf("codes left after renewal = %q, want 10 of 10", got)
	}
	if !slices.Contains(audited(t, pool, h.user.ID), "mfa.codes.replaced") {
		t.Errorf("audit of user %d = %q, want mfa.codes.replaced", h.user.ID, audited(t, pool, h.user.ID))
	}

	h.firstFactor(h.user.Email, "/signin/code")
	wantStatus(t, "POST /signin/code with an old recovery code", h.post("/signin/code", url.Values{"code": {old[0]}}), http.StatusUnprocessableEntity)
	wantRedirect(t, "POST /signin/code with a new recovery code", h.post("/signin/code", url.Values{"code": {codes[0]}}), "/")
}

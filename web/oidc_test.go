package web_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// The client srm is registered as with the test provider.
const (
	opClientID    = "srm-test"
	opSecret      = "s3cret-for-the-test-provider"
	opRedirectURL = "https://srm.test/signin/oidc/callback"
	opKeyID       = "test-key"
	ssoCookie     = "__Host-srm_sso"
)

// Two RSA keys for the whole run: the provider's, published in its JWKS,
// and a stranger's that signs forged tokens.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// testOP is an OpenID provider the tests run themselves: discovery, JWKS,
// an authorization endpoint that signs the person in at once and sends
// them straight back with a code, and a token endpoint that checks the
// client's secret and the PKCE verifier before it hands out an ID token
// signed RS256. Its fields say what the next sign-in gets.
type testOP struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey // published in the JWKS

	mu      sync.Mutex
	grants  map[string]opGrant // by authorization code, each used once
	subject string
	email   string
	name    string
	deny    bool                        // answer the authorization request with error=access_denied
	signer  *rsa.PrivateKey             // signs ID tokens; nil means key
	tamper  func(claims map[string]any) // changes the ID token's claims before signing
	refused int                         // token requests refused
	issued  []string                    // ID tokens and codes handed out, to look for in logs
}

type opGrant struct{ challenge, nonce string }

func newTestOP(t *testing.T) *testOP {
	t.Helper()
	op := &testOP{t: t, key: testKeys()[0], grants: map[string]opGrant{},
		subject: "00u-alice", email: "alice@example.com", name: "Alice Example"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /jwks", op.jwks)
	mux.HandleFunc("GET /authorize", op.authorize)
	mux.HandleFunc("POST /token", op.token)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *testOP) issuer() string { return op.srv.URL }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (op *testOP) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                op.issuer(),
		"authorization_endpoint":                op.issuer() + "/authorize",
		"token_endpoint":                        op.issuer() + "/token",
		"jwks_uri":                              op.issuer() + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (op *testOP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &op.key.PublicKey, KeyID: opKeyID, Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

// authorize checks srm's authorization request as a strict provider would,
// then signs the person in without asking and sends them back.
func (op *testOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	problems := []string{}
	want := map[string]string{"response_type": "code", "client_id": opClientID, "redirect_uri": opRedirectURL,
		"code_challenge_method": "S256"}
	for k, v := range want {
		if q.Get(k) != v {
			problems = append(problems, k+"="+q.Get(k))
		}
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		problems = append(problems, "scope without openid")
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 32 {
			problems = append(problems, k+" missing or short")
		}
	}
	if len(problems) > 0 {
		op.t.Errorf("provider: bad authorization request: %v", problems)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	op.mu.Lock()
	if op.deny {
		back.Set("error", "access_denied")
		back.Set("error_description", "the person said no")
	} else {
		code := rand.Text()
		op.grants[code] = opGrant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
		op.issued = append(op.issued, code)
		back.Set("code", code)
	}
	op.mu.Unlock()
	http.Redirect(w, r, opRedirectURL+"?"+back.Encode(), http.StatusFound)
}

// token swaps a code for tokens once, for the right client with the right
// PKCE verifier.
func (op *testOP) token(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	defer op.mu.Unlock()
	refuse := func(code, why string) {
		op.refused++
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": why})
	}
	if err := r.ParseForm(); err != nil {
		refuse("invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != opClientID || secret != opSecret {
		refuse("invalid_client", "wrong client credentials")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != opRedirectURL {
		refuse("invalid_request", "wrong grant type or redirect URI")
		return
	}
	g, ok := op.grants[r.PostForm.Get("code")]
	delete(op.grants, r.PostForm.Get("code"))
	if !ok {
		refuse("invalid_grant", "unknown or used code")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		refuse("invalid_grant", "PKCE verification failed")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": op.issuer(), "sub": op.subject, "aud": opClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce,
		"email": op.email, "name": op.name,
	}
	if op.tamper != nil {
		op.tamper(claims)
	}
	idToken := op.sign(claims)
	op.issued = append(op.issued, idToken)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": rand.Text(), "token_type": "Bearer",
		"expires_in": 300, "id_token": idToken})
}

// sign makes a compact JWS of claims with the provider's key id, signed by
// op.signer or else the provider's own key.
func (op *testOP) sign(claims map[string]any) string {
	key := op.key
	if op.signer != nil {
		key = op.signer
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: opKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		op.t.Fatalf("provider: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		op.t.Fatalf("provider: %v", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		op.t.Fatalf("provider: %v", err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		op.t.Fatalf("provider: %v", err)
	}
	return raw
}

// set changes what the next sign-in gets, under the provider's lock.
func (op *testOP) set(f func(op *testOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

// ssoServer is srm configured for single sign-on with op, on the test's
// own database, with the pool for reading what the server saved.
type ssoServer struct {
	op   *testOP
	st   *store.Store
	pool *pgxpool.Pool
	srv  http.Handler
}

func newSSOServer(t *testing.T, logger *slog.Logger) *ssoServer {
	t.Helper()
	return newSSOServerWith(t, logger, nil)
}

// newSSOServerWith is newSSOServer with edit applied to its config (nil
// leaves it).
func newSSOServerWith(t *testing.T, logger *slog.Logger, edit func(*web.Config)) *ssoServer {
	t.Helper()
	op := newTestOP(t)
	pool := storetest.Pool(t)
	st := store.New(pool)
	cfg := web.Config{OIDC: &web.OIDCConfig{Issuer: op.issuer(), ClientID: opClientID, ClientSecret: opSecret,
		RedirectURL: opRedirectURL, Name: "Test IdP"}}
	if edit != nil {
		edit(&cfg)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv, err := web.NewServer(t.Context(), logger, st, cfg)
	if err != nil {
		t.Fatalf("NewServer with single sign-on: %v", err)
	}
	return &ssoServer{op: op, st: st, pool: pool, srv: srv}
}

// browser is a new signed-out visitor.
func (s *ssoServer) browser(t *testing.T) *harness { return &harness{t: t, st: s.st, srv: s.srv} }

// ssoAttempt is a sign-in through the provider stopped just before the
// browser comes back to srm.
type ssoAttempt struct {
	callback string // the path and query the provider sends the browser back to
	state    string // the value of the __Host-srm_sso cookie srm set
}

// begin presses "Sign in with…" on the sign-in page of b with next, checks
// srm's redirect and cookie, lets editAuthorize change the authorization
// request (nil leaves it), and follows it through the provider.
func (s *ssoServer) begin(b *harness, next string, editAuthorize func(url.Values)) ssoAttempt {
	t := b.t
	t.Helper()
	doc := b.page("/signin?next=" + url.QueryEscape(next))
	form := doc.Find(tid("sso")).Closest("form")
	if got := text(doc.Find(tid("sso"))); got != "Sign in with Test IdP" {
		t.Fatalf("sign-in page: single-sign-on button = %q, want %q", got, "Sign in with Test IdP")
	}
	rec := b.submit(form, nil)
	wantStatus(t, "POST /signin/oidc", rec, http.StatusSeeOther)
	var state string
	for _, c := range rec.Result().Cookies() {
		switch c.Name {
		case web.SessionCookie:
			t.Fatalf("POST /signin/oidc set a session cookie for a signed-out visitor")
		case ssoCookie:
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" ||
				c.MaxAge <= 0 || c.MaxAge > 15*60 {
				t.Errorf("POST /signin/oidc: cookie %s = %+v, want Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, MaxAge ≤ 15 min", ssoCookie, c)
			}
			state = c.Value
		}
	}
	if state == "" {
		t.Fatalf("POST /signin/oidc set no %s cookie", ssoCookie)
	}
	authz, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), s.op.issuer()+"/authorize?") {
		t.Fatalf("POST /signin/oidc: Location = %q, want the provider's authorization endpoint", rec.Header().Get("Location"))
	}
	q := authz.Query()
	if q.Get("state") != state {
		t.Errorf("authorization request state differs from the %s cookie", ssoCookie)
	}
	if editAuthorize != nil {
		editAuthorize(q)
		authz.RawQuery = q.Encode()
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authz.String())
	if err != nil {
		t.Fatalf("provider: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider /authorize: status = %d, want 302", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Scheme+"://"+back.Host+back.Path != opRedirectURL {
		t.Fatalf("provider sent the browser to %q, want %s", resp.Header.Get("Location"), opRedirectURL)
	}
	return ssoAttempt{callback: back.RequestURI(), state: state}
}

// finish sends the browser back to srm at path, with the state cookie when
// state is not "" (and b's session cookie, if any), and checks that the
// state cookie is cleared whenever it was sent.
func finish(b *harness, path, state string) *httptest.ResponseRecorder {
	t := b.t
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if b.cookie != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: b.cookie})
	}
	if state != "" {
		req.AddCookie(&http.Cookie{Name: ssoCookie, Value: state})
	}
	rec := b.do(req)
	if state != "" {
		cleared := false
		for _, c := range rec.Result().Cookies() {
			cleared = cleared || (c.Name == ssoCookie && c.MaxAge < 0 && c.Secure && c.Path == "/")
		}
		if !cleared {
			t.Errorf("GET %s: the %s cookie was not cleared", strings.SplitN(path, "?", 2)[0], ssoCookie)
		}
	}
	return rec
}

// signIn goes all the way through single sign-on with next and requires
// success: a redirect to want with a session.
func (s *ssoServer) signIn(b *harness, next, want string) {
	t := b.t
	t.Helper()
	at := s.begin(b, next, nil)
	rec := finish(b, at.callback, at.state)
	wantRedirect(t, "single sign-on callback", rec, want)
	if b.cookie == "" {
		t.Fatal("single sign-on callback: no session cookie")
	}
}

// refused fails the test unless rec sends the browser back to sign in with
// problem and b has no session, and returns the reason of the newest
// failed sign-in in the audit trail.
func (s *ssoServer) refused(b *harness, rec *httptest.ResponseRecorder, problem string) string {
	t := b.t
	t.Helper()
	wantStatus(t, "callback", rec, http.StatusSeeOther)
	loc := rec.Header().Get("Location")
	if loc != "/signin?sso="+problem && !strings.HasPrefix(loc, "/signin?sso="+problem+"&") {
		t.Errorf("callback: Location = %q, want /signin?sso=%s", loc, problem)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == web.SessionCookie && c.MaxAge >= 0 {
			t.Errorf("callback: refused, yet set a session cookie")
		}
	}
	if b.cookie != "" {
		t.Errorf("callback: refused, yet the browser holds a session")
	}
	wantRedirect(t, "GET / after a refused sign-in", b.get("/"), "/signin?next=%2F")

	var reason, method string
	err := s.pool.QueryRow(t.Context(), `SELECT after->>'reason', after->>'method' FROM audit
		WHERE action = 'signin.failed' ORDER BY id DESC LIMIT 1`).Scan(&reason, &method)
	if err != nil {
		t.Fatalf("audit: no failed sign-in recorded: %v", err)
	}
	if method != "single sign-on" {
		t.Errorf("audit: failed sign-in method = %q, want %q", method, "single sign-on")
	}
	return reason
}

// count runs a counting query.
func (s *ssoServer) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestSSOSignsInByIssuerAndSubjectNotEmail(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t, nil)
	ctx := storetest.Context(t)
	local := newUser(t, s.st, "alice@example.com", srm.RoleAdmin) // same email as the provider's Alice

	b := s.browser(t)
	s.signIn(b, "/owners?sort=name", "/owners?sort=name")
	wantStatus(t, "GET / signed in by single sign-on", b.get("/"), http.StatusOK)

	u, err := s.st.UserByOIDC(ctx, s.op.issuer(), "00u-alice")
	if err != nil {
		t.Fatalf("UserByOIDC(%s, 00u-alice) = %v", s.op.issuer(), err)
	}
	if u.ID == local.ID {
		t.Fatal("single sign-on signed in as the local account with the same email")
	}
	if u.Email != "alice@example.com" || u.Name != "Alice Example" || u.Role != srm.RoleViewer || u.HasPassword {
		t.Errorf("new account = %+v, want alice@example.com, Alice Example, viewer, no password", u)
	}
	// The session is the new viewer's, not the local admin's.
	wantStatus(t, "GET /workloads/new as the new account", b.get("/workloads/new"), http.StatusForbidden)
	if n := s.count(t, `SELECT count(*) FROM audit WHERE action = 'signin.succeeded' AND actor_id = $1
		AND after->>'method' = 'single sign-on'`, u.ID); n != 1 {
		t.Errorf("audit: %d successful single sign-ons of the new account, want 1", n)
	}

	// Another browser, another day: the same account, however the
	// provider's email has changed.
	s.op.set(func(op *testOP) { op.email = "alice.new@example.com" })
	again := s.browser(t)
	s.signIn(again, "/", "/")
	if n := s.count(t, `SELECT count(*) FROM users WHERE oidc_issuer IS NOT NULL`); n != 1 {
		t.Errorf("%d single-sign-on accounts after signing in twice, want 1", n)
	}
	if n := s.count(t, `SELECT count(*) FROM audit WHERE action = 'signin.succeeded' AND actor_id = $1`, u.ID); n != 2 {
		t.Errorf("audit: %d successful sign-ins of the account, want 2", n)
	}

	// The local account still signs in with its password, as itself.
	pw := s.browser(t)
	pw.signIn("alice@example.com", testPassword)
	wantStatus(t, "GET /workloads/new as the local admin", pw.get("/workloads/new"), http.StatusOK)
}

func TestSSOEmailFallsBackToUsernameThenSubject(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t, nil)
	iss, _ := url.Parse(s.op.issuer())
	host := iss.Hostname()
	tests := []struct {
		subject, email, username, want string
	}{
		{"s1", "", "bob@example.org", "bob@example.org"},
		{"s2", "", "bob", "s2@" + host},
		{"s3", "not an address", "", "s3@" + host},
	}
	for _, tt := range tests {
		s.op.set(func(op *testOP) {
			op.subject, op.email = tt.subject, tt.email
			op.tamper = func(c map[string]any) {
				if tt.email == "" {
					delete(c, "email")
				}
				c["preferred_username"] = tt.username
			}
		})
		s.signIn(s.browser(t), "/", "/")
		u, err := s.st.UserByOIDC(storetest.Context(t), s.op.issuer(), tt.subject)
		if err != nil {
			t.Fatalf("UserByOIDC(%s) = %v", tt.subject, err)
		}
		if u.Email != tt.want {
			t.Errorf("email=%q preferred_username=%q: account email = %q, want %q", tt.email, tt.username, u.Email, tt.want)
		}
	}
}

func TestSSORefusesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name string
		// setup changes the provider before the attempt.
		setup func(s *ssoServer, t *testing.T)
		// authorize changes the authorization request on its way to the provider.
		authorize func(q url.Values)
		// back changes the callback and the cookie on the way back.
		back        func(s *ssoServer, t *testing.T, at *ssoAttempt)
		wantProblem string
		wantReason  string
		opRefuses   bool // the provider refuses the token request
	}{
		{name: "tampered state", back: func(_ *ssoServer, _ *testing.T, at *ssoAttempt) {
			at.callback = replaceParam(at.callback, "state", rand.Text()+rand.Text())
		}, wantProblem: "failed", wantReason: "state does not match"},
		{name: "state and cookie both forged", back: func(_ *ssoServer, _ *testing.T, at *ssoAttempt) {
			forged := rand.Text() + rand.Text()
			at.callback, at.state = replaceParam(at.callback, "state", forged), forged
		}, wantProblem: "expired", wantReason: "unknown, expired or already used state"},
		{name: "missing state cookie", back: func(_ *ssoServer, _ *testing.T, at *ssoAttempt) {
			at.state = ""
		}, wantProblem: "expired", wantReason: "no single-sign-on cookie"},
		{name: "replayed callback", back: func(s *ssoServer, t *testing.T, at *ssoAttempt) {
			first := s.browser(t)
			wantRedirect(t, "first use of the callback", finish(first, at.callback, at.state), "/owners")
		}, wantProblem: "expired", wantReason: "already used state"},
		{name: "nonce mismatch", setup: func(s *ssoServer, _ *testing.T) {
			s.op.tamper = func(c map[string]any) { c["nonce"] = rand.Text() }
		}, wantProblem: "failed", wantReason: "nonce does not match"},
		{name: "no nonce", setup: func(s *ssoServer, _ *testing.T) {
			s.op.tamper = func(c map[string]any) { delete(c, "nonce") }
		}, wantProblem: "failed", wantReason: "nonce does not match"},
		{name: "wrong issuer", setup: func(s *ssoServer, _ *testing.T) {
			s.op.tamper = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}, wantProblem: "failed", wantReason: "issued by a different provider"},
		{name: "wrong audience", setup: func(s *ssoServer, _ *testing.T) {
			s.op.tamper = func(c map[string]any) { c["aud"] = "another-app" }
		}, wantProblem: "failed", wantReason: "expected audience"},
		{name: "signed by another key", setup: func(s *ssoServer, _ *testing.T) {
			s.op.signer = testKeys()[1]
		}, wantProblem: "failed", wantReason: "failed to verify signature"},
		{name: "expired ID token", setup: func(s *ssoServer, _ *testing.T) {
			s.op.tamper = func(c map[string]any) { c["iat"], c["exp"] = past.Add(-time.Hour).Unix(), past.Unix() }
		}, wantProblem: "failed", wantReason: "token is expired"},
		{name: "PKCE verifier mismatch", authorize: func(q url.Values) {
			sum := sha256.Sum256([]byte(rand.Text() + rand.Text())) // a challenge srm holds no verifier for
			q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		}, wantProblem: "failed", wantReason: "invalid_grant: PKCE verification failed", opRefuses: true},
		{name: "answer from another issuer", back: func(_ *ssoServer, _ *testing.T, at *ssoAttempt) {
			at.callback += "&iss=" + url.QueryEscape("https://evil.example")
		}, wantProblem: "failed", wantReason: "another issuer"},
		{name: "provider denied", setup: func(s *ssoServer, _ *testing.T) {
			s.op.deny = true
		}, wantProblem: "denied", wantReason: "access_denied"},
		{name: "disabled account", setup: func(s *ssoServer, t *testing.T) {
			u := srm.User{Email: "alice@example.com", Role: srm.RoleViewer, Issuer: s.op.issuer(), Subject: s.op.subject}
			if err := s.st.CreateOIDCUser(storetest.Context(t), &u); err != nil {
				t.Fatal(err)
			}
			u.Disabled = true
			if _, err := s.st.UpdateUser(storetest.Context(t), u); err != nil {
				t.Fatal(err)
			}
		}, wantProblem: "disabled", wantReason: "account disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSSOServer(t, nil)
			if tt.setup != nil {
				s.op.set(func(*testOP) { tt.setup(s, t) })
			}
			before := s.count(t, `SELECT count(*) FROM users WHERE oidc_issuer IS NOT NULL`)
			b := s.browser(t)
			at := s.begin(b, "/owners", tt.authorize)
			if tt.back != nil {
				tt.back(s, t, &at)
			}
			sessions := s.count(t, `SELECT count(*) FROM sessions`)

			rec := finish(b, at.callback, at.state)
			reason := s.refused(b, rec, tt.wantProblem)
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("audit: failed sign-in reason = %q, want it to contain %q", reason, tt.wantReason)
			}
			if n := s.count(t, `SELECT count(*) FROM sessions`); n != sessions {
				t.Errorf("%d sessions after a refused sign-in, want %d", n, sessions)
			}
			if n := s.count(t, `SELECT count(*) FROM users WHERE oidc_issuer IS NOT NULL`); n != before && tt.name != "replayed callback" {
				t.Errorf("%d single-sign-on accounts after a refused sign-in, want %d", n, before)
			}
			var refused int
			s.op.set(func(op *testOP) { refused = op.refused })
			if want := map[bool]int{true: 1}[tt.opRefuses]; refused != want {
				t.Errorf("the provider refused %d token requests, want %d", refused, want)
			}
		})
	}
}

// replaceParam sets one query parameter of a path and query.
func replaceParam(pathQuery, key, value string) string {
	u, _ := url.Parse(pathQuery)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

func TestSSOKeepsTheReturnPathThroughFailure(t *testing.T) {
	t.Parallel()
	s := newSSOServer(t, nil)
	s.op.set(func(op *testOP) { op.deny = true })
	b := s.browser(t)
	at := s.begin(b, "/owners?sort=name", nil)
	rec := finish(b, at.callback, at.state)
	wantRedirect(t, "denied callback", rec, "/signin?sso=denied&next=%2Fowners%3Fsort%3Dname")
	doc := b.page(rec.Header().Get("Location"))
	if got := text(doc.Find(tid("form-error"))); got != "The sign-in provider did not let you in." {
		t.Errorf("sign-in page problem = %q", got)
	}
	if got := doc.Find(tid("sso")).Closest("form").Find(`input[name="next"]`).AttrOr("value", ""); got != "/owners?sort=name" {
		t.Errorf("sign-in page keeps next = %q, want /owners?sort=name", got)
	}
}

func TestSSOLogsTheReasonButNoSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := newSSOServer(t, slog.New(slog.NewTextHandler(&buf, nil)))
	s.op.set(func(op *testOP) { op.tamper = func(c map[string]any) { c["aud"] = "another-app" } })
	b := s.browser(t)
	at := s.begin(b, "/", nil)
	s.refused(b, finish(b, at.callback, at.state), "failed")

	log := buf.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "expected audience") {
		t.Errorf("log has no warning with the reason:\n%s", log)
	}
	secrets := []string{opSecret, at.state}
	s.op.set(func(op *testOP) { secrets = append(secrets, op.issued...) })
	for _, secret := range secrets {
		if strings.Contains(log, secret) {
			t.Errorf("log holds a secret, code, state or token %.12q…:\n%s", secret, log)
		}
	}
}

func TestSSOStartNeedsItConfigured(t *testing.T) {
	t.Parallel()
	h := newHarness(t).signedOut()
	if h.page("/signin").Find(tid("sso")).Length() != 0 {
		t.Error("sign-in page offers single sign-on that is not configured")
	}
	wantStatus(t, "POST /signin/oidc without single sign-on", h.post("/signin/oidc", nil), http.StatusNotFound)
	wantStatus(t, "GET /signin/oidc/callback without single sign-on", h.get("/signin/oidc/callback?state=x&code=y"), http.StatusNotFound)
}

func TestSSOConfigMustMatchTheProvider(t *testing.T) {
	t.Parallel()
	op := newTestOP(t)
	st := store.New(storetest.Pool(t))
	base := web.OIDCConfig{Issuer: op.issuer(), ClientID: opClientID, ClientSecret: opSecret, RedirectURL: opRedirectURL}
	tests := []struct {
		name string
		edit func(c *web.OIDCConfig)
	}{
		{"issuer other than the provider names", func(c *web.OIDCConfig) { c.Issuer += "/" }},
		{"no provider there", func(c *web.OIDCConfig) { c.Issuer += "/tenant" }},
		{"no client secret", func(c *web.OIDCConfig) { c.ClientSecret = "" }},
		{"unknown role", func(c *web.OIDCConfig) { c.Role = "owner" }},
	}
	for _, tt := range tests {
		cfg := base
		tt.edit(&cfg)
		if _, err := web.NewServer(t.Context(), slog.New(slog.DiscardHandler), st, web.Config{OIDC: &cfg}); err == nil {
			t.Errorf("NewServer with %s: no error", tt.name)
		}
	}
}

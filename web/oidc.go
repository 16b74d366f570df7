package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
)

// OIDCConfig configures single sign-on with an OpenID Connect provider
// (Entra ID, Okta, Keycloak, Google…). Issuer, ClientID, ClientSecret and
// RedirectURL are required; RedirectURL is srm's
// https://HOST/signin/oidc/callback as registered with the provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Name         string   // on the sign-in button; default "single sign-on"
	Role         srm.Role // of an account made at first sign-in; default viewer
}

// How long a person has to get through the provider's pages, and how long
// srm waits for the provider's server.
const (
	ssoFlowLifetime = 10 * time.Minute
	ssoHTTPTimeout  = 10 * time.Second
)

// ssoCookie holds the state of the single-sign-on attempt in progress, so
// only the browser that started it can finish it. The __Host- prefix makes
// browsers insist on Secure, Path=/ and no Domain.
const ssoCookie = "__Host-srm_sso"

// ssoMethod is how the audit trail names this way of signing in.
const ssoMethod = "single sign-on"

// oidcProvider is the configured OpenID provider, discovered once at
// start-up.
type oidcProvider struct {
	name     string // on the sign-in button
	issuer   string // as discovered and checked: half of each account's key
	role     srm.Role
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client // for the provider's token endpoint and keys
	logger   *slog.Logger
}

// newOIDCProvider discovers the provider's endpoints and keys from its
// issuer, giving up after ten seconds. The issuer the provider's discovery
// document names must be exactly cfg.Issuer.
func newOIDCProvider(ctx context.Context, cfg OIDCConfig, logger *slog.Logger) (*oidcProvider, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.RedirectURL == "" {
		return nil, errors.New("oidc: issuer, client id, client secret and redirect URL are all required")
	}
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	if cfg.Role == "" {
		cfg.Role = srm.RoleViewer
	}
	if !cfg.Role.Valid() {
		return nil, fmt.Errorf("oidc: role %q: want viewer, editor or admin", cfg.Role)
	}
	client := &http.Client{Timeout: ssoHTTPTimeout}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), ssoHTTPTimeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", cfg.Issuer, err)
	}
	endpoint := p.Endpoint()
	// Say how to send the client secret instead of letting oauth2 guess,
	// which costs a failed request first. Without a list, the standard's
	// default is HTTP Basic.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if len(meta.AuthMethods) > 0 && !slices.Contains(meta.AuthMethods, "client_secret_basic") &&
		slices.Contains(meta.AuthMethods, "client_secret_post") {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oidcProvider{
		name:   cfg.Name,
		issuer: cfg.Issuer,
		role:   cfg.Role,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:   client,
		logger:   logger,
	}, nil
}

// startSSO handles POST /signin/oidc: it sends the browser to the provider
// with a fresh state, nonce and PKCE challenge. The attempt is kept in the
// database under a hash of its state, not in a session, so a signed-out
// visitor still has no session row; the state also goes into a short-lived
// cookie that ties the attempt to this browser.
func (a *auth) startSSO(w http.ResponseWriter, r *http.Request) error {
	p := a.oidc
	if p == nil {
		return srm.ErrNotFound
	}
	if err := parseForm(r); err != nil {
		return err
	}
	return a.beginSSO(w, r, safeNext(r.PostForm.Get("next")))
}

// beginSSO sends the browser to the provider to sign in, and then to next
// (a path on srm).
func (a *auth) beginSSO(w http.ResponseWriter, r *http.Request, next string) error {
	p := a.oidc
	state, nonce, verifier := randomToken(32), randomToken(32), oauth2.GenerateVerifier()
	err := a.st.SaveOIDCFlow(r.Context(), store.OIDCFlow{
		StateHash: hashToken(state),
		Nonce:     nonce,
		Verifier:  verifier,
		ReturnTo:  next,
		ExpiresAt: time.Now().Add(ssoFlowLifetime),
	})
	if err != nil {
		return err
	}
	setSSOCookie(w, state, int(ssoFlowLifetime/time.Second))
	return seeOther(w, r, p.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// setSSOCookie sets (maxAge > 0) or clears (maxAge < 0) the state cookie.
// SameSite=Lax still sends it on the provider's redirect back, a top-level
// GET.
func setSSOCookie(w http.ResponseWriter, state string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: ssoCookie, Value: state, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// finishSSO handles GET /signin/oidc/callback, where the provider sends
// the browser back. It takes the attempt once (a second use of the same
// address finds nothing), swaps the code for tokens with the PKCE verifier,
// checks the ID token's signature, issuer, audience, expiry and nonce, and
// signs in the account keyed by issuer and subject, making it on first
// sign-in. Anything wrong sends the person back to the sign-in page with a
// code naming the problem; the audit trail and the log get the reason.
func (a *auth) finishSSO(w http.ResponseWriter, r *http.Request) error {
	p := a.oidc
	if p == nil {
		return srm.ErrNotFound
	}
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	bound := ""
	if c, err := r.Cookie(ssoCookie); err == nil {
		bound = c.Value
		setSSOCookie(w, "", -1)
	}
	switch {
	case bound == "":
		return a.ssoFailed(w, r, "expired", "no single-sign-on cookie: the attempt expired or began in another browser", srm.User{}, "/")
	case state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(bound)) != 1:
		return a.ssoFailed(w, r, "failed", "state does not match this browser's attempt", srm.User{}, "/")
	}
	flow, err := a.st.TakeOIDCFlow(ctx, hashToken(state))
	if errors.Is(err, srm.ErrNotFound) {
		return a.ssoFailed(w, r, "expired", "unknown, expired or already used state", srm.User{}, "/")
	}
	if err != nil {
		return err
	}
	next := flow.ReturnTo
	if e := q.Get("error"); e != "" {
		return a.ssoFailed(w, r, "denied", "provider refused: "+clip(e, 100)+": "+clip(q.Get("error_description"), 300), srm.User{}, next)
	}
	if q.Has("iss") && q.Get("iss") != p.issuer { // RFC 9207: the answer is from another provider
		return a.ssoFailed(w, r, "failed", "the answer names another issuer: "+clip(q.Get("iss"), 200), srm.User{}, next)
	}
	code := q.Get("code")
	if code == "" {
		return a.ssoFailed(w, r, "failed", "no authorization code", srm.User{}, next)
	}
	token, err := p.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		return a.ssoFailed(w, r, "failed", "token exchange: "+exchangeProblem(err), srm.User{}, next)
	}
	raw, _ := token.Extra("id_token").(string)
	if raw == "" {
		return a.ssoFailed(w, r, "failed", "the token response has no ID token", srm.User{}, next)
	}
	idt, err := p.verifier.Verify(oidc.ClientContext(ctx, p.client), raw)
	if err != nil {
		return a.ssoFailed(w, r, "failed", "ID token refused: "+err.Error(), srm.User{}, next)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return a.ssoFailed(w, r, "failed", "ID token nonce does not match the attempt", srm.User{}, next)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(token.AccessToken); err != nil {
			return a.ssoFailed(w, r, "failed", "access token does not match the ID token's at_hash", srm.User{}, next)
		}
	}
	if idt.Subject == "" {
		return a.ssoFailed(w, r, "failed", "ID token has no subject", srm.User{}, next)
	}
	var claims ssoClaims
	if err := idt.Claims(&claims); err != nil {
		return a.ssoFailed(w, r, "failed", "ID token claims: "+err.Error(), srm.User{}, next)
	}
	u, err := a.ssoUser(r, idt.Issuer, idt.Subject, claims)
	if err != nil {
		return err
	}
	if u.Disabled {
		return a.ssoFailed(w, r, "disabled", "account disabled", u, next)
	}
	return a.finishFirstFactor(w, r, u, ssoMethod, next)
}

// ssoClaims are the ID token claims srm reads besides issuer and subject.
// None of them identifies the person: they only label the account.
type ssoClaims struct {
	Email             string `json:"email"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
}

// ssoUser returns the account of the person the provider knows as subject,
// making it on their first sign-in with the configured role. It never looks
// accounts up by email: a local account with the same email is someone
// else's as far as srm knows.
func (a *auth) ssoUser(r *http.Request, issuer, subject string, c ssoClaims) (srm.User, error) {
	ctx := r.Context()
	u, err := a.st.UserByOIDC(ctx, issuer, subject)
	if err == nil || !errors.Is(err, srm.ErrNotFound) {
		return u, err
	}
	u = srm.User{Email: ssoEmail(issuer, subject, c), Role: a.oidc.role, Issuer: issuer, Subject: subject}
	if srm.CheckText(c.Name, srm.MaxName) == "" {
		u.Name = c.Name
	}
	actx := store.WithActor(ctx, store.Actor{Name: u.Email, IP: clientIP(r), UserAgent: r.UserAgent()})
	err = a.st.CreateOIDCUser(actx, &u)
	if errors.Is(err, srm.ErrConflict) { // the same person's first sign-in, twice at once
		return a.st.UserByOIDC(ctx, issuer, subject)
	}
	if err != nil {
		return srm.User{}, err
	}
	a.oidc.logger.InfoContext(ctx, "single sign-on: account created", "user_id", u.ID, "email", u.Email, "issuer", issuer, "role", u.Role)
	return u, nil
}

// ssoEmail is the address an account made by single sign-on is shown
// with: the email claim, else preferred_username when it is an address,
// else subject@issuer-host.
func ssoEmail(issuer, subject string, c ssoClaims) string {
	for _, e := range []string{c.Email, c.PreferredUsername} {
		if e != "" && srm.EmailProblem(e) == "" {
			return srm.NormalizeEmail(e)
		}
	}
	host := "sso"
	if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return subject + "@" + host
}

// ssoFailed records a refused single sign-on in the audit trail and the
// log, and sends the person back to the sign-in page with problem, one of
// the codes in ssoProblems. reason is for operators: it never holds a
// token, code or secret.
func (a *auth) ssoFailed(w http.ResponseWriter, r *http.Request, problem, reason string, u srm.User, next string) error {
	ctx := r.Context()
	a.oidc.logger.WarnContext(ctx, "single sign-on refused", "problem", problem, "reason", reason,
		"user_id", u.ID, "ip", clientIP(r))
	if err := a.st.RecordEvent(ctx, "signin.failed", u, map[string]any{"method": ssoMethod, "reason": reason}); err != nil {
		return err
	}
	to := "/signin?sso=" + problem
	if next != "/" && next != "" {
		to += "&next=" + url.QueryEscape(next)
	}
	return seeOther(w, r, to)
}

// exchangeProblem describes a failed token exchange without the response
// body, which may echo what was sent.
func exchangeProblem(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		s := re.ErrorCode
		if s == "" && re.Response != nil {
			s = re.Response.Status
		}
		if re.ErrorDescription != "" {
			s += ": " + clip(re.ErrorDescription, 300)
		}
		return s
	}
	return err.Error()
}

// clip shortens s, which came from outside, to at most n bytes of valid
// UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "")
}

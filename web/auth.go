package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// Session keys. A session carries who is signed in and their role, so a
// request costs one session lookup and no user lookup. Anything that must
// reach a signed-in person at once (disabling, a role change, a new
// password or authenticator, revocation, requiring MFA) raises the
// account's session stamp instead, which ends their sessions and any
// sign-in of theirs in flight (store.Sessions).
const (
	keyUser    = "uid"
	keyEmail   = "email"
	keyName    = "name"
	keyRole    = "role"
	keyCSRF    = "csrf"
	keySeen    = "seen"  // unix seconds of the last request, for the idle timeout
	keyStage   = "stage" // how far signing in has got: see the stage constants
	keyMFA     = "mfa"   // the user has an authenticator
	keyPending = "totp"  // an authenticator secret being enrolled, not yet confirmed
	keyNext    = "next"  // where to go once signed in
	keyFirst   = "first" // how the first factor was given (password, single sign-on), while a code is due
	keyProof   = "proof" // unix seconds when the person last proved who they are: see stepUp
)

// Stages of signing in.
const (
	stageDone  = ""      // signed in
	stageCode  = "code"  // password accepted; an authenticator code is due
	stageEnrol = "enrol" // MFA is required and the person has none: enrolment only
)

// seenEvery is how stale the last-seen time may get before a request
// writes it again: the idle timeout is exact to within it, and a busy
// person's session is written at most once a minute, not on every request.
const seenEvery = time.Minute

// auth holds what signing in and checking access need.
type auth struct {
	st       *store.Store
	sessions *scs.SessionManager
	idle     time.Duration
	oidc     *oidcProvider // nil when single sign-on is not configured
	// stepUpWindow is how long a proof of identity lasts (see stepUp).
	stepUpWindow time.Duration
	now          func() time.Time // the clock of session times: idleness, proofs
}

// newSessionManager keeps sessions in st (store.Sessions), as hashes of
// their tokens, encoded by sessionCodec.
func newSessionManager(st *store.Store, cfg Config) *scs.SessionManager {
	sm := scs.New()
	sm.Store = st.Sessions()
	sm.HashTokenInStore = true
	sm.Codec = sessionCodec{}
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = 0 // srm keeps the idle time itself (keySeen), to write at most once a minute
	sm.Cookie.Name = SessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.Secure = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false // gone when the browser closes
	return sm
}

// SessionCookie is the name of srm's session cookie. The __Host- prefix
// makes browsers insist on Secure, Path=/ and no Domain.
const SessionCookie = "__Host-srm_session"

// hashToken is the session token as scs stores it (HashTokenInStore).
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// viewer is the person signed in on r, if any.
func viewer(r *http.Request) views.Viewer { return views.ViewerFrom(r.Context()) }

// identify reads the session, ends it when idle too long or past its
// lifetime (both by a.now, the clock tests move), and puts the viewer and
// the audit actor in the request's context.
func (a *auth) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sm := a.sessions
		uid := sm.GetInt64(ctx, keyUser)
		ip := clientIP(r)
		if uid == 0 {
			next.ServeHTTP(w, r.WithContext(store.WithActor(ctx, store.Actor{Name: "anonymous", IP: ip, UserAgent: r.UserAgent()})))
			return
		}
		now := a.now()
		seen := time.Unix(sm.GetInt64(ctx, keySeen), 0)
		if now.After(sm.Deadline(ctx)) {
			// Past its lifetime by srm's clock (the database drops it by its
			// own too): the person is signed out, as if it had gone.
			if err := sm.Destroy(ctx); err != nil {
				sm.ErrorFunc(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(store.WithActor(ctx, store.Actor{Name: "anonymous", IP: ip, UserAgent: r.UserAgent()})))
			return
		}
		if now.Sub(seen) > a.idle {
			if err := sm.Destroy(ctx); err != nil {
				// The idle session is still stored: answer the error rather
				// than carry on as if it had ended.
				sm.ErrorFunc(w, r, err)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/signin?idle=1&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r.WithContext(store.WithActor(ctx, store.Actor{Name: "anonymous", IP: ip, UserAgent: r.UserAgent()})))
			return
		}
		if now.Sub(seen) > seenEvery {
			sm.Put(ctx, keySeen, now.Unix())
		}
		v := views.Viewer{
			ID:      uid,
			Email:   sm.GetString(ctx, keyEmail),
			Name:    sm.GetString(ctx, keyName),
			Role:    srm.Role(sm.GetString(ctx, keyRole)),
			CSRF:    sm.GetString(ctx, keyCSRF),
			MFA:     sm.GetBool(ctx, keyMFA),
			Limited: sm.GetString(ctx, keyStage) != stageDone,
		}
		ctx = views.WithViewer(ctx, v)
		ctx = store.WithActor(ctx, store.Actor{UserID: uid, Name: v.Email, IP: ip, UserAgent: r.UserAgent()})
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clientIP is the client's address as the ClientIPFrom… middleware found
// it: the TCP peer, or with trusted proxies configured the first address in
// X-Forwarded-For that none of them added.
func clientIP(r *http.Request) string {
	if ip := middleware.GetClientIP(r.Context()); ip != "" {
		return ip
	}
	return "unknown"
}

// stage is how far the person on r has got with signing in, and whether
// anyone is signed in at all.
func (a *auth) stage(r *http.Request) (string, bool) {
	if !viewer(r).SignedIn() {
		return "", false
	}
	return a.sessions.GetString(r.Context(), keyStage), true
}

// require lets a request through only from a person fully signed in with at
// least role need; on unsafe methods it also checks the session's
// anti-forgery token. Signed-out page requests are sent to sign in, any
// other signed-out request gets 401; a role too low gets 403.
func (a *auth) require(need srm.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stage, in := a.stage(r)
			switch {
			case !in:
				a.signInFirst(w, r)
				return
			case stage == stageCode:
				a.redirect(w, r, "/signin/code", "Enter the code from your authenticator app first.")
				return
			case stage == stageEnrol:
				a.redirect(w, r, "/account/mfa", "Set up an authenticator app first: srm requires one for every account.")
				return
			case !a.formAllowed(w, r):
				return
			}
			if !viewer(r).Role.Allows(need) {
				a.refuse(w, r, http.StatusForbidden, "Your role cannot do this",
					"You are signed in as "+string(viewer(r).Role)+"; this needs "+string(need)+". Ask an admin if you need more.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// signedIn lets through anyone signed in at any stage, checking the
// anti-forgery token on unsafe methods: for finishing signing in and
// signing out.
func (a *auth) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, in := a.stage(r); !in {
			a.signInFirst(w, r)
			return
		}
		if a.formAllowed(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// signInFirst answers a signed-out request: pages redirect to sign in and
// come back afterwards; anything else gets 401.
func (a *auth) signInFirst(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !wantsFragment(r) {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Cookie realm="srm", form="/signin"`)
	a.refuse(w, r, http.StatusUnauthorized, "Sign in first", "Your session has ended or you are not signed in. Sign in and try again.")
}

// redirect sends a page request to path, where signing in goes on, and
// answers anything else 403 saying what is left to do.
func (a *auth) redirect(w http.ResponseWriter, r *http.Request, path, todo string) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, path, http.StatusSeeOther)
		return
	}
	a.refuse(w, r, http.StatusForbidden, "Finish signing in first", todo+" Then try again.")
}

func (a *auth) refuse(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	_ = render(w, r, status, views.ErrorPage(status, title, detail))
}

// formAllowed lets a request change state: safe methods always may;
// others must carry the session's anti-forgery token in the form field
// csrf or the X-CSRF-Token header. Otherwise it answers r itself: 403, or
// the form's own fault when it cannot be read (413 when too large).
func (a *auth) formAllowed(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		if err := parseForm(r); err != nil {
			status, title, detail := describe(err)
			a.refuse(w, r, status, title, detail)
			return false
		}
		got = r.PostForm.Get("csrf")
	}
	want := viewer(r).CSRF
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		a.refuse(w, r, http.StatusForbidden, "This page is out of date",
			"It was open for too long, or you signed out or in again in another tab, so srm did nothing. Reload the page and try again.")
		return false
	}
	return true
}

// restart signs the person on ctx in afresh after a change of their own
// account (a new password or authenticator) ended every session of it,
// theirs too: a new session made from the account as it is now.
func (a *auth) restart(ctx context.Context, id int64) error {
	u, err := a.st.User(ctx, id)
	if err != nil {
		return err
	}
	return a.establish(ctx, u, stageDone)
}

// establish starts a fresh session for u at stage, with a new token (so a
// token planted before signing in is worthless), made from u as read: it is
// stored only if the account has not changed since (u.SessionStamp), and
// works only until it does. When the account has changed, nobody is
// signed in and the error wraps store.ErrAccountChanged.
func (a *auth) establish(ctx context.Context, u srm.User, stage string) error {
	sm := a.sessions
	if err := sm.RenewToken(ctx); err != nil {
		return err
	}
	if sm.GetInt64(ctx, keyUser) != u.ID {
		// Someone else signed in on this browser before: keep nothing of theirs.
		if err := sm.Clear(ctx); err != nil {
			return err
		}
	}
	sm.Put(ctx, keyUser, u.ID)
	sm.Put(ctx, keyEmail, u.Email)
	sm.Put(ctx, keyName, u.Name)
	sm.Put(ctx, keyRole, string(u.Role))
	sm.Put(ctx, keyMFA, u.MFA)
	sm.Put(ctx, keyStage, stage)
	sm.Put(ctx, keySeen, a.now().Unix())
	if sm.GetString(ctx, keyCSRF) == "" {
		sm.Put(ctx, keyCSRF, randomToken(32))
	}
	// This save inserts the session row, for u; later saves only update it.
	_, _, err := sm.Commit(store.WithSessionOwner(ctx, u))
	if errors.Is(err, store.ErrAccountChanged) {
		if derr := sm.Destroy(ctx); derr != nil {
			return derr
		}
		if rerr := a.st.RecordEvent(ctx, "signin.failed", u, map[string]any{"reason": "the account changed while signing in"}); rerr != nil {
			return rerr
		}
	}
	return err
}

// safeNext returns next when it is a path on srm itself, else "/". It
// accepts only an absolute path with an optional query: no scheme, no
// host, no "//" or backslash that a browser might read as another site.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/signin") || strings.HasPrefix(u.Path, "/signout") {
		return "/"
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if strings.HasPrefix(out, "//") || strings.Contains(out, "\\") {
		return "/"
	}
	return out
}

package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// signInForm shows the sign-in page, or sends a signed-in person on.
func (a *auth) signInForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if stage, in := a.stage(r); in && stage == stageDone {
		return seeOther(w, r, next)
	}
	v := views.SignIn{Next: next, SSO: a.ssoName()}
	if r.URL.Query().Get("idle") != "" {
		v.Notice = "You were signed out after " + durationText(a.idle) + " without activity. Sign in again to carry on."
	}
	if r.URL.Query().Get("out") != "" {
		v.Notice = "You are signed out."
	}
	if msg := r.URL.Query().Get("sso"); msg != "" {
		v.Problem = ssoProblems[msg]
	}
	return render(w, r, http.StatusOK, views.SignInPage(v))
}

// ssoName is the label of the single-sign-on button, or "" when there is
// none.
func (a *auth) ssoName() string {
	if a.oidc == nil {
		return ""
	}
	return a.oidc.name
}

// signIn checks an email and password. Every outcome of a wrong or unknown
// account costs one argon2id hash, so timing tells nobody which emails
// have accounts; a disabled account is answered as a wrong password, so
// nobody learns from it whether the password was right (the audit trail
// has the real reason). An account already locked is refused without
// checking anything, and the refusal does not prolong the lock.
func (a *auth) signIn(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	pw := r.PostForm.Get("password")
	v := views.SignIn{Next: safeNext(r.PostForm.Get("next")), Email: email, SSO: a.ssoName()}
	fail := func(status int, msg string) error {
		v.Problem = msg
		return render(w, r, status, views.SignInPage(v))
	}
	if srm.CheckText(email, srm.MaxEmail) != "" || email == "" || pw == "" || len(pw) > 4*srm.MaxPassword {
		return fail(http.StatusUnprocessableEntity, "Enter your email address and password.")
	}
	ctx := r.Context()
	cred, err := a.st.UserForSignIn(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, srm.ErrNotFound) {
		return err
	}
	// What was typed is counted and audited under its name only when it is
	// an email address or an account's: anything else may be a password
	// typed into the wrong field, and must not be kept.
	key := email
	if !found && srm.EmailProblem(email) != "" {
		key = ""
	}
	verdict, err := a.guarded(ctx, key, true, func() (string, error) {
		hash := cred.PasswordHash
		if !found || hash == "" {
			hash = credential.DecoyHash()
		}
		ok, err := credential.CheckPassword(hash, pw)
		switch {
		case err != nil:
			return "", err
		case !ok || !found || cred.PasswordHash == "":
			return "wrong email or password", nil
		case cred.User.Disabled:
			return "account disabled", nil
		}
		return "", nil
	})
	switch {
	case err != nil:
		return err
	case verdict == credential.ClientLimited:
		retryAfterLock(w)
		return fail(http.StatusTooManyRequests, "Too many failed sign-ins from your network. Wait five minutes, then try again.")
	case verdict == credential.Locked:
		retryAfterLock(w)
		return fail(http.StatusTooManyRequests, lockedOut)
	case verdict != credential.Passed: // a wrong password, or the right one for a disabled account: the same answer
		return fail(http.StatusUnprocessableEntity, "That email and password do not match an account.")
	}
	return a.finishFirstFactor(w, r, cred.User, "password", v.Next)
}

// finishFirstFactor takes a person whose first factor (password, or single
// sign-on) succeeded to the next step: their authenticator code, enrolment
// when MFA is required and they have none, or in.
func (a *auth) finishFirstFactor(w http.ResponseWriter, r *http.Request, u srm.User, method, next string) error {
	ctx := r.Context()
	stage := stageDone
	if u.MFA {
		stage = stageCode
	} else {
		required, err := a.st.MFARequired(ctx)
		if err != nil {
			return err
		}
		if required {
			stage = stageEnrol
		}
	}
	if err := a.establish(ctx, u, stage); err != nil {
		return err
	}
	if stage == stageCode {
		// Not signed in until the code is right: that is audited then.
		a.sessions.Put(ctx, keyNext, next)
		a.sessions.Put(ctx, keyFirst, method)
		return seeOther(w, r, "/signin/code")
	}
	a.proved(ctx) // signed in (or enrolling): a fresh proof of identity
	if err := a.st.RecordSignIn(store.WithActor(ctx, actorOf(r, u)), u, method); err != nil {
		return err
	}
	if err := a.stashedProof(store.WithActor(ctx, actorOf(r, u)), u, method, next); err != nil {
		return err
	}
	if stage == stageEnrol {
		a.sessions.Put(ctx, keyNext, next)
		return seeOther(w, r, "/account/mfa")
	}
	return seeOther(w, r, next)
}

// actorOf is u acting through r, for the audit trail.
func actorOf(r *http.Request, u srm.User) store.Actor {
	return store.Actor{UserID: u.ID, Name: u.Email, IP: clientIP(r), UserAgent: r.UserAgent()}
}

// codeForm asks for the authenticator code after the password.
func (a *auth) codeForm(w http.ResponseWriter, r *http.Request) error {
	if stage, _ := a.stage(r); stage != stageCode {
		return seeOther(w, r, "/")
	}
	return render(w, r, http.StatusOK, views.CodePage(views.Code{}))
}

// checkCode accepts an authenticator code, or one of the recovery codes,
// and finishes signing in. Wrong codes count as failed sign-ins.
func (a *auth) checkCode(w http.ResponseWriter, r *http.Request) error {
	if stage, _ := a.stage(r); stage != stageCode {
		return seeOther(w, r, "/")
	}
	if err := parseForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	v := viewer(r)
	u, err := a.st.User(ctx, v.ID)
	if err != nil {
		return err
	}
	method := ""
	verdict, err := a.throttled(r, u, "wrong authenticator code", func() (bool, error) {
		if u.Disabled {
			return false, nil
		}
		ok, m, err := a.secondFactor(r, u.ID, r.PostForm.Get("code"))
		method = m
		return ok, err
	})
	switch {
	case err != nil:
		return err
	case verdict == credential.Locked:
		_ = a.sessions.Destroy(ctx)
		retryAfterLock(w)
		return render(w, r, http.StatusTooManyRequests, views.ErrorPage(http.StatusTooManyRequests, "Too many failed sign-ins", lockedOut))
	case verdict != credential.Passed:
		return render(w, r, http.StatusUnprocessableEntity, views.CodePage(views.Code{Problem: "That code is not right, or it has been used already. Enter the current code from your app, or a recovery code."}))
	}
	next := safeNext(a.sessions.GetString(ctx, keyNext))
	a.sessions.Remove(ctx, keyNext)
	if err := a.establish(ctx, u, stageDone); err != nil {
		return err
	}
	a.proved(ctx) // both factors, just now
	first := a.sessions.PopString(ctx, keyFirst)
	if first == "" {
		first = "password"
	}
	if err := a.st.RecordSignIn(ctx, u, first+" and "+method); err != nil {
		return err
	}
	if err := a.stashedProof(ctx, u, first+" and "+method, next); err != nil {
		return err
	}
	return seeOther(w, r, next)
}

// signOut ends the session everywhere it is stored and audits it.
func (a *auth) signOut(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := viewer(r)
	if err := a.st.RecordEvent(ctx, "signout", srm.User{ID: v.ID, Email: v.Email}, nil); err != nil {
		return err
	}
	if err := a.sessions.Destroy(ctx); err != nil {
		return err
	}
	return seeOther(w, r, "/signin?out=1")
}

// durationText names a timeout in words.
func durationText(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "an hour"
		}
		return strconv.FormatInt(int64(d/time.Hour), 10) + " hours"
	case d >= time.Minute:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " minutes"
	}
	return d.String()
}

// ssoProblems are the messages single sign-on can send back to the sign-in
// page, by code; codes, not text, travel in the URL.
var ssoProblems = map[string]string{
	"failed":   "Single sign-on did not complete. Try again; if it keeps failing, ask an admin to check srm's log.",
	"expired":  "The single sign-on attempt took too long or was already used. Start again.",
	"disabled": "This account is disabled. Ask an admin of srm to enable it.",
	"denied":   "The sign-in provider did not let you in.",
}

package web

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/views"
)

// DefaultStepUpWindow is how long a proof of identity (signing in, or
// confirming it is you) lets dangerous actions through before srm asks
// again: GitHub's "sudo mode".
const DefaultStepUpWindow = 10 * time.Minute

// The confirmation form's own fields. The original form's fields travel
// beside them unchanged, so they must not collide with any form's names.
const (
	fieldReauth   = "reauth"          // present: this post carries a proof
	fieldPassword = "reauth_password" // the account's password
	fieldCode     = "reauth_code"     // a code from the app, or a recovery code
)

// stepUp guards next, a dangerous action, with a fresh proof of identity:
// when need reports that r is dangerous (nil: always), the action runs only
// if the person proved who they are within the step-up window (by signing
// in, or on the confirmation page). Otherwise srm does nothing and answers
// with a "Confirm it's you" page that asks for the password (and a code
// when the account has an authenticator, or a single-sign-on round trip
// for accounts without a password) and carries the form that was sent as
// hidden fields; posting it back proves identity through the same
// throttled check as signing in, records the time in the session, and runs
// the action with what the person typed. what names the action for the
// page and the audit trail ("add an admin account").
//
// One line guards any route: h(a.stepUp("…", nil, handler)).
func (a *auth) stepUp(what string, need func(*http.Request) (bool, error), next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if stage, _ := a.stage(r); stage == stageCode {
			a.redirect(w, r, "/signin/code", "Enter the code from your authenticator app first.")
			return nil
		}
		if err := parseForm(r); err != nil {
			return err
		}
		if need != nil {
			dangerous, err := need(r)
			if err != nil {
				return err
			}
			if !dangerous {
				return next(w, r)
			}
		}
		switch {
		case a.freshProof(r):
			dropProofFields(r)
			return next(w, r)
		case r.PostForm.Has(fieldReauth):
			return a.checkProof(w, r, what, next)
		}
		return a.askProof(w, r, http.StatusUnauthorized, what, "")
	}
}

// freshProof reports whether the person on r proved who they are within
// the step-up window.
func (a *auth) freshProof(r *http.Request) bool {
	at := a.sessions.GetInt64(r.Context(), keyProof)
	if at <= 0 {
		return false
	}
	age := a.now().Sub(time.Unix(at, 0))
	return age >= -time.Minute && age < a.stepUpWindow // a little clock skew, never the future
}

// proved records in the session that its person has just proved who they
// are. Call it after establish, whose new token then carries it.
func (a *auth) proved(ctx context.Context) {
	a.sessions.Put(ctx, keyProof, a.now().Unix())
}

// provedKey marks a request whose own confirmation form proved identity,
// with a code when the account has an authenticator.
type provedKey struct{}

// provedHere reports whether r itself carried a proof of identity that
// stepUp accepted: handlers that would ask for a code again need not.
func provedHere(r *http.Request) bool {
	ok, _ := r.Context().Value(provedKey{}).(bool)
	return ok
}

// checkProof checks the confirmation form's password and code under the
// sign-in lockout: a wrong one counts as a failed sign-in and is audited
// (reauth.failed), and the page asks again with the original form intact.
// A right one is audited (reauth.succeeded), renews the session's token
// with the proof time in it, and runs next with the original form.
func (a *auth) checkProof(w http.ResponseWriter, r *http.Request, what string, next handlerFunc) error {
	ctx := r.Context()
	u, err := a.st.User(ctx, viewer(r).ID)
	if err != nil {
		return err
	}
	if !u.HasPassword { // single sign-on proves identity by a round trip instead
		return a.askProof(w, r, http.StatusUnauthorized, what, "")
	}
	pw, code := r.PostForm.Get(fieldPassword), r.PostForm.Get(fieldCode)
	method, why := "password", "wrong password"
	verdict, err := a.throttled(r, u, "wrong password or code to confirm identity", func() (bool, error) {
		if u.Disabled || pw == "" || len(pw) > 4*srm.MaxPassword {
			return false, nil
		}
		cred, err := a.st.UserForSignIn(ctx, u.Email)
		if errors.Is(err, srm.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		ok, err := credential.CheckPassword(cred.PasswordHash, pw)
		if !ok || err != nil || !u.MFA {
			return ok, err
		}
		why = "wrong code"
		ok, m, err := a.secondFactor(r, u.ID, code)
		method += " and " + m
		return ok, err
	})
	if err != nil {
		return err
	}
	if verdict != credential.Passed {
		if verdict == credential.Locked {
			why = "locked"
		}
		if err := a.st.RecordEvent(ctx, "reauth.failed", u, map[string]any{"action": what, "reason": why}); err != nil {
			return err
		}
		if verdict == credential.Locked {
			retryAfterLock(w)
			return a.askProof(w, r, http.StatusTooManyRequests, what, lockedOut)
		}
		problem := "That password is not right. Nothing was done; try again."
		if u.MFA {
			problem = "That password or code is not right, or the code has been used already. Nothing was done; try again with the code your app shows now, or a recovery code."
		}
		return a.askProof(w, r, http.StatusUnprocessableEntity, what, problem)
	}
	if err := a.st.RecordEvent(ctx, "reauth.succeeded", u, map[string]any{"action": what, "method": method}); err != nil {
		return err
	}
	stage, _ := a.stage(r)
	if err := a.establish(ctx, u, stage); err != nil { // a new token for the stronger session
		return err
	}
	a.proved(ctx)
	dropProofFields(r)
	return next(w, r.WithContext(context.WithValue(ctx, provedKey{}, true)))
}

// proofField reports whether a form field belongs to the confirmation
// page itself (its proof, its anti-forgery token, or where a single-sign-on
// confirmation goes on to) rather than to the form it carries.
func proofField(name string) bool {
	return name == "csrf" || strings.HasPrefix(name, fieldReauth)
}

// dropProofFields removes the confirmation form's fields from r's form, so
// the action sees exactly the form the person first sent.
func dropProofFields(r *http.Request) {
	for _, f := range []string{fieldReauth, fieldPassword, fieldCode} {
		r.PostForm.Del(f)
		r.Form.Del(f)
	}
}

// askProof answers r with the confirmation page: the form r sent, as
// hidden fields posting to the same address, and the fields that prove
// identity.
func (a *auth) askProof(w http.ResponseWriter, r *http.Request, status int, what, problem string) error {
	u, err := a.st.User(r.Context(), viewer(r).ID)
	if err != nil {
		return err
	}
	v := views.Confirm{
		What:     what,
		Action:   r.URL.EscapedPath(),
		Fields:   carried(r.PostForm),
		Password: u.HasPassword,
		Code:     u.HasPassword && u.MFA,
		Minutes:  int(a.stepUpWindow / time.Minute),
		Back:     sameSiteReferer(r),
		Problem:  problem,
	}
	if !u.HasPassword && a.oidc != nil {
		v.SSO = a.oidc.name
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Cookie realm="srm", form="confirm"`)
	}
	return render(w, r, status, views.ConfirmPage(v))
}

// carried is the form as the confirmation page sends it on: every field
// but the anti-forgery token (the page has its own) and the proof, in a
// stable order, repeated names kept.
func carried(form url.Values) []views.Field {
	var out []views.Field
	for _, name := range slices.Sorted(maps.Keys(form)) {
		if proofField(name) {
			continue
		}
		for _, v := range form[name] {
			out = append(out, views.Field{Name: name, Value: v})
		}
	}
	return out
}

// sameSiteReferer is the page the request came from, when it is a page of
// srm, for the confirmation page's Cancel link; else "/".
func sameSiteReferer(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host || !strings.HasPrefix(ref.Path, "/") {
		return "/"
	}
	back := ref.EscapedPath()
	if ref.RawQuery != "" {
		back += "?" + ref.RawQuery
	}
	return safeNext(back)
}

// addsAdmin reports whether a new account is to be an admin.
func addsAdmin(r *http.Request) (bool, error) {
	return srm.Role(r.PostForm.Get("role")) == srm.RoleAdmin, nil
}

// raisesToAdmin reports whether saving the account in the path gives it
// admin rights it does not have: the role admin for someone who is not,
// or enabling a disabled admin.
func (a *auth) raisesToAdmin(r *http.Request) (bool, error) {
	if srm.Role(r.PostForm.Get("role")) != srm.RoleAdmin {
		return false, nil
	}
	id, err := pathID(r, "id")
	if err != nil {
		return false, nil // the handler answers 400
	}
	u, err := a.st.User(r.Context(), id)
	if errors.Is(err, srm.ErrNotFound) {
		return false, nil // the handler answers 404
	}
	if err != nil {
		return false, err
	}
	return u.Role != srm.RoleAdmin || (u.Disabled && r.PostForm.Get("disabled") == ""), nil
}

// changesRequireMFA reports whether the settings form changes whether
// everyone must use an authenticator.
func (a *auth) changesRequireMFA(r *http.Request) (bool, error) {
	on, err := a.st.MFARequired(r.Context())
	return on != (r.PostForm.Get("require_mfa") != ""), err
}

// keyStash holds, across a single-sign-on round trip that confirms who
// someone is, the action they were doing: "path\nwhat\nform".
const keyStash = "stash"

// continuePath is where a single-sign-on round trip that confirms identity
// comes back to.
const continuePath = "/reauth/continue"

// confirmBySSO handles "POST /reauth/sso", the confirmation page of an
// account without a password: it keeps the original form in the session,
// minus anything named like a password (no secret is stored), and sends
// the person through single sign-on, which sets the proof time as any
// sign-in does and comes back to continueAfterSSO.
func (a *auth) confirmBySSO(w http.ResponseWriter, r *http.Request) error {
	if a.oidc == nil {
		return srm.ErrNotFound
	}
	if stage, _ := a.stage(r); stage == stageCode {
		a.redirect(w, r, "/signin/code", "Enter the code from your authenticator app first.")
		return nil
	}
	if err := parseForm(r); err != nil {
		return err
	}
	action := safeNext(r.PostForm.Get("reauth_action"))
	what := r.PostForm.Get("reauth_what")
	form := url.Values{}
	for k, vs := range r.PostForm {
		if proofField(k) || strings.Contains(k, "password") {
			continue
		}
		form[k] = vs
	}
	if action == "/" || len(what) > 200 || strings.ContainsAny(what, "\n\r") {
		return srm.ErrInvalid
	}
	a.sessions.Put(r.Context(), keyStash, action+"\n"+what+"\n"+form.Encode())
	return a.beginSSO(w, r, continuePath)
}

// stashedProof audits a sign-in that finished a single-sign-on round trip
// begun on the confirmation page (confirmBySSO) as the proof it is; the
// sign-in goes on to next. Any other sign-in forgets an abandoned stash.
func (a *auth) stashedProof(ctx context.Context, u srm.User, method, next string) error {
	_, rest, ok := strings.Cut(a.sessions.GetString(ctx, keyStash), "\n")
	if !ok {
		return nil
	}
	if next != continuePath {
		a.sessions.Remove(ctx, keyStash)
		return nil
	}
	what, _, _ := strings.Cut(rest, "\n")
	return a.st.RecordEvent(ctx, "reauth.succeeded", u, map[string]any{"action": what, "method": method})
}

// continueAfterSSO handles "GET /reauth/continue", where a single-sign-on
// round trip that confirmed identity comes back: a page with the original
// form, filled in as it was sent, and one button to carry on. A GET never
// acts by itself.
func (a *auth) continueAfterSSO(w http.ResponseWriter, r *http.Request) error {
	if stage, _ := a.stage(r); stage == stageCode {
		return seeOther(w, r, "/signin/code")
	}
	action, rest, _ := strings.Cut(a.sessions.PopString(r.Context(), keyStash), "\n")
	what, encoded, _ := strings.Cut(rest, "\n")
	form, err := url.ParseQuery(encoded)
	if action == "" || err != nil || !a.freshProof(r) {
		return seeOther(w, r, "/")
	}
	return render(w, r, http.StatusOK, views.ContinuePage(views.Confirm{
		What: what, Action: safeNext(action), Fields: carried(form), Back: "/",
		Minutes: int(a.stepUpWindow / time.Minute),
	}))
}

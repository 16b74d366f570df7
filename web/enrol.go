package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/views"
)

// recoveryCodes is how many recovery codes an enrolment makes.
const recoveryCodes = 10

// enrolForm handles "GET /account/mfa": it shows a new authenticator
// secret as a QR code and as text, and asks for the first code. The secret
// waits in the session (keyPending), never in the page's form, until a
// code confirms it; reloading shows the same one.
func (a *auth) enrolForm(w http.ResponseWriter, r *http.Request) error {
	u, stage, done, err := a.enrolee(w, r)
	if done || err != nil {
		return err
	}
	if u.MFA {
		return render(w, r, http.StatusOK, views.EnrolPage(views.Enrol{Email: u.Email, Enrolled: true}))
	}
	secret := a.pendingSecret(r.Context(), u.ID)
	if secret == "" {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email,
			Period: totpOptions.Period, Digits: totpOptions.Digits, Algorithm: totpOptions.Algorithm})
		if err != nil {
			return err
		}
		secret = key.Secret()
		a.sessions.Put(r.Context(), keyPending, strconv.FormatInt(u.ID, 10)+":"+secret)
	}
	return a.renderEnrol(w, r, http.StatusOK, u, stage, secret, "")
}

// enrol handles "POST /account/mfa": a right code turns the pending
// authenticator on, with ten new recovery codes that the answer shows once,
// and lifts the enrol-only stage; a wrong one shows the same secret again
// with 422.
func (a *auth) enrol(w http.ResponseWriter, r *http.Request) error {
	u, stage, done, err := a.enrolee(w, r)
	if done || err != nil {
		return err
	}
	if u.MFA {
		return render(w, r, http.StatusConflict, views.EnrolPage(views.Enrol{Email: u.Email, Enrolled: true}))
	}
	ctx := r.Context()
	secret := a.pendingSecret(ctx, u.ID)
	if secret == "" { // the session was renewed, or the form came from elsewhere
		return seeOther(w, r, "/account/mfa")
	}
	if err := parseForm(r); err != nil {
		return err
	}
	step, ok := totpStep(secret, strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", ""), time.Now())
	if !ok {
		return a.renderEnrol(w, r, http.StatusUnprocessableEntity, u, stage, secret,
			"That code does not match. Check that the app's clock is right, then enter the code it shows now.")
	}
	codes, hashes := newRecoveryCodes()
	if err := a.st.EnableTOTP(ctx, u.ID, secret, step, hashes); err != nil {
		return err
	}
	a.sessions.Remove(ctx, keyPending)
	next := safeNext(a.sessions.GetString(ctx, keyNext))
	a.sessions.Remove(ctx, keyNext)
	if err := a.restart(ctx, u.ID); err != nil {
		return err
	}
	// This page is rendered for the session as it is now: full menu.
	v := viewer(r)
	v.MFA, v.Limited = true, false
	r = r.WithContext(views.WithViewer(ctx, v))
	return render(w, r, http.StatusOK, views.RecoveryCodesPage("Authenticator turned on", codes, next))
}

// totpIssuer names srm in authenticator apps.
const totpIssuer = "srm"

// enrolee is the user enrolling through r, fresh from the database, and
// the session's stage. A person who still owes the code of an authenticator
// they have is sent to enter it first (done is then true: r is answered).
func (a *auth) enrolee(w http.ResponseWriter, r *http.Request) (u srm.User, stage string, done bool, err error) {
	ctx := r.Context()
	stage, _ = a.stage(r)
	if stage == stageCode {
		a.redirect(w, r, "/signin/code", "Enter the code from your authenticator app first.")
		return srm.User{}, "", true, nil
	}
	u, err = a.st.User(ctx, viewer(r).ID)
	if err != nil {
		return srm.User{}, "", true, err
	}
	if stage == stageEnrol && u.MFA {
		// Enrolled meanwhile in another session: this one must now show a
		// code from that authenticator, like any sign-in.
		if err := a.establish(ctx, u, stageCode); err != nil {
			return srm.User{}, "", true, err
		}
		a.redirect(w, r, "/signin/code", "Enter the code from your authenticator app first.")
		return srm.User{}, "", true, nil
	}
	return u, stage, false, nil
}

// pendingSecret is the authenticator secret being enrolled in this session
// for user id, or "". The secret is kept with the id it was made for, so
// that another person signing in later in the same browser never confirms
// a secret someone else has seen.
func (a *auth) pendingSecret(ctx context.Context, id int64) string {
	owner, secret, ok := strings.Cut(a.sessions.GetString(ctx, keyPending), ":")
	if !ok || owner != strconv.FormatInt(id, 10) {
		return ""
	}
	return secret
}

// renderEnrol shows the enrolment page for secret.
func (a *auth) renderEnrol(w http.ResponseWriter, r *http.Request, status int, u srm.User, stage, secret, problem string) error {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email,
		Period: totpOptions.Period, Digits: totpOptions.Digits, Algorithm: totpOptions.Algorithm,
		Secret: decodeSecret(secret)})
	if err != nil {
		return err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return render(w, r, status, views.EnrolPage(views.Enrol{
		Email:    u.Email,
		Required: stage == stageEnrol,
		QR:       buf.Bytes(),
		Secret:   secret,
		Problem:  problem,
	}))
}

// decodeSecret turns a secret as totp.Generate made it (base32, no
// padding) back into its bytes.
func decodeSecret(s string) []byte {
	b, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s) // made by totp.Generate
	return b
}

// newRecoveryCodes makes the recovery codes of an enrolment, as a person
// reads them (xxxxx-xxxxx: 50 random bits each), and their hashes for
// storing.
func newRecoveryCodes() (codes, hashes []string) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567" // base32: no 0/o or 1/l to mix up
	seen := make(map[string]bool, recoveryCodes)
	for len(codes) < recoveryCodes {
		b := make([]byte, 10)
		_, _ = rand.Read(b) // never fails on supported platforms
		for i := range b {
			b[i] = alphabet[b[i]&31] // 256 is a multiple of 32: no bias
		}
		code := string(b[:5]) + "-" + string(b[5:])
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, code)
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes
}

// accountPage handles "GET /account": who the signed-in person is, how
// they sign in, and their authenticator.
func (a *auth) accountPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.account(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("mfa") == "removed" && !v.User.MFA {
		v.Notice = "Your authenticator app is removed. Signing in now needs only your password."
	}
	if r.URL.Query().Get("password") == "changed" {
		v.Notice = "Your password is changed. Every other session of your account has ended."
	}
	return render(w, r, http.StatusOK, views.AccountPage(v))
}

// account gathers the account page of the person signed in on r.
func (a *auth) account(r *http.Request) (views.Account, error) {
	ctx := r.Context()
	u, err := a.st.User(ctx, viewer(r).ID)
	if err != nil {
		return views.Account{}, err
	}
	required, err := a.st.RequireMFA(ctx)
	if err != nil {
		return views.Account{}, err
	}
	v := views.Account{User: u, Required: required}
	if u.MFA {
		if v.CodesLeft, err = a.st.RecoveryCodesLeft(ctx, u.ID); err != nil {
			return views.Account{}, err
		}
	}
	return v, nil
}

// removeMFA handles "POST /account/mfa/remove": it removes the person's
// authenticator and recovery codes, given a current code from the app or
// an unused recovery code (for someone who has lost the phone). It is
// refused while an admin requires MFA. Wrong codes count as failed
// sign-ins, so a stolen session cannot guess its way to removing the
// second factor.
func (a *auth) removeMFA(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	v, err := a.account(r)
	if err != nil {
		return err
	}
	u := v.User
	if !u.MFA {
		return seeOther(w, r, "/account")
	}
	if v.Required {
		v.Problem = "An admin requires an authenticator app for every account, so yours cannot be removed."
		return render(w, r, http.StatusForbidden, views.AccountPage(v))
	}
	if ok, err := a.proveAuthenticator(w, r, &v, "remove authenticator", &v.Problem); !ok || err != nil {
		return err
	}
	if err := a.st.DisableTOTP(ctx, u.ID); err != nil {
		return err
	}
	if err := a.restart(ctx, u.ID); err != nil {
		return err
	}
	return seeOther(w, r, "/account?mfa=removed")
}

// changePassword handles "POST /account/password": a person with a
// password changes it, proving the current one first. Wrong current
// passwords count towards the account's lockout like wrong sign-ins, so
// the form cannot be used to guess it. Success ends every other session
// of the account (the store revokes them all; this one starts afresh).
func (a *auth) changePassword(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	v, err := a.account(r)
	if err != nil {
		return err
	}
	u := v.User
	if !u.HasPassword {
		return render(w, r, http.StatusForbidden, views.ErrorPage(http.StatusForbidden, "No password to change",
			"You sign in with single sign-on; your organisation's identity provider keeps your password."))
	}
	current, next, again := r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), r.PostForm.Get("confirm_password")
	refuse := func(status int, problems srm.Problems) error {
		v.PasswordProblems = problems
		return render(w, r, status, views.AccountPage(v))
	}
	verdict, err := a.throttled(r, u, "wrong password to change password", func() (bool, error) {
		cred, err := a.st.UserForSignIn(ctx, u.Email)
		if err != nil || current == "" || len(current) > 4*srm.MaxPassword {
			return false, err
		}
		return CheckPassword(cred.PasswordHash, current)
	})
	switch {
	case err != nil:
		return err
	case verdict == locked:
		retryAfterLock(w)
		return refuse(http.StatusTooManyRequests, srm.Problems{"current_password": lockedOut})
	case verdict == failed:
		return refuse(http.StatusUnprocessableEntity, srm.Problems{"current_password": "That is not your current password."})
	}
	problems := srm.Problems{}
	switch {
	case srm.PasswordProblem(next) != "":
		problems["new_password"] = srm.PasswordProblem(next)
	case next == current:
		problems["new_password"] = "That is your current password. Choose a new one."
	case again != next:
		problems["confirm_password"] = "This does not match the new password."
	}
	if len(problems) > 0 {
		return refuse(http.StatusUnprocessableEntity, problems)
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	if err := a.st.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	if err := a.restart(ctx, u.ID); err != nil {
		return err
	}
	return seeOther(w, r, "/account?password=changed")
}

// newCodes handles "POST /account/mfa/codes": ten new recovery codes,
// shown once, replace the old ones, given a current code from the app or
// an unused recovery code. Wrong codes count as failed sign-ins.
func (a *auth) newCodes(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	v, err := a.account(r)
	if err != nil {
		return err
	}
	if !v.User.MFA {
		return seeOther(w, r, "/account")
	}
	if ok, err := a.proveAuthenticator(w, r, &v, "new recovery codes", &v.CodesProblem); !ok || err != nil {
		return err
	}
	codes, hashes := newRecoveryCodes()
	if err := a.st.ReplaceRecoveryCodes(r.Context(), v.User.ID, hashes); err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.RecoveryCodesPage("New recovery codes", codes, "/account"))
}

// proveAuthenticator checks the form's code: the one the person's app shows
// now, or an unused recovery code (which it spends). A wrong code counts as
// a failed sign-in of the account, and five lock it, so a stolen session
// cannot guess its way past the second factor. A request whose confirmation
// page (stepUp) took a code already passes. When the code does not do,
// it answers r itself with the account page and the reason in *problem,
// and reports false.
func (a *auth) proveAuthenticator(w http.ResponseWriter, r *http.Request, v *views.Account, purpose string, problem *string) (bool, error) {
	if provedHere(r) { // the confirmation page took a code a moment ago: one is enough
		return true, nil
	}
	verdict, err := a.throttled(r, v.User, "wrong code to "+purpose, func() (bool, error) {
		ok, _, err := a.secondFactor(r, v.User.ID, r.PostForm.Get("code"))
		return ok, err
	})
	if err != nil || verdict == passed {
		return err == nil, err
	}
	status, why := http.StatusUnprocessableEntity, "That code is not right, or it has been used already. Enter the code your app shows now, or a recovery code."
	if verdict == locked {
		retryAfterLock(w)
		status, why = http.StatusTooManyRequests, lockedOut
	}
	*problem = why // a field of *v
	return false, render(w, r, status, views.AccountPage(*v))
}

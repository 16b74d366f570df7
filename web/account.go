package web

import (
	"net/http"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/views"
)

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
	required, err := a.st.MFARequired(ctx)
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
		return credential.CheckPassword(cred.PasswordHash, current)
	})
	switch {
	case err != nil:
		return err
	case verdict == credential.Locked:
		retryAfterLock(w)
		return refuse(http.StatusTooManyRequests, srm.Problems{"current_password": lockedOut})
	case verdict != credential.Passed:
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
	hash, err := credential.HashPassword(next)
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
	codes, hashes := credential.NewRecoveryCodes()
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
	if err != nil || verdict == credential.Passed {
		return err == nil, err
	}
	status, why := http.StatusUnprocessableEntity, "That code is not right, or it has been used already. Enter the code your app shows now, or a recovery code."
	if verdict == credential.Locked {
		retryAfterLock(w)
		status, why = http.StatusTooManyRequests, lockedOut
	}
	*problem = why // a field of *v
	return false, render(w, r, status, views.AccountPage(*v))
}

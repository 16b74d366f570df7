package web

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/views"
)

// The authenticator app: enrolling one, and checking its codes (or a
// recovery code) as a second factor.

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
		if secret, err = credential.NewTOTPSecret(); err != nil {
			return err
		}
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
	step, ok := credential.TOTPStep(secret, credential.NormalizeCode(r.PostForm.Get("code")), time.Now())
	if !ok {
		return a.renderEnrol(w, r, http.StatusUnprocessableEntity, u, stage, secret,
			"That code does not match. Check that the app's clock is right, then enter the code it shows now.")
	}
	codes, hashes := credential.NewRecoveryCodes()
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
	address, err := credential.TOTPURL(credential.TOTPIssuer, u.Email, secret)
	if err != nil {
		return err
	}
	key, err := otp.NewKeyFromURL(address)
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

// useCode checks an authenticator code of user id and spends it, so the
// same code cannot be used twice.
func (a *auth) useCode(r *http.Request, id int64, code string) (bool, error) {
	secret, err := a.st.TOTPSecret(r.Context(), id)
	if err != nil || secret == "" {
		return false, err
	}
	step, ok := credential.TOTPStep(secret, code, time.Now())
	if !ok {
		return false, nil
	}
	return a.st.UseTOTPStep(r.Context(), id, step)
}

// secondFactor checks code as the code user id's authenticator app shows
// now, or else as an unused recovery code, and spends the one it matches;
// method names which it was, for the audit trail.
func (a *auth) secondFactor(r *http.Request, id int64, code string) (ok bool, method string, err error) {
	code = credential.NormalizeCode(code)
	if code == "" || len(code) > 64 {
		return false, "", nil
	}
	if ok, err := a.useCode(r, id, code); ok || err != nil {
		return ok, "authenticator", err
	}
	ok, _, err = a.st.UseRecoveryCode(r.Context(), id, credential.HashRecoveryCode(code))
	return ok, "recovery code", err
}

package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

const newPassword = "purple elephants dance at noon"

// TestChangePasswordEndsOtherSessionsAndKeepsThisOne: a person changes
// their password on their account page. This browser stays signed in, every
// other session ends, the old password stops working, the new one works,
// and the audit trail says so.
func TestChangePasswordEndsOtherSessionsAndKeepsThisOne(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleEditor)
	other := h.signedOut()
	other.signIn(h.user.Email, testPassword)

	rec := h.submit(h.page("/account").Find(tid("password-form")), url.Values{
		"current_password": {testPassword}, "new_password": {newPassword}, "confirm_password": {newPassword}})
	wantRedirect(t, "POST /account/password", rec, "/account?password=changed")
	if doc := h.page("/account?password=changed"); doc.Find(tid("notice")).Length() != 1 {
		t.Error("after the change: no notice on the account page")
	}
	wantStatus(t, "this browser, after the change: GET /", h.get("/"), http.StatusOK)
	if rec := other.get("/account"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
		t.Errorf("another session after the change: GET /account = %d to %q, want 303 to sign in", rec.Code, rec.Header().Get("Location"))
	}
	old := h.signedOut().post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}})
	wantStatus(t, "sign in with the old password", old, http.StatusUnprocessableEntity)
	h.signedOut().signIn(h.user.Email, newPassword)
	if got := audited(t, pool, h.user.ID); !slices.Contains(got, "password.changed") {
		t.Errorf("audit of user %d = %q, want password.changed", h.user.ID, got)
	}
}

// TestChangePasswordRefusesWithoutChangingAnything: each mistake is named
// at its field, nothing changes, and no password comes back in the page.
func TestChangePasswordRefusesWithoutChangingAnything(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	for _, c := range []struct {
		name           string
		current, next  string
		again, problem string
	}{
		{"wrong current password", "not my password at all", newPassword, newPassword, "current_password"},
		{"no current password", "", newPassword, newPassword, "current_password"},
		{"new password too short", testPassword, "short", "short", "new_password"},
		{"new password the same", testPassword, testPassword, testPassword, "new_password"},
		{"repeat does not match", testPassword, newPassword, newPassword + "!", "confirm_password"},
	} {
		rec := h.post("/account/password", url.Values{"current_password": {c.current}, "new_password": {c.next}, "confirm_password": {c.again}})
		wantStatus(t, c.name, rec, http.StatusUnprocessableEntity)
		doc := parse(t, rec)
		if doc.Find(tid("password-error")).Length() != 1 || doc.Find(tid("error-"+c.problem)).Length() != 1 {
			t.Errorf("%s: want the form's message and one at %s", c.name, c.problem)
		}
		for _, pw := range []string{c.current, c.next, c.again} {
			if len(pw) > 4 && strings.Contains(rec.Body.String(), pw) {
				t.Errorf("%s: the page shows a submitted password", c.name)
			}
		}
	}
	h.signedOut().signIn(h.user.Email, testPassword) // unchanged
}

// TestChangePasswordGuessingLocksOut: wrong current passwords count like
// wrong sign-ins, so the form cannot be used to guess the password.
func TestChangePasswordGuessingLocksOut(t *testing.T) {
	t.Parallel()
	h, _ := newMFAHarness(t, srm.RoleViewer)
	guess := url.Values{"current_password": {"a wrong guess here"}, "new_password": {newPassword}, "confirm_password": {newPassword}}
	for i := 1; i < 5; i++ {
		wantStatus(t, "wrong password "+itoa(int64(i)), h.post("/account/password", guess), http.StatusUnprocessableEntity)
	}
	wantStatus(t, "wrong password 5", h.post("/account/password", guess), http.StatusTooManyRequests)
	right := url.Values{"current_password": {testPassword}, "new_password": {newPassword}, "confirm_password": {newPassword}}
	wantStatus(t, "the right password while locked", h.post("/account/password", right), http.StatusTooManyRequests)
	wantStatus(t, "signing in while locked", h.signedOut().post("/signin", url.Values{"email": {h.user.Email}, "password": {testPassword}}),
		http.StatusTooManyRequests)
}

// TestSingleSignOnAccountsHaveNoPasswordToChange: an account without a
// password (single sign-on only) sees no form, and posting one is refused.
func TestSingleSignOnAccountsHaveNoPasswordToChange(t *testing.T) {
	t.Parallel()
	h, pool := newMFAHarness(t, srm.RoleViewer)
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		if err := storetest.NameActor(t.Context(), tx); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), `UPDATE users SET password_hash = NULL, oidc_issuer = 'https://login.example.com', oidc_subject = 'sub-' || id WHERE id = $1`, h.user.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.page("/account").Find(tid("password-form")).Length() != 0 {
		t.Error("an account without a password is offered to change it")
	}
	rec := h.post("/account/password", url.Values{"current_password": {""}, "new_password": {newPassword}, "confirm_password": {newPassword}})
	wantStatus(t, "POST /account/password without a password", rec, http.StatusForbidden)
	if u, err := h.st.User(storetest.Context(t), h.user.ID); err != nil || u.HasPassword {
		t.Errorf("after the refusal: User = %+v, %v; want still no password", u, err)
	}
}

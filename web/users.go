package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// notices are the messages a redirect after a change may ask a page to
// show, by key. Only these are ever shown, so the address bar cannot put
// words on the page.
var notices = map[string]string{
	"added":   "Account added. Give the person their password by a separate, private channel; they can change it once signed in.",
	"saved":   "Saved.",
	"revoked": "Every session of this account has ended: they are signed out on their next request.",
	"linked":  "Saved the link to an owner.",
	"mfa-reset": "The authenticator app and recovery codes are removed and every session has ended. " +
		"The person signs in with their password, and sets up a new authenticator if one is required.",
	"settings": "Settings saved.",
	"unlocked": "Unlocked: the account's failed sign-ins are cleared and it can sign in now.",
}

// usersView builds the list of users with the add form showing add and
// problems.
func usersView(ctx context.Context, st *store.Store, add srm.User, problems srm.Problems) (views.UsersView, error) {
	us, err := st.UserSummaries(ctx)
	if err != nil {
		return views.UsersView{}, err
	}
	required, err := st.MFARequired(ctx)
	if err != nil {
		return views.UsersView{}, err
	}
	return views.UsersView{Users: us, MFARequired: required, New: add, Problems: problems}, nil
}

// usersPage handles "GET /admin/users": every account, the form to add a
// local one, and the multi-factor setting.
func usersPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := usersView(r.Context(), st, srm.User{Role: srm.RoleViewer}, nil)
		if err != nil {
			return err
		}
		v.Notice = notices[r.URL.Query().Get("done")]
		return render(w, r, http.StatusOK, views.UsersPage(v))
	}
}

// createUser handles "POST /admin/users": it adds a local account with an
// initial password. Rejected input comes back with a message per field and
// 422, keeping everything but the password.
func createUser(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		u := srm.User{
			Email: strings.TrimSpace(r.PostForm.Get("email")),
			Name:  strings.TrimSpace(r.PostForm.Get("name")),
			Role:  srm.Role(r.PostForm.Get("role")),
		}
		pw := r.PostForm.Get("password")
		problems := u.Validate()
		if msg := srm.PasswordProblem(pw); msg != "" {
			problems["password"] = msg
		}
		if len(problems) == 0 {
			hash, err := credential.HashPassword(pw)
			if err != nil {
				return err
			}
			typed := u.Email
			err = st.CreateUser(r.Context(), &u, hash) // lowercases u.Email
			switch {
			case errors.Is(err, srm.ErrConflict):
				u.Email = typed
				problems["email"] = "There is already an account with this email address."
			case err != nil:
				return err
			}
		}
		if len(problems) > 0 {
			v, err := usersView(r.Context(), st, u, problems)
			if err != nil {
				return err
			}
			return render(w, r, http.StatusUnprocessableEntity, views.UsersPage(v))
		}
		return seeOther(w, r, views.UserURL(u.ID)+"?done=added")
	}
}

// userView builds the page of account id, whose edit form shows in (the
// stored account when in is nil).
func userView(ctx context.Context, st *store.Store, id int64, in *srm.User) (views.UserView, error) {
	d, err := st.UserDetail(ctx, id)
	if err != nil {
		return views.UserView{}, err
	}
	v := views.UserView{User: d.User, Stored: d}
	if in != nil {
		v.User = *in
	}
	if v.LockedUntil, err = st.LockedUntil(ctx, store.ThrottleKey(d.User), lockout.Window); err != nil {
		return views.UserView{}, err
	}
	return v, nil
}

// userPage handles "GET /admin/users/{id}": one account, to change its
// name, role and state, end its sessions and link it to an owner.
func userPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, err := userView(r.Context(), st, id, nil)
		if err != nil {
			return err
		}
		v.Notice = notices[r.URL.Query().Get("done")]
		return render(w, r, http.StatusOK, views.UserPage(v))
	}
}

// updateUser handles "POST /admin/users/{id}": name, role and disabled,
// saved only if the account is still at the form's version (409 with what
// is stored now otherwise). Demoting or disabling the last active admin is
// refused (422). A change of role or disabling ends the account's
// sessions; when the account is the admin's own, they are signed out here
// and now.
func updateUser(st *store.Store, sessions *scs.SessionManager) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := parseForm(r); err != nil {
			return err
		}
		ctx := r.Context()
		version := postedVersion(r)
		in := srm.User{
			ID:       id,
			Name:     strings.TrimSpace(r.PostForm.Get("name")),
			Role:     srm.Role(r.PostForm.Get("role")),
			Disabled: r.PostForm.Get("disabled") != "",
			Version:  version,
		}
		problems := in.Validate()
		delete(problems, "email") // not changed here
		if len(problems) > 0 {
			return renderUser(w, r, st, http.StatusUnprocessableEntity, &in, problems, nil)
		}
		out, err := st.UpdateUser(ctx, in)
		switch {
		case errors.Is(err, srm.ErrStale) && sameUser(out, in):
			// A repeated submission (double click, a retry): already saved.
		case errors.Is(err, srm.ErrStale):
			// Someone saved in between: show what is stored now, keep the
			// input, and let a second save deliberately replace it.
			in.Version = out.Version
			return renderUser(w, r, st, http.StatusConflict, &in, nil, &out)
		case errors.Is(err, store.ErrLastAdmin):
			field := "role"
			if in.Role == srm.RoleAdmin {
				field = "disabled"
			}
			problems[field] = "This is the only active admin. Make another account an admin first: srm must keep one who can manage users and settings."
			return renderUser(w, r, st, http.StatusUnprocessableEntity, &in, problems, nil)
		case err != nil:
			return err
		}
		me := viewer(r)
		if id == me.ID {
			if out.Disabled || out.Role != me.Role {
				// The store has ended this session with the others; make
				// sure this request does not write it back.
				return signedOutHere(w, r, sessions)
			}
			sessions.Put(ctx, keyName, out.Name)
		}
		return seeOther(w, r, views.UserURL(id)+"?done=saved")
	}
}

// sameUser reports whether a and b say the same about what the edit form
// changes.
func sameUser(a, b srm.User) bool {
	return a.Name == b.Name && a.Role == b.Role && a.Disabled == b.Disabled
}

// renderUser renders the page of the account in the path with the edit
// form showing in (the stored account when in is nil): 404 when there is
// no such account.
func renderUser(w http.ResponseWriter, r *http.Request, st *store.Store, status int, in *srm.User, problems srm.Problems, current *srm.User) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := userView(r.Context(), st, id, in)
	if err != nil {
		return err
	}
	v.Problems, v.Current = problems, current
	return render(w, r, status, views.UserPage(v))
}

// signedOutHere ends the session of the request, whose stored copy the
// store has already deleted, and sends the person to sign in again.
func signedOutHere(w http.ResponseWriter, r *http.Request, sessions *scs.SessionManager) error {
	if err := sessions.Destroy(r.Context()); err != nil {
		return err
	}
	return seeOther(w, r, "/signin?out=1")
}

// revokeUser handles "POST /admin/users/{id}/revoke": every session of the
// account ends, so its owner is signed out on their next request (at once,
// for the admin's own account).
func revokeUser(st *store.Store, sessions *scs.SessionManager) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := st.RevokeSessions(r.Context(), id); err != nil {
			return err
		}
		if id == viewer(r).ID {
			return signedOutHere(w, r, sessions)
		}
		return seeOther(w, r, views.UserURL(id)+"?done=revoked")
	}
}

// unlockUser handles "POST /admin/users/{id}/unlock": the account's failed
// sign-ins are cleared, ending its lockout at once (audited as
// user.unlocked), for someone locked out by another's guessing.
func unlockUser(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		u, err := st.User(r.Context(), id)
		if err != nil {
			return err
		}
		if err := st.Unlock(r.Context(), u); err != nil {
			return err
		}
		return seeOther(w, r, views.UserURL(id)+"?done=unlocked")
	}
}

// resetMFA handles "POST /admin/users/{id}/mfa/reset", for someone who has
// lost both their authenticator and their recovery codes. Admins cannot
// reset their own this way: a stolen admin session could then drop the
// second factor, which the account page refuses without a code.
func resetMFA(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if id == viewer(r).ID {
			return render(w, r, http.StatusForbidden, views.ErrorPage(http.StatusForbidden, "Not your own authenticator",
				"Remove your own authenticator app on your account page, with a code from it or a recovery code."))
		}
		u, err := st.User(r.Context(), id)
		if err != nil {
			return err
		}
		if !u.MFA {
			return seeOther(w, r, views.UserURL(id))
		}
		if err := st.ResetMFA(r.Context(), id); err != nil {
			return err
		}
		return seeOther(w, r, views.UserURL(id)+"?done=mfa-reset")
	}
}

// linkUserOwner handles "POST /admin/users/{id}/owner": the account
// becomes the person behind the owner owner_id (0 unlinks it), so their
// "My controls" page shows that owner's work.
func linkUserOwner(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := parseForm(r); err != nil {
			return err
		}
		ctx := r.Context()
		ownerID, err := strconv.ParseInt(r.PostForm.Get("owner_id"), 10, 64)
		problems := srm.Problems{}
		if err != nil || ownerID < 0 {
			problems["owner_id"] = "Choose one of the owners listed."
		} else {
			err := st.LinkUserOwner(ctx, id, ownerID)
			switch {
			case errors.Is(err, srm.ErrConflict):
				problems["owner_id"] = "That owner is linked to another account. Unlink it there first."
			case errors.Is(err, srm.ErrNotFound):
				problems["owner_id"] = "That owner no longer exists. Choose one of the owners listed."
			case err != nil:
				return err
			}
		}
		if len(problems) > 0 {
			return renderUser(w, r, st, http.StatusUnprocessableEntity, nil, problems, nil)
		}
		return seeOther(w, r, views.UserURL(id)+"?done=linked")
	}
}

// saveSettings handles "POST /admin/settings": whether everyone must use
// an authenticator. Turning it on signs out everyone without one; they can
// reach nothing but enrolment at their next sign-in. That includes the
// admin turning it on, if they have none.
func saveSettings(st *store.Store, sessions *scs.SessionManager) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		ctx := r.Context()
		on := r.PostForm.Get("require_mfa") != ""
		if err := st.SetMFARequired(ctx, on); err != nil {
			return err
		}
		if on {
			me, err := st.User(ctx, viewer(r).ID)
			if err != nil {
				return err
			}
			if !me.MFA {
				return signedOutHere(w, r, sessions)
			}
		}
		return seeOther(w, r, "/admin/users?done=settings#settings")
	}
}

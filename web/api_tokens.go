package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// Pages for personal API tokens: a person's own on /account/tokens, and
// anyone's for an admin on /admin/users/{id}/tokens. Making a token is a
// dangerous action (a.stepUp in routes.go); revoking one is not.

// tokenOwner is whose tokens a request is about: the account, whether it
// is the signed-in person's own, and the page's address.
type tokenOwner func(r *http.Request) (srm.User, bool, string, error)

// ownTokens is the signed-in person.
func ownTokens(st *store.Store) tokenOwner {
	return func(r *http.Request) (srm.User, bool, string, error) {
		u, err := st.User(r.Context(), viewer(r).ID)
		return u, true, "/account/tokens", err
	}
}

// usersTokens is the account {id} of the path, for an admin.
func usersTokens(st *store.Store) tokenOwner {
	return func(r *http.Request) (srm.User, bool, string, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return srm.User{}, false, "", err
		}
		u, err := st.User(r.Context(), id)
		return u, id == viewer(r).ID, "/admin/users/" + strconv.FormatInt(id, 10) + "/tokens", err
	}
}

// tokensView gathers the page for whose.
func tokensView(r *http.Request, st *store.Store, whose tokenOwner, now time.Time) (views.TokensView, error) {
	u, own, base, err := whose(r)
	if err != nil {
		return views.TokensView{}, err
	}
	ts, err := st.Tokens(r.Context(), u.ID)
	if err != nil {
		return views.TokensView{}, err
	}
	return views.TokensView{Owner: u, Own: own, Base: base, Tokens: ts, Now: now, Days: 90}, nil
}

// tokensPage handles "GET /account/tokens" and "GET /admin/users/{id}/tokens".
func tokensPage(st *store.Store, whose tokenOwner, now func() time.Time) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := tokensView(r, st, whose, now())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.TokensPage(v))
	}
}

// createToken handles "POST /account/tokens" and "POST
// /admin/users/{id}/tokens": it makes a token and shows its secret on the
// answer, once (the page is never cached: render says no-store).
func createToken(st *store.Store, whose tokenOwner, now func() time.Time) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		v, err := tokensView(r, st, whose, now())
		if err != nil {
			return err
		}
		v.Name = strings.TrimSpace(r.PostFormValue("name"))
		v.Writable = r.PostFormValue("write") == "1"
		v.Days, _ = strconv.Atoi(r.PostFormValue("days"))
		lifetime := time.Duration(v.Days) * 24 * time.Hour
		if v.Problems = srm.TokenProblems(v.Name, lifetime); len(v.Problems) > 0 {
			return render(w, r, http.StatusUnprocessableEntity, views.TokensPage(v))
		}
		t, secret, err := st.CreateToken(r.Context(), v.Owner.ID, v.Name, v.Writable, lifetime)
		switch {
		case errors.Is(err, srm.ErrNotFound): // disabled since the page was read
			v.Problems = srm.Problems{"name": "This account is disabled: it cannot have a new token."}
			return render(w, r, http.StatusUnprocessableEntity, views.TokensPage(v))
		case err != nil:
			return err
		}
		v.Made, v.Secret, v.Name, v.Writable = &t, secret, "", false
		v.Tokens = append([]srm.APIToken{t}, v.Tokens...)
		return render(w, r, http.StatusCreated, views.TokensPage(v))
	}
}

// revokeToken handles "POST /account/tokens/{tid}/revoke" and "POST
// /admin/users/{id}/tokens/{tid}/revoke".
func revokeToken(st *store.Store, whose tokenOwner) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tid, err := pathID(r, "tid")
		if err != nil {
			return err
		}
		u, _, base, err := whose(r)
		if err != nil {
			return err
		}
		if err := st.RevokeToken(r.Context(), u.ID, tid); err != nil {
			return err
		}
		return seeOther(w, r, base)
	}
}

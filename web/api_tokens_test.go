package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// makeToken makes a token on the tokens page at base and returns its
// secret, shown on the answer.
func (h *harness) makeToken(base, name string, write bool) string {
	h.t.Helper()
	v := url.Values{"name": {name}, "days": {"30"}}
	if write {
		v.Set("write", "1")
	}
	rec := h.submit(h.page(base).Find(tid("token-form")), v)
	wantStatus(h.t, "make a token", rec, http.StatusCreated)
	secret := text(parse(h.t, rec).Find(tid("secret")))
	if !strings.HasPrefix(secret, "srm_") {
		h.t.Fatalf("make a token: secret %q", secret)
	}
	return secret
}

func TestTokensPageMakesAskingForProofShowsOnceAndRevokes(t *testing.T) {
	t.Parallel()
	h, clock := newClockHarness(t, srm.RoleViewer)
	if h.page("/account").Find(`a[href="/account/tokens"]`).Length() != 1 {
		t.Error("the account page has no link to the API tokens")
	}
	// Making a token is dangerous: with a stale proof srm asks again.
	clock.advance(stale)
	confirmForm(t, "make a token with a stale proof", h.submit(h.page("/account/tokens").Find(tid("token-form")),
		url.Values{"name": {"late"}, "days": {"30"}}))
	if ts, _ := h.st.Tokens(storetest.Context(t), h.user.ID); len(ts) != 0 {
		t.Fatalf("a token was made without a fresh proof: %+v", ts)
	}
	h.signIn(h.user.Email, testPassword) // a fresh proof

	rec := h.submit(h.page("/account/tokens").Find(tid("token-form")), url.Values{"name": {""}, "days": {"30"}})
	wantStatus(t, "make a token without a name", rec, http.StatusUnprocessableEntity)

	secret := h.makeToken("/account/tokens", "Laptop script", false)
	page := h.get("/account/tokens")
	if strings.Contains(page.Body.String(), secret[8:]) {
		t.Error("the token's secret is on the page after it was made")
	}
	doc := parse(t, page)
	row := doc.Find(tid("tokens") + " tbody tr")
	if row.Length() != 1 || !strings.Contains(text(row), "Laptop script") || !strings.Contains(text(row), secret[:8]+"…") ||
		!strings.Contains(text(row), "read-only") || !strings.Contains(text(row), "never used") {
		t.Fatalf("tokens listed: %q", text(row))
	}
	c, err := h.st.Authenticate(store.WithActor(t.Context(), store.Actor{Name: "api client"}), secret)
	if err != nil || c.User.ID != h.user.ID || c.Token.Writable {
		t.Fatalf("Authenticate(the page's token) = %+v, %v", c, err)
	}

	// Someone else cannot revoke it, through their own page's address.
	other := h.as(srm.RoleEditor)
	wantStatus(t, "revoke someone else's token", other.post("/account/tokens/"+itoa(c.Token.ID)+"/revoke", nil), http.StatusNotFound)
	wantRedirect(t, "revoke", h.submit(row.Find("form"), nil), "/account/tokens")
	if _, err := h.st.Authenticate(store.WithActor(t.Context(), store.Actor{Name: "api client"}), secret); err == nil {
		t.Fatal("a revoked token still authenticates")
	}
	if got := text(parse(t, h.get("/account/tokens")).Find(tid("tokens") + " .state")); !strings.HasPrefix(got, "revoked") {
		t.Errorf("state of the revoked token = %q", got)
	}
}

func TestAdminMakesAndRevokesSomeoneElsesTokensOthersCannot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ed := h.as(srm.RoleEditor)
	base := "/admin/users/" + itoa(ed.user.ID) + "/tokens"
	if h.page("/admin/users/"+itoa(ed.user.ID)).Find(`a[href="`+base+`"]`).Length() != 1 {
		t.Error("the user's admin page has no link to their tokens")
	}
	secret := h.makeToken(base, "Their pipeline", true)
	c, err := h.st.Authenticate(store.WithActor(t.Context(), store.Actor{Name: "api client"}), secret)
	if err != nil || c.User.ID != ed.user.ID || !c.CanWrite(srm.RoleEditor) || c.CanWrite(srm.RoleAdmin) {
		t.Fatalf("Authenticate(admin-made token) = %+v, %v; want the editor's, writing as an editor", c, err)
	}
	wantStatus(t, "an editor on the admin tokens page", ed.get(base), http.StatusForbidden)
	// The editor sees it on their own page and an admin revokes it.
	if !strings.Contains(text(ed.page("/account/tokens").Find(tid("tokens"))), "Their pipeline") {
		t.Error("the token made by an admin is not on its owner's page")
	}
	wantRedirect(t, "admin revokes", h.submit(h.page(base).Find(tid("tokens")+" form"), nil), base)
	page, err := h.st.Audit(storetest.Context(t), store.AuditQuery{Action: "token.revoked"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != h.user.Email {
		t.Fatalf("token.revoked rows: %+v, %v; want one by the admin", page.Entries, err)
	}
}

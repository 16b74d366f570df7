package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// auditActions returns how many rows of the trail have each action.
func auditCount(t *testing.T, st *store.Store, action string) int {
	t.Helper()
	page, err := st.Audit(storetest.Context(t), store.AuditQuery{Action: action, Limit: store.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Entries)
}

func TestTokenIsShownOnceStoredHashedAndActsAsItsOwnerWithTheirRoleNow(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "ana@example.com"})
	u := srm.User{Email: "ana@example.com", Role: srm.RoleEditor}
	if err := st.CreateUser(ctx, &u, "x"); err != nil {
		t.Fatal(err)
	}
	tok, secret, err := st.CreateToken(ctx, u.ID, "  CI pipeline ", true, 720*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "srm_") || len(secret) != 47 || !strings.HasPrefix(secret, tok.Hint) || len(tok.Hint) != 8 {
		t.Fatalf("CreateToken: secret %q, hint %q; want srm_ and 43 characters, hinted by its first 8", secret, tok.Hint)
	}
	if tok.Name != "CI pipeline" || !tok.Writable || tok.CreatedBy != "ana@example.com" || tok.ExpiresAt.Sub(tok.CreatedAt) != 720*time.Hour {
		t.Errorf("CreateToken = %+v", tok)
	}
	// The secret is nowhere in the database: not in the table, not in the trail.
	var found bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM api_tokens k WHERE k::text LIKE '%' || $1 || '%')
		OR EXISTS (SELECT FROM audit a WHERE a::text LIKE '%' || $1 || '%')`, secret[4:]).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Error("the token's secret is stored in the database")
	}
	if n := auditCount(t, st, "token.created"); n != 1 {
		t.Errorf("token.created rows = %d, want 1", n)
	}

	api := store.WithActor(t.Context(), store.Actor{Name: "api client"})
	c, err := st.Authenticate(api, secret)
	if err != nil {
		t.Fatalf("Authenticate = %v", err)
	}
	if c.User.ID != u.ID || c.User.Role != srm.RoleEditor || c.Token.ID != tok.ID || c.Token.LastUsedAt.IsZero() {
		t.Errorf("Authenticate = %+v", c)
	}
	var first time.Time
	if err := pool.QueryRow(ctx, `SELECT last_used_at FROM api_tokens WHERE id = $1`, tok.ID).Scan(&first); err != nil {
		t.Fatal(err)
	}
	// Used again within the minute: last_used_at is not written again.
	if _, err := st.Authenticate(api, secret); err != nil {
		t.Fatal(err)
	}
	var second time.Time
	if err := pool.QueryRow(ctx, `SELECT last_used_at FROM api_tokens WHERE id = $1`, tok.ID).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if !second.Equal(first) {
		t.Errorf("last_used_at moved from %v to %v within a minute", first, second)
	}

	// The owner's role is read at each request: demoted, the token reads only.
	u.Role = srm.RoleViewer
	if u, err = st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if c, err = st.Authenticate(api, secret); err != nil || c.User.Role != srm.RoleViewer || c.CanWrite(srm.RoleEditor) {
		t.Errorf("after demotion: Authenticate = %+v, %v; want a viewer who cannot write", c, err)
	}

	list, err := st.Tokens(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].LastUsedAt.IsZero() {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}
}

func TestTokenRefusedWhenUnknownRevokedExpiredOrOwnerDisabledAndRefusalsAudited(t *testing.T) {
	t.Parallel()
	pool := storetest.Pool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	api := store.WithActor(t.Context(), store.Actor{Name: "api client"})
	newUser := func(email string) srm.User {
		u := srm.User{Email: email, Role: srm.RoleAdmin}
		if err := st.CreateUser(ctx, &u, "x"); err != nil {
			t.Fatal(err)
		}
		return u
	}
	ana, bo := newUser("ana@example.com"), newUser("bo@example.com")
	for _, bad := range []string{"", "Bearer", "srm_short", "srm_" + strings.Repeat("A", 43), strings.Repeat("A", 47)} {
		if _, err := st.Authenticate(api, bad); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("Authenticate(%q) = %v, want ErrBadToken", bad, err)
		}
	}

	_, revoked, _ := st.CreateToken(ctx, ana.ID, "revoked", false, time.Hour)
	list, _ := st.Tokens(ctx, ana.ID)
	if err := st.RevokeToken(ctx, bo.ID, list[0].ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("RevokeToken of someone else's token = %v, want ErrNotFound", err)
	}
	if _, err := st.Authenticate(api, revoked); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	for range 2 { // revoking twice is no error and one audit row
		if err := st.RevokeToken(ctx, ana.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := auditCount(t, st, "token.revoked"); n != 1 {
		t.Errorf("token.revoked rows = %d, want 1", n)
	}

	_, expired, _ := st.CreateToken(ctx, ana.ID, "expired", true, time.Hour)
	if _, err := pool.Exec(ctx, `UPDATE api_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE name = 'expired'`); err != nil {
		t.Fatal(err)
	}
	_, disabled, _ := st.CreateToken(ctx, bo.ID, "owner disabled", true, time.Hour)
	bo.Disabled = true
	if _, err := st.UpdateUser(ctx, bo); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ secret, reason string }{{revoked, "revoked"}, {expired, "expired"}, {disabled, "owner disabled"}} {
		for range 3 {
			_, err := st.Authenticate(api, c.secret)
			var refused *store.TokenRefused
			if !errors.As(err, &refused) || refused.Reason != c.reason {
				t.Fatalf("Authenticate(%s token) = %v, want refused: %s", c.reason, err, c.reason)
			}
		}
	}
	// One refusal row per token however often it was tried within the minute.
	page, err := st.Audit(ctx, store.AuditQuery{Action: "token.refused"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 3 {
		t.Fatalf("token.refused rows = %d, want 3", len(page.Entries))
	}
	for _, e := range page.Entries {
		if e.Actor != "api client" || !strings.Contains(string(e.After), `"reason"`) {
			t.Errorf("token.refused row: actor %q, after %s", e.Actor, e.After)
		}
	}
	if _, _, err := st.CreateToken(ctx, bo.ID, "for a disabled account", false, time.Hour); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("CreateToken for a disabled account = %v, want ErrNotFound", err)
	}
	if _, _, err := st.CreateToken(ctx, ana.ID, " ", false, time.Hour); !errors.Is(err, srm.ErrInvalid) {
		t.Errorf("CreateToken without a name = %v, want ErrInvalid", err)
	}
	if _, _, err := st.CreateToken(ctx, ana.ID, "forever", false, 10*365*24*time.Hour); !errors.Is(err, srm.ErrInvalid) {
		t.Errorf("CreateToken for ten years = %v, want ErrInvalid", err)
	}
}

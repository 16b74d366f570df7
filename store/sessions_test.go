package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
)

// TestASessionMadeBeforeAChangeIsNeitherStoredNorFound takes each change
// that must end an account's sessions in the order a sign-in racing it
// would see it: the sign-in reads the account, the change commits, then
// the sign-in stores its session. That session is refused, and one stored
// before the change is no longer found; a session made from the account as
// it is now works. A change that need not end sessions (a new name) ends
// none.
func TestASessionMadeBeforeAChangeIsNeitherStoredNorFound(t *testing.T) {
	t.Parallel()
	st := store.New(openPool(t))
	ctx := store.WithActor(t.Context(), store.Actor{Name: "srm"})
	ss := st.Sessions()
	expiry := time.Now().Add(time.Hour)
	hash := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"

	newUser := func(t *testing.T, role srm.Role, mfa bool) srm.User {
		t.Helper()
		u := srm.User{Email: fmt.Sprintf("stamp-%s-%d@example.com", role, time.Now().UnixNano()), Role: role}
		if err := st.CreateUser(ctx, &u, hash); err != nil {
			t.Fatal(err)
		}
		if mfa {
			if err := st.EnableTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP", 1, nil); err != nil {
				t.Fatal(err)
			}
		}
		u, err := st.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	store1 := func(t *testing.T, u srm.User, token string) error {
		t.Helper()
		return ss.CommitCtx(store.WithSessionOwner(ctx, u), token, []byte(`{}`), expiry)
	}
	found := func(t *testing.T, token string) bool {
		t.Helper()
		_, ok, err := ss.FindCtx(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	cases := []struct {
		name   string
		role   srm.Role
		mfa    bool
		change func(u srm.User) error
		ends   bool
	}{
		{"disable", srm.RoleEditor, false, func(u srm.User) error { u.Disabled = true; _, err := st.UpdateUser(ctx, u); return err }, true},
		{"change the role", srm.RoleEditor, false, func(u srm.User) error { u.Role = srm.RoleViewer; _, err := st.UpdateUser(ctx, u); return err }, true},
		{"change the password", srm.RoleEditor, false, func(u srm.User) error { return st.SetPassword(ctx, u.ID, hash) }, true},
		{"enrol an authenticator", srm.RoleEditor, false, func(u srm.User) error { return st.EnableTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP", 1, nil) }, true},
		{"remove the authenticator", srm.RoleEditor, true, func(u srm.User) error { return st.DisableTOTP(ctx, u.ID) }, true},
		{"an admin resets the authenticator", srm.RoleEditor, true, func(u srm.User) error { return st.ResetMFA(ctx, u.ID) }, true},
		{"sign out everywhere", srm.RoleEditor, false, func(u srm.User) error { return st.RevokeSessions(ctx, u.ID) }, true},
		{"require an authenticator, of one without", srm.RoleEditor, false, func(srm.User) error { return st.SetMFARequired(ctx, true) }, true},
		{"rename", srm.RoleEditor, false, func(u srm.User) error { u.Name = "Renamed"; _, err := st.UpdateUser(ctx, u); return err }, false},
		{"new recovery codes", srm.RoleEditor, true, func(u srm.User) error { return st.ReplaceRecoveryCodes(ctx, u.ID, []string{"x"}) }, false},
		{"require an authenticator, of one with", srm.RoleEditor, true, func(srm.User) error { return st.SetMFARequired(ctx, true) }, false},
	}
	for i, c := range cases {
		// Not parallel: requiring an authenticator is a setting of the
		// whole database.
		t.Run(c.name, func(t *testing.T) {
			if err := st.SetMFARequired(ctx, false); err != nil {
				t.Fatal(err)
			}
			u := newUser(t, c.role, c.mfa)
			before, racing, after := fmt.Sprint("before-", i), fmt.Sprint("racing-", i), fmt.Sprint("after-", i)
			if err := store1(t, u, before); err != nil {
				t.Fatalf("store a session: %v", err)
			}
			if !found(t, before) {
				t.Fatal("a session just stored is not found")
			}
			if err := c.change(u); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			err := store1(t, u, racing)
			if !c.ends {
				if err != nil || !found(t, before) || !found(t, racing) {
					t.Errorf("after %s: a session from before is found %v, one stored after %v (%v); want both kept",
						c.name, found(t, before), found(t, racing), err)
				}
				return
			}
			if !errors.Is(err, store.ErrAccountChanged) {
				t.Errorf("after %s: storing a session made from the account as it was = %v, want ErrAccountChanged", c.name, err)
			}
			if found(t, before) || found(t, racing) {
				t.Errorf("after %s: a session made before it is still found", c.name)
			}
			now, err := st.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if now.SessionStamp == u.SessionStamp {
				t.Errorf("after %s: session stamp still %d", c.name, now.SessionStamp)
			}
			err = store1(t, now, after)
			switch {
			case now.Disabled:
				if !errors.Is(err, store.ErrAccountChanged) || found(t, after) {
					t.Errorf("a session of a disabled account: stored with %v, found %v; want neither", err, found(t, after))
				}
			case err != nil || !found(t, after):
				t.Errorf("a session made from the account as it is now: %v, found %v; want it stored", err, found(t, after))
			}
		})
	}
}

// TestSessionsAreReadUnderTheRequestsContext: a request's deadline also
// bounds the read of its session (scs/pgxstore read it without one).
func TestSessionsAreReadUnderTheRequestsContext(t *testing.T) {
	t.Parallel()
	st := store.New(openPool(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := st.Sessions().FindCtx(ctx, "any"); !errors.Is(err, context.Canceled) {
		t.Errorf("FindCtx with a request that has ended = %v, want context.Canceled", err)
	}
}

// TestDeadSessionsAreClearedUntilMainStops: the cleanup clears expired
// sessions and those made before their account changed, keeps live ones,
// and stops when its context ends.
func TestDeadSessionsAreClearedUntilMainStops(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "srm"})
	ss := st.Sessions()
	mk := func(email string) srm.User {
		u := srm.User{Email: email, Role: srm.RoleViewer}
		if err := st.CreateUser(ctx, &u, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"); err != nil {
			t.Fatal(err)
		}
		return u
	}
	live, revoked := mk("live@example.com"), mk("revoked@example.com")
	for _, s := range []struct {
		token  string
		u      srm.User
		expiry time.Time
	}{
		{"live", live, time.Now().Add(time.Hour)},
		{"expired", live, time.Now().Add(-time.Second)},
		{"revoked", revoked, time.Now().Add(time.Hour)},
	} {
		if err := ss.CommitCtx(store.WithSessionOwner(ctx, s.u), s.token, []byte(`{}`), s.expiry); err != nil {
			t.Fatal(err)
		}
	}
	// Revoked the way a racing sign-in would leave it: the stamp is raised
	// but the row is still there.
	if _, err := pool.Exec(ctx, `INSERT INTO session_stamps (user_id, stamp) VALUES ($1, 1)`, revoked.ID); err != nil {
		t.Fatal(err)
	}

	cctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		ss.Clean(cctx, 10*time.Millisecond, func(err error) { t.Errorf("Clean: %v", err) })
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	var left []string
	for time.Now().Before(deadline) {
		rows, err := pool.Query(ctx, `SELECT token FROM sessions ORDER BY token`)
		if err != nil {
			t.Fatal(err)
		}
		left = left[:0]
		for rows.Next() {
			var tok string
			if err := rows.Scan(&tok); err != nil {
				t.Fatal(err)
			}
			left = append(left, tok)
		}
		rows.Close()
		if len(left) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(left) != 1 || left[0] != "live" {
		t.Errorf("sessions left after cleaning = %q, want only the live one", left)
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Clean did not stop when its context ended")
	}
}

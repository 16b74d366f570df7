package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// unreachableStore is a store on a pool whose server refuses connections.
func unreachableStore(t *testing.T) *store.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig("postgres://srm@127.0.0.1:1/srm?connect_timeout=1&sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return store.New(pool)
}

// TestUnreachableDatabaseIsErrUnavailable: whatever the store does when
// PostgreSQL cannot be reached (a read, a list, a write in a transaction,
// the readiness ping) fails with an error wrapping srm.ErrUnavailable, so
// web answers 503 without reading error texts.
func TestUnreachableDatabaseIsErrUnavailable(t *testing.T) {
	t.Parallel()
	st := unreachableStore(t)
	ctx := storetest.Context(t)
	calls := map[string]func() error{
		"User":          func() error { _, err := st.User(ctx, 1); return err },
		"UserSummaries": func() error { _, err := st.UserSummaries(ctx); return err },
		"UpdateUser": func() error {
			_, err := st.UpdateUser(ctx, srm.User{ID: 1, Role: srm.RoleViewer, Version: 1})
			return err
		},
		"Ping": func() error { return st.Ping(ctx) },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, srm.ErrUnavailable) {
			t.Errorf("%s on an unreachable database: error = %v, want one wrapping srm.ErrUnavailable", name, err)
		}
	}
}

// TestOnlyAnUnreachableDatabaseIsErrUnavailable: a request that runs out
// of time waiting for PostgreSQL is unavailability too; a missing row, a
// conflict and a request the client gave up on are not.
func TestOnlyAnUnreachableDatabaseIsErrUnavailable(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)

	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := st.UserSummaries(expired); !errors.Is(err, srm.ErrUnavailable) {
		t.Errorf("UserSummaries past the request's deadline: error = %v, want one wrapping srm.ErrUnavailable", err)
	}

	_, err := st.User(ctx, 1<<40)
	if !errors.Is(err, srm.ErrNotFound) || errors.Is(err, srm.ErrUnavailable) {
		t.Errorf("User of an unknown id: error = %v, want srm.ErrNotFound and not srm.ErrUnavailable", err)
	}
	u := newUser(t, st, "ada@example.com", srm.RoleAdmin)
	err = st.CreateUser(ctx, &srm.User{Email: u.Email, Role: srm.RoleViewer}, "x")
	if !errors.Is(err, srm.ErrConflict) || errors.Is(err, srm.ErrUnavailable) {
		t.Errorf("CreateUser with a taken email: error = %v, want srm.ErrConflict and not srm.ErrUnavailable", err)
	}
	gone, stop := context.WithCancel(ctx)
	stop()
	if _, err := st.UserSummaries(gone); errors.Is(err, srm.ErrUnavailable) {
		t.Errorf("UserSummaries for a client that has gone: error = %v, want one not wrapping srm.ErrUnavailable", err)
	}
}

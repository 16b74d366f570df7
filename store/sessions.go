package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// Sessions keeps the sessions of people signed in, for scs: it is an
// scs.CtxStore, and scs hands it the hash of each token (HashTokenInStore),
// never the token. Every session belongs to one account and records the
// account's session stamp when it was made (srm.User.SessionStamp); every
// change that must end an account's sessions raises the stamp in the
// change's own transaction. A session is found only while its stamp is the
// account's and the account is enabled, and a new one is stored only if
// the stamp it was made from is still current. So a sign-in that read the
// account before a change (an admin disabling it, a new role, a new
// password, an authenticator enrolled or removed, "sign out everywhere")
// cannot leave a session that works after it, however the two interleave.
type Sessions struct{ db DBTX }

var _ scs.CtxStore = (*Sessions)(nil)

// Sessions returns the session store on the Store's database.
func (s *Store) Sessions() *Sessions { return &Sessions{db: s.db} }

// ErrAccountChanged means a session was not stored because its account
// changed after the session's sign-in read it: the person must sign in
// again.
var ErrAccountChanged = fmt.Errorf("the account changed while signing in: %w", srm.ErrConflict)

type sessionOwnerKey struct{}

// sessionOwner is the account a session being established is made from.
type sessionOwner struct{ id, stamp int64 }

// WithSessionOwner returns ctx for saving a new session of u (scs's Commit
// with this context): the save inserts the session for u.ID, made from u
// as read, with u.SessionStamp. Any other save only updates a session that
// is still stored, so a request that was running while its session was
// revoked cannot bring it back.
func WithSessionOwner(ctx context.Context, u srm.User) context.Context {
	return context.WithValue(ctx, sessionOwnerKey{}, sessionOwner{id: u.ID, stamp: u.SessionStamp})
}

// FindCtx returns the data of the session whose token hashes to tokenHash,
// if it has not expired, its account is enabled and its stamp is the
// account's: all in the one statement a request spends on its session.
func (s *Sessions) FindCtx(ctx context.Context, tokenHash string) ([]byte, bool, error) {
	var b []byte
	err := s.db.QueryRow(ctx, `
		SELECT s.data FROM sessions s
		JOIN users u ON u.id = s.user_id AND NOT u.disabled
		LEFT JOIN session_stamps st ON st.user_id = s.user_id
		WHERE s.token = $1 AND s.expiry > now() AND s.stamp = COALESCE(st.stamp, 0)`, tokenHash).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return b, true, nil
}

// CommitCtx saves a session: see WithSessionOwner. Inserting a session
// whose account has changed since it was read, or is disabled, stores
// nothing and returns ErrAccountChanged.
func (s *Sessions) CommitCtx(ctx context.Context, tokenHash string, b []byte, expiry time.Time) error {
	owner, ok := ctx.Value(sessionOwnerKey{}).(sessionOwner)
	if !ok {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET data = $2, expiry = $3 WHERE token = $1`, tokenHash, b, expiry); err != nil {
			return fmt.Errorf("store: save session: %w", err)
		}
		return nil
	}
	tag, err := s.db.Exec(ctx, `
		INSERT INTO sessions (token, data, expiry, user_id, stamp)
		SELECT $1, $2, $3, u.id, $5 FROM users u LEFT JOIN session_stamps st ON st.user_id = u.id
		WHERE u.id = $4 AND NOT u.disabled AND COALESCE(st.stamp, 0) = $5`,
		tokenHash, b, expiry, owner.id, owner.stamp)
	if err != nil {
		return fmt.Errorf("store: insert session: %w", translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: session of user %d: %w", owner.id, ErrAccountChanged)
	}
	return nil
}

// DeleteCtx removes a session; an unknown one is no error.
func (s *Sessions) DeleteCtx(ctx context.Context, tokenHash string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE token = $1`, tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// Find is FindCtx without a context. It completes scs.Store; scs calls
// the Ctx forms, which carry the request's deadline.
func (s *Sessions) Find(tokenHash string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), tokenHash)
}

// Commit is CommitCtx without a context.
func (s *Sessions) Commit(tokenHash string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), tokenHash, b, expiry)
}

// Delete is DeleteCtx without a context.
func (s *Sessions) Delete(tokenHash string) error {
	return s.DeleteCtx(context.Background(), tokenHash)
}

// DeleteDead removes the sessions that can no longer be used: expired, or
// made before a change to their account. It returns how many went.
func (s *Sessions) DeleteDead(ctx context.Context) (int64, error) {
	tag, err := s.db.Exec(ctx, `
		DELETE FROM sessions s WHERE s.expiry <= now()
		   OR s.stamp <> COALESCE((SELECT st.stamp FROM session_stamps st WHERE st.user_id = s.user_id), 0)`)
	if err != nil {
		return 0, fmt.Errorf("store: delete dead sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Clean runs DeleteDead every interval until ctx ends, handing each error
// to report (which may be nil). main runs it for as long as srm serves.
func (s *Sessions) Clean(ctx context.Context, every time.Duration, report func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.DeleteDead(ctx); err != nil && ctx.Err() == nil && report != nil {
				report(err)
			}
		}
	}
}

// bumpSessionStamp raises the session stamp of user id, so that no session
// made from the account as it was before works again, nor can be stored,
// once tx commits. Lock the user's row first (update it, or SELECT … FOR
// UPDATE) where the transaction changes it, so the locks are always taken
// in the same order. It returns the new stamp.
func bumpSessionStamp(ctx context.Context, tx pgx.Tx, id int64) (int64, error) {
	var stamp int64
	err := tx.QueryRow(ctx, `
		INSERT INTO session_stamps AS st (user_id, stamp) VALUES ($1, 1)
		ON CONFLICT (user_id) DO UPDATE SET stamp = st.stamp + 1
		RETURNING stamp`, id).Scan(&stamp)
	if err != nil {
		return 0, fmt.Errorf("store: end sessions of %d: %w", id, err)
	}
	return stamp, nil
}

// revokeSessions ends every session of u, now and in flight: it raises
// the account's session stamp (setting u.SessionStamp), so no session made
// from the account as it was before works again or can still be stored,
// then deletes the stored ones, with an audit row when there were any.
func revokeSessions(ctx context.Context, tx pgx.Tx, u *srm.User, why string) error {
	stamp, err := bumpSessionStamp(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	u.SessionStamp = stamp
	return deleteSessions(ctx, tx, *u, why)
}

// deleteSessions deletes the stored sessions of u, with an audit row when
// there were any.
func deleteSessions(ctx context.Context, tx pgx.Tx, u srm.User, why string) error {
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	return recordEvent(ctx, tx, "sessions.revoked", u, map[string]any{"sessions": tag.RowsAffected(), "why": why})
}

// RevokeSessions ends every session of a user, and any sign-in of theirs
// in flight ("sign out everywhere"): the user is signed out on their next
// request.
func (s *Store) RevokeSessions(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := s.on(tx).User(ctx, id)
		if err != nil {
			return err
		}
		return revokeSessions(ctx, tx, &u, "revoked by an admin")
	})
}

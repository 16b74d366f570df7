package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// userColumns are the columns userRow scans, in its order.
// The session stamp is read in the same statement as the rest, so a
// session made from what was read records the stamp of that very state.
const userColumns = `id, email, name, role, disabled, totp_secret IS NOT NULL, password_hash IS NOT NULL,
	COALESCE(oidc_issuer, ''), COALESCE(oidc_subject, ''), created_at, last_signin_at, version,
	COALESCE((SELECT st.stamp FROM session_stamps st WHERE st.user_id = users.id), 0)`

func scanUser(row pgx.Row, extra ...any) (srm.User, error) {
	var (
		u    srm.User
		last *time.Time
	)
	dest := append([]any{&u.ID, &u.Email, &u.Name, &u.Role, &u.Disabled, &u.MFA, &u.HasPassword,
		&u.Issuer, &u.Subject, &u.CreatedAt, &last, &u.Version, &u.SessionStamp}, extra...)
	if err := row.Scan(dest...); err != nil {
		return srm.User{}, err
	}
	if last != nil {
		u.LastSignInAt = *last
	}
	return u, nil
}

// CreateUser adds a local account with the given password hash and sets
// u.ID. An email already used by a local account (ignoring case) is an error
// wrapping srm.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *srm.User, passwordHash string) error {
	u.Email = srm.NormalizeEmail(u.Email)
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at, version`, u.Email, u.Name, u.Role, passwordHash).
			QueryRow(func(r pgx.Row) error { return r.Scan(&u.ID, &u.CreatedAt, &u.Version) })
	})
	if err != nil {
		return fmt.Errorf("store: create user %q: %w", u.Email, translate(err))
	}
	u.HasPassword = true
	return nil
}

// Credentials is what signing in checks, besides the user.
type Credentials struct {
	User         srm.User
	PasswordHash string // "" for single-sign-on accounts
}

// UserForSignIn returns the local account with email (ignoring case) and
// its password hash, or an error wrapping srm.ErrNotFound.
func (s *Store) UserForSignIn(ctx context.Context, email string) (Credentials, error) {
	var c Credentials
	var hash *string
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users
		WHERE lower(email) = lower($1) AND oidc_issuer IS NULL`, srm.NormalizeEmail(email)), &hash)
	if err != nil {
		return Credentials{}, fmt.Errorf("store: user %q: %w", email, translate(err))
	}
	c.User = u
	if hash != nil {
		c.PasswordHash = *hash
	}
	return c, nil
}

// User returns one user, or an error wrapping srm.ErrNotFound.
func (s *Store) User(ctx context.Context, id int64) (srm.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return srm.User{}, fmt.Errorf("store: user %d: %w", id, translate(err))
	}
	return u, nil
}

// HasUsers reports whether any account exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var any bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&any); err != nil {
		return false, fmt.Errorf("store: users: %w", err)
	}
	return any, nil
}

// RecordSignIn records a successful sign-in of u: the time, a clean slate of
// failures for the account, and the audit row, in one transaction.
func (s *Store) RecordSignIn(ctx context.Context, u srm.User, method string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET last_signin_at = now() WHERE id = $1`, u.ID); err != nil {
			return fmt.Errorf("store: sign in %d: %w", u.ID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE lower(email) = lower($1)`, ThrottleKey(u)); err != nil {
			return fmt.Errorf("store: sign in %d: %w", u.ID, err)
		}
		return recordEvent(ctx, tx, "signin.succeeded", u, map[string]any{"method": method})
	})
}

// ErrLastAdmin means a change would leave srm without an active admin, so
// nobody could manage users and settings any more.
var ErrLastAdmin = fmt.Errorf("no active admin would remain: %w", srm.ErrConflict)

// UpdateUser saves the name, role and disabled state of a user if it is
// still at u.Version; otherwise the error wraps srm.ErrStale and the user
// returned is the one stored now. Demoting or disabling the last active
// admin is refused with ErrLastAdmin and saves nothing; every active admin
// is locked first, so two admins demoting each other at the same moment
// cannot both succeed. A change of role or disabling ends the user's
// sessions, and any sign-in of theirs in flight, in the same transaction,
// so it takes effect on their next request.
func (s *Store) UpdateUser(ctx context.Context, u srm.User) (srm.User, error) {
	var out srm.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE`)
		if err != nil {
			return err
		}
		admins, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		cur, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, u.ID))
		if err != nil {
			return translate(err)
		}
		if cur.Version != u.Version {
			out = cur
			return srm.ErrStale
		}
		if stillAdmin := u.Role == srm.RoleAdmin && !u.Disabled; !stillAdmin && slices.Equal(admins, []int64{u.ID}) {
			return ErrLastAdmin
		}
		out, err = scanUser(tx.QueryRow(ctx, `
			UPDATE users SET name = $2, role = $3, disabled = $4, version = version + 1 WHERE id = $1
			RETURNING `+userColumns, u.ID, u.Name, u.Role, u.Disabled))
		if err != nil {
			return translate(err)
		}
		switch {
		case out.Disabled && !cur.Disabled:
			return revokeSessions(ctx, tx, &out, "disabled")
		case out.Role != cur.Role:
			return revokeSessions(ctx, tx, &out, "role changed")
		}
		return nil
	})
	if errors.Is(err, srm.ErrStale) {
		return out, fmt.Errorf("store: update user %d from version %d: %w", u.ID, u.Version, err)
	}
	if err != nil {
		return srm.User{}, fmt.Errorf("store: update user %d: %w", u.ID, err)
	}
	return out, nil
}

// SetPassword replaces a local account's password hash and ends its
// sessions, and any sign-in in flight with the old password.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `UPDATE users SET password_hash = $2, version = version + 1 WHERE id = $1
			RETURNING `+userColumns, id, hash))
		if err != nil {
			return fmt.Errorf("store: set password of %d: %w", id, translate(err))
		}
		if err := recordEvent(ctx, tx, "password.changed", u, nil); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, &u, "password changed")
	})
}

// OwnerOfUser returns the owner a user is linked to, or an error wrapping
// srm.ErrNotFound.
func (s *Store) OwnerOfUser(ctx context.Context, userID int64) (srm.Owner, error) {
	var o srm.Owner
	err := s.db.QueryRow(ctx, `SELECT id, name, kind FROM owners WHERE user_id = $1`, userID).Scan(&o.ID, &o.Name, &o.Kind)
	if err != nil {
		return srm.Owner{}, fmt.Errorf("store: owner of user %d: %w", userID, translate(err))
	}
	return o, nil
}

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
	err := s.queryRow(ctx, `
		INSERT INTO users (email, name, role, password_hash)
		SELECT $1::text, $2::text, $3::text, $4::text FROM actor
		RETURNING id, created_at, version`,
		u.Email, u.Name, u.Role, passwordHash).Scan(&u.ID, &u.CreatedAt, &u.Version)
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

// TOTPSecret returns the enrolled authenticator secret of a user, or "".
func (s *Store) TOTPSecret(ctx context.Context, id int64) (string, error) {
	var secret *string
	if err := s.db.QueryRow(ctx, `SELECT totp_secret FROM users WHERE id = $1`, id).Scan(&secret); err != nil {
		return "", fmt.Errorf("store: user %d: %w", id, translate(err))
	}
	if secret == nil {
		return "", nil
	}
	return *secret, nil
}

// User returns one user, or an error wrapping srm.ErrNotFound.
func (s *Store) User(ctx context.Context, id int64) (srm.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return srm.User{}, fmt.Errorf("store: user %d: %w", id, translate(err))
	}
	return u, nil
}

// Users returns every user, by email.
func (s *Store) Users(ctx context.Context) ([]srm.User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY lower(email), id`)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []srm.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// HasUsers reports whether any account exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var any bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&any); err != nil {
		return false, fmt.Errorf("store: users: %w", err)
	}
	return any, nil
}

// RecordEvent writes one audit row for an identity event, as the actor of
// ctx. details, when not nil, is kept as the event's "after" values.
func (s *Store) RecordEvent(ctx context.Context, action string, u srm.User, details map[string]any) error {
	return recordEvent(ctx, s.db, action, u, details)
}

func recordEvent(ctx context.Context, db DBTX, action string, u srm.User, details map[string]any) error {
	var after any
	if details != nil {
		after = details
	}
	sql, args := audited(ctx, `SELECT audit_event($1, 'user', $2, $3, NULL, NULL, $4) FROM actor`,
		action, idText(u.ID), u.Email, after)
	_, err := db.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

func idText(id int64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}

// SignedIn records a successful sign-in of u: the time, a clean slate of
// failures for the account, and the audit row, in one transaction.
func (s *Store) SignedIn(ctx context.Context, u srm.User, method string) error {
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

// ThrottleKey is what failed sign-ins of u are counted under: the email of
// a local account, or the user id of a single-sign-on account, so that a
// single-sign-on user can never lock a local account that shares the email.
func ThrottleKey(u srm.User) string {
	if u.Issuer == "" {
		return srm.NormalizeEmail(u.Email)
	}
	return fmt.Sprintf("sso-user:%d", u.ID)
}

// BeginSignInAttempt starts every check of something only the person should
// know (a password, an authenticator or recovery code) by counting it as a
// failed sign-in of the account key from the actor's client, before the
// check runs, under locks on the account and on the client's bucket
// (ClientBucket). So parallel guesses each take one of the lockAt failures
// the account may have, and one of the clientLimit failures the client
// may have, within the window since since: neither limit can be passed by
// guessing in parallel, whether at one account or at many. key "" is a
// name that is no account and not an email address: only the client's
// limit applies, and the failure is recorded as NotAnEmail.
//
// It returns the failures of the account and of the client before this
// one. When the account is locked (the failure that locked it is within
// the window: EndSignInAttempt), account is at least lockAt. When either
// has reached its limit, nothing is counted and attempt is 0: a refused
// attempt never counts, so it cannot prolong a lockout. Failures older
// than a day are cleared on the way. Settle the attempt with
// EndSignInAttempt.
func (s *Store) BeginSignInAttempt(ctx context.Context, key string, since time.Time, lockAt, clientLimit int) (attempt int64, account, client int, err error) {
	key, bucket := srm.NormalizeEmail(key), ClientBucket(ActorFrom(ctx).IP)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockSignIn(ctx, tx, key, bucket); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE at < now() - interval '1 day'`); err != nil {
			return err
		}
		var (
			locked bool
			err    error
		)
		if account, client, locked, err = failuresSince(ctx, tx, key, bucket, since); err != nil {
			return err
		}
		if locked {
			account = max(account, lockAt)
		}
		if account >= lockAt || client >= clientLimit {
			return nil
		}
		return tx.QueryRow(ctx, `INSERT INTO signin_failures (email, client_ip) VALUES ($1, $2) RETURNING id`,
			failureName(key), bucket).Scan(&attempt)
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("store: begin sign-in attempt: %w", err)
	}
	return attempt, account, client, nil
}

// failuresSince counts, in one statement, the failed sign-ins since since
// of the account key ("": none) and of the client bucket ("": none). While
// locked reports whether the failure that locked the account is within
// the window.
func failuresSince(ctx context.Context, tx pgx.Tx, key, bucket string, since time.Time) (account, client int, locked bool, err error) {
	err = tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE $1 <> '' AND lower(email) = $1),
		       COALESCE(bool_or(locks) FILTER (WHERE $1 <> '' AND lower(email) = $1), false),
		       count(*) FILTER (WHERE $2 <> '' AND client_ip = $2)
		FROM signin_failures
		WHERE at > $3 AND (($1 <> '' AND lower(email) = $1) OR ($2 <> '' AND client_ip = $2))`,
		key, bucket, since).Scan(&account, &locked, &client)
	return account, client, locked, err
}

// failureName is how the failures and the audit trail name the account
// key: key itself, or NotAnEmail for "".
func failureName(key string) string {
	if key == "" {
		return NotAnEmail
	}
	return key
}

// EndSignInAttempt settles an attempt that BeginSignInAttempt counted. With
// no reason the check passed and the attempt is forgotten. Otherwise it is
// audited as a failed sign-in with reason. An attempt that was counted
// stays a failure, and when it is the lockAt-th within the window since
// since it locks the account: the lockout lasts the window from this
// failure, and is audited. An attempt that was not counted (0: refused, as
// the account or the client was locked already) adds no failure. It
// returns the account's failures since since, at least lockAt while the
// account is locked.
func (s *Store) EndSignInAttempt(ctx context.Context, attempt int64, key, reason string, since time.Time, lockAt int) (int, error) {
	key = srm.NormalizeEmail(key)
	if reason == "" {
		if _, err := s.db.Exec(ctx, `DELETE FROM signin_failures WHERE id = $1`, attempt); err != nil {
			return 0, fmt.Errorf("store: end sign-in attempt: %w", err)
		}
		return 0, nil
	}
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockSignIn(ctx, tx, key, ""); err != nil {
			return err
		}
		var (
			locked bool
			err    error
		)
		if n, _, locked, err = failuresSince(ctx, tx, key, "", since); err != nil {
			return err
		}
		who := srm.User{Email: failureName(key)}
		if err := recordEvent(ctx, tx, "signin.failed", who, map[string]any{"reason": reason}); err != nil {
			return err
		}
		if locked {
			n = max(n, lockAt)
			return nil
		}
		if attempt == 0 || key == "" || n < lockAt {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE signin_failures SET locks = true WHERE id = $1`, attempt); err != nil {
			return err
		}
		return recordEvent(ctx, tx, "signin.locked", who, map[string]any{"failures": n})
	})
	if err != nil {
		return 0, fmt.Errorf("store: record sign-in failure: %w", err)
	}
	return n, nil
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
		u, err := New(tx).User(ctx, id)
		if err != nil {
			return err
		}
		return revokeSessions(ctx, tx, &u, "revoked by an admin")
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
		if stillAdmin := u.Role == srm.Admin && !u.Disabled; !stillAdmin && slices.Equal(admins, []int64{u.ID}) {
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

// EnableTOTP enrols an authenticator for a user: its secret, the time step
// of the code that confirmed it (so that code cannot be used again) and
// the hashes of fresh recovery codes, which replace any old ones. Every
// session of the account ends, and any sign-in in flight: a person who
// enrols in one session signs in there again (web does that for them).
func (s *Store) EnableTOTP(ctx context.Context, id int64, secret string, step int64, codeHashes []string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `UPDATE users SET totp_secret = $2, totp_step = $3 WHERE id = $1
			RETURNING `+userColumns, id, secret, step))
		if err != nil {
			return fmt.Errorf("store: enrol authenticator of %d: %w", id, translate(err))
		}
		if err := replaceCodes(ctx, tx, id, codeHashes); err != nil {
			return err
		}
		if err := recordEvent(ctx, tx, "mfa.enrolled", u, map[string]any{"recovery_codes": len(codeHashes)}); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, &u, "authenticator enrolled")
	})
}

// replaceCodes puts codeHashes in place of every recovery code of user id.
func replaceCodes(ctx context.Context, tx pgx.Tx, id int64, codeHashes []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`, id, codeHashes)
	return err
}

// DisableTOTP removes a user's authenticator and recovery codes, and ends
// every session of the account, as EnableTOTP does.
func (s *Store) DisableTOTP(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := removeTOTP(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := recordEvent(ctx, tx, "mfa.removed", u, nil); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, &u, "authenticator removed")
	})
}

// ReplaceRecoveryCodes gives a user new recovery codes, by their hashes,
// in place of every old one, used or not.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, id int64, codeHashes []string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("store: replace recovery codes of %d: %w", id, translate(err))
		}
		if err := replaceCodes(ctx, tx, id, codeHashes); err != nil {
			return err
		}
		return recordEvent(ctx, tx, "mfa.codes.replaced", u, map[string]any{"recovery_codes": len(codeHashes)})
	})
}

// ResetMFA is an admin's help for someone who has lost their authenticator
// and their recovery codes: the authenticator and the codes go, and every
// session of the account ends, so the person signs in again with their
// password (and sets up a new authenticator if an admin requires one).
// An unknown account is an error wrapping srm.ErrNotFound.
func (s *Store) ResetMFA(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := removeTOTP(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := recordEvent(ctx, tx, "mfa.reset", u, nil); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, &u, "authenticator reset by an admin")
	})
}

func removeTOTP(ctx context.Context, tx pgx.Tx, id int64) (srm.User, error) {
	u, err := scanUser(tx.QueryRow(ctx, `UPDATE users SET totp_secret = NULL, totp_step = 0 WHERE id = $1
		RETURNING `+userColumns, id))
	if err != nil {
		return srm.User{}, fmt.Errorf("store: remove authenticator of %d: %w", id, translate(err))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
		return srm.User{}, err
	}
	return u, nil
}

// UseTOTPStep spends the authenticator code of time step step: it reports
// false when that step, or a later one, has been used already, so each
// code works once.
func (s *Store) UseTOTPStep(ctx context.Context, id, step int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE users SET totp_step = $2 WHERE id = $1 AND totp_step < $2`, id, step)
	if err != nil {
		return false, fmt.Errorf("store: use code of %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UseRecoveryCode spends one recovery code, given by its hash. It reports
// whether the code was valid and unused, and how many remain.
func (s *Store) UseRecoveryCode(ctx context.Context, id int64, hash string) (ok bool, remaining int, err error) {
	err = s.db.QueryRow(ctx, `
		WITH used AS (
			UPDATE recovery_codes SET used_at = now()
			WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM used),
		       (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) - (SELECT count(*) FROM used)`,
		id, hash).Scan(&ok, &remaining)
	if err != nil {
		return false, 0, fmt.Errorf("store: use recovery code of %d: %w", id, err)
	}
	return ok, remaining, nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: recovery codes of %d: %w", id, err)
	}
	return n, nil
}

// RequireMFA reports whether an admin requires everyone to use an
// authenticator.
func (s *Store) RequireMFA(ctx context.Context) (bool, error) {
	var v string
	if err := s.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'require_mfa'`).Scan(&v); err != nil {
		return false, fmt.Errorf("store: settings: %w", translate(err))
	}
	return v == "true", nil
}

// SetRequireMFA turns the requirement on or off. Turning it on ends the
// sessions of everyone without an authenticator, and any sign-in of theirs
// in flight, so from their next request they can reach nothing but
// enrolment.
func (s *Store) SetRequireMFA(ctx context.Context, on bool) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE settings SET value = $1, updated_at = now() WHERE key = 'require_mfa'`,
			fmt.Sprint(on)); err != nil {
			return fmt.Errorf("store: settings: %w", err)
		}
		if !on {
			return nil
		}
		// Raise the stamp of every account without an authenticator (in id
		// order, so two of these at once take their locks in one order).
		if _, err := tx.Exec(ctx, `
			INSERT INTO session_stamps AS st (user_id, stamp)
			SELECT id, 1 FROM users WHERE totp_secret IS NULL ORDER BY id
			ON CONFLICT (user_id) DO UPDATE SET stamp = st.stamp + 1`); err != nil {
			return fmt.Errorf("store: end sessions without an authenticator: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users WHERE totp_secret IS NULL AND EXISTS (
			SELECT 1 FROM sessions s WHERE s.user_id = users.id)`)
		if err != nil {
			return err
		}
		without, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (srm.User, error) { return scanUser(row) })
		if err != nil {
			return err
		}
		for _, u := range without {
			if err := deleteSessions(ctx, tx, u, "multi-factor authentication now required"); err != nil {
				return err
			}
		}
		return nil
	})
}

// UserByOIDC returns the user a single-sign-on provider knows as subject,
// or an error wrapping srm.ErrNotFound.
func (s *Store) UserByOIDC(ctx context.Context, issuer, subject string) (srm.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`,
		issuer, subject))
	if err != nil {
		return srm.User{}, fmt.Errorf("store: user from %s: %w", issuer, translate(err))
	}
	return u, nil
}

// CreateOIDCUser adds an account for a person a single-sign-on provider
// vouches for, keyed by u.Issuer and u.Subject, and sets u.ID.
func (s *Store) CreateOIDCUser(ctx context.Context, u *srm.User) error {
	err := s.queryRow(ctx, `
		INSERT INTO users (email, name, role, oidc_issuer, oidc_subject)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text FROM actor
		RETURNING id, created_at, version`,
		u.Email, u.Name, u.Role, u.Issuer, u.Subject).Scan(&u.ID, &u.CreatedAt, &u.Version)
	if err != nil {
		return fmt.Errorf("store: create user from %s: %w", u.Issuer, translate(err))
	}
	return nil
}

// OIDCFlow is a single-sign-on attempt in progress.
type OIDCFlow struct {
	StateHash string
	Nonce     string
	Verifier  string // PKCE code verifier
	ReturnTo  string // a path on srm
	ExpiresAt time.Time
}

// SaveOIDCFlow keeps f until it is taken or expires. Expired flows are
// cleared on the way.
func (s *Store) SaveOIDCFlow(ctx context.Context, f OIDCFlow) error {
	_, err := s.db.Exec(ctx, `
		WITH gone AS (DELETE FROM oidc_flows WHERE expires_at < now())
		INSERT INTO oidc_flows (state_hash, nonce, verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		f.StateHash, f.Nonce, f.Verifier, f.ReturnTo, f.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: save sign-in flow: %w", translate(err))
	}
	return nil
}

// TakeOIDCFlow removes and returns the unexpired flow with stateHash, so a
// state works once; an unknown or expired one is an error wrapping
// srm.ErrNotFound.
func (s *Store) TakeOIDCFlow(ctx context.Context, stateHash string) (OIDCFlow, error) {
	f := OIDCFlow{StateHash: stateHash}
	err := s.db.QueryRow(ctx, `
		DELETE FROM oidc_flows WHERE state_hash = $1
		RETURNING nonce, verifier, return_to, expires_at`, stateHash).Scan(&f.Nonce, &f.Verifier, &f.ReturnTo, &f.ExpiresAt)
	if err != nil {
		return OIDCFlow{}, fmt.Errorf("store: sign-in flow: %w", translate(err))
	}
	if time.Now().After(f.ExpiresAt) {
		return OIDCFlow{}, fmt.Errorf("store: sign-in flow expired: %w", srm.ErrNotFound)
	}
	return f, nil
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

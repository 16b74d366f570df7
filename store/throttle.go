package store

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// UnknownClient is the throttle bucket of every request whose client
// address is missing or unusable. They share it: hiding the address must
// not buy anyone a cap of their own.
const UnknownClient = "unknown"

// NotAnEmail is what the audit trail and the failure count record instead
// of a name typed at sign-in that is neither an email address nor an
// account's: most likely a password typed into the wrong field.
const NotAnEmail = "(not an email address)"

// ClientBucket is what failed sign-ins from the client at ip are counted
// under: an IPv4 address (IPv4-mapped IPv6 included) as itself, an IPv6
// address by its /64, which one subscriber or host usually holds whole,
// and anything that is not an address as UnknownClient. The audit trail
// keeps the full address; only the count is by bucket.
func ClientBucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return UnknownClient
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return UnknownClient
	}
	return p.String()
}

// lockSignIn takes, for the rest of tx, the advisory locks that serialise
// the sign-in attempts of the account key (none when key is "") and, when
// bucket is not "", of the client bucket. They are taken in the order of
// their lock numbers, as in every transaction that takes them, so two
// attempts never wait on each other in a cycle: in one statement, whose
// sorted subquery hands the numbers to pg_advisory_xact_lock in order.
func lockSignIn(ctx context.Context, tx pgx.Tx, key, bucket string) error {
	var names []string
	if key != "" {
		names = append(names, "srm sign-in "+key)
	}
	if bucket != "" {
		names = append(names, "srm sign-in client "+bucket)
	}
	_, err := tx.Exec(ctx, `
		SELECT pg_advisory_xact_lock(l)
		FROM (SELECT DISTINCT hashtextextended(n, 0) AS l FROM unnest($1::text[]) n ORDER BY l) locks`, names)
	return err
}

// LockedUntil reports when the lockout of the account key ends: window
// after the failure that locked it (BeginSignInAttempt), or the zero time
// when it is not locked.
func (s *Store) LockedUntil(ctx context.Context, key string, window time.Duration) (time.Time, error) {
	var at *time.Time
	err := s.db.QueryRow(ctx, `SELECT max(at) FROM signin_failures WHERE lower(email) = $1 AND locks AND at > $2`,
		srm.NormalizeEmail(key), time.Now().Add(-window)).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: lockout of %q: %w", key, err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return at.Add(window), nil
}

// Unlock clears the failed sign-ins of u, ending its lockout, and audits
// it as user.unlocked with how many failures were cleared.
func (s *Store) Unlock(ctx context.Context, u srm.User) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE lower(email) = lower($1)`, ThrottleKey(u))
		if err != nil {
			return fmt.Errorf("store: unlock %d: %w", u.ID, err)
		}
		return recordEvent(ctx, tx, "user.unlocked", u, map[string]any{"failures_cleared": tag.RowsAffected()})
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
	actor, _ := ActorFrom(ctx) // inTx refuses a context without one
	key, bucket := srm.NormalizeEmail(key), ClientBucket(actor.IP)
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
		err := s.write(ctx, func(b *pgx.Batch) { b.Queue(`DELETE FROM signin_failures WHERE id = $1`, attempt) })
		if err != nil {
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

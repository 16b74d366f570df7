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

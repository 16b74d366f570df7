package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// MFARequired reports whether an admin requires everyone to use an
// authenticator.
func (s *Store) MFARequired(ctx context.Context) (bool, error) {
	var v string
	if err := s.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'require_mfa'`).Scan(&v); err != nil {
		return false, fmt.Errorf("store: settings: %w", translate(err))
	}
	return v == "true", nil
}

// SetMFARequired turns the requirement on or off. Turning it on ends the
// sessions of everyone without an authenticator, and any sign-in of theirs
// in flight, so from their next request they can reach nothing but
// enrolment.
func (s *Store) SetMFARequired(ctx context.Context, on bool) error {
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

package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/srmhq/srm"
)

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
	var tag pgconn.CommandTag
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`UPDATE users SET totp_step = $2 WHERE id = $1 AND totp_step < $2`, id, step).
			Exec(func(t pgconn.CommandTag) error { tag = t; return nil })
	})
	if err != nil {
		return false, fmt.Errorf("store: use code of %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UseRecoveryCode spends one recovery code, given by its hash. It reports
// whether the code was valid and unused, and how many remain.
func (s *Store) UseRecoveryCode(ctx context.Context, id int64, hash string) (ok bool, remaining int, err error) {
	err = s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			WITH used AS (
				UPDATE recovery_codes SET used_at = now()
				WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM used),
			       (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) - (SELECT count(*) FROM used)`,
			id, hash).QueryRow(func(r pgx.Row) error { return r.Scan(&ok, &remaining) })
	})
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

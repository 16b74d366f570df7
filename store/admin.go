package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// UserSummaries returns every user, by email, with their live sessions and
// linked owner, in one query.
func (s *Store) UserSummaries(ctx context.Context) ([]srm.UserSummary, error) {
	rows, err := s.db.Query(ctx, `
		SELECT `+userColumns+`,
			(SELECT count(*) FROM sessions s WHERE s.user_id = users.id AND s.expiry > now() AND NOT users.disabled
				AND s.stamp = COALESCE((SELECT st.stamp FROM session_stamps st WHERE st.user_id = users.id), 0)),
			COALESCE(o.owner_id, 0), COALESCE(o.owner_name, ''), COALESCE(o.owner_kind, '')
		FROM users LEFT JOIN LATERAL (
			SELECT id AS owner_id, name AS owner_name, kind AS owner_kind FROM owners WHERE owners.user_id = users.id
		) o ON true
		ORDER BY lower(email), users.id`)
	if err != nil {
		return nil, fmt.Errorf("store: user summaries: %w", err)
	}
	defer rows.Close()
	var out []srm.UserSummary
	for rows.Next() {
		var us srm.UserSummary
		us.User, err = scanUser(rows, &us.Sessions, &us.Owner.ID, &us.Owner.Name, &us.Owner.Kind)
		if err != nil {
			return nil, fmt.Errorf("store: user summaries: %w", err)
		}
		out = append(out, us)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: user summaries: %w", err)
	}
	return out, nil
}

// UserDetail returns one account with its live sessions, the number of
// active admins and every owner it could be linked to, in two queries; an
// unknown id is an error wrapping srm.ErrNotFound.
func (s *Store) UserDetail(ctx context.Context, id int64) (srm.UserDetail, error) {
	var d srm.UserDetail
	var err error
	d.User, err = scanUser(s.db.QueryRow(ctx, `
		SELECT `+userColumns+`,
			(SELECT count(*) FROM sessions s WHERE s.user_id = users.id AND s.expiry > now() AND NOT users.disabled
				AND s.stamp = COALESCE((SELECT st.stamp FROM session_stamps st WHERE st.user_id = users.id), 0)),
			(SELECT count(*) FROM users a WHERE a.role = 'admin' AND NOT a.disabled)
		FROM users WHERE id = $1`, id), &d.Sessions, &d.ActiveAdmins)
	if err != nil {
		return srm.UserDetail{}, fmt.Errorf("store: user %d: %w", id, translate(err))
	}
	rows, err := s.db.Query(ctx, `
		SELECT o.id, o.name, o.kind, COALESCE(u.id, 0), COALESCE(u.email, '')
		FROM owners o LEFT JOIN users u ON u.id = o.user_id
		ORDER BY lower(o.name), o.id`)
	if err != nil {
		return srm.UserDetail{}, fmt.Errorf("store: owner links: %w", err)
	}
	d.Owners, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (srm.OwnerLink, error) {
		var l srm.OwnerLink
		err := row.Scan(&l.ID, &l.Name, &l.Kind, &l.UserID, &l.UserEmail)
		return l, err
	})
	if err != nil {
		return srm.UserDetail{}, fmt.Errorf("store: owner links: %w", err)
	}
	return d, nil
}

// LinkUserOwner makes a user the person behind an owner, replacing any
// owner the user was linked to before, in one transaction; ownerID 0 only
// unlinks. An owner linked to another user is an error wrapping
// srm.ErrConflict (unlink it there first); an unknown user or owner wraps
// srm.ErrNotFound.
func (s *Store) LinkUserOwner(ctx context.Context, userID, ownerID int64) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, userID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("user %d: %w", userID, srm.ErrNotFound)
		}
		if ownerID > 0 {
			var linked *int64
			err := tx.QueryRow(ctx, `SELECT user_id FROM owners WHERE id = $1 FOR UPDATE`, ownerID).Scan(&linked)
			if err != nil {
				return fmt.Errorf("owner %d: %w", ownerID, translate(err))
			}
			if linked != nil && *linked == userID {
				return nil // already so
			}
			if linked != nil {
				return fmt.Errorf("owner %d is linked to user %d: %w", ownerID, *linked, srm.ErrConflict)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE owners SET user_id = NULL WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if ownerID == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE owners SET user_id = $2 WHERE id = $1`, ownerID, userID)
		return translate(err)
	})
	if err != nil {
		return fmt.Errorf("store: link user %d to owner %d: %w", userID, ownerID, err)
	}
	return nil
}

package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// RecordEvent writes one audit row for an identity event, as the actor of
// ctx. details, when not nil, is kept as the event's "after" values.
func (s *Store) RecordEvent(ctx context.Context, action string, u srm.User, details map[string]any) error {
	err := s.write(ctx, func(b *pgx.Batch) {
		sql, args := eventSQL(action, u, details)
		b.Queue(sql, args...)
	})
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// recordEvent is RecordEvent in tx, a transaction of inTx's.
func recordEvent(ctx context.Context, tx pgx.Tx, action string, u srm.User, details map[string]any) error {
	sql, args := eventSQL(action, u, details)
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// eventSQL is the statement that records an identity event.
func eventSQL(action string, u srm.User, details map[string]any) (string, []any) {
	var after any
	if details != nil {
		after = details
	}
	return `SELECT audit_event($1, 'user', $2, $3, NULL, NULL, $4)`, []any{action, idText(u.ID), u.Email, after}
}

func idText(id int64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}

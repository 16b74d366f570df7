package store

import (
	"context"
	"fmt"

	"github.com/srmhq/srm"
)

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

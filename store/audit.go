package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Actor is who is acting, as the audit trail records it.
type Actor struct {
	UserID    int64  // 0 for srm itself (the command line, the demo data)
	Name      string // the email of the person, or what srm is doing
	IP        string
	UserAgent string
}

type actorKey struct{}

// WithActor returns a context whose writes are recorded in the audit
// trail as done by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx, or srm itself.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Name: "srm"}
}

// actorJSON is the actor of ctx as the audit trigger reads it from the
// transaction's srm.actor setting (migration 000005).
func actorJSON(ctx context.Context) string {
	a := ActorFrom(ctx)
	v := map[string]any{"actor": a.Name, "ip": a.IP, "ua": a.UserAgent}
	if a.UserID > 0 {
		v["user_id"] = a.UserID
	}
	b, _ := json.Marshal(v) // a map of strings and an int always encodes
	return string(b)
}

// audited makes sql an audited write. It prefixes a CTE named actor that
// sets, for this transaction only, who is acting; the actor's JSON becomes
// the last argument. sql must read from actor (INSERT … SELECT … FROM
// actor, UPDATE … FROM actor, DELETE … USING actor) so PostgreSQL evaluates
// it before any row changes, and so before the audit trigger runs at the
// end of the statement. sql may start with its own WITH.
func audited(ctx context.Context, sql string, args ...any) (string, []any) {
	head := "WITH actor AS MATERIALIZED (SELECT set_config('srm.actor', $" + strconv.Itoa(len(args)+1) + ", true) AS who)"
	sql = strings.TrimSpace(sql)
	if rest, ok := strings.CutPrefix(sql, "WITH "); ok {
		sql = head + ", " + rest
	} else {
		sql = head + " " + sql
	}
	return sql, append(args, actorJSON(ctx))
}

// exec runs an audited write (see audited).
func (s *Store) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	sql, args = audited(ctx, sql, args...)
	return s.db.Exec(ctx, sql, args...)
}

// query runs an audited write that returns rows (see audited).
func (s *Store) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	sql, args = audited(ctx, sql, args...)
	return s.db.Query(ctx, sql, args...)
}

// queryRow runs an audited write that returns one row (see audited).
func (s *Store) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	sql, args = audited(ctx, sql, args...)
	return s.db.QueryRow(ctx, sql, args...)
}

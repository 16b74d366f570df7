package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Actor is who is acting, as the audit trail records it.
type Actor struct {
	UserID    int64  // 0 for srm itself (a command, a job)
	Name      string // the email of the person, or what srm is doing
	IP        string
	UserAgent string
}

// Command is the actor of srm itself running the named command or job
// ("migrate", "seed", "demo", "user add"): "srm migrate" in the trail.
func Command(name string) Actor { return Actor{Name: "srm " + name} }

type actorKey struct{}

// WithActor returns a context whose writes are recorded in the audit
// trail as done by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx, and whether it has one (with a
// name). There is no default: a write needs one (ErrNoActor).
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok && strings.TrimSpace(a.Name) != ""
}

// ErrNoActor is returned, and nothing written, when a write's context
// names nobody to record in the audit trail: a mistake of the caller's,
// who must say who is acting with WithActor (a person, or Command for
// srm's own work).
var ErrNoActor = errors.New("store: a write without an actor (the context has no store.WithActor)")

// actorSetting is the actor of ctx as the audit triggers read it from the
// transaction's srm.actor setting (migrations 000005, 000012).
func actorSetting(ctx context.Context) (string, error) {
	a, ok := ActorFrom(ctx)
	if !ok {
		return "", ErrNoActor
	}
	v := map[string]any{"actor": a.Name, "ip": a.IP, "ua": a.UserAgent}
	if a.UserID > 0 {
		v["user_id"] = a.UserID
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("store: actor: %w", err)
	}
	return string(b), nil
}

// setActorSQL sets who is acting for the rest of the transaction. It is
// the first statement of every write; the database refuses an audited
// write without it (000012).
const setActorSQL = `SELECT set_config('srm.actor', $1, true)`

// Every write of the store goes through inTx or write, which set the
// actor of ctx for the transaction from the context; nothing rewrites a
// statement's text. (The one exception is Sessions, the scs session
// store: its table is not audited, and scs saves a session where no actor
// exists.) The two differ only in what they send:
//
//   - inTx is a transaction of several statements, some depending on what
//     the ones before returned: BEGIN, the actor, fn's statements, COMMIT.
//   - write is one round trip: the actor and the queued statements as one
//     pgx batch, which PostgreSQL runs as one implicit transaction (one
//     Sync), so the setting holds for exactly those statements. A write
//     that is a single statement (a status save, an owner added) costs
//     what it cost when the actor was spliced into its text.

// inTx runs fn in a transaction on s's database, committing when fn
// returns nil. Its writes are recorded in the audit trail as done by the
// actor of ctx; without one nothing is sent and the error is ErrNoActor.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	actor, err := actorSetting(ctx)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setActorSQL, actor); err != nil {
			return err
		}
		return fn(tx)
	})
}

// write sends the statements queue puts in a batch, after the actor of
// ctx, in one round trip and one transaction, and returns the first error
// (from the statements or from their callbacks: QueuedQuery.Query,
// QueryRow or Exec). Without an actor nothing is sent and the error is
// ErrNoActor.
func (s *Store) write(ctx context.Context, queue func(b *pgx.Batch)) error {
	actor, err := actorSetting(ctx)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(setActorSQL, actor)
	queue(b)
	return s.db.SendBatch(ctx, b).Close()
}

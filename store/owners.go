package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

type ownerRow struct {
	ID     int64
	Name   string
	Kind   string
	UserID int64 `db:"user_id"`
}

func (r ownerRow) owner() srm.Owner {
	return srm.Owner{ID: r.ID, Name: r.Name, Kind: srm.OwnerKind(r.Kind), UserID: r.UserID}
}

// Owners returns every owner, by name.
func (s *Store) Owners(ctx context.Context) ([]srm.Owner, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, kind, COALESCE(user_id, 0) AS user_id FROM owners ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("store: list owners: %w", err)
	}
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByName[ownerRow])
	if err != nil {
		return nil, fmt.Errorf("store: list owners: %w", err)
	}
	out := make([]srm.Owner, len(recs))
	for i, r := range recs {
		out[i] = r.owner()
	}
	return out, nil
}

// Owner returns the owner with the given id, or an error wrapping
// srm.ErrNotFound.
func (s *Store) Owner(ctx context.Context, id int64) (srm.Owner, error) {
	rows, _ := s.db.Query(ctx, `SELECT id, name, kind, COALESCE(user_id, 0) AS user_id FROM owners WHERE id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ownerRow])
	if err != nil {
		return srm.Owner{}, fmt.Errorf("store: owner %d: %w", id, translate(err))
	}
	return r.owner(), nil
}

// CreateOwner adds o and sets o.ID. A name already taken (ignoring case)
// is an error wrapping srm.ErrConflict.
func (s *Store) CreateOwner(ctx context.Context, o *srm.Owner) error {
	o.Name = strings.TrimSpace(o.Name)
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO owners (name, kind) VALUES ($1, $2) RETURNING id`, o.Name, o.Kind).
			QueryRow(func(r pgx.Row) error { return r.Scan(&o.ID) })
	})
	if err != nil {
		return fmt.Errorf("store: create owner %q: %w", o.Name, translate(err))
	}
	return nil
}

// EnsureOwner returns the owner named o.Name (ignoring case), creating it
// when there is none. People adding an owner inline who already exists get
// that owner, not an error.
func (s *Store) EnsureOwner(ctx context.Context, o srm.Owner) (srm.Owner, error) {
	o.Name = strings.TrimSpace(o.Name)
	// DO UPDATE (a no-op) rather than DO NOTHING so the row comes back even
	// when another request inserted it a moment earlier.
	var r ownerRow
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			INSERT INTO owners (name, kind) VALUES ($1, $2)
			ON CONFLICT (lower(name)) DO UPDATE SET name = owners.name
			RETURNING id, name, kind, COALESCE(user_id, 0) AS user_id`, o.Name, o.Kind).
			Query(func(rows pgx.Rows) (err error) {
				r, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ownerRow])
				return err
			})
	})
	if err != nil {
		return srm.Owner{}, fmt.Errorf("store: ensure owner %q: %w", o.Name, translate(err))
	}
	return r.owner(), nil
}

// EnsureOwners is EnsureOwner for many owners in one statement: each
// named owner (ignoring case), created when there is none, in the order
// of their names ignoring case (so that two saves creating the same new
// owners queue instead of deadlocking). Names repeated ignoring case are
// asked for once.
func (s *Store) EnsureOwners(ctx context.Context, owners []srm.Owner) ([]srm.Owner, error) {
	var names, kinds []string
	seen := map[string]bool{}
	for _, o := range owners {
		name := strings.TrimSpace(o.Name)
		if k := strings.ToLower(name); !seen[k] {
			seen[k] = true
			names, kinds = append(names, name), append(kinds, string(o.Kind))
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	var rs []ownerRow
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			INSERT INTO owners AS o (name, kind)
			SELECT t.name, t.kind FROM unnest($1::text[], $2::text[]) AS t (name, kind)
			ORDER BY lower(t.name)
			ON CONFLICT (lower(name)) DO UPDATE SET name = o.name
			RETURNING id, name, kind, COALESCE(user_id, 0) AS user_id`, names, kinds).
			Query(func(rows pgx.Rows) (err error) {
				rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[ownerRow])
				return err
			})
	})
	if err != nil {
		return nil, fmt.Errorf("store: ensure %d owners: %w", len(names), translate(err))
	}
	out := make([]srm.Owner, len(rs))
	for i, r := range rs {
		out[i] = r.owner()
	}
	return out, nil
}

// OwnerSummaries returns every owner with their progress across workloads,
// by name.
func (s *Store) OwnerSummaries(ctx context.Context) ([]srm.OwnerSummary, error) {
	rows, err := s.db.Query(ctx, `
		SELECT o.id, o.name, o.kind, COALESCE(t.total, 0)::int, COALESCE(t.done, 0)::int
		FROM owners o
		LEFT JOIN owner_totals t ON t.owner_id = o.id
		ORDER BY lower(o.name), o.id`)
	if err != nil {
		return nil, fmt.Errorf("store: owner summaries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (srm.OwnerSummary, error) {
		var o srm.OwnerSummary
		var kind string
		err := row.Scan(&o.ID, &o.Name, &kind, &o.Progress.Total, &o.Progress.Done)
		o.Kind = srm.OwnerKind(kind)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: owner summaries: %w", err)
	}
	return out, nil
}

// Queue returns one page of the controls the owner holds across
// workloads: open ones first, then completed, then those that no longer
// count (moved to Azure, or not applicable), each by workload and layer. It
// also returns how many there are in all and the owner's progress.
func (s *Store) Queue(ctx context.Context, ownerID int64, page, perPage int) ([]srm.QueueItem, int, srm.Progress, error) {
	if perPage <= 0 {
		perPage = 100
	}
	if page < 1 {
		page = 1
	}
	rows, _ := s.db.Query(ctx, queueSelect+`,
		       count(*) OVER () AS held, COALESCE(t.total, 0)::int AS owner_total, COALESCE(t.done, 0)::int AS owner_done
		`+queueFrom+`
		LEFT JOIN owner_totals t ON t.owner_id = s.owner_id
		WHERE s.owner_id = @owner
		`+queueOrder+`
		LIMIT @limit OFFSET @offset`,
		pgx.NamedArgs{"owner": ownerID, "layers": layerNames(), "limit": perPage, "offset": (page - 1) * perPage})
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[queueRow])
	if err != nil {
		return nil, 0, srm.Progress{}, fmt.Errorf("store: queue of owner %d: %w", ownerID, err)
	}
	var (
		held     int
		progress srm.Progress
	)
	out := make([]srm.QueueItem, len(recs))
	for i, r := range recs {
		held, progress = r.Held, srm.Progress{Done: r.OwnerDone, Total: r.OwnerTotal}
		out[i] = r.item()
	}
	return out, held, progress, nil
}

// EachQueueItem calls fn with every control owner ownerID holds, in the
// queue's order (open first, then completed, then those no longer
// counted), as PostgreSQL returns them: one statement, never the whole
// queue in memory. It stops at fn's first error and returns it.
func (s *Store) EachQueueItem(ctx context.Context, ownerID int64, fn func(srm.QueueItem) error) error {
	rows, err := s.db.Query(ctx, queueSelect+" "+queueFrom+" WHERE s.owner_id = @owner "+queueOrder,
		pgx.NamedArgs{"owner": ownerID, "layers": layerNames()})
	if err != nil {
		return fmt.Errorf("store: queue of owner %d: %w", ownerID, translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := pgx.RowToStructByNameLax[queueRow](rows)
		if err != nil {
			return fmt.Errorf("store: queue of owner %d: %w", ownerID, err)
		}
		if err := fn(r.item()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: queue of owner %d: %w", ownerID, translate(err))
	}
	return nil
}

// The queue of an owner: who carries each control, and whether it counts,
// is what the engine stored in assignments; the owner is the status's.
var (
	queueSelect = `
		SELECT s.workload_id, w.name AS workload_name, w.model, ` + prefixed("c", controlColumns) + `, c.version,
		       a.party, s.complete, s.completed_by, s.completed_at, s.not_applicable`
	queueFrom = `
		FROM statuses s
		JOIN assignments a ON a.workload_id = s.workload_id AND a.control_id = s.control_id
		JOIN workloads w ON w.id = s.workload_id
		JOIN controls c ON c.id = s.control_id`
	queueOrder = `
		ORDER BY NOT a.counted, a.done, lower(w.name), s.workload_id,
		         array_position(@layers::text[], c.layer), c.position, c.id`
)

type queueRow struct {
	WorkloadID   int64
	WorkloadName string
	Model        string
	controlRow
	Party         string
	Complete      bool
	CompletedBy   string
	CompletedAt   *time.Time
	NotApplicable bool
	Held          int
	OwnerTotal    int
	OwnerDone     int
}

func (r queueRow) item() srm.QueueItem {
	q := srm.QueueItem{WorkloadID: r.WorkloadID, WorkloadName: r.WorkloadName, Model: srm.ServiceModel(r.Model),
		Control: r.control(), Party: srm.Party(r.Party), Complete: r.Complete, CompletedBy: r.CompletedBy,
		NotApplicable: r.NotApplicable}
	if r.CompletedAt != nil {
		q.CompletedAt = *r.CompletedAt
	}
	return q
}

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

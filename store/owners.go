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
	ID   int64
	Name string
	Kind string
}

func (r ownerRow) owner() srm.Owner {
	return srm.Owner{ID: r.ID, Name: r.Name, Kind: srm.OwnerKind(r.Kind)}
}

// Owners returns every owner, by name.
func (s *Store) Owners(ctx context.Context) ([]srm.Owner, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, kind FROM owners ORDER BY lower(name), id`)
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
	rows, _ := s.db.Query(ctx, `SELECT id, name, kind FROM owners WHERE id = $1`, id)
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
	err := s.db.QueryRow(ctx, `INSERT INTO owners (name, kind) VALUES ($1, $2) RETURNING id`,
		o.Name, o.Kind).Scan(&o.ID)
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
	rows, _ := s.db.Query(ctx, `
		INSERT INTO owners (name, kind) VALUES ($1, $2)
		ON CONFLICT (lower(name)) DO UPDATE SET name = owners.name
		RETURNING id, name, kind`, o.Name, o.Kind)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[ownerRow])
	if err != nil {
		return srm.Owner{}, fmt.Errorf("store: ensure owner %q: %w", o.Name, translate(err))
	}
	return r.owner(), nil
}

// OwnerSummaries returns every owner with their progress across workloads,
// by name.
func (s *Store) OwnerSummaries(ctx context.Context) ([]srm.OwnerSummary, error) {
	rows, err := s.db.Query(ctx, `
		SELECT o.id, o.name, o.kind,
		       count(a.control_id) FILTER (WHERE a.party <> 'provider' AND NOT a.not_applicable) AS total,
		       count(a.control_id) FILTER (WHERE a.party <> 'provider' AND NOT a.not_applicable AND a.complete) AS done
		FROM owners o
		LEFT JOIN assignments a ON a.owner_id = o.id
		GROUP BY o.id
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

// Queue returns every control the owner holds across workloads: open ones
// first, then completed, by workload and layer. Items that no longer count
// (moved to Azure, or not applicable) are included; callers show them apart.
func (s *Store) Queue(ctx context.Context, ownerID int64) ([]srm.QueueItem, error) {
	rows, err := s.db.Query(ctx, `
		SELECT a.workload_id, w.name, w.model, `+prefixed("c", controlColumns)+`,
		       a.party, a.complete, st.completed_by, st.completed_at, a.not_applicable
		FROM assignments a
		JOIN workloads w ON w.id = a.workload_id
		JOIN controls c ON c.id = a.control_id
		JOIN statuses st ON st.workload_id = a.workload_id AND st.control_id = a.control_id
		WHERE a.owner_id = $1
		ORDER BY a.complete, lower(w.name), w.id,
		         array_position(ARRAY['physical','identity','perimeter','network','compute','application','data'], c.layer),
		         c.position, c.id`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("store: queue of owner %d: %w", ownerID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (srm.QueueItem, error) {
		var q srm.QueueItem
		var c controlRow
		var model, party string
		var at *time.Time
		err := row.Scan(&q.WorkloadID, &q.WorkloadName, &model,
			&c.ID, &c.Layer, &c.Area, &c.Title, &c.Description, &c.CustomerPart, &c.ProviderPart, &c.Builtin,
			&party, &q.Complete, &q.CompletedBy, &at, &q.NotApplicable)
		q.Model, q.Party, q.Control = srm.ServiceModel(model), srm.Party(party), c.control()
		if at != nil {
			q.CompletedAt = *at
		}
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: queue of owner %d: %w", ownerID, err)
	}
	return out, nil
}

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

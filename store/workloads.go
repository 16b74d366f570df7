package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

type workloadRow struct {
	ID          int64
	Name        string
	Description string
	Model       string
	BaselineID  int64
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (r workloadRow) workload() srm.Workload {
	return srm.Workload{ID: r.ID, Name: r.Name, Description: r.Description, Model: srm.ServiceModel(r.Model),
		BaselineID: r.BaselineID, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

const workloadColumns = `id, name, description, model, baseline_id, version, created_at, updated_at`

// Workload returns the workload with the given id, or an error wrapping
// srm.ErrNotFound.
func (s *Store) Workload(ctx context.Context, id int64) (srm.Workload, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+workloadColumns+` FROM workloads WHERE id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[workloadRow])
	if err != nil {
		return srm.Workload{}, fmt.Errorf("store: workload %d: %w", id, translate(err))
	}
	return r.workload(), nil
}

// CreateWorkload registers w and sets its ID, Version and times. A name
// already taken (ignoring case) is an error wrapping srm.ErrConflict; an
// unknown baseline one wrapping srm.ErrNotFound.
func (s *Store) CreateWorkload(ctx context.Context, w *srm.Workload) error {
	err := s.queryRow(ctx, `
		INSERT INTO workloads (name, description, model, baseline_id)
		SELECT $1::text, $2::text, $3::text, $4::bigint FROM actor
		RETURNING id, version, created_at, updated_at`,
		w.Name, w.Description, w.Model, w.BaselineID).Scan(&w.ID, &w.Version, &w.CreatedAt, &w.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: create workload %q: %w", w.Name, translate(err))
	}
	return nil
}

// UpdateWorkload saves every field of w if the stored workload is still at
// w.Version; otherwise nothing changes, the error wraps srm.ErrStale
// (someone saved it in between) and the workload returned is the one stored
// now. Statuses are never touched, so the work on controls that stay
// the customer's is kept, and the work on controls that moved to the
// provider is there again if they move back. A name taken by another
// workload is an error wrapping srm.ErrConflict.
func (s *Store) UpdateWorkload(ctx context.Context, w srm.Workload) (srm.Workload, error) {
	tag, err := s.exec(ctx, `
		UPDATE workloads SET name = $2, description = $3, model = $4, baseline_id = $5,
			version = version + 1, updated_at = now()
		FROM actor
		WHERE id = $1 AND version = $6`,
		w.ID, w.Name, w.Description, w.Model, w.BaselineID, w.Version)
	if err != nil {
		return srm.Workload{}, fmt.Errorf("store: update workload %d: %w", w.ID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		cur, err := s.Workload(ctx, w.ID)
		if err != nil {
			return srm.Workload{}, err
		}
		return cur, fmt.Errorf("store: update workload %d from version %d: %w", w.ID, w.Version, srm.ErrStale)
	}
	w.Version++
	return w, nil
}

// DeleteWorkload removes a workload with its statuses and overrides.
func (s *Store) DeleteWorkload(ctx context.Context, id int64) error {
	tag, err := s.exec(ctx, `DELETE FROM workloads USING actor WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete workload %d: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: delete workload %d: %w", id, srm.ErrNotFound)
	}
	return nil
}

// WorkloadSort orders the workload list.
type WorkloadSort string

// The orders the list offers.
const (
	ByName         WorkloadSort = "name"
	ByProgress     WorkloadSort = "progress"
	ByProgressDesc WorkloadSort = "-progress"
)

// WorkloadQuery selects a page of the workload list.
type WorkloadQuery struct {
	Model   srm.ServiceModel // "" for every model
	Sort    WorkloadSort
	Page    int // from 1
	PerPage int
}

// WorkloadPage is one page of the workload list and the size of the whole.
type WorkloadPage struct {
	Items []srm.WorkloadSummary
	Total int // workloads that match the filter, on every page
}

// Workloads returns one page of workloads with their progress, computed in
// PostgreSQL by the counting rule. Progress sorts by percentage complete,
// then by name; workloads with nothing to count sort as 0%.
func (s *Store) Workloads(ctx context.Context, q WorkloadQuery) (WorkloadPage, error) {
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	if q.Page < 1 {
		q.Page = 1
	}
	// order is one of these constants, never input; each is served by an
	// index on workloads, so a page reads 50 rows whatever the portfolio size.
	order := "lower(w.name), w.id"
	switch q.Sort {
	case ByProgress:
		order = "w.pct, lower(w.name), w.id"
	case ByProgressDesc:
		order = "w.pct DESC, lower(w.name), w.id"
	}
	// Two shapes of query rather than "$1 = '' OR model = $1", so that a
	// cached generic plan still uses the model's index.
	where, args := "", []any{q.PerPage, (q.Page - 1) * q.PerPage}
	if q.Model != "" {
		where, args = "WHERE w.model = $3", append(args, string(q.Model))
	}
	rows, _ := s.db.Query(ctx, `
		SELECT w.id, w.name, w.description, w.model, w.baseline_id, w.version, w.created_at, w.updated_at,
		       b.name AS baseline_name, w.done, w.total
		FROM workloads w
		JOIN baselines b ON b.id = w.baseline_id
		`+where+`
		ORDER BY `+order+`
		LIMIT $1 OFFSET $2`, args...)
	type summaryRow struct {
		workloadRow
		BaselineName string
		Done         int
		Total        int
	}
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByName[summaryRow])
	if err != nil {
		return WorkloadPage{}, fmt.Errorf("store: list workloads: %w", err)
	}
	page := WorkloadPage{Items: make([]srm.WorkloadSummary, len(recs))}
	for i, r := range recs {
		page.Items[i] = srm.WorkloadSummary{Workload: r.workload(), BaselineName: r.BaselineName,
			Progress: srm.Progress{Done: r.Done, Total: r.Total}}
	}
	// The count comes from the summary's shards: 64 small rows, not a scan.
	err = s.db.QueryRow(ctx, `
		SELECT COALESCE(sum(workloads), 0)::int FROM portfolio_shards
		WHERE layer = 'physical' AND (model = $1 OR $1 = '')`, string(q.Model)).Scan(&page.Total)
	if err != nil {
		return WorkloadPage{}, fmt.Errorf("store: count workloads: %w", err)
	}
	return page, nil
}

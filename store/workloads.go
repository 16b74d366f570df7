package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// CreateWorkload registers w and sets its ID, Version and times, with the
// engine's assignment of every control of its frameworks: w.Frameworks, or
// the default ones (srm's own catalog) when it names none; w.Frameworks
// is set to those. An unknown framework is an error wrapping
// srm.ErrNotFound. A name already taken (ignoring
// case) is an error wrapping srm.ErrConflict; an unknown baseline one
// wrapping srm.ErrNotFound.
func (s *Store) CreateWorkload(ctx context.Context, w *srm.Workload) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cat, err := s.holdCatalog(ctx, tx)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO workloads (name, description, model, baseline_id)
			VALUES (@name, @description, @model, @baseline)
			RETURNING id, version, created_at, updated_at`,
			pgx.NamedArgs{"name": w.Name, "description": w.Description, "model": string(w.Model), "baseline": w.BaselineID},
		).Scan(&w.ID, &w.Version, &w.CreatedAt, &w.UpdatedAt)
		if err != nil {
			return err
		}
		if w.Frameworks, err = attachOnCreate(ctx, tx, cat, w.ID, w.Frameworks); err != nil {
			return err
		}
		return reassess(ctx, tx, cat, []int64{w.ID}, nil, true)
	})
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
// provider is there again if they move back. A new model or baseline
// reassesses every control of the workload. A name taken by another
// workload is an error wrapping srm.ErrConflict.
func (s *Store) UpdateWorkload(ctx context.Context, w srm.Workload) (srm.Workload, error) {
	var saved bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cat, err := s.holdCatalog(ctx, tx)
		if err != nil {
			return err
		}
		var moved bool
		err = tx.QueryRow(ctx, `
			UPDATE workloads w SET name = @name, description = @description, model = @model, baseline_id = @baseline,
				version = w.version + 1, updated_at = now()
			FROM (SELECT model, baseline_id FROM workloads WHERE id = @id) AS was
			WHERE w.id = @id AND w.version = @version
			RETURNING (was.model, was.baseline_id) IS DISTINCT FROM (w.model, w.baseline_id)`,
			pgx.NamedArgs{"id": w.ID, "name": w.Name, "description": w.Description, "model": string(w.Model),
				"baseline": w.BaselineID, "version": w.Version},
		).Scan(&moved)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // stale, or gone: read below
		}
		if err != nil {
			return err
		}
		saved = true
		if !moved {
			return nil
		}
		return reassess(ctx, tx, cat, []int64{w.ID}, nil, false)
	})
	if err != nil {
		return srm.Workload{}, fmt.Errorf("store: update workload %d: %w", w.ID, translate(err))
	}
	if !saved {
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
	var tag pgconn.CommandTag
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`DELETE FROM workloads WHERE id = $1`, id).Exec(func(t pgconn.CommandTag) error { tag = t; return nil })
	})
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
	Model srm.ServiceModel // "" for every model
	// Framework is a framework's slug: only the workloads held to it ("" for
	// every workload; a slug no framework has matches none).
	Framework string
	Sort      WorkloadSort
	Page      int // from 1; used when neither After nor Before is set
	PerPage   int
	// After and Before page by keyset, the way the list's own links do:
	// the page that follows the workload After, or precedes the workload
	// Before, in the chosen order. Each page then costs what the first
	// does, however deep. A workload that no longer exists gives an empty
	// page.
	After, Before int64
	// NoCount leaves out the count of the whole list (WorkloadList.Total is
	// then 0): for walking every page by keyset, as an export does, where
	// counting again for each page is wasted work.
	NoCount bool
}

// WorkloadList is one page of the workload list and the size of the whole
// list (not to be confused with views.WorkloadPage, the page of one workload).
type WorkloadList struct {
	Items []srm.WorkloadSummary
	Total int // workloads that match the filter, on every page
}

// sortKeys are the columns of each order, as expressions of a workloads
// row named by %[1]s; each order is an index on workloads (migrations
// 000003 and 000006). Progress descending sorts by -pct so that its keys all
// ascend and a keyset page is one row comparison on the index.
var sortKeys = map[WorkloadSort][]string{
	ByName:         {"lower(%[1]s.name)", "%[1]s.id"},
	ByProgress:     {"%[1]s.pct", "lower(%[1]s.name)", "%[1]s.id"},
	ByProgressDesc: {"-%[1]s.pct", "lower(%[1]s.name)", "%[1]s.id"},
}

// keyOf lists the keys of an order for the row named alias, each followed
// by suffix (" DESC" to reverse it).
func keyOf(sort WorkloadSort, alias, suffix string) string {
	keys := sortKeys[sort]
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(k, alias) + suffix
	}
	return strings.Join(parts, ", ")
}

// Workloads returns one page of workloads with their progress, computed in
// PostgreSQL by the counting rule. Progress sorts by percentage complete,
// then by name; workloads with nothing to count sort as 0%.
func (s *Store) Workloads(ctx context.Context, q WorkloadQuery) (WorkloadList, error) {
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	if q.Page < 1 {
		q.Page = 1
	}
	if _, ok := sortKeys[q.Sort]; !ok {
		q.Sort = ByName
	}
	// Every piece of SQL below is one of these constants, never input.
	// Two shapes of filter rather than "$1 = '' OR model = $1", so that a
	// cached generic plan still uses the model's index.
	var (
		where []string
		args  = []any{q.PerPage}
		order = keyOf(q.Sort, "w", "")
		tail  = ""
	)
	if q.Model != "" {
		args = append(args, string(q.Model))
		where = append(where, fmt.Sprintf("w.model = $%d", len(args)))
	}
	if q.Framework != "" {
		args = append(args, q.Framework)
		where = append(where, fmt.Sprintf(`EXISTS (SELECT 1 FROM public.workload_frameworks wf
			JOIN public.frameworks f ON f.id = wf.framework_id WHERE wf.workload_id = w.id AND f.slug = $%d)`, len(args)))
	}
	switch {
	case q.After > 0:
		args = append(args, q.After)
		where = append(where, fmt.Sprintf("(%s) > (SELECT %s FROM workloads k WHERE k.id = $%d)",
			keyOf(q.Sort, "w", ""), keyOf(q.Sort, "k", ""), len(args)))
	case q.Before > 0:
		// The page before, read backwards and turned round below.
		args = append(args, q.Before)
		where = append(where, fmt.Sprintf("(%s) < (SELECT %s FROM workloads k WHERE k.id = $%d)",
			keyOf(q.Sort, "w", ""), keyOf(q.Sort, "k", ""), len(args)))
		order = keyOf(q.Sort, "w", " DESC")
	default:
		args = append(args, (q.Page-1)*q.PerPage)
		tail = fmt.Sprintf(" OFFSET $%d", len(args))
	}
	filter := ""
	if len(where) > 0 {
		filter = "WHERE " + strings.Join(where, " AND ")
	}
	// One statement: the count (from the summary's shards: 64 small rows,
	// not a scan; held to a framework: its rows of workload_frameworks, by
	// their index) joined to the page, so an empty page still says how many
	// workloads match. The page's columns are never NULL on a real row.
	var count string
	if q.NoCount {
		count = `SELECT 0 AS matching`
	} else if q.Framework == "" {
		args = append(args, countedLayer, string(q.Model))
		count = `SELECT COALESCE(sum(workloads), 0)::int AS matching FROM portfolio_shards
		      WHERE layer = $` + strconv.Itoa(len(args)-1) + ` AND (model = $` + strconv.Itoa(len(args)) + ` OR $` + strconv.Itoa(len(args)) + ` = '')`
	} else if q.Model == "" {
		args = append(args, q.Framework)
		count = `SELECT count(*)::int AS matching FROM public.workload_frameworks cf
		      JOIN public.frameworks f ON f.id = cf.framework_id WHERE f.slug = $` + strconv.Itoa(len(args))
	} else {
		args = append(args, q.Framework, string(q.Model))
		count = `SELECT count(*)::int AS matching FROM public.workload_frameworks cf
		      JOIN public.frameworks f ON f.id = cf.framework_id JOIN public.workloads cw ON cw.id = cf.workload_id
		      WHERE f.slug = $` + strconv.Itoa(len(args)-1) + ` AND cw.model = $` + strconv.Itoa(len(args))
	}
	rows, err := s.db.Query(ctx, `
		SELECT n.matching, COALESCE(p.id, 0), COALESCE(p.name, ''), COALESCE(p.description, ''),
		       COALESCE(p.model, ''), COALESCE(p.baseline_id, 0), COALESCE(p.version, 0),
		       COALESCE(p.created_at, now()), COALESCE(p.updated_at, now()),
		       COALESCE(p.baseline_name, ''), COALESCE(p.done, 0), COALESCE(p.total, 0)
		FROM (`+count+`) n
		LEFT JOIN LATERAL (
			SELECT w.id, w.name, w.description, w.model, w.baseline_id, w.version, w.created_at, w.updated_at,
			       b.name AS baseline_name, w.done, w.total, w.n
			FROM (SELECT w.*, row_number() OVER (ORDER BY `+order+`) AS n
			      FROM workloads w `+filter+` ORDER BY `+order+` LIMIT $1`+tail+`) w
			JOIN baselines b ON b.id = w.baseline_id
		) p ON true
		ORDER BY p.n`, args...)
	if err != nil {
		return WorkloadList{}, fmt.Errorf("store: list workloads: %w", err)
	}
	var (
		page WorkloadList
		r    workloadRow
		name string
		pr   srm.Progress
	)
	_, err = pgx.ForEachRow(rows, []any{&page.Total, &r.ID, &r.Name, &r.Description, &r.Model, &r.BaselineID,
		&r.Version, &r.CreatedAt, &r.UpdatedAt, &name, &pr.Done, &pr.Total}, func() error {
		if r.ID != 0 {
			page.Items = append(page.Items, srm.WorkloadSummary{Workload: r.workload(), BaselineName: name, Progress: pr})
		}
		return nil
	})
	if err != nil {
		return WorkloadList{}, fmt.Errorf("store: list workloads: %w", err)
	}
	if q.After <= 0 && q.Before > 0 {
		slices.Reverse(page.Items)
	}
	return page, nil
}

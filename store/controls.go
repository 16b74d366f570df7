package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// controlRow mirrors a row of the controls table, as pgx scans it (by
// field name) and as loadCatalog decodes it from JSON.
type controlRow struct {
	ID           int64  `json:"id"`
	Layer        string `json:"layer"`
	Area         string `json:"area"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	CustomerPart string `json:"customer_part"`
	ProviderPart string `json:"provider_part"`
	Builtin      bool   `json:"builtin"`
	Version      int64  `json:"version"`
	Moved        bool   `json:"-" db:"moved"` // UpdateControl: its layer or area changed
	// Framework columns (migration 000013), read by loadCatalog only.
	FrameworkID   int64   `json:"framework_id" db:"-"`
	Ref           *string `json:"ref" db:"-"`
	OSCALID       string  `json:"oscal_id" db:"-"`
	Family        string  `json:"family" db:"-"`
	ParentRef     string  `json:"parent_ref" db:"-"`
	Guidance      string  `json:"guidance" db:"-"`
	Reading       string  `json:"reading" db:"-"`
	ReadingReason string  `json:"reading_reason" db:"-"`
	DefaultArea   *string `json:"default_area" db:"-"`
	DefaultLayer  *string `json:"default_layer" db:"-"`
}

func (r controlRow) control() srm.Control {
	c := srm.Control{ID: r.ID, Layer: srm.Layer(r.Layer), Area: srm.Area(r.Area), Title: r.Title,
		Description: r.Description, CustomerPart: r.CustomerPart, ProviderPart: r.ProviderPart, Builtin: r.Builtin, Version: r.Version,
		FrameworkID: r.FrameworkID, OSCALID: r.OSCALID, Family: r.Family, Parent: r.ParentRef, Guidance: r.Guidance,
		Reading: r.Reading, ReadingReason: r.ReadingReason}
	if r.Ref != nil {
		c.Ref = *r.Ref
	}
	if r.DefaultArea != nil {
		c.DefaultArea = srm.Area(*r.DefaultArea)
	}
	if r.DefaultLayer != nil {
		c.DefaultLayer = srm.Layer(*r.DefaultLayer)
	}
	return c
}

const controlColumns = `id, layer, area, title, description, customer_part, provider_part, builtin`

// Controls returns the whole catalog, ordered by layer from the outside in,
// built-in controls first in their catalog order, then custom ones by title.
func (s *Store) Controls(ctx context.Context) ([]srm.Control, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Controls(), nil
}

// CreateControl adds a custom control to the catalog and sets c.ID, and
// assesses it for every workload. A title already used in the same layer is
// an error wrapping srm.ErrConflict.
func (s *Store) CreateControl(ctx context.Context, c *srm.Control) error {
	err := s.changeCatalog(ctx, everyWorkload, func(tx pgx.Tx) ([]int64, error) {
		err := tx.QueryRow(ctx, `
			INSERT INTO controls (layer, area, title, description, customer_part, provider_part, builtin, framework_id)
			VALUES (@layer, @area, @title, @description, @customer_part, @provider_part, false,
			        (SELECT id FROM frameworks WHERE slug = '`+srm.SRMFramework+`'))
			RETURNING id, version, framework_id`,
			pgx.NamedArgs{"layer": string(c.Layer), "area": string(c.Area), "title": c.Title, "description": c.Description,
				"customer_part": c.CustomerPart, "provider_part": c.ProviderPart}).Scan(&c.ID, &c.Version, &c.FrameworkID)
		return []int64{c.ID}, err
	})
	if err != nil {
		return fmt.Errorf("store: create control %q: %w", c.Title, translate(err))
	}
	return nil
}

// UpdateControl changes a custom control if it is still at c.Version;
// otherwise nothing changes, the error wraps srm.ErrStale and the control
// returned is the one stored now. Moving it to another layer or area
// reassesses it for every workload. Built-in controls are not editable:
// the error wraps srm.ErrNotFound for them and for unknown ids.
func (s *Store) UpdateControl(ctx context.Context, c srm.Control) (srm.Control, error) {
	var saved *controlRow
	// Words change no one's progress; a new layer or area does.
	moves := func(tx pgx.Tx) (bool, error) {
		var moved bool
		err := tx.QueryRow(ctx, `SELECT (layer, area) IS DISTINCT FROM (@layer, @area) FROM controls WHERE id = @id`,
			pgx.NamedArgs{"id": c.ID, "layer": string(c.Layer), "area": string(c.Area)}).Scan(&moved)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return moved, err
	}
	err := s.changeCatalog(ctx, moves, func(tx pgx.Tx) ([]int64, error) {
		rows, _ := tx.Query(ctx, `
			UPDATE controls c SET layer = @layer, area = @area, title = @title, description = @description,
				customer_part = @customer_part, provider_part = @provider_part, version = c.version + 1
			FROM (SELECT layer, area FROM controls WHERE id = @id) AS was
			WHERE c.id = @id AND NOT c.builtin AND c.version = @version
			RETURNING `+prefixed("c", controlColumns)+`, c.version, (was.layer, was.area) IS DISTINCT FROM (c.layer, c.area) AS moved`,
			pgx.NamedArgs{"id": c.ID, "layer": string(c.Layer), "area": string(c.Area), "title": c.Title,
				"description": c.Description, "customer_part": c.CustomerPart, "provider_part": c.ProviderPart,
				"version": c.Version})
		r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByNameLax[controlRow])
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		saved = &r
		if !r.Moved {
			return nil, nil
		}
		return []int64{r.ID}, nil
	})
	switch {
	case err != nil:
		return srm.Control{}, fmt.Errorf("store: update control %d: %w", c.ID, translate(err))
	case saved != nil:
		return saved.control(), nil
	}
	// Not saved: someone saved it in between, or there is no such custom
	// control. Read it as it is now.
	rows, _ := s.db.Query(ctx, `SELECT `+controlColumns+`, version FROM controls WHERE id = $1 AND NOT builtin`, c.ID)
	cur, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByNameLax[controlRow])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return srm.Control{}, fmt.Errorf("store: update control %d: %w", c.ID, srm.ErrNotFound)
	case err != nil:
		return srm.Control{}, fmt.Errorf("store: update control %d: %w", c.ID, translate(err))
	}
	return cur.control(), fmt.Errorf("store: update control %d from version %d: %w", c.ID, c.Version, srm.ErrStale)
}

// DeleteControl removes a custom control with its statuses, overrides and
// assignments. Built-in controls cannot be deleted: the error wraps
// srm.ErrNotFound.
func (s *Store) DeleteControl(ctx context.Context, id int64) error {
	// The cascade takes the control's rows off every workload's summary:
	// hold the workloads first, as every writer of assignments does.
	err := s.changeCatalog(ctx, everyWorkload, func(tx pgx.Tx) ([]int64, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM controls WHERE id = $1 AND NOT builtin`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = srm.ErrNotFound
		}
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("store: delete control %d: %w", id, translate(err))
	}
	return nil
}

// changeCatalog runs write in a transaction that holds the catalog lock,
// then assesses, for every workload, the controls whose ids write returns.
// When moves says so, every workload row is held too, in id order, before
// write (store/assess.go); write returns ids only then.
func (s *Store) changeCatalog(ctx context.Context, moves func(tx pgx.Tx) (bool, error), write func(tx pgx.Tx) ([]int64, error)) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockCatalog(ctx, tx); err != nil {
			return err
		}
		held, err := moves(tx)
		if err != nil {
			return err
		}
		if held {
			if err := lockWorkloads(ctx, tx); err != nil {
				return err
			}
		}
		ids, err := write(tx)
		if err != nil || len(ids) == 0 {
			return err
		}
		if !held {
			return fmt.Errorf("assess controls %v: the workloads are not held", ids)
		}
		cat, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		var only []srm.Control
		for _, id := range ids {
			if c, ok := cat.Control(id); ok {
				only = append(only, c)
			}
		}
		return reassess(ctx, tx, cat, nil, only, false)
	})
}

// everyWorkload is the moves of a change that moves assignments whatever it is.
func everyWorkload(pgx.Tx) (bool, error) { return true, nil }

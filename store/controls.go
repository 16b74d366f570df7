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
}

func (r controlRow) control() srm.Control {
	return srm.Control{ID: r.ID, Layer: srm.Layer(r.Layer), Area: srm.Area(r.Area), Title: r.Title,
		Description: r.Description, CustomerPart: r.CustomerPart, ProviderPart: r.ProviderPart, Builtin: r.Builtin, Version: r.Version}
}

const controlColumns = `id, layer, area, title, description, customer_part, provider_part, builtin`

// layerOrder sorts by the rings from the outside in.
const layerOrder = `array_position(ARRAY['physical','identity','perimeter','network','compute','application','data'], layer)`

// Controls returns the whole catalog, ordered by layer from the outside in,
// built-in controls first in their catalog order, then custom ones by title.
func (s *Store) Controls(ctx context.Context) ([]srm.Control, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Controls, nil
}

// Control returns the control with the given id, or an error wrapping
// srm.ErrNotFound.
func (s *Store) Control(ctx context.Context, id int64) (srm.Control, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return srm.Control{}, err
	}
	if c, ok := cat.Control(id); ok {
		return c, nil
	}
	return srm.Control{}, fmt.Errorf("store: control %d: %w", id, srm.ErrNotFound)
}

// CreateControl adds a custom control to the catalog and sets c.ID. A title
// already used in the same layer is an error wrapping srm.ErrConflict.
func (s *Store) CreateControl(ctx context.Context, c *srm.Control) error {
	err := s.queryRow(ctx, `
		INSERT INTO controls (layer, area, title, description, customer_part, provider_part, builtin)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, false FROM actor
		RETURNING id, version`,
		c.Layer, c.Area, c.Title, c.Description, c.CustomerPart, c.ProviderPart).Scan(&c.ID, &c.Version)
	if err != nil {
		return fmt.Errorf("store: create control %q: %w", c.Title, translate(err))
	}
	return nil
}

// UpdateControl changes a custom control if it is still at c.Version;
// otherwise nothing changes, the error wraps srm.ErrStale and the control
// returned is the one stored now. Built-in controls are not editable: the
// error wraps srm.ErrNotFound for them and for unknown ids.
func (s *Store) UpdateControl(ctx context.Context, c srm.Control) (srm.Control, error) {
	rows, _ := s.query(ctx, `
		UPDATE controls SET layer = $2, area = $3, title = $4, description = $5,
			customer_part = $6, provider_part = $7, version = version + 1
		FROM actor
		WHERE id = $1 AND NOT builtin AND version = $8
		RETURNING `+prefixed("controls", controlColumns)+`, controls.version`,
		c.ID, c.Layer, c.Area, c.Title, c.Description, c.CustomerPart, c.ProviderPart, c.Version)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[controlRow])
	switch {
	case err == nil:
		return r.control(), nil
	case !errors.Is(err, pgx.ErrNoRows):
		return srm.Control{}, fmt.Errorf("store: update control %d: %w", c.ID, translate(err))
	}
	// Not saved: someone saved it in between, or there is no such custom
	// control. Read it as it is now.
	rows, _ = s.db.Query(ctx, `SELECT `+controlColumns+`, version FROM controls WHERE id = $1 AND NOT builtin`, c.ID)
	cur, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[controlRow])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return srm.Control{}, fmt.Errorf("store: update control %d: %w", c.ID, srm.ErrNotFound)
	case err != nil:
		return srm.Control{}, fmt.Errorf("store: update control %d: %w", c.ID, translate(err))
	}
	return cur.control(), fmt.Errorf("store: update control %d from version %d: %w", c.ID, c.Version, srm.ErrStale)
}

// DeleteControl removes a custom control with its statuses and overrides.
// Built-in controls cannot be deleted: the error wraps srm.ErrNotFound.
func (s *Store) DeleteControl(ctx context.Context, id int64) error {
	tag, err := s.exec(ctx, `DELETE FROM controls USING actor WHERE id = $1 AND NOT builtin`, id)
	if err != nil {
		return fmt.Errorf("store: delete control %d: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: delete control %d: %w", id, srm.ErrNotFound)
	}
	return nil
}

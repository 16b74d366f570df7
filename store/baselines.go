package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

type baselineRow struct {
	ID          int64
	Slug        string
	Name        string
	Source      string
	SourceURL   string
	AsOf        string
	Description string
}

type chartRow struct {
	BaselineID int64
	Area       string
	Label      string
	InSource   bool
	Note       string
	Onprem     string
	Iaas       string
	Paas       string
	Saas       string
}

func (r chartRow) row() srm.Row {
	return srm.Row{
		Area:     srm.Area(r.Area),
		Label:    r.Label,
		InSource: r.InSource,
		Note:     r.Note,
		Cells: map[srm.ServiceModel]srm.Party{
			srm.OnPrem: srm.Party(r.Onprem),
			srm.IaaS:   srm.Party(r.Iaas),
			srm.PaaS:   srm.Party(r.Paas),
			srm.SaaS:   srm.Party(r.Saas),
		},
	}
}

// Baselines returns every baseline with its rows, in the order they are
// offered to people.
func (s *Store) Baselines(ctx context.Context) ([]srm.Baseline, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id, slug, name, source, source_url, as_of, description
		FROM baselines ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list baselines: %w", err)
	}
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByName[baselineRow])
	if err != nil {
		return nil, fmt.Errorf("store: list baselines: %w", err)
	}
	rows, err = s.db.Query(ctx, `
		SELECT baseline_id, area, label, in_source, note, onprem, iaas, paas, saas
		FROM baseline_rows ORDER BY baseline_id, position, area`)
	if err != nil {
		return nil, fmt.Errorf("store: list baseline rows: %w", err)
	}
	cells, err := pgx.CollectRows(rows, pgx.RowToStructByName[chartRow])
	if err != nil {
		return nil, fmt.Errorf("store: list baseline rows: %w", err)
	}
	out := make([]srm.Baseline, len(recs))
	index := make(map[int64]int, len(recs))
	for i, r := range recs {
		out[i] = srm.Baseline{ID: r.ID, Slug: r.Slug, Name: r.Name, Source: r.Source,
			SourceURL: r.SourceURL, AsOf: r.AsOf, Description: r.Description}
		index[r.ID] = i
	}
	for _, c := range cells {
		i := index[c.BaselineID]
		out[i].Rows = append(out[i].Rows, c.row())
	}
	return out, nil
}

// Baseline returns the baseline with the given id, or an error wrapping
// srm.ErrNotFound.
func (s *Store) Baseline(ctx context.Context, id int64) (srm.Baseline, error) {
	all, err := s.Baselines(ctx)
	if err != nil {
		return srm.Baseline{}, err
	}
	for _, b := range all {
		if b.ID == id {
			return b, nil
		}
	}
	return srm.Baseline{}, fmt.Errorf("store: baseline %d: %w", id, srm.ErrNotFound)
}

// Areas returns every responsibility area, in the order of the chart.
func (s *Store) Areas(ctx context.Context) ([]srm.AreaInfo, error) {
	rows, err := s.db.Query(ctx, `SELECT slug, name FROM areas ORDER BY position, slug`)
	if err != nil {
		return nil, fmt.Errorf("store: list areas: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (srm.AreaInfo, error) {
		var a srm.AreaInfo
		err := row.Scan(&a.Slug, &a.Name)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list areas: %w", err)
	}
	return out, nil
}

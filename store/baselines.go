package store

import (
	"context"
	"fmt"

	"github.com/srmhq/srm"
)

// Baselines returns every baseline with its rows, in the order they are
// offered to people.
func (s *Store) Baselines(ctx context.Context) ([]srm.Baseline, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Baselines(), nil
}

// Baseline returns the baseline with the given id, or an error wrapping
// srm.ErrNotFound.
func (s *Store) Baseline(ctx context.Context, id int64) (srm.Baseline, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return srm.Baseline{}, err
	}
	if b, ok := cat.Baseline(id); ok {
		return b, nil
	}
	return srm.Baseline{}, fmt.Errorf("store: baseline %d: %w", id, srm.ErrNotFound)
}

// Areas returns every responsibility area, in the order of the chart.
func (s *Store) Areas(ctx context.Context) ([]srm.AreaInfo, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Areas(), nil
}

package store

import (
	"context"

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

// Areas returns every responsibility area, in the order of the chart.
func (s *Store) Areas(ctx context.Context) ([]srm.AreaInfo, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Areas(), nil
}

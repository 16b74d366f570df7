package store

import (
	"context"
	"fmt"

	"github.com/srmhq/srm"
)

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
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Baselines, nil
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
	return cat.Areas, nil
}

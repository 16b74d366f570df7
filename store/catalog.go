package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/srmhq/srm"
)

// Catalog is what rarely changes: the responsibility areas, the baselines
// with their rows, and the controls. Each Store caches it and reloads it
// when the database's catalog version moves, so every srm process sees a
// change on its next request.
//
// One Catalog is shared by every request, so its contents are reachable
// only through methods that hand out copies: a caller may change what it
// gets without changing what the next caller gets. Copying the controls
// is one allocation and a memory copy (a few microseconds for hundreds of
// controls, against a database round trip of hundreds); the workload
// page, the hottest reader, copies none: it asks Assess.
type Catalog struct {
	version   int64
	areas     []srm.AreaInfo
	baselines []srm.Baseline
	controls  []srm.Control
}

// Areas returns every responsibility area, in the order of the chart.
func (c Catalog) Areas() []srm.AreaInfo { return slices.Clone(c.areas) }

// Controls returns every control, ordered by layer from the outside in,
// built-in controls first in their catalog order, then custom ones by
// title.
func (c Catalog) Controls() []srm.Control { return slices.Clone(c.controls) }

// Baselines returns every baseline with its rows, in the order they are
// offered to people.
func (c Catalog) Baselines() []srm.Baseline {
	out := make([]srm.Baseline, len(c.baselines))
	for i, b := range c.baselines {
		out[i] = cloneBaseline(b)
	}
	return out
}

// Baseline returns the baseline with the given id.
func (c Catalog) Baseline(id int64) (srm.Baseline, bool) {
	b, ok := c.baseline(id)
	if !ok {
		return srm.Baseline{}, false
	}
	return cloneBaseline(b), true
}

// baseline is Baseline without the copy, for the store's own readers, which
// do not change it.
func (c Catalog) baseline(id int64) (srm.Baseline, bool) {
	for _, b := range c.baselines {
		if b.ID == id {
			return b, true
		}
	}
	return srm.Baseline{}, false
}

// BaselineBySlug returns the baseline with the given slug.
func (c Catalog) BaselineBySlug(slug string) (srm.Baseline, bool) {
	for _, b := range c.baselines {
		if b.Slug == slug {
			return cloneBaseline(b), true
		}
	}
	return srm.Baseline{}, false
}

// Control returns the control with the given id.
func (c Catalog) Control(id int64) (srm.Control, bool) {
	for _, x := range c.controls {
		if x.ID == id {
			return x, true
		}
	}
	return srm.Control{}, false
}

// Assess runs the engine (srm.Assess) for a workload of model on the
// baseline with id baselineID over every control, and returns that
// baseline too. It reads the catalog in place: the assignments hold copies
// of the controls, and the baseline returned is a copy.
func (c Catalog) Assess(baselineID int64, m srm.ServiceModel, overrides map[int64]srm.Override, statuses map[int64]srm.Status) (srm.Baseline, []srm.Assignment, error) {
	b, ok := c.baseline(baselineID)
	if !ok {
		return srm.Baseline{}, nil, fmt.Errorf("baseline %d: %w", baselineID, srm.ErrNotFound)
	}
	as, err := srm.Assess(b, m, c.controls, overrides, statuses)
	if err != nil {
		return srm.Baseline{}, nil, err
	}
	return cloneBaseline(b), as, nil
}

// cloneBaseline copies b's rows and their cells, which are what a holder
// of b could change in place.
func cloneBaseline(b srm.Baseline) srm.Baseline {
	b.Rows = slices.Clone(b.Rows)
	for i := range b.Rows {
		b.Rows[i].Cells = maps.Clone(b.Rows[i].Cells)
	}
	return b
}

// catalogVersionSQL is a scalar subquery other queries embed, so learning
// whether the cache is current costs no statement of its own.
const catalogVersionSQL = `(SELECT version FROM catalog_version)`

// Catalog returns the current catalog: from the cache when it is current
// (one small query), else loaded in one more.
func (s *Store) Catalog(ctx context.Context) (Catalog, error) {
	var version int64
	if err := s.db.QueryRow(ctx, `SELECT `+catalogVersionSQL).Scan(&version); err != nil {
		return Catalog{}, fmt.Errorf("store: catalog version: %w", err)
	}
	return s.catalogAt(ctx, version)
}

// catalogAt returns the catalog at version, loading it when the cache holds
// another.
func (s *Store) catalogAt(ctx context.Context, version int64) (Catalog, error) {
	return s.catalog.at(version, !s.bound, func() (Catalog, int64, error) {
		cat, err := loadCatalog(ctx, s.db)
		return cat, cat.version, err
	})
}

type jsonArea struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type jsonBaseline struct {
	ID          int64  `json:"id"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Source      string `json:"source"`
	SourceURL   string `json:"source_url"`
	AsOf        string `json:"as_of"`
	Description string `json:"description"`
}

// chartRow mirrors a row of baseline_rows, as loadCatalog reads it.
type chartRow struct {
	BaselineID int64  `json:"baseline_id"`
	Area       string `json:"area"`
	Label      string `json:"label"`
	InSource   bool   `json:"in_source"`
	Note       string `json:"note"`
	Onprem     string `json:"onprem"`
	Iaas       string `json:"iaas"`
	Paas       string `json:"paas"`
	Saas       string `json:"saas"`
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

// loadCatalog reads the whole catalog from db in one statement, so the
// version and the data come from one snapshot. Within a transaction that
// changes the catalog, it reads the change; it never touches a cache.
func loadCatalog(ctx context.Context, db DBTX) (Catalog, error) {
	var (
		version                          int64
		areasJ, baselinesJ, rowsJ, ctrlJ []byte
	)
	err := db.QueryRow(ctx, `
		SELECT `+catalogVersionSQL+`,
		       (SELECT COALESCE(json_agg(a ORDER BY a.position, a.slug), '[]') FROM areas a),
		       (SELECT COALESCE(json_agg(b ORDER BY b.position, b.id), '[]') FROM baselines b),
		       (SELECT COALESCE(json_agg(r ORDER BY r.baseline_id, r.position, r.area), '[]') FROM baseline_rows r),
		       (SELECT COALESCE(json_agg(c ORDER BY array_position($1::text[], c.layer), c.position, lower(c.title), c.id), '[]')
		          FROM controls c)`, layerNames()).Scan(&version, &areasJ, &baselinesJ, &rowsJ, &ctrlJ)
	if err != nil {
		return Catalog{}, fmt.Errorf("store: load catalog: %w", err)
	}
	var (
		areas     []jsonArea
		baselines []jsonBaseline
		rows      []chartRow
		controls  []controlRow
	)
	for _, d := range []struct {
		raw []byte
		v   any
	}{{areasJ, &areas}, {baselinesJ, &baselines}, {rowsJ, &rows}, {ctrlJ, &controls}} {
		if err := json.Unmarshal(d.raw, d.v); err != nil {
			return Catalog{}, fmt.Errorf("store: load catalog: %w", err)
		}
	}
	cat := Catalog{version: version}
	for _, a := range areas {
		cat.areas = append(cat.areas, srm.AreaInfo{Slug: srm.Area(a.Slug), Name: a.Name})
	}
	index := map[int64]int{}
	for i, b := range baselines {
		cat.baselines = append(cat.baselines, srm.Baseline{ID: b.ID, Slug: b.Slug, Name: b.Name, Source: b.Source,
			SourceURL: b.SourceURL, AsOf: b.AsOf, Description: b.Description})
		index[b.ID] = i
	}
	for _, r := range rows {
		i, ok := index[r.BaselineID]
		if !ok {
			continue
		}
		cat.baselines[i].Rows = append(cat.baselines[i].Rows, r.row())
	}
	for _, c := range controls {
		cat.controls = append(cat.controls, c.control())
	}
	return cat, nil
}

// ownerList is every owner, sorted by name, and each owner's name by id,
// as the owners cache holds it: shared, so handed out only as a copy.
type ownerList struct {
	owners []srm.Owner
	names  map[int64]string
}

// ownersAt returns the owners list at version, loading it when the cache
// holds another.
func (s *Store) ownersAt(ctx context.Context, version int64) (ownerList, error) {
	return s.owners.at(version, !s.bound, func() (ownerList, int64, error) {
		// Read after the version was: the list is at least that new, so it
		// may carry its label (a newer label later just reloads it).
		owners, err := s.Owners(ctx)
		if err != nil {
			return ownerList{}, 0, err
		}
		l := ownerList{owners: owners, names: make(map[int64]string, len(owners))}
		for _, o := range owners {
			l.names[o.ID] = o.Name
		}
		return l, version, nil
	})
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

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
	// controls are the current controls of every framework, srm's own
	// first in each layer; controlsOf picks a workload's.
	controls []srm.Control
	// frameworks are srm's own catalog and the imported ones.
	frameworks []srm.Framework

	byID map[int64]int // index of controls
}

// Areas returns every responsibility area, in the order of the chart.
func (c Catalog) Areas() []srm.AreaInfo { return slices.Clone(c.areas) }

// Controls returns the current controls of every framework, ordered by
// layer from the outside in, srm's own first in each layer, built-in
// controls in their catalog order, then custom ones by title.
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

// Frameworks returns srm's own catalog and the imported ones.
func (c Catalog) Frameworks() []srm.Framework { return slices.Clone(c.frameworks) }

// ControlsOf returns the controls of the frameworks ids, in the order of
// Controls: the controls a workload held to those frameworks is assessed on.
func (c Catalog) ControlsOf(ids []int64) []srm.Control {
	return slices.Clone(c.controlsOf(ids))
}

// controlsOf is ControlsOf without the copy, for readers that do not change
// what they get: it may be the catalog's own slice.
func (c Catalog) controlsOf(ids []int64) []srm.Control {
	if len(c.frameworks) == 1 && len(ids) == 1 && ids[0] == c.frameworks[0].ID {
		return c.controls
	}
	out := make([]srm.Control, 0, len(c.controls))
	for _, x := range c.controls {
		if slices.Contains(ids, x.FrameworkID) {
			out = append(out, x)
		}
	}
	return out
}

// Framework returns the framework with the given id.
func (c Catalog) Framework(id int64) (srm.Framework, bool) {
	for _, f := range c.frameworks {
		if f.ID == id {
			return f, true
		}
	}
	return srm.Framework{}, false
}

// FrameworkBySlug returns the framework with the given slug.
func (c Catalog) FrameworkBySlug(slug string) (srm.Framework, bool) {
	for _, f := range c.frameworks {
		if f.Slug == slug {
			return f, true
		}
	}
	return srm.Framework{}, false
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
	if i, ok := c.byID[id]; ok {
		return c.controls[i], true
	}
	return srm.Control{}, false
}

// Assess runs the engine (srm.Assess) for a workload of model on the
// baseline with id baselineID over the controls of the frameworks with
// ids frameworks, and returns that baseline too. It reads the catalog in
// place: the assignments hold copies of the controls, and the baseline
// returned is a copy.
func (c Catalog) Assess(baselineID int64, frameworks []int64, m srm.ServiceModel, overrides map[int64]srm.Override, statuses map[int64]srm.Status) (srm.Baseline, []srm.Assignment, error) {
	return c.AssessLayer(baselineID, frameworks, "", m, overrides, statuses)
}

// AssessLayer is Assess on the controls of one layer only, or of every
// layer when layer is "": the same engine on fewer controls, for a page
// that shows one layer.
func (c Catalog) AssessLayer(baselineID int64, frameworks []int64, layer srm.Layer, m srm.ServiceModel, overrides map[int64]srm.Override, statuses map[int64]srm.Status) (srm.Baseline, []srm.Assignment, error) {
	b, ok := c.baseline(baselineID)
	if !ok {
		return srm.Baseline{}, nil, fmt.Errorf("baseline %d: %w", baselineID, srm.ErrNotFound)
	}
	controls := c.controlsOf(frameworks)
	if layer != "" {
		controls = inLayer(controls, layer)
	}
	as, err := srm.Assess(b, m, controls, overrides, statuses)
	if err != nil {
		return srm.Baseline{}, nil, err
	}
	return cloneBaseline(b), as, nil
}

// inLayer returns the controls of layer among controls, in their order.
func inLayer(controls []srm.Control, layer srm.Layer) []srm.Control {
	out := make([]srm.Control, 0, len(controls)/len(srm.Layers)+1)
	for _, x := range controls {
		if x.Layer == layer {
			out = append(out, x)
		}
	}
	return out
}

// layerPlan is what WorkloadLayerState asks the database for, worked out
// from the catalog: the ids of the layer's controls, of every framework
// (which of them a workload holds is learnt in the same statement), and,
// for the progress per framework, the controls of every framework but the
// largest with their frameworks: their assignments are summed per
// framework, and the largest framework's progress is the rest of the
// workload's, so the statement reads a few dozen assignments rather than
// hundreds.
type layerPlan struct {
	ids     []int64 // the layer's controls
	sampled []int64 // the controls of every framework but largest
	of      []int64 // the framework of each of sampled
	largest int64   // the framework with the most controls
}

func (c Catalog) layerPlan(layer srm.Layer) layerPlan {
	var p layerPlan
	most := -1
	for _, f := range c.frameworks {
		n := 0
		for _, x := range c.controls {
			if x.FrameworkID == f.ID {
				n++
			}
		}
		if n > most {
			p.largest, most = f.ID, n
		}
	}
	for _, x := range c.controls {
		if x.Layer == layer {
			p.ids = append(p.ids, x.ID)
		}
		if x.FrameworkID != p.largest {
			p.sampled, p.of = append(p.sampled, x.ID), append(p.of, x.FrameworkID)
		}
	}
	return p
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
	Slug         string `json:"slug"`
	Name         string `json:"name"`
	ProviderPart string `json:"provider_part"`
	CustomerPart string `json:"customer_part"`
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

// jsonFramework mirrors a row of frameworks with its number of controls,
// as loadCatalog reads it.
type jsonFramework struct {
	ID           int64     `json:"id"`
	Slug         string    `json:"slug"`
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	OSCALVersion string    `json:"oscal_version"`
	Source       string    `json:"source"`
	SourceURL    string    `json:"source_url"`
	Reading      string    `json:"reading"`
	IsDefault    bool      `json:"is_default"`
	ImportedAt   time.Time `json:"imported_at"`
	Controls     int       `json:"controls"`
}

func (f jsonFramework) framework() srm.Framework {
	return srm.Framework{ID: f.ID, Slug: f.Slug, Name: f.Name, Version: f.Version, OSCALVersion: f.OSCALVersion,
		Source: f.Source, SourceURL: f.SourceURL, Reading: f.Reading, Default: f.IsDefault, ImportedAt: f.ImportedAt,
		Controls: f.Controls}
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
		frameworksJ                      []byte
	)
	err := db.QueryRow(ctx, `
		SELECT `+catalogVersionSQL+`,
		       (SELECT COALESCE(json_agg(a ORDER BY a.position, a.slug), '[]') FROM areas a),
		       (SELECT COALESCE(json_agg(b ORDER BY b.position, b.id), '[]') FROM baselines b),
		       (SELECT COALESCE(json_agg(r ORDER BY r.baseline_id, r.position, r.area), '[]') FROM baseline_rows r),
		       (SELECT COALESCE(json_agg(c ORDER BY array_position($1::text[], c.layer), f.position, f.id, c.position, lower(c.title), c.id), '[]')
		          FROM controls c JOIN frameworks f ON f.id = c.framework_id WHERE c.retired_at IS NULL),
		       (SELECT COALESCE(json_agg(f ORDER BY f.position, f.id), '[]')
		          FROM (SELECT f.*, (SELECT count(*) FROM controls c WHERE c.framework_id = f.id AND c.retired_at IS NULL) AS controls
		                FROM frameworks f) f)`, layerNames()).Scan(&version, &areasJ, &baselinesJ, &rowsJ, &ctrlJ, &frameworksJ)
	if err != nil {
		return Catalog{}, fmt.Errorf("store: load catalog: %w", err)
	}
	var (
		areas     []jsonArea
		baselines []jsonBaseline
		rows      []chartRow
		controls  []controlRow
		fws       []jsonFramework
	)
	for _, d := range []struct {
		raw []byte
		v   any
	}{{areasJ, &areas}, {baselinesJ, &baselines}, {rowsJ, &rows}, {ctrlJ, &controls}, {frameworksJ, &fws}} {
		if err := json.Unmarshal(d.raw, d.v); err != nil {
			return Catalog{}, fmt.Errorf("store: load catalog: %w", err)
		}
	}
	cat := Catalog{version: version}
	for _, a := range areas {
		cat.areas = append(cat.areas, srm.AreaInfo{Slug: srm.Area(a.Slug), Name: a.Name,
			ProviderPart: a.ProviderPart, CustomerPart: a.CustomerPart})
	}
	parts := make(map[srm.Area]srm.AreaInfo, len(cat.areas))
	for _, a := range cat.areas {
		parts[a.Slug] = a
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
		row := r.row()
		row.ProviderPart, row.CustomerPart = parts[row.Area].ProviderPart, parts[row.Area].CustomerPart
		cat.baselines[i].Rows = append(cat.baselines[i].Rows, row)
	}
	cat.byID = make(map[int64]int, len(controls))
	for i, c := range controls {
		cat.controls = append(cat.controls, c.control())
		cat.byID[c.ID] = i
	}
	for _, f := range fws {
		cat.frameworks = append(cat.frameworks, f.framework())
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

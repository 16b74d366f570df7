package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/srmhq/srm"
)

// Catalog is what rarely changes: the responsibility areas, the baselines
// with their rows, and the controls. Each Store caches it and reloads it
// when the database's catalog version moves, so every srm process sees a
// change on its next request.
type Catalog struct {
	Version   int64
	Areas     []srm.AreaInfo
	Baselines []srm.Baseline
	// Controls are the current controls of every framework, srm's own
	// first in each layer; ControlsOf picks a workload's.
	Controls []srm.Control
	// Frameworks are srm's own catalog and the imported ones.
	Frameworks []srm.Framework

	byID map[int64]int // index of Controls
}

// ControlsOf returns the controls of the frameworks ids, in the order of
// Controls: the controls a workload held to those frameworks is assessed on.
func (c *Catalog) ControlsOf(ids []int64) []srm.Control {
	if len(c.Frameworks) == 1 && len(ids) == 1 && ids[0] == c.Frameworks[0].ID {
		return c.Controls
	}
	out := make([]srm.Control, 0, len(c.Controls))
	for _, x := range c.Controls {
		if slices.Contains(ids, x.FrameworkID) {
			out = append(out, x)
		}
	}
	return out
}

// Framework returns the framework with the given id.
func (c *Catalog) Framework(id int64) (srm.Framework, bool) {
	for _, f := range c.Frameworks {
		if f.ID == id {
			return f, true
		}
	}
	return srm.Framework{}, false
}

// FrameworkBySlug returns the framework with the given slug.
func (c *Catalog) FrameworkBySlug(slug string) (srm.Framework, bool) {
	for _, f := range c.Frameworks {
		if f.Slug == slug {
			return f, true
		}
	}
	return srm.Framework{}, false
}

// Baseline returns the baseline with the given id.
func (c *Catalog) Baseline(id int64) (srm.Baseline, bool) {
	for _, b := range c.Baselines {
		if b.ID == id {
			return b, true
		}
	}
	return srm.Baseline{}, false
}

// BaselineBySlug returns the baseline with the given slug.
func (c *Catalog) BaselineBySlug(slug string) (srm.Baseline, bool) {
	for _, b := range c.Baselines {
		if b.Slug == slug {
			return b, true
		}
	}
	return srm.Baseline{}, false
}

// Control returns the control with the given id.
func (c *Catalog) Control(id int64) (srm.Control, bool) {
	if i, ok := c.byID[id]; ok {
		return c.Controls[i], true
	}
	return srm.Control{}, false
}

// catalogCache holds the newest catalog a Store has loaded.
type catalogCache struct {
	mu  sync.RWMutex
	cat *Catalog
}

func (c *catalogCache) get(version int64) *Catalog {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cat != nil && c.cat.Version == version {
		return c.cat
	}
	return nil
}

func (c *catalogCache) put(cat *Catalog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat == nil || cat.Version >= c.cat.Version {
		c.cat = cat
	}
}

// catalogVersionSQL is a scalar subquery other queries embed, so learning
// whether the cache is current costs no statement of its own.
const catalogVersionSQL = `(SELECT version FROM catalog_version)`

// Catalog returns the current catalog: from the cache when it is current
// (one small query), else loaded in one more.
func (s *Store) Catalog(ctx context.Context) (*Catalog, error) {
	var version int64
	if err := s.db.QueryRow(ctx, `SELECT `+catalogVersionSQL).Scan(&version); err != nil {
		return nil, fmt.Errorf("store: catalog version: %w", err)
	}
	return s.catalogAt(ctx, version)
}

// catalogAt returns the catalog at version, loading it when the cache holds
// another.
func (s *Store) catalogAt(ctx context.Context, version int64) (*Catalog, error) {
	if cat := s.cache.get(version); cat != nil {
		return cat, nil
	}
	cat, err := s.loadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	s.cache.put(cat)
	return cat, nil
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

// loadCatalog reads the whole catalog in one statement, so the version and
// the data come from one snapshot.
func (s *Store) loadCatalog(ctx context.Context) (*Catalog, error) {
	var (
		version                          int64
		areasJ, baselinesJ, rowsJ, ctrlJ []byte
		frameworksJ                      []byte
	)
	err := s.db.QueryRow(ctx, `
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
		return nil, fmt.Errorf("store: load catalog: %w", err)
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
			return nil, fmt.Errorf("store: load catalog: %w", err)
		}
	}
	cat := &Catalog{Version: version}
	for _, a := range areas {
		cat.Areas = append(cat.Areas, srm.AreaInfo{Slug: srm.Area(a.Slug), Name: a.Name})
	}
	index := map[int64]int{}
	for i, b := range baselines {
		cat.Baselines = append(cat.Baselines, srm.Baseline{ID: b.ID, Slug: b.Slug, Name: b.Name, Source: b.Source,
			SourceURL: b.SourceURL, AsOf: b.AsOf, Description: b.Description})
		index[b.ID] = i
	}
	for _, r := range rows {
		i, ok := index[r.BaselineID]
		if !ok {
			continue
		}
		cat.Baselines[i].Rows = append(cat.Baselines[i].Rows, r.row())
	}
	cat.byID = make(map[int64]int, len(controls))
	for i, c := range controls {
		cat.Controls = append(cat.Controls, c.control())
		cat.byID[c.ID] = i
	}
	for _, f := range fws {
		cat.Frameworks = append(cat.Frameworks, f.framework())
	}
	return cat, nil
}

// ownersCache holds the newest owners list a Store has loaded. The list is
// shared: callers must not modify it.
type ownersCache struct {
	mu      sync.RWMutex
	version int64
	list    ownerList
}

// ownerList is every owner, sorted by name, and each owner's name by id.
type ownerList struct {
	owners []srm.Owner
	names  map[int64]string
}

// ownersAt returns the owners list at version, loading it when the cache
// holds another.
func (s *Store) ownersAt(ctx context.Context, version int64) (ownerList, error) {
	s.owners.mu.RLock()
	if s.owners.list.owners != nil && s.owners.version == version {
		defer s.owners.mu.RUnlock()
		return s.owners.list, nil
	}
	s.owners.mu.RUnlock()
	// Read after the version was: the list is at least that new, so it may
	// carry its label (a newer label later just reloads it).
	owners, err := s.Owners(ctx)
	if err != nil {
		return ownerList{}, err
	}
	l := ownerList{owners: owners, names: make(map[int64]string, len(owners))}
	for _, o := range owners {
		l.names[o.ID] = o.Name
	}
	s.owners.mu.Lock()
	defer s.owners.mu.Unlock()
	if version >= s.owners.version {
		s.owners.version, s.owners.list = version, l
	}
	return l, nil
}

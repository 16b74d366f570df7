package web

import (
	"net/http"
	"slices"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// matrixPage handles "GET /matrix?baseline=slug&framework=slug": a
// framework's controls (srm's own by default) against the four service
// models. Without a baseline it shows the first; an unknown
// one is 404.
func matrixPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, err := loadMatrix(r, st)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.MatrixPage(views.MatrixView{Baseline: m.baseline, Baselines: m.baselines, Rows: m.rows,
			Framework: m.framework, Frameworks: m.frameworks}))
	}
}

// matrix is what the matrix page and its export show.
type matrix struct {
	baseline   srm.Baseline
	baselines  []srm.Baseline
	framework  srm.Framework
	frameworks []srm.Framework
	rows       []srm.MatrixRow
}

// loadMatrix reads the matrix the query asks for (baseline and framework
// by slug, the first of each by default; an unknown one is 404).
func loadMatrix(r *http.Request, st *store.Store) (matrix, error) {
	cat, err := st.Catalog(r.Context())
	if err != nil {
		return matrix{}, err
	}
	bs := cat.Baselines()
	if len(bs) == 0 {
		return matrix{}, srm.ErrNotFound
	}
	b := bs[0]
	if slug := r.URL.Query().Get("baseline"); slug != "" {
		var ok bool
		if b, ok = cat.BaselineBySlug(slug); !ok {
			return matrix{}, srm.ErrNotFound
		}
	}
	fw, controls, fws, err := frameworkControls(cat, r.URL.Query().Get("framework"))
	if err != nil {
		return matrix{}, err
	}
	rows, err := srm.Matrix(b, controls)
	if err != nil {
		return matrix{}, err
	}
	return matrix{baseline: b, baselines: bs, framework: fw, frameworks: fws, rows: rows}, nil
}

// frameworkControls picks the framework of slug ("" for the first, srm's
// own catalog) and its controls, and lists every framework for the page's
// menu. An unknown slug is 404.
func frameworkControls(cat store.Catalog, slug string) (srm.Framework, []srm.Control, []srm.Framework, error) {
	fws := cat.Frameworks()
	if len(fws) == 0 {
		return srm.Framework{}, nil, nil, srm.ErrNotFound
	}
	fw := fws[0]
	if slug != "" {
		i := slices.IndexFunc(fws, func(f srm.Framework) bool { return f.Slug == slug })
		if i < 0 {
			return srm.Framework{}, nil, nil, srm.ErrNotFound
		}
		fw = fws[i]
	}
	return fw, cat.ControlsOf([]int64{fw.ID}), fws, nil
}

// comparePage handles "GET /matrix/compare?from=slug&to=slug&framework=slug":
// where two baselines differ, and which of a framework's controls that moves. It defaults to the first two baselines.
func comparePage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		bs := cat.Baselines()
		if len(bs) == 0 {
			return srm.ErrNotFound
		}
		old, new := bs[0], bs[len(bs)-1]
		q := r.URL.Query()
		if s := q.Get("from"); s != "" {
			var ok bool
			if old, ok = cat.BaselineBySlug(s); !ok {
				return srm.ErrNotFound
			}
		}
		if s := q.Get("to"); s != "" {
			var ok bool
			if new, ok = cat.BaselineBySlug(s); !ok {
				return srm.ErrNotFound
			}
		}
		fw, controls, fws, err := frameworkControls(cat, q.Get("framework"))
		if err != nil {
			return err
		}
		changes, err := srm.CompareBaselines(old, new, controls)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.ComparePage(views.CompareView{Old: old, New: new, Baselines: bs, Changes: changes,
			Framework: fw, Frameworks: fws}))
	}
}

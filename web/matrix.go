package web

import (
	"net/http"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// matrixPage handles "GET /matrix?baseline=slug": the catalog against the
// four service models. Without a baseline it shows the first; an unknown
// one is 404.
func matrixPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		bs := cat.Baselines()
		if len(bs) == 0 {
			return srm.ErrNotFound
		}
		b := bs[0]
		if slug := r.URL.Query().Get("baseline"); slug != "" {
			var ok bool
			if b, ok = cat.BaselineBySlug(slug); !ok {
				return srm.ErrNotFound
			}
		}
		rows, err := srm.Matrix(b, cat.Controls())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.MatrixPage(views.MatrixView{Baseline: b, Baselines: bs, Rows: rows}))
	}
}

// comparePage handles "GET /matrix/compare?from=slug&to=slug": where two
// baselines differ. It defaults to the first two baselines.
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
		changes, err := srm.CompareBaselines(old, new, cat.Controls())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.ComparePage(views.CompareView{Old: old, New: new, Baselines: bs, Changes: changes}))
	}
}

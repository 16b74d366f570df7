package web

import (
	"net/http"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

func baselineBySlug(bs []srm.Baseline, slug string) (srm.Baseline, bool) {
	for _, b := range bs {
		if b.Slug == slug {
			return b, true
		}
	}
	return srm.Baseline{}, false
}

// matrixPage handles "GET /matrix?baseline=slug": the catalog against the
// four service models. Without a baseline it shows the first; an unknown
// one is 404.
func matrixPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		bs, err := st.Baselines(r.Context())
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			return srm.ErrNotFound
		}
		b := bs[0]
		if slug := r.URL.Query().Get("baseline"); slug != "" {
			var ok bool
			if b, ok = baselineBySlug(bs, slug); !ok {
				return srm.ErrNotFound
			}
		}
		controls, err := st.Controls(r.Context())
		if err != nil {
			return err
		}
		rows, err := srm.Matrix(b, controls)
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
		bs, err := st.Baselines(r.Context())
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			return srm.ErrNotFound
		}
		old, new := bs[0], bs[len(bs)-1]
		q := r.URL.Query()
		if s := q.Get("from"); s != "" {
			var ok bool
			if old, ok = baselineBySlug(bs, s); !ok {
				return srm.ErrNotFound
			}
		}
		if s := q.Get("to"); s != "" {
			var ok bool
			if new, ok = baselineBySlug(bs, s); !ok {
				return srm.ErrNotFound
			}
		}
		controls, err := st.Controls(r.Context())
		if err != nil {
			return err
		}
		changes, err := srm.CompareBaselines(old, new, controls)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.ComparePage(views.CompareView{Old: old, New: new, Baselines: bs, Changes: changes}))
	}
}

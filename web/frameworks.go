package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// heldFrameworks are the frameworks the workload of ws is held to, in the
// catalog's order.
func heldFrameworks(ws store.WorkloadState) []srm.Framework {
	var out []srm.Framework
	for _, f := range ws.Catalog.Frameworks() {
		if slices.Contains(ws.Workload.Frameworks, f.ID) {
			out = append(out, f)
		}
	}
	return out
}

// workloadFrameworks builds the page of a workload's frameworks: each
// framework assessed by the engine for the workload as it stands, held or
// not, so the page says what adding or removing it moves.
func workloadFrameworks(st *store.Store, r *http.Request, id int64, problem string) (views.WorkloadFrameworksView, error) {
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return views.WorkloadFrameworksView{}, err
	}
	v := views.WorkloadFrameworksView{Workload: ws.Workload, Problem: problem}
	for _, f := range ws.Catalog.Frameworks() {
		_, as, err := ws.Catalog.Assess(ws.Workload.BaselineID, []int64{f.ID}, ws.Workload.Model, ws.Overrides, ws.Statuses)
		if err != nil {
			return views.WorkloadFrameworksView{}, err
		}
		c := views.FrameworkChoice{Framework: f, Progress: srm.Tally(as)}
		for _, id := range ws.Workload.Frameworks {
			c.Held = c.Held || id == f.ID
		}
		for _, a := range as {
			switch a.Party {
			case srm.Customer:
				c.Customer++
			case srm.Shared:
				c.Shared++
			default:
				c.Provider++
			}
		}
		v.Choices = append(v.Choices, c)
	}
	return v, nil
}

// workloadFrameworksPage handles "GET /workloads/{id}/frameworks".
func workloadFrameworksPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, err := workloadFrameworks(st, r, id, "")
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.WorkloadFrameworksPage(v))
	}
}

// attachFramework handles "POST /workloads/{id}/frameworks/{fid}".
func attachFramework(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, fid, err := workloadAndFramework(r)
		if err != nil {
			return err
		}
		if err := st.AttachFramework(r.Context(), id, fid); err != nil {
			return err
		}
		return seeOther(w, r, views.FrameworksURL(id))
	}
}

// detachFramework handles "POST /workloads/{id}/frameworks/{fid}/delete".
func detachFramework(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, fid, err := workloadAndFramework(r)
		if err != nil {
			return err
		}
		err = st.DetachFramework(r.Context(), id, fid)
		if errors.Is(err, store.ErrLastFramework) {
			v, verr := workloadFrameworks(st, r, id, "A workload is held to at least one framework: add another before removing this one.")
			if verr != nil {
				return verr
			}
			return render(w, r, http.StatusUnprocessableEntity, views.WorkloadFrameworksPage(v))
		}
		if err != nil {
			return err
		}
		return seeOther(w, r, views.FrameworksURL(id))
	}
}

func workloadAndFramework(r *http.Request) (int64, int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	fid, err := pathID(r, "fid")
	return id, fid, err
}

package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

const perPage = 50

// maxPage bounds page numbers from the address bar, far past any real list,
// so the offset computed from them cannot overflow.
const maxPage = 1_000_000

// pageNumber reads a page number, falling back to 1 for anything that is
// not a positive integer and capping it at maxPage.
func pageNumber(s string) int {
	page, err := strconv.Atoi(s)
	switch {
	case err != nil || page < 1:
		return 1
	case page > maxPage:
		return maxPage
	}
	return page
}

// cursor reads a workload id that a pager link pages from: 0 (none) for
// anything that is not a positive integer.
func cursor(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0
	}
	return id
}

// portfolioPage handles "GET /": the portfolio's progress and the workload
// list, filtered by model, sorted and paged. Unknown filter values fall back
// to the defaults rather than failing.
func portfolioPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		model, framework, sort := portfolioFilter(r)
		page := pageNumber(q.Get("page"))
		lq := store.WorkloadQuery{Model: model, Framework: framework, Sort: store.WorkloadSort(sort), Page: page, PerPage: perPage,
			After: cursor(q.Get("after")), Before: cursor(q.Get("before"))}
		list, err := st.Workloads(r.Context(), lq)
		if err != nil {
			return err
		}
		if len(list.Items) == 0 && (lq.After > 0 || lq.Before > 0) {
			// The workload the link started from has gone, or the list
			// has shrunk since: show the page by its number instead (one
			// statement more, still within the budget).
			lq.After, lq.Before = 0, 0
			if list, err = st.Workloads(r.Context(), lq); err != nil {
				return err
			}
		}
		p, err := st.Portfolio(r.Context())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.PortfolioPage(views.PortfolioView{
			Layers: p.Layers, Items: list.Items, Model: model, Framework: framework, Frameworks: p.Frameworks,
			Sort: sort, Page: page, Pages: (list.Total + perPage - 1) / perPage, Matching: list.Total,
			Workloads: p.Workloads, PerPage: perPage,
		}))
	}
}

// workloadInput reads the workload form. Version is the version the form
// was read at; a save is conditional on it.
func workloadInput(r *http.Request) srm.Workload {
	id, _ := strconv.ParseInt(r.PostFormValue("baseline"), 10, 64)
	version := postedVersion(r)
	return srm.Workload{
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Model:       srm.ServiceModel(r.PostFormValue("model")),
		BaselineID:  id,
		Version:     version,
	}
}

// sameWorkload reports whether a and b say the same thing, so a repeated
// submission of what is already stored counts as saved.
func sameWorkload(a, b srm.Workload) bool {
	return a.Name == b.Name && a.Description == b.Description && a.Model == b.Model && a.BaselineID == b.BaselineID
}

// newWorkloadForm handles "GET /workloads/new".
func newWorkloadForm(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		bs, err := st.Baselines(r.Context())
		if err != nil {
			return err
		}
		wl := srm.Workload{Model: srm.PaaS}
		if len(bs) > 0 {
			wl.BaselineID = bs[0].ID
		}
		return render(w, r, http.StatusOK, views.WorkloadForm(views.WorkloadFormView{Workload: wl, Baselines: bs}))
	}
}

// createWorkload handles "POST /workloads". Rejected input comes back as
// the same form with the person's input and a message per field, and 422.
func createWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		wl := workloadInput(r)
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		bs := cat.Baselines()
		problems := checkWorkload(wl, cat)
		if len(problems) == 0 {
			err := st.CreateWorkload(r.Context(), &wl)
			switch {
			case errors.Is(err, srm.ErrConflict):
				problems["name"] = "A workload with this name already exists. Choose another name."
			case err != nil:
				return err
			}
		}
		if len(problems) > 0 {
			return render(w, r, http.StatusUnprocessableEntity, views.WorkloadForm(views.WorkloadFormView{Workload: wl, Baselines: bs, Problems: problems}))
		}
		return seeOther(w, r, views.WorkloadURL(wl.ID))
	}
}

// checkWorkload validates wl and that its baseline exists.
func checkWorkload(wl srm.Workload, cat store.Catalog) srm.Problems {
	problems := wl.Validate()
	if _, ok := problems["baseline"]; !ok {
		if _, ok := cat.Baseline(wl.BaselineID); !ok {
			problems["baseline"] = "Choose one of the baselines listed."
		}
	}
	return problems
}

// assess runs the engine for wl as its state stands in ws, under wl's
// model and baseline (which may differ from the stored workload's).
func assess(ws store.WorkloadState, wl srm.Workload) (srm.Baseline, []srm.Assignment, error) {
	return ws.Assess(wl)
}

// workloadView builds the workload page from ws and the owners list.
func workloadView(ws store.WorkloadState, owners []srm.Owner) (views.WorkloadView, error) {
	b, as, err := assess(ws, ws.Workload)
	if err != nil {
		return views.WorkloadView{}, err
	}
	return views.WorkloadView{Workload: ws.Workload, Baseline: b, Assignments: as, Owners: owners,
		Frameworks: heldFrameworks(ws), Progress: ws.Progress}, nil
}

// loadWorkloadView loads and builds the workload page: two statements
// (three when the catalog changed since the last request).
func loadWorkloadView(r *http.Request, st *store.Store, id int64) (views.WorkloadView, store.WorkloadState, error) {
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return views.WorkloadView{}, ws, err
	}
	v, err := workloadView(ws, ws.Owners)
	return v, ws, err
}

// loadChecklistView is loadWorkloadView for the checklist filtered by q.
// When the filter names a layer, only that layer's controls are read and
// assessed, and the progress the page shows of the whole workload comes
// from the store's summaries (store.WorkloadLayerState), in as many
// statements. A bulk action's outcome (q's "done") may name controls of
// any layer: that page reads them all.
func loadChecklistView(r *http.Request, st *store.Store, id int64, q url.Values) (views.WorkloadView, store.WorkloadState, error) {
	layer := views.ParseFilter(q).Layer
	if layer == "" || q.Has("done") {
		return loadWorkloadView(r, st, id)
	}
	ws, err := st.WorkloadLayerState(r.Context(), id, layer)
	if err != nil {
		return views.WorkloadView{}, ws, err
	}
	v, err := workloadView(ws, ws.Owners)
	return v, ws, err
}

// workloadPage handles "GET /workloads/{id}": who secures every control of
// the workload, and the customer's progress, as a checklist filtered by the
// query (see views.ParseFilter). htmx swaps get the body only.
func workloadPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, _, err := loadChecklistView(r, st, id, r.URL.Query())
		if err != nil {
			return err
		}
		v.Filter = checklistFilter(r, r.URL.Query(), v.Owners, v.Frameworks)
		v.Bulk = bulkOutcome(r.URL.Query(), v) // after a bulk action without JavaScript
		w.Header().Add("Vary", "HX-Request")
		if wantsFragment(r) {
			return render(w, r, http.StatusOK, views.WorkloadBody(v))
		}
		return render(w, r, http.StatusOK, views.WorkloadPage(v))
	}
}

// checklistFilter reads the checklist's filter from q, with "mine" read as
// the owner linked to the signed-in account (none: nothing matches), and a
// framework by its slug among the workload's frameworks (one it does not
// hold is dropped, as any value the filter does not understand).
func checklistFilter(r *http.Request, q url.Values, owners []srm.Owner, frameworks []srm.Framework) srm.ChecklistFilter {
	f := views.ParseFilter(q)
	if f.Framework != "" {
		f.FrameworkID = 0
		for _, fw := range frameworks {
			if fw.Slug == f.Framework {
				f.FrameworkID = fw.ID
			}
		}
		if f.FrameworkID == 0 {
			f.Framework = ""
		}
	}
	if f.Owner == srm.OwnerMine {
		f.OwnerID = 0
		if uid := requesterID(r); uid > 0 {
			for _, o := range owners {
				if o.UserID == uid {
					f.OwnerID = o.ID
					break
				}
			}
		}
	}
	return f
}

// backFilter is the checklist filter a form came from: its "back" field,
// the query string of the checklist's address.
func backFilter(r *http.Request, ws store.WorkloadState) srm.ChecklistFilter {
	q, err := url.ParseQuery(r.PostFormValue("back"))
	if err != nil {
		q = url.Values{}
	}
	return checklistFilter(r, q, ws.Owners, heldFrameworks(ws))
}

// controlPage handles "GET /workloads/{id}/controls/{cid}": one control of
// the workload with all its details and its full form, on a page of its
// own; with htmx, only the details, to open in place in the checklist.
func controlPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		cid, err := pathID(r, "cid")
		if err != nil {
			return err
		}
		v, _, err := loadWorkloadView(r, st, id)
		if err != nil {
			return err
		}
		a, err := findAssignment(v, cid)
		if err != nil {
			return err
		}
		v.Filter = checklistFilter(r, r.URL.Query(), v.Owners, v.Frameworks)
		w.Header().Add("Vary", "HX-Request")
		if wantsFragment(r) {
			return render(w, r, http.StatusOK, views.ControlCard(v, a, nil, false))
		}
		return render(w, r, http.StatusOK, views.ControlPage(v, a, nil))
	}
}

// editWorkloadForm handles "GET /workloads/{id}/edit".
func editWorkloadForm(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		wl, err := st.Workload(r.Context(), id)
		if err != nil {
			return err
		}
		bs, err := st.Baselines(r.Context())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.WorkloadForm(views.WorkloadFormView{Workload: wl, Baselines: bs}))
	}
}

// updateWorkload handles "POST /workloads/{id}". A change of service model
// or baseline is previewed first: the answer lists what moves, and only a
// submission carrying confirm=1 saves it. Work on controls is never deleted.
func updateWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := parseForm(r); err != nil {
			return err
		}
		ws, err := st.WorkloadState(r.Context(), id)
		if err != nil {
			return err
		}
		before, bs := ws.Workload, ws.Catalog.Baselines()
		after := workloadInput(r)
		after.ID, after.CreatedAt = before.ID, before.CreatedAt
		problems := checkWorkload(after, ws.Catalog)
		if len(problems) > 0 {
			return render(w, r, http.StatusUnprocessableEntity, views.WorkloadForm(views.WorkloadFormView{Workload: after, Baselines: bs, Problems: problems}))
		}
		moving := after.Model != before.Model || after.BaselineID != before.BaselineID
		if moving && r.PostFormValue("confirm") != "1" {
			oldB, was, err := assess(ws, before)
			if err != nil {
				return err
			}
			newB, will, err := assess(ws, after)
			if err != nil {
				return err
			}
			return render(w, r, http.StatusOK, views.ModelChangePage(views.ModelChangeView{
				Before: before, After: after, BeforeBaseline: oldB, AfterBaseline: newB, Moves: srm.Diff(was, will),
			}))
		}
		current, err := st.UpdateWorkload(r.Context(), after)
		switch {
		case errors.Is(err, srm.ErrStale) && sameWorkload(current, after):
			// A repeated submission (double click, a retry): already saved.
		case errors.Is(err, srm.ErrStale):
			// Someone saved in between: show what is stored now, keep the
			// person's input, and let a second save deliberately replace it.
			after.Version = current.Version
			return render(w, r, http.StatusConflict, views.WorkloadForm(views.WorkloadFormView{Workload: after, Baselines: bs, Current: &current}))
		case errors.Is(err, srm.ErrConflict):
			problems["name"] = "A workload with this name already exists. Choose another name."
			return render(w, r, http.StatusUnprocessableEntity, views.WorkloadForm(views.WorkloadFormView{Workload: after, Baselines: bs, Problems: problems}))
		case err != nil:
			return err
		}
		return seeOther(w, r, views.WorkloadURL(id))
	}
}

// deleteWorkloadForm handles "GET /workloads/{id}/delete": it asks first.
func deleteWorkloadForm(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ws, err := st.WorkloadState(r.Context(), id)
		if err != nil {
			return err
		}
		_, as, err := assess(ws, ws.Workload)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.DeleteWorkloadPage(ws.Workload, srm.Tally(as)))
	}
}

// deleteWorkload handles "POST /workloads/{id}/delete".
func deleteWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := st.DeleteWorkload(r.Context(), id); err != nil {
			return err
		}
		return seeOther(w, r, "/")
	}
}

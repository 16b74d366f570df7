package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
)

// The API's workloads and their controls: what the portfolio, the
// workload page and its status form do, as JSON.

type apiProgress struct {
	Done    int `json:"done"`
	Total   int `json:"total"`
	Percent int `json:"percent"`
}

func progressJSON(p srm.Progress) apiProgress {
	return apiProgress{Done: p.Done, Total: p.Total, Percent: p.Percent()}
}

type apiWorkloadJSON struct {
	ID          int64            `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Model       srm.ServiceModel `json:"model"`
	BaselineID  int64            `json:"baseline_id"`
	Baseline    string           `json:"baseline"`
	Frameworks  []int64          `json:"frameworks,omitempty"`
	Version     int64            `json:"version"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	Progress    apiProgress      `json:"progress"`
}

func workloadJSON(w srm.Workload, baseline string, p srm.Progress) apiWorkloadJSON {
	return apiWorkloadJSON{ID: w.ID, Name: w.Name, Description: w.Description, Model: w.Model, BaselineID: w.BaselineID,
		Baseline: baseline, Frameworks: w.Frameworks, Version: w.Version, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
		Progress: progressJSON(p)}
}

// stateJSON is the workload of ws, assessed: its JSON and its controls.
func stateJSON(ws store.WorkloadState) (apiWorkloadJSON, []srm.Assignment, error) {
	b, as, err := assess(ws, ws.Workload)
	if err != nil {
		return apiWorkloadJSON{}, nil, err
	}
	return workloadJSON(ws.Workload, b.Name, srm.Tally(as)), as, nil
}

// setETag names the version of what the answer shows, for If-Match.
func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

// badParam is a 400 naming a query parameter and what is wrong with it.
func badParam(name, why string) *problem {
	p := newProblem(http.StatusBadRequest, "bad-request", "A query parameter is not valid", name+": "+why)
	p.Errors = []fieldError{{Field: name, Detail: why}}
	return p
}

// intParam reads a positive integer query parameter, 0 when absent.
func intParam(q url.Values, name string, most int64) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > most {
		return 0, badParam(name, fmt.Sprintf("give a whole number from 1 to %d", most))
	}
	return n, nil
}

// apiWorkloads handles "GET /api/v1/workloads": the portfolio's list,
// filtered by model, sorted, paged by keyset (next is the next page's
// address, absent on the last page).
func apiWorkloads(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		lq := store.WorkloadQuery{Model: srm.ServiceModel(q.Get("model")), Sort: store.WorkloadSort(q.Get("sort")), PerPage: 50}
		if lq.Model != "" && !lq.Model.Valid() {
			return badParam("model", "give onprem, iaas, paas or saas")
		}
		switch lq.Sort {
		case "":
			lq.Sort = store.ByName
		case store.ByName, store.ByProgress, store.ByProgressDesc:
		default:
			return badParam("sort", "give name, progress or -progress")
		}
		limit, err := intParam(q, "limit", 200)
		if err != nil {
			return err
		}
		if limit > 0 {
			lq.PerPage = int(limit)
		}
		if lq.After, err = intParam(q, "after", 1<<62); err != nil {
			return err
		}
		list, err := st.Workloads(r.Context(), lq)
		if err != nil {
			return err
		}
		out := struct {
			Items []apiWorkloadJSON `json:"items"`
			Total int               `json:"total"`
			Next  string            `json:"next,omitempty"`
		}{Items: make([]apiWorkloadJSON, 0, len(list.Items)), Total: list.Total}
		for _, s := range list.Items {
			out.Items = append(out.Items, workloadJSON(s.Workload, s.BaselineName, s.Progress))
		}
		if len(list.Items) == lq.PerPage {
			next := url.Values{"after": {strconv.FormatInt(list.Items[len(list.Items)-1].ID, 10)}, "limit": {strconv.Itoa(lq.PerPage)}}
			if lq.Model != "" {
				next.Set("model", string(lq.Model))
			}
			if lq.Sort != store.ByName {
				next.Set("sort", string(lq.Sort))
			}
			out.Next = "/api/v1/workloads?" + next.Encode()
		}
		return ok(w, http.StatusOK, out)
	}
}

// apiWorkload handles "GET /api/v1/workloads/{id}".
func apiWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ws, err := st.WorkloadState(r.Context(), id)
		if err != nil {
			return err
		}
		out, _, err := stateJSON(ws)
		if err != nil {
			return err
		}
		setETag(w, out.Version)
		return ok(w, http.StatusOK, out)
	}
}

// apiWorkloadInput is a workload as a client sends it.
type apiWorkloadInput struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Model       string  `json:"model"`
	BaselineID  int64   `json:"baseline_id"`
	Frameworks  []int64 `json:"frameworks"` // on creation only: none means the default ones
	Version     *int64  `json:"version"`    // on update only, or If-Match
}

func (in apiWorkloadInput) workload() srm.Workload {
	return srm.Workload{Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description),
		Model: srm.ServiceModel(in.Model), BaselineID: in.BaselineID, Frameworks: in.Frameworks}
}

// ifMatch is the version an If-Match header names ("3" or W/"3"), and
// whether it names one. Anything else is a 400.
func ifMatch(r *http.Request) (int64, bool, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v < 0 {
		return 0, false, newProblem(http.StatusBadRequest, "bad-request", "If-Match is not valid",
			`Give the ETag of what you read, such as "3".`)
	}
	return v, true, nil
}

// writeVersion is the version a write is conditional on: the body's
// version or If-Match, which must agree when both are sent. A write
// without either is a 422.
func writeVersion(r *http.Request, body *int64) (int64, error) {
	hv, has, err := ifMatch(r)
	switch {
	case err != nil:
		return 0, err
	case body != nil && has && *body != hv:
		return 0, invalid(srm.Problems{"version": "The version and If-Match disagree: send one, or the same in both."})
	case body != nil && *body < 0:
		return 0, invalid(srm.Problems{"version": "A version is 0 or more."})
	case body != nil:
		return *body, nil
	case has:
		return hv, nil
	}
	return 0, invalid(srm.Problems{"version": "Send the version you read (the version field, or If-Match with the ETag), so that srm saves only if nobody saved in between."})
}

// apiCreateWorkload handles "POST /api/v1/workloads": 201 with the
// workload and its Location.
func apiCreateWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in apiWorkloadInput
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		if in.Version != nil {
			return invalid(srm.Problems{"version": "A new workload has no version yet: leave it out."})
		}
		wl := in.workload()
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		if p := checkWorkload(wl, cat); len(p) > 0 {
			return invalid(p)
		}
		err = st.CreateWorkload(r.Context(), &wl)
		switch {
		case errors.Is(err, srm.ErrConflict):
			return nameTaken()
		case errors.Is(err, srm.ErrNotFound):
			return invalid(srm.Problems{"frameworks": "Give the ids of frameworks srm has (GET /api/v1/frameworks)."})
		case err != nil:
			return err
		}
		return respondWorkload(w, r, st, wl.ID, http.StatusCreated)
	}
}

// nameTaken is the problem of a name another workload has.
func nameTaken() *problem {
	p := newProblem(http.StatusConflict, "name-taken", "The name is taken",
		"A workload with this name already exists (names are compared ignoring case). Choose another name.")
	p.Errors = []fieldError{{Field: "name", Pointer: "/name", Detail: "A workload with this name already exists."}}
	return p
}

// respondWorkload answers with workload id as it is stored now.
func respondWorkload(w http.ResponseWriter, r *http.Request, st *store.Store, id int64, status int) error {
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return err
	}
	out, _, err := stateJSON(ws)
	if err != nil {
		return err
	}
	setETag(w, out.Version)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/workloads/"+strconv.FormatInt(id, 10))
	}
	return ok(w, status, out)
}

// apiUpdateWorkload handles "PUT /api/v1/workloads/{id}": every field,
// if the workload is still at the version sent. A new model or baseline
// reassesses its controls at once (the pages preview that first; a
// script sees the moves in the controls afterwards); work on controls is
// kept. Sending what is already stored again is 200 and changes nothing.
func apiUpdateWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var in apiWorkloadInput
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		if in.Frameworks != nil {
			return invalid(srm.Problems{"frameworks": "Frameworks are attached and detached on the workload's frameworks page, not here: leave this out."})
		}
		version, err := writeVersion(r, in.Version)
		if err != nil {
			return err
		}
		wl := in.workload()
		wl.ID, wl.Version = id, version
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		if p := checkWorkload(wl, cat); len(p) > 0 {
			return invalid(p)
		}
		current, err := st.UpdateWorkload(r.Context(), wl)
		switch {
		case errors.Is(err, srm.ErrStale) && sameWorkload(current, wl):
			// A retry of a write that was saved: nothing changes.
		case errors.Is(err, srm.ErrStale):
			ws, err := st.WorkloadState(r.Context(), id)
			if err != nil {
				return err
			}
			cur, _, err := stateJSON(ws)
			if err != nil {
				return err
			}
			setETag(w, cur.Version)
			return stale(cur)
		case errors.Is(err, srm.ErrConflict):
			return nameTaken()
		case err != nil:
			return err
		}
		return respondWorkload(w, r, st, id, http.StatusOK)
	}
}

// apiDeleteWorkload handles "DELETE /api/v1/workloads/{id}": 204. A
// retry finds nothing to delete: 404, and nothing changes.
func apiDeleteWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := st.DeleteWorkload(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

type apiOwnerRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type apiStatusJSON struct {
	Owner         *apiOwnerRef `json:"owner"`
	Complete      bool         `json:"complete"`
	CompletedBy   string       `json:"completed_by"`
	CompletedAt   *time.Time   `json:"completed_at"`
	Note          string       `json:"note"`
	Evidence      string       `json:"evidence"`
	NotApplicable bool         `json:"not_applicable"`
	NAReason      string       `json:"na_reason"`
	Version       int64        `json:"version"`
	UpdatedAt     *time.Time   `json:"updated_at"`
}

func statusJSON(s srm.Status) apiStatusJSON {
	out := apiStatusJSON{Complete: s.Complete, CompletedBy: s.CompletedBy, Note: s.Note, Evidence: s.Evidence,
		NotApplicable: s.NotApplicable, NAReason: s.NAReason, Version: s.Version}
	if s.OwnerID > 0 {
		out.Owner = &apiOwnerRef{ID: s.OwnerID, Name: s.OwnerName}
	}
	if !s.CompletedAt.IsZero() {
		t := s.CompletedAt
		out.CompletedAt = &t
	}
	if s.Version > 0 { // a control nobody has touched has no status yet
		t := s.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

type apiOverrideJSON struct {
	Party     srm.Party `json:"party"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	Version   int64     `json:"version"`
}

type apiControlRef struct {
	ID          int64     `json:"id"`
	FrameworkID int64     `json:"framework_id"`
	Ref         string    `json:"ref"`
	Title       string    `json:"title"`
	Layer       srm.Layer `json:"layer"`
	Area        srm.Area  `json:"area"`
	AreaLabel   string    `json:"area_label"`
}

// apiAssignmentJSON is one assessed control of a workload.
type apiAssignmentJSON struct {
	Control    apiControlRef    `json:"control"`
	Party      srm.Party        `json:"party"`
	ChartParty srm.Party        `json:"chart_party"`
	Provenance string           `json:"provenance"`
	Counted    bool             `json:"counted"`
	Done       bool             `json:"done"`
	Override   *apiOverrideJSON `json:"override"`
	Status     apiStatusJSON    `json:"status"`
}

func assignmentJSON(a srm.Assignment) apiAssignmentJSON {
	c := a.Control
	out := apiAssignmentJSON{
		Control: apiControlRef{ID: c.ID, FrameworkID: c.FrameworkID, Ref: c.Ref, Title: c.Title, Layer: c.Layer,
			Area: c.Area, AreaLabel: a.AreaLabel},
		Party: a.Party, ChartParty: a.ChartParty, Provenance: a.Reason(), Counted: a.Counted(), Done: a.Done(),
		Status: statusJSON(a.Status),
	}
	if o := a.Override; o != nil {
		out.Override = &apiOverrideJSON{Party: o.Party, Reason: o.Reason, CreatedAt: o.CreatedAt, Version: o.Version}
	}
	return out
}

// apiControls handles "GET /api/v1/workloads/{id}/controls": who carries
// every control of the workload's frameworks and why, and the work on it.
func apiControls(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ws, err := st.WorkloadState(r.Context(), id)
		if err != nil {
			return err
		}
		wl, as, err := stateJSON(ws)
		if err != nil {
			return err
		}
		out := struct {
			Workload apiWorkloadJSON     `json:"workload"`
			Items    []apiAssignmentJSON `json:"items"`
		}{Workload: wl, Items: make([]apiAssignmentJSON, 0, len(as))}
		for _, a := range as {
			out.Items = append(out.Items, assignmentJSON(a))
		}
		return ok(w, http.StatusOK, out)
	}
}

// controlOf loads workload {id} and finds its control {cid}.
func controlOf(r *http.Request, st *store.Store) (store.WorkloadState, srm.Assignment, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.WorkloadState{}, srm.Assignment{}, err
	}
	cid, err := pathID(r, "cid")
	if err != nil {
		return store.WorkloadState{}, srm.Assignment{}, err
	}
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return ws, srm.Assignment{}, err
	}
	_, as, err := assess(ws, ws.Workload)
	if err != nil {
		return ws, srm.Assignment{}, err
	}
	for _, a := range as {
		if a.Control.ID == cid {
			return ws, a, nil
		}
	}
	return ws, srm.Assignment{}, fmt.Errorf("control %d of workload %d: %w", cid, id, srm.ErrNotFound)
}

// apiControl handles "GET /api/v1/workloads/{id}/controls/{cid}", with
// the status's version as its ETag.
func apiControl(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, a, err := controlOf(r, st)
		if err != nil {
			return err
		}
		setETag(w, a.Status.Version)
		return ok(w, http.StatusOK, assignmentJSON(a))
	}
}

// apiStatusInput is the work on a control as a client sends it: the
// whole status, replacing what is stored.
type apiStatusInput struct {
	Version       *int64        `json:"version"`
	Owner         string        `json:"owner"`      // an owner's name (any case), or a new owner's; "" for nobody
	OwnerKind     srm.OwnerKind `json:"owner_kind"` // for a new owner: person (default) or team
	Complete      bool          `json:"complete"`
	Note          string        `json:"note"`
	Evidence      string        `json:"evidence"`
	NotApplicable bool          `json:"not_applicable"`
	NAReason      string        `json:"na_reason"`
}

// sameWork reports whether the stored status s already says what in asks
// for, so that a retry changes nothing.
func sameWork(s srm.Status, in apiStatusInput) bool {
	return strings.EqualFold(s.OwnerName, strings.TrimSpace(in.Owner)) && s.Complete == in.Complete &&
		s.Note == strings.TrimSpace(in.Note) && s.Evidence == strings.TrimSpace(in.Evidence) &&
		s.NotApplicable == in.NotApplicable && s.NAReason == strings.TrimSpace(in.NAReason)
}

// apiSaveStatus handles "PUT /api/v1/workloads/{id}/controls/{cid}": the
// owner, completion, note, evidence and applicability of one control, if
// its status is still at the version sent (0: none yet). A stale write is
// 409 with the status stored now; repeating a write that was saved is 200
// and changes nothing.
func apiSaveStatus(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in apiStatusInput
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		version, err := writeVersion(r, in.Version)
		if err != nil {
			return err
		}
		ws, a, err := controlOf(r, st)
		if err != nil {
			return err
		}
		if !a.Party.Counted() {
			return newProblem(http.StatusConflict, "provider-control", "Azure carries this control",
				"The provider carries this control for this workload, so there is no work of the customer's to record. Override it first if the workload carries it itself.")
		}
		s := srm.Status{Version: version, Complete: in.Complete, Note: strings.TrimSpace(in.Note),
			Evidence: strings.TrimSpace(in.Evidence), NotApplicable: in.NotApplicable, NAReason: strings.TrimSpace(in.NAReason)}
		problems := s.Validate()
		owner := srm.Owner{}
		if name := strings.TrimSpace(in.Owner); name != "" {
			if in.OwnerKind == "" {
				in.OwnerKind = srm.Person
			}
			owner = srm.Owner{Name: name, Kind: in.OwnerKind}
			for k, msg := range owner.Validate() {
				if k == "owner_name" {
					k = "owner"
				}
				problems[k] = msg
			}
		}
		if s.Complete && owner.Name == "" {
			problems["complete"] = "Assign an owner before marking this control complete."
		}
		if len(problems) > 0 {
			return invalid(problems)
		}
		saved, err := st.RecordStatus(r.Context(), ws.Workload.ID, a.Control.ID, s, owner)
		switch {
		case errors.Is(err, srm.ErrStale) && saved.Version > 0 && sameWork(saved, in):
			// A retry of a write that was saved: nothing changes.
		case errors.Is(err, srm.ErrStale):
			setETag(w, saved.Version)
			return stale(statusJSON(saved))
		case errors.Is(err, store.ErrNoSuchOwner):
			return invalid(srm.Problems{"owner": "That owner no longer exists."})
		case err != nil:
			return err
		}
		a.Status = saved
		setETag(w, saved.Version)
		return ok(w, http.StatusOK, assignmentJSON(a))
	}
}

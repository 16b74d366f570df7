package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// findAssignment returns the assignment of control cid in v, or an error
// wrapping srm.ErrNotFound.
func findAssignment(v views.WorkloadView, cid int64) (srm.Assignment, error) {
	for _, a := range v.Assignments {
		if a.Control.ID == cid {
			return a, nil
		}
	}
	return srm.Assignment{}, fmt.Errorf("control %d: %w", cid, srm.ErrNotFound)
}

// statusInput reads a control's status form. The owner comes as a name:
// an existing owner's (in any case) or a new one's.
func statusInput(r *http.Request) views.ControlEdit {
	kind := srm.OwnerKind(r.PostFormValue("owner_kind"))
	if kind != srm.Team {
		kind = srm.Person
	}
	version := postedVersion(r)
	return views.ControlEdit{
		Status: srm.Status{
			Version:       version,
			Complete:      r.PostFormValue("complete") == "1",
			Note:          strings.TrimSpace(r.PostFormValue("note")),
			Evidence:      strings.TrimSpace(r.PostFormValue("evidence")),
			NotApplicable: r.PostFormValue("not_applicable") == "1",
			NAReason:      strings.TrimSpace(r.PostFormValue("na_reason")),
		},
		OwnerName: strings.TrimSpace(r.PostFormValue("owner")),
		OwnerKind: kind,
	}
}

// saveStatus handles "POST /workloads/{id}/controls/{cid}": the owner,
// completion, note, evidence and applicability of one control. A checklist
// row posts part=row and changes the owner and completion only; the
// control's own form changes everything. Without JavaScript it redirects
// back to the control's row in the checklist, filtered as it was (the form's
// "back"); with htmx it answers with the refreshed checklist, so progress
// updates in place. Rejected input comes back with the person's input and
// 422, a save someone else overtook with what they saved and 409.
//
// A save that answers with a redirect reads nothing first: one statement
// (store.RecordWork) checks against the engine's stored answer that the
// workload is assessed on the control (else 404) and that the customer
// carries it (else 409), keeps a row's other fields as stored, and saves
// conditionally on the version. The workload is read only to render a
// page: before the save for htmx, which always renders (so the owners list
// it reads is the one from before an owner this save may create, which
// the save's answer adds), after it otherwise.
func saveStatus(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		cid, err := pathID(r, "cid")
		if err != nil {
			return err
		}
		if err := parseForm(r); err != nil {
			return err
		}
		edit := statusInput(r)
		edit.ControlID = cid
		if edit.Row = r.PostFormValue("part") == "row"; edit.Row {
			// The row shows the owner and completion only: the rest stays
			// as it is stored (see keepDetails).
			edit.Status.Note, edit.Status.Evidence, edit.Status.NotApplicable, edit.Status.NAReason = "", "", false, ""
		}
		var ws *store.WorkloadState
		if wantsFragment(r) {
			if ws, err = editTarget(r, st, id, &edit); err != nil {
				return err
			}
		}
		owner := checkEdit(&edit)
		if len(edit.Problems) > 0 {
			if ws == nil {
				if ws, err = editTarget(r, st, id, &edit); err != nil {
					return err
				}
				checkEdit(&edit) // again, with a row's details as stored
			}
			return renderEdit(w, r, *ws, &edit, http.StatusUnprocessableEntity)
		}
		saved, err := st.RecordWork(r.Context(), id, cid, edit.Status, owner, store.SaveWork{KeepDetails: edit.Row})
		conflict := false
		switch {
		case errors.Is(err, store.ErrProviderCarries):
			return fmt.Errorf("control %d of workload %d is Azure's: %w", cid, id, srm.ErrConflict)
		case errors.Is(err, srm.ErrStale) && saved.Version > 0:
			if edit.Row {
				keepDetails(&edit, saved) // as stored, which a repeat leaves as they were
			}
			if !sameStatus(saved, edit) {
				edit.Current, edit.Status.Version = &saved, saved.Version
				conflict = true
			}
			// else a repeated submission: what it asks for is already stored.
		case err != nil:
			return err
		}
		if !conflict && !wantsFragment(r) {
			q, err := url.ParseQuery(r.PostFormValue("back"))
			if err != nil {
				q = url.Values{}
			}
			// The filter as posted: the checklist resolves "mine" and a
			// framework's slug when it shows it.
			back := views.FilterQuery(views.ParseFilter(q))
			return seeOther(w, r, views.ChecklistURL(id, back)+"#"+views.ControlAnchor(cid))
		}
		if ws == nil {
			// A conflict without JavaScript: the page as it is now, which
			// has what the other person saved.
			state, err := st.WorkloadState(r.Context(), id)
			if err != nil {
				return err
			}
			ws = &state
		}
		if edit.Row {
			keepDetails(&edit, saved)
		}
		ws.Statuses[cid] = saved
		ws.Owners = withOwner(ws.Owners, srm.Owner{ID: saved.OwnerID, Name: saved.OwnerName, Kind: edit.OwnerKind})
		status := http.StatusOK
		if conflict {
			status = http.StatusConflict
		}
		return renderEdit(w, r, *ws, &edit, status)
	}
}

// editTarget reads the workload an edit of control edit.ControlID is
// for, as saveStatus answered before saving anything: an unknown workload
// or a control it is not assessed on is an error wrapping srm.ErrNotFound,
// one Azure carries srm.ErrConflict. A row's edit takes the details it
// keeps as they are stored.
func editTarget(r *http.Request, st *store.Store, id int64, edit *views.ControlEdit) (*store.WorkloadState, error) {
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v, err := workloadView(ws, nil)
	if err != nil {
		return nil, err
	}
	a, err := findAssignment(v, edit.ControlID)
	if err != nil {
		return nil, err
	}
	if !a.Party.Counted() {
		return nil, fmt.Errorf("control %d of workload %d is Azure's: %w", edit.ControlID, id, srm.ErrConflict)
	}
	if edit.Row {
		keepDetails(edit, a.Status)
	}
	return &ws, nil
}

// keepDetails sets a row's edit's note, evidence and applicability to
// stored's: a row changes the owner and completion only.
func keepDetails(edit *views.ControlEdit, stored srm.Status) {
	edit.Status.Note, edit.Status.Evidence = stored.Note, stored.Evidence
	edit.Status.NotApplicable, edit.Status.NAReason = stored.NotApplicable, stored.NAReason
}

// renderEdit answers an edit of a control of ws's workload with status:
// the checklist's body for htmx, else the checklist for a row, or the
// control's page.
func renderEdit(w http.ResponseWriter, r *http.Request, ws store.WorkloadState, edit *views.ControlEdit, status int) error {
	v, err := workloadView(ws, ws.Owners)
	if err != nil {
		return err
	}
	cid := edit.ControlID
	v.Filter, v.Keep = backFilter(r, ws), []int64{cid}
	if !edit.Row {
		v.Open = cid // the control's details stay open in place
	}
	if status != http.StatusOK {
		v.Edit = edit
	}
	if wantsFragment(r) {
		return render(w, r, status, views.WorkloadBody(v))
	}
	if edit.Row {
		return render(w, r, status, views.WorkloadPage(v))
	}
	a, err := findAssignment(v, cid)
	if err != nil {
		return err
	}
	return render(w, r, status, views.ControlPage(v, a, v.Edit))
}

// checkEdit validates edit, noting problems in edit.Problems, and returns
// the owner it names (none: the zero Owner).
func checkEdit(edit *views.ControlEdit) srm.Owner {
	edit.Problems = edit.Status.Validate()
	owner := srm.Owner{}
	if edit.OwnerName != "" {
		owner = srm.Owner{Name: edit.OwnerName, Kind: edit.OwnerKind}
		for k, msg := range owner.Validate() {
			edit.Problems[k] = msg
		}
	}
	if edit.Status.Complete && edit.OwnerName == "" {
		edit.Problems["complete"] = "Assign an owner before marking this control complete."
	}
	return owner
}

// recordEdit validates edit, a change to control edit.ControlID of
// workload id, and saves it conditionally on its version, updating ws to
// what is saved. Problems with the input are left in edit.Problems;
// conflict reports that someone else saved first, whose status is then in
// edit.Current (and the version in edit's status, so that saving again
// replaces it).
func recordEdit(r *http.Request, st *store.Store, ws *store.WorkloadState, id int64, edit *views.ControlEdit) (conflict bool, err error) {
	cid := edit.ControlID
	owner := checkEdit(edit)
	if len(edit.Problems) > 0 {
		return false, nil
	}
	saved, err := st.RecordStatus(r.Context(), id, cid, edit.Status, owner)
	switch {
	case errors.Is(err, srm.ErrStale) && saved.Version > 0 && sameStatus(saved, *edit):
		// A repeated submission: what it asks for is already stored.
		ws.Statuses[cid] = saved
	case errors.Is(err, srm.ErrStale) && saved.Version > 0:
		ws.Statuses[cid] = saved
		edit.Current, edit.Status.Version = &saved, saved.Version
		conflict = true
	case err != nil:
		return false, err
	default:
		ws.Statuses[cid] = saved
	}
	ws.Owners = withOwner(ws.Owners, srm.Owner{ID: saved.OwnerID, Name: saved.OwnerName, Kind: edit.OwnerKind})
	return conflict, nil
}

// sameStatus reports whether the stored status s already says what the
// form asks for, so repeating a submission changes nothing.
func sameStatus(s srm.Status, e views.ControlEdit) bool {
	return strings.EqualFold(s.OwnerName, e.OwnerName) && s.Complete == e.Status.Complete && s.Note == e.Status.Note &&
		s.Evidence == e.Status.Evidence && s.NotApplicable == e.Status.NotApplicable && s.NAReason == e.Status.NAReason
}

// withOwner adds o to owners, kept in name order, unless it is there or is
// nobody.
func withOwner(owners []srm.Owner, o srm.Owner) []srm.Owner {
	if o.ID <= 0 {
		return owners
	}
	for _, x := range owners {
		if x.ID == o.ID {
			return owners
		}
	}
	owners = append(slices.Clip(owners), o) // the list may be the shared cache: never write into it
	slices.SortStableFunc(owners, func(a, b srm.Owner) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return owners
}

// overrideForm handles "GET /workloads/{id}/controls/{cid}/override".
func overrideForm(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, a, err := overrideTarget(r, st)
		if err != nil {
			return err
		}
		o := srm.Override{Party: a.Party}
		if a.Override != nil {
			o = *a.Override
		}
		return render(w, r, http.StatusOK, views.OverridePage(views.OverrideView{Workload: v.Workload, Assignment: a, Override: o}))
	}
}

func overrideTarget(r *http.Request, st *store.Store) (views.WorkloadView, srm.Assignment, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return views.WorkloadView{}, srm.Assignment{}, err
	}
	cid, err := pathID(r, "cid")
	if err != nil {
		return views.WorkloadView{}, srm.Assignment{}, err
	}
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return views.WorkloadView{}, srm.Assignment{}, err
	}
	v, err := workloadView(ws, nil)
	if err != nil {
		return views.WorkloadView{}, srm.Assignment{}, err
	}
	a, err := findAssignment(v, cid)
	return v, a, err
}

// saveOverride handles "POST /workloads/{id}/controls/{cid}/override": a
// departure from the baseline, with its required reason.
func saveOverride(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		v, a, err := overrideTarget(r, st)
		if err != nil {
			return err
		}
		version := postedVersion(r)
		o := srm.Override{
			WorkloadID: v.Workload.ID,
			ControlID:  a.Control.ID,
			Party:      srm.Party(r.PostFormValue("party")),
			Reason:     strings.TrimSpace(r.PostFormValue("reason")),
			Version:    version,
		}
		problems := o.Validate()
		if len(problems) > 0 {
			return render(w, r, http.StatusUnprocessableEntity, views.OverridePage(views.OverrideView{Workload: v.Workload, Assignment: a, Override: o, Problems: problems}))
		}
		err = st.SetOverride(r.Context(), o)
		if errors.Is(err, srm.ErrStale) {
			current, err := st.Overrides(r.Context(), v.Workload.ID)
			if err != nil {
				return err
			}
			cur := current[a.Control.ID] // zero: removed in between
			if cur.Party == o.Party && cur.Reason == o.Reason {
				return seeOther(w, r, views.ControlURL(v.Workload.ID, a.Control.ID))
			}
			o.Version = cur.Version
			return render(w, r, http.StatusConflict, views.OverridePage(views.OverrideView{Workload: v.Workload, Assignment: a, Override: o, Current: &cur}))
		}
		if err != nil {
			return err
		}
		return seeOther(w, r, views.ControlURL(v.Workload.ID, a.Control.ID))
	}
}

// deleteOverride handles "POST /workloads/{id}/controls/{cid}/override/delete":
// the control returns to what the baseline says.
func deleteOverride(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, a, err := overrideTarget(r, st)
		if err != nil {
			return err
		}
		if err := st.DeleteOverride(r.Context(), v.Workload.ID, a.Control.ID); err != nil {
			return err
		}
		return seeOther(w, r, views.ControlURL(v.Workload.ID, a.Control.ID))
	}
}

// catalogPage handles "GET /controls".
func catalogPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.CatalogPage(views.CatalogView{Controls: cat.Controls(), Areas: cat.Areas()}))
	}
}

// newControlForm handles "GET /controls/new".
func newControlForm(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		areas, err := st.Areas(r.Context())
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, views.ControlForm(views.ControlFormView{Areas: areas}))
	}
}

func controlInput(r *http.Request) srm.Control {
	version := postedVersion(r)
	return srm.Control{
		Version:      version,
		Title:        strings.TrimSpace(r.PostFormValue("title")),
		Layer:        srm.Layer(r.PostFormValue("layer")),
		Area:         srm.Area(r.PostFormValue("area")),
		Description:  strings.TrimSpace(r.PostFormValue("description")),
		CustomerPart: strings.TrimSpace(r.PostFormValue("customer_part")),
		ProviderPart: strings.TrimSpace(r.PostFormValue("provider_part")),
	}
}

// saveControl validates c and creates or updates it; problems come back
// for the form. When someone else saved the control in between, current is
// what is stored now.
func saveControl(r *http.Request, st *store.Store, c *srm.Control, areas []srm.AreaInfo) (problems srm.Problems, current *srm.Control, err error) {
	problems = c.Validate(areas)
	if len(problems) > 0 {
		return problems, nil, nil
	}
	if c.ID == 0 {
		err = st.CreateControl(r.Context(), c)
	} else {
		var cur srm.Control
		cur, err = st.UpdateControl(r.Context(), *c)
		if errors.Is(err, srm.ErrStale) {
			if sameControl(cur, *c) {
				return problems, nil, nil
			}
			c.Version = cur.Version
			return problems, &cur, nil
		}
	}
	if errors.Is(err, srm.ErrConflict) {
		problems["title"] = "This layer already has a control with that title."
		return problems, nil, nil
	}
	return problems, nil, err
}

func sameControl(a, b srm.Control) bool {
	return a.Title == b.Title && a.Layer == b.Layer && a.Area == b.Area && a.Description == b.Description &&
		a.CustomerPart == b.CustomerPart && a.ProviderPart == b.ProviderPart
}

// createControl handles "POST /controls": a custom control that appears for
// every workload.
func createControl(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		areas, err := st.Areas(r.Context())
		if err != nil {
			return err
		}
		c := controlInput(r)
		c.Version = 0
		problems, _, err := saveControl(r, st, &c, areas)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return render(w, r, http.StatusUnprocessableEntity, views.ControlForm(views.ControlFormView{Control: c, Areas: areas, Problems: problems}))
		}
		return seeOther(w, r, "/controls")
	}
}

// editControlForm handles "GET /controls/{id}/edit"; built-in controls are
// not editable and answer 404.
func editControlForm(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		c, ok := cat.Control(id)
		if !ok || c.Builtin {
			return fmt.Errorf("control %d: %w", id, srm.ErrNotFound)
		}
		return render(w, r, http.StatusOK, views.ControlForm(views.ControlFormView{Control: c, Areas: cat.Areas()}))
	}
}

// updateControl handles "POST /controls/{id}".
func updateControl(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := parseForm(r); err != nil {
			return err
		}
		cat, err := st.Catalog(r.Context())
		if err != nil {
			return err
		}
		if old, ok := cat.Control(id); !ok || old.Builtin {
			return fmt.Errorf("control %d: %w", id, srm.ErrNotFound)
		}
		c := controlInput(r)
		c.ID = id
		areas := cat.Areas()
		problems, current, err := saveControl(r, st, &c, areas)
		switch {
		case err != nil:
			return err
		case len(problems) > 0:
			return render(w, r, http.StatusUnprocessableEntity, views.ControlForm(views.ControlFormView{Control: c, Areas: areas, Problems: problems}))
		case current != nil:
			return render(w, r, http.StatusConflict, views.ControlForm(views.ControlFormView{Control: c, Areas: areas, Current: current}))
		}
		return seeOther(w, r, "/controls")
	}
}

// deleteControl handles "POST /controls/{id}/delete" for custom controls.
func deleteControl(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := st.DeleteControl(r.Context(), id); err != nil {
			return err
		}
		return seeOther(w, r, "/controls")
	}
}

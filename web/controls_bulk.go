package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// Bulk actions, as the form's "action" names them.
const (
	bulkOwner    = "owner"    // assign bulk_owner (a name) or owner_id (empty: nobody)
	bulkComplete = "complete" // mark complete
	bulkNA       = "na"       // mark not applicable, with na_reason
)

// Why a bulk action left a control alone, as the checklist's address after
// the action says it (outcomeURL), and in words.
const (
	skipAzure    = "a"
	skipComplete = "c"
	skipNoOwner  = "o"
	rowsSaved    = "saved" // the outcome of saving rows, not a bulk action
)

var skipWhy = map[string]string{
	skipAzure:    "Azure carries it",
	skipComplete: "it is complete; a complete control keeps its owner",
	skipNoOwner:  "it has no owner yet; assign one first",
}

// outcomeURL is the checklist, filtered as it was, after a bulk action
// (or a save of rows) without JavaScript: its address says what was done
// (action, ownerID for an assignment, how many changed, which were not
// changed and why), so that the page after the redirect says it too, and
// reloading it does nothing again. The checklist reads it back with
// bulkOutcome, which believes none of it beyond what it can check.
func outcomeURL(wid int64, filter srm.ChecklistFilter, action string, ownerID int64, out views.BulkOutcome) string {
	q := url.Values{}
	q.Set("done", action)
	if action == bulkOwner && ownerID > 0 {
		q.Set("to", strconv.FormatInt(ownerID, 10))
	}
	q.Set("n", strconv.Itoa(out.Changed))
	var b strings.Builder
	for _, a := range out.Stale {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(a.Control.ID, 10))
	}
	if b.Len() > 0 {
		q.Set("stale", b.String())
	}
	b.Reset()
	for _, sk := range out.Skipped {
		for code, why := range skipWhy {
			if why == sk.Why {
				if b.Len() > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.FormatInt(sk.Assignment.Control.ID, 10) + code)
			}
		}
	}
	if b.Len() > 0 {
		q.Set("skip", b.String())
	}
	u := views.ChecklistURL(wid, views.FilterQuery(filter))
	if strings.Contains(u, "?") {
		return u + "&" + q.Encode()
	}
	return u + "?" + q.Encode()
}

// bulkOutcome reads what a bulk action did from the checklist's address
// (outcomeURL): nil when it says nothing. Every part is checked against
// the workload: an action srm has, a count no larger than its controls,
// controls it has and an owner srm knows; anything else is dropped, so a
// crafted address can only make the page say less.
func bulkOutcome(q url.Values, v views.WorkloadView) *views.BulkOutcome {
	done := q.Get("done")
	out := &views.BulkOutcome{}
	switch done {
	case bulkOwner:
		out.Action = "Owner removed"
		if to := q.Get("to"); to != "" {
			out.Action = "Owner assigned"
			for _, o := range v.Owners {
				if strconv.FormatInt(o.ID, 10) == to {
					out.Action = "Assigned to " + o.Name
				}
			}
		}
	case bulkComplete:
		out.Action = "Marked complete"
	case bulkNA:
		out.Action = "Marked not applicable"
	case rowsSaved:
		out.Action = "Saved"
	default:
		return nil
	}
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 0 || n > len(v.Assignments) {
		return nil
	}
	out.Changed = n
	byID := make(map[int64]srm.Assignment, len(v.Assignments))
	for _, a := range v.Assignments {
		byID[a.Control.ID] = a
	}
	seen := map[int64]bool{}
	for _, s := range strings.Split(q.Get("stale"), ",") {
		cid, err := strconv.ParseInt(s, 10, 64)
		if a, ok := byID[cid]; err == nil && ok && !seen[cid] {
			seen[cid] = true
			out.Stale = append(out.Stale, a)
		}
	}
	for _, s := range strings.Split(q.Get("skip"), ",") {
		if len(s) < 2 {
			continue
		}
		code := s[len(s)-1:]
		cid, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		a, ok := byID[cid]
		if why, known := skipWhy[code]; err == nil && ok && known && !seen[cid] {
			seen[cid] = true
			out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: why})
		}
	}
	return out
}

// postedVersions reads the bulk form's versions, "control:version" for
// every row the page showed: comma-separated in "vers", or one per "ver"
// field.
func postedVersions(r *http.Request) map[int64]int64 {
	out := map[int64]int64{}
	pairs := r.PostForm["ver"]
	for _, list := range r.PostForm["vers"] {
		pairs = append(pairs, strings.Split(list, ",")...)
	}
	for _, s := range pairs {
		c, v, ok := strings.Cut(s, ":")
		if !ok {
			continue
		}
		cid, err1 := strconv.ParseInt(c, 10, 64)
		ver, err2 := strconv.ParseInt(v, 10, 64)
		if err1 == nil && err2 == nil && cid > 0 && ver >= 0 {
			out[cid] = ver
		}
	}
	return out
}

// namedControls are the controls a bulk action's form names: ticked
// (select=<id>, or the checklist's s<id> boxes), or, for scope=shown,
// every row the page showed (versions). The action touches no other.
func namedControls(r *http.Request, versions map[int64]int64) []int64 {
	var out []int64
	for _, s := range r.PostForm["select"] {
		if cid, err := strconv.ParseInt(s, 10, 64); err == nil && cid > 0 {
			out = append(out, cid)
		}
	}
	for k := range r.PostForm {
		if rest, ok := strings.CutPrefix(k, "s"); ok {
			if cid, err := strconv.ParseInt(rest, 10, 64); err == nil && cid > 0 {
				out = append(out, cid)
			}
		}
	}
	if r.PostFormValue("scope") == "shown" {
		for cid := range versions {
			out = append(out, cid)
		}
	}
	return out
}

// bulkStatus handles "POST /workloads/{id}/bulk": one action (assign an
// owner, mark complete, mark not applicable with one reason) on the rows a
// person ticked, or on every row the page showed (scope=shown). Each row is
// saved conditionally on the version the page showed it at, in one
// statement; rows someone saved since are not changed and the answer names
// them (409), as it names rows the action does not fit. Without
// JavaScript and without such rows it redirects back to the checklist,
// filtered as it was.
func bulkStatus(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := parseForm(r); err != nil {
			return err
		}
		// The checklist names the reason bulk_reason, so that it cannot be
		// taken for the na_reason of a control's details open in place in
		// the same form; na_reason is the API's and older pages' name.
		reason := strings.TrimSpace(r.PostFormValue("bulk_reason"))
		if !r.PostForm.Has("bulk_reason") {
			reason = strings.TrimSpace(r.PostFormValue("na_reason"))
		}
		badReason := r.PostFormValue("action") == bulkNA &&
			len((srm.Status{NotApplicable: true, NAReason: reason}).Validate()) > 0
		versions := postedVersions(r)
		var ws store.WorkloadState
		if r.PostFormValue("action") != "" && !wantsFragment(r) && !badReason {
			// A bulk action without JavaScript redirects: it needs the
			// statuses of the rows the form names only. The engine still
			// gives every control its party and place (workloadView).
			ws, err = st.WorkloadStateOf(r.Context(), id, namedControls(r, versions))
		} else {
			// Anything that answers with the checklist shows every row.
			ws, err = st.WorkloadState(r.Context(), id)
		}
		if err != nil {
			return err
		}
		v, err := workloadView(ws, ws.Owners)
		if err != nil {
			return err
		}
		if r.PostFormValue("action") == "" {
			// A row's Save button (save=<control>), or the checklist's own
			// Save changes, Enter in a field, or htmx after a field changed.
			return saveRows(w, r, st, ws, v, versions)
		}
		var targets []int64
		if r.PostFormValue("scope") == "shown" {
			// Every row the page showed that is the customer's to do; Azure's
			// rows have nothing to change and go unmentioned.
			for _, a := range v.Assignments { // in the checklist's order
				if _, ok := versions[a.Control.ID]; ok && a.Party.Counted() {
					targets = append(targets, a.Control.ID)
				}
			}
		} else {
			// The ticked rows: s<id> as the checklist names its boxes, or
			// select=<id> (the API's and older pages' way).
			for _, s := range r.PostForm["select"] {
				if cid, err := strconv.ParseInt(s, 10, 64); err == nil && cid > 0 {
					targets = append(targets, cid)
				}
			}
			for _, a := range v.Assignments { // in the checklist's order
				if r.PostForm.Has("s" + strconv.FormatInt(a.Control.ID, 10)) {
					targets = append(targets, a.Control.ID)
				}
			}
		}

		out := views.BulkOutcome{}
		var owner srm.Owner
		switch action := r.PostFormValue("action"); action {
		case bulkOwner:
			// The checklist sends the owner by name (bulk_owner, picked
			// from the owners list or typed, in any case); the API and
			// older pages by id (owner_id).
			if name := strings.TrimSpace(r.PostFormValue("bulk_owner")); name != "" {
				found := false
				for _, o := range ws.Owners {
					if strings.EqualFold(o.Name, name) {
						owner, found = o, true
						break
					}
				}
				if !found {
					v.Filter = backFilter(r, ws)
					v.Bulk = &views.BulkOutcome{Action: "Nothing assigned", Skipped: []views.BulkSkip{},
						Problem: "No owner is called “" + name + "”. Pick one from the list; a new person or team is added on a control's row or its own page."}
					return renderChecklist(w, r, http.StatusUnprocessableEntity, v)
				}
				out.Action = "Assigned to " + owner.Name
			} else if s := r.PostFormValue("owner_id"); s != "" {
				oid, err := strconv.ParseInt(s, 10, 64)
				if err != nil || oid < 1 {
					return fmt.Errorf("bulk owner %q: %w", s, srm.ErrInvalid)
				}
				found := false
				for _, o := range ws.Owners {
					if o.ID == oid {
						owner, found = o, true
					}
				}
				if !found {
					return fmt.Errorf("bulk owner %d: %w", oid, store.ErrNoSuchOwner)
				}
				out.Action = "Assigned to " + owner.Name
			} else {
				out.Action = "Owner removed"
			}
		case bulkComplete:
			out.Action = "Marked complete"
		case bulkNA:
			out.Action = "Marked not applicable"
			if p := (srm.Status{NotApplicable: true, NAReason: reason}).Validate(); len(p) > 0 {
				v.Filter = backFilter(r, ws)
				v.Bulk = &views.BulkOutcome{Action: "Nothing marked not applicable",
					Skipped: []views.BulkSkip{}, Problem: p["na_reason"]}
				return renderChecklist(w, r, http.StatusUnprocessableEntity, v)
			}
		default:
			return fmt.Errorf("bulk action %q: %w", action, srm.ErrInvalid)
		}

		byID := make(map[int64]srm.Assignment, len(v.Assignments))
		for _, a := range v.Assignments {
			byID[a.Control.ID] = a
		}
		var changes []store.StatusChange
		seen := map[int64]bool{}
		for _, cid := range targets {
			a, ok := byID[cid]
			if !ok || seen[cid] {
				continue
			}
			seen[cid] = true
			ver, ok := versions[cid]
			switch {
			case !a.Party.Counted():
				out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: skipWhy[skipAzure]})
				continue
			case !ok:
				out.Stale = append(out.Stale, a)
				continue
			}
			s := a.Status
			s.Version = ver
			switch r.PostFormValue("action") {
			case bulkOwner:
				if owner.ID == 0 && s.Complete {
					out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: skipWhy[skipComplete]})
					continue
				}
				s.OwnerID = owner.ID
			case bulkComplete:
				if s.OwnerID == 0 {
					out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: skipWhy[skipNoOwner]})
					continue
				}
				s.Complete = true
			case bulkNA:
				s.NotApplicable, s.NAReason = true, reason
			}
			if s == a.Status || (s.OwnerID == a.Status.OwnerID && s.Complete == a.Status.Complete &&
				s.NotApplicable == a.Status.NotApplicable && s.NAReason == a.Status.NAReason && ver == a.Status.Version) {
				continue // already so: nothing to write
			}
			changes = append(changes, store.StatusChange{ControlID: cid, Status: s})
		}

		saved, stale, err := st.RecordStatuses(r.Context(), id, changes)
		if err != nil {
			return err
		}
		for cid, s := range saved {
			ws.Statuses[cid] = s
		}
		for _, c := range changes {
			if cur, ok := stale[c.ControlID]; ok {
				if cur.Version > 0 {
					ws.Statuses[c.ControlID] = cur
				} else {
					delete(ws.Statuses, c.ControlID)
				}
				out.Stale = append(out.Stale, byID[c.ControlID])
			}
		}
		out.Changed = len(saved)

		filter := backFilter(r, ws)
		if !wantsFragment(r) {
			// Post, redirect, get: the checklist says what was done from
			// its address (outcomeQuery), and reloading does not act again.
			return seeOther(w, r, outcomeURL(id, filter, r.PostFormValue("action"), owner.ID, out))
		}
		if v, err = workloadView(ws, ws.Owners); err != nil {
			return err
		}
		v.Filter, v.Bulk = filter, &out
		status := http.StatusOK
		if len(out.Stale) > 0 {
			status = http.StatusConflict
		}
		return renderChecklist(w, r, status, v)
	}
}

// saveRows saves the checklist rows a person changed: the one whose Save
// button they pressed (save=<control>), or every row whose owner or
// completion differs from what is stored. Each is saved conditionally on
// the version the page showed it at ("vers"), as the control's own form
// is. Without JavaScript a clean save goes back to the row in the
// checklist, filtered as it was; with htmx it answers with the checklist,
// keeping the rows saved in view. Rows rejected come back with the
// person's input (422). One row's Save is one save of that row (overtaken:
// 409, with the person's input); the page's Save changes saves every
// changed row in one statement, as a bulk action does (saveRowEdits), and
// names the rows someone else saved first, which it leaves as they are
// (409, or in the address without JavaScript).
func saveRows(w http.ResponseWriter, r *http.Request, st *store.Store, ws store.WorkloadState, v views.WorkloadView, versions map[int64]int64) error {
	id := ws.Workload.ID
	only := int64(0)
	if s := r.PostFormValue("save"); s != "" {
		cid, err := strconv.ParseInt(s, 10, 64)
		if err != nil || cid < 1 {
			return fmt.Errorf("save row %q: %w", s, srm.ErrInvalid)
		}
		only = cid
	}
	var edits []views.ControlEdit
	var saved []int64
	var stale []srm.Assignment
	var pending []rowEdit
	conflicts := 0
	for _, a := range v.Assignments {
		cid := a.Control.ID
		ns := strconv.FormatInt(cid, 10)
		owner, onPage := r.PostForm["o"+ns]
		if (only != 0 && cid != only) || !onPage || !a.Party.Counted() {
			continue
		}
		ver, shown := versions[cid]
		if !shown {
			continue // not shown at any version: never saved blind
		}
		// The row shows the owner and completion only: the rest stays as
		// it was read (the save is conditional on that version).
		kept := a.Status
		edit := views.ControlEdit{ControlID: cid, OwnerName: strings.TrimSpace(owner[0]), OwnerKind: srm.Person, Row: true,
			Status: srm.Status{Version: ver, Complete: kept.Complete, Note: kept.Note, Evidence: kept.Evidence,
				NotApplicable: kept.NotApplicable, NAReason: kept.NAReason}}
		if !kept.NotApplicable { // a row not applicable shows no tick box
			edit.Status.Complete = r.PostFormValue("c"+ns) != ""
		}
		if strings.EqualFold(edit.OwnerName, kept.OwnerName) && edit.Status.Complete == kept.Complete {
			continue // unchanged
		}
		if only == 0 && ver != kept.Version {
			// Saved by someone else since the page showed it: what differs
			// may be their change, not the person's. Say so, and show
			// what is stored, rather than write the page's old values back.
			stale = append(stale, a)
			continue
		}
		if only == 0 {
			// Every changed row is saved at once below, in one statement.
			if validRowEdit(&edit) {
				pending = append(pending, rowEdit{a, edit})
			} else {
				edits = append(edits, edit)
			}
			continue
		}
		conflict, err := recordEdit(r, st, &ws, id, &edit)
		if err != nil {
			return err
		}
		saved = append(saved, cid)
		if conflict {
			conflicts++
		}
		if conflict || len(edit.Problems) > 0 {
			edits = append(edits, edit)
		}
	}
	changed := len(saved) - len(edits) // edits: not saved
	if only == 0 {
		ok, overtaken, err := saveRowEdits(r, st, &ws, pending)
		if err != nil {
			return err
		}
		saved, stale, changed = ok, append(stale, overtaken...), len(ok)
	}
	filter := backFilter(r, ws)
	var notice *views.BulkOutcome
	if len(stale) > 0 {
		notice = &views.BulkOutcome{Action: "Saved", Changed: changed, Stale: stale}
	}
	if len(edits) == 0 && notice != nil && !wantsFragment(r) {
		return seeOther(w, r, outcomeURL(id, filter, rowsSaved, 0, *notice))
	}
	if len(edits) == 0 && !wantsFragment(r) {
		to := views.ChecklistURL(id, views.FilterQuery(filter))
		switch {
		case only != 0:
			to += "#" + views.ControlAnchor(only)
		case len(saved) > 0:
			to += "#" + views.ControlAnchor(saved[0])
		}
		return seeOther(w, r, to)
	}
	nv, err := workloadView(ws, ws.Owners)
	if err != nil {
		return err
	}
	nv.Filter, nv.Keep, nv.Edits, nv.Bulk = filter, saved, edits, notice
	status := http.StatusOK
	switch {
	case conflicts > 0 || len(stale) > 0:
		status = http.StatusConflict
	case len(edits) > 0:
		status = http.StatusUnprocessableEntity
	}
	return renderChecklist(w, r, status, nv)
}

// rowEdit is a checklist row's change waiting to be saved with the others.
type rowEdit struct {
	a    srm.Assignment
	edit views.ControlEdit
}

// validRowEdit checks a row's change as recordEdit does, noting problems
// in edit.Problems: false when there are any.
func validRowEdit(edit *views.ControlEdit) bool {
	edit.Problems = edit.Status.Validate()
	if edit.OwnerName != "" {
		for k, msg := range (srm.Owner{Name: edit.OwnerName, Kind: edit.OwnerKind}).Validate() {
			edit.Problems[k] = msg
		}
	}
	if edit.Status.Complete && edit.OwnerName == "" {
		edit.Problems["complete"] = "Assign an owner before marking this control complete."
	}
	return len(edit.Problems) == 0
}

// saveRowEdits saves the checklist rows' changes in one statement
// (store.RecordStatuses), each conditional on its own version, after
// creating in one more the owners named that srm does not know yet. It
// returns the rows saved, in order, and those someone else saved first
// (left as they are); ws follows what is stored now. A row whose stored
// status already says what it asks (a repeated submission) counts as saved.
func saveRowEdits(r *http.Request, st *store.Store, ws *store.WorkloadState, pending []rowEdit) (saved []int64, stale []srm.Assignment, err error) {
	if len(pending) == 0 {
		return nil, nil, nil
	}
	byName := map[string]srm.Owner{}
	for _, o := range ws.Owners {
		byName[strings.ToLower(o.Name)] = o
	}
	var missing []srm.Owner
	for _, p := range pending {
		if n := p.edit.OwnerName; n != "" {
			if _, ok := byName[strings.ToLower(n)]; !ok {
				missing = append(missing, srm.Owner{Name: n, Kind: p.edit.OwnerKind})
			}
		}
	}
	if len(missing) > 0 {
		made, err := st.EnsureOwners(r.Context(), missing)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range made {
			byName[strings.ToLower(o.Name)] = o
			ws.Owners = withOwner(ws.Owners, o)
		}
	}
	changes := make([]store.StatusChange, 0, len(pending))
	for _, p := range pending {
		s := p.edit.Status
		if n := p.edit.OwnerName; n != "" {
			o, ok := byName[strings.ToLower(n)]
			if !ok {
				return nil, nil, fmt.Errorf("save rows: owner %q: %w", n, store.ErrNoSuchOwner)
			}
			s.OwnerID = o.ID
		}
		changes = append(changes, store.StatusChange{ControlID: p.a.Control.ID, Status: s})
	}
	ok, refused, err := st.RecordStatuses(r.Context(), ws.Workload.ID, changes)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range pending {
		cid := p.a.Control.ID
		if s, done := ok[cid]; done {
			ws.Statuses[cid] = s
			saved = append(saved, cid)
			continue
		}
		cur := refused[cid]
		if cur.Version > 0 {
			ws.Statuses[cid] = cur
		} else {
			delete(ws.Statuses, cid)
		}
		if cur.Version > 0 && sameStatus(cur, p.edit) {
			saved = append(saved, cid) // already so: a repeated submission
			continue
		}
		stale = append(stale, p.a)
	}
	return saved, stale, nil
}

// renderChecklist answers with the checklist: its body for htmx, else the
// whole page.
func renderChecklist(w http.ResponseWriter, r *http.Request, status int, v views.WorkloadView) error {
	if wantsFragment(r) {
		return render(w, r, status, views.WorkloadBody(v))
	}
	return render(w, r, status, views.WorkloadPage(v))
}

package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// Bulk actions, as the form's "action" names them.
const (
	bulkOwner    = "owner"    // assign owner_id (empty: nobody)
	bulkComplete = "complete" // mark complete
	bulkNA       = "na"       // mark not applicable, with na_reason
)

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
		ws, err := st.WorkloadState(r.Context(), id)
		if err != nil {
			return err
		}
		v, err := workloadView(ws, ws.Owners)
		if err != nil {
			return err
		}
		versions := postedVersions(r)
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
			for _, s := range r.PostForm["select"] {
				if cid, err := strconv.ParseInt(s, 10, 64); err == nil && cid > 0 {
					targets = append(targets, cid)
				}
			}
		}

		out := views.BulkOutcome{}
		var owner srm.Owner
		reason := strings.TrimSpace(r.PostFormValue("na_reason"))
		switch action := r.PostFormValue("action"); action {
		case bulkOwner:
			if s := r.PostFormValue("owner_id"); s != "" {
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
				out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: "Azure carries it"})
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
					out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: "it is complete; a complete control keeps its owner"})
					continue
				}
				s.OwnerID = owner.ID
			case bulkComplete:
				if s.OwnerID == 0 {
					out.Skipped = append(out.Skipped, views.BulkSkip{Assignment: a, Why: "it has no owner yet; assign one first"})
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
		if len(out.Stale) == 0 && len(out.Skipped) == 0 && !wantsFragment(r) {
			return seeOther(w, r, views.ChecklistURL(id, views.FilterQuery(filter)))
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

// renderChecklist answers with the checklist: its body for htmx, else the
// whole page.
func renderChecklist(w http.ResponseWriter, r *http.Request, status int, v views.WorkloadView) error {
	if wantsFragment(r) {
		return render(w, r, status, views.WorkloadBody(v))
	}
	return render(w, r, status, views.WorkloadPage(v))
}

package srm

import (
	"strconv"
	"strings"
)

// Checklist states a filter can ask for.
const (
	StateOpen          = "open"           // counts and is not complete
	StateComplete      = "complete"       // counts and is complete
	StateNotApplicable = "not-applicable" // the customer's or shared, marked not applicable
)

// Owner filters besides an owner's id.
const (
	OwnerNone = "none" // nobody owns it yet
	OwnerMine = "mine" // owned by the owner linked to the signed-in account
)

// ChecklistFilter is what a workload's checklist shows: every field that is
// set narrows it, and the fields combine. The zero filter shows every
// control. It lives in the page's address, so each field is a query
// parameter (see views.FilterQuery).
type ChecklistFilter struct {
	Layer Layer  // "" for every layer
	Party Party  // "" for every party
	State string // "", StateOpen, StateComplete or StateNotApplicable
	// Owner is "", OwnerNone, OwnerMine or an owner's id in decimal.
	Owner string
	// OwnerID is the owner Owner stands for: the id given, or the owner
	// linked to the signed-in account for OwnerMine (0 when there is none,
	// and then nothing matches).
	OwnerID int64
	Query   string // text to find in a control's reference or title, any case
	// Framework is the slug of one of the workload's frameworks ("" for
	// all of them), and FrameworkID the framework it names (set by whoever
	// knows the workload's frameworks; a slug it does not hold is dropped).
	Framework   string
	FrameworkID int64
}

// Active reports whether the filter narrows the checklist at all.
func (f ChecklistFilter) Active() bool {
	return f.Layer != "" || f.Party != "" || f.State != "" || f.Owner != "" || f.Query != "" || f.Framework != ""
}

// Clean returns f with every value it does not understand dropped, so an
// address typed by hand shows more rather than failing.
func (f ChecklistFilter) Clean() ChecklistFilter {
	if !f.Layer.Valid() {
		f.Layer = ""
	}
	if !f.Party.Valid() {
		f.Party = ""
	}
	switch f.State {
	case StateOpen, StateComplete, StateNotApplicable:
	default:
		f.State = ""
	}
	switch f.Owner {
	case "", OwnerNone, OwnerMine:
	default:
		id, err := strconv.ParseInt(f.Owner, 10, 64)
		if err != nil || id < 1 {
			f.Owner, f.OwnerID = "", 0
		} else {
			f.OwnerID = id
		}
	}
	if f.Framework = strings.TrimSpace(f.Framework); len(f.Framework) > 100 {
		f.Framework, f.FrameworkID = "", 0
	}
	f.Query = strings.TrimSpace(f.Query)
	if len(f.Query) > 200 {
		f.Query = f.Query[:200]
	}
	return f
}

// Match reports whether the checklist shows a under f. States and owners
// are the customer's work, so they match only controls that count
// (Customer or Shared): Azure's controls are nobody's to do.
func (f ChecklistFilter) Match(a Assignment) bool {
	if f.Framework != "" && a.Control.FrameworkID != f.FrameworkID {
		return false
	}
	if f.Layer != "" && a.Control.Layer != f.Layer {
		return false
	}
	if f.Party != "" && a.Party != f.Party {
		return false
	}
	if (f.State != "" || f.Owner != "") && !a.Party.Counted() {
		return false
	}
	switch f.State {
	case StateOpen:
		if a.Status.NotApplicable || a.Status.Complete {
			return false
		}
	case StateComplete:
		if !a.Done() {
			return false
		}
	case StateNotApplicable:
		if !a.Status.NotApplicable {
			return false
		}
	}
	switch f.Owner {
	case "":
	case OwnerNone:
		if a.Status.OwnerID != 0 {
			return false
		}
	default:
		if f.OwnerID == 0 || a.Status.OwnerID != f.OwnerID {
			return false
		}
	}
	if f.Query != "" && !matchText(a.Control, f.Query) {
		return false
	}
	return true
}

// matchText reports whether q is in c's title or its framework id as
// people write it ("ac-2" finds AC-2 and its enhancements, "AC-2(1)" and
// "ac-2 (1)" find AC-2(1)), ignoring case, or is its reference in srm
// ("#12", for srm's own controls, which have no framework id).
func matchText(c Control, q string) bool {
	q = strings.ToLower(q)
	if strings.Contains(strings.ToLower(c.Title), q) {
		return true
	}
	if c.Ref != "" {
		if ref, nq := strings.ToLower(c.Ref), strings.ReplaceAll(q, " ", ""); nq != "" && strings.Contains(ref, nq) {
			return true
		}
	}
	return strings.TrimPrefix(q, "#") == strconv.FormatInt(c.ID, 10)
}

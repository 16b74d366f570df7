// Package views renders srm's pages and fragments with templ. Components
// take plain srm values and never query anything; web decides what to show.
// It must not import store's database code or web.
package views

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/srmhq/srm"
)

// Nav names the section of the site a page belongs to, for the menu.
type Nav string

// The sections of the menu.
const (
	NavPortfolio  Nav = "portfolio"
	NavMatrix     Nav = "matrix"
	NavOwners     Nav = "owners"
	NavCatalog    Nav = "catalog"
	NavMine       Nav = "mine"
	NavAudit      Nav = "audit"
	NavAdmin      Nav = "admin"
	NavFrameworks Nav = "frameworks"
	NavAccount    Nav = "account"
)

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// progressText is the counting rule's numbers as a person reads them.
func progressText(p srm.Progress) string {
	if p.Total == 0 {
		return "nothing to do"
	}
	return fmt.Sprintf("%d of %d complete", p.Done, p.Total)
}

// progressLabel is what a progress bar is called: "label: 3 of 20
// complete", or the numbers alone for a bar whose heading names it.
func progressLabel(label string, p srm.Progress) string {
	if label == "" {
		return progressText(p)
	}
	return label + ": " + progressText(p)
}

// ringColour colours a layer by completion: red at 0 %, green at 100 %,
// grey when nothing in it is the customer's.
func ringColour(p srm.Progress) string {
	if p.Total == 0 {
		return "#d9dee5"
	}
	hue := 4 + float64(p.Done)/float64(p.Total)*130
	return fmt.Sprintf("hsl(%.0f 62%% 62%%)", hue)
}

// ringRadius is the outer radius of layer i's ring (0 = physical, outermost).
func ringRadius(i int) float64 { return 96 - float64(i)*12.5 }

func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func ringsDescription(layers []srm.LayerProgress) string {
	s := "Defense-in-depth rings, data at the centre. "
	for _, lp := range layers {
		s += lp.Layer.Label() + ": "
		if lp.Progress.Total == 0 {
			s += "inherited from Azure or not applicable"
		} else {
			s += progressText(lp.Progress)
		}
		s += ". "
	}
	return s
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

func dateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// ControlAnchor is the id of control id's row in the checklist: its
// title's, which names the row's fields too (ChecklistRow).
func ControlAnchor(id int64) string { return "r" + itoa(id) }

// CardAnchor is the id of control id's card: on its own page, or opened in
// place below its row.
func CardAnchor(id int64) string { return "control-" + itoa(id) }

// fieldIDs are the ids of a status form's fields.
type fieldIDs struct {
	owner, complete, note, evidence, evidenceError, na, naReason string
}

// fieldIDsOf makes the ids of control cid's status form as substrings of
// one string: one allocation per card instead of one per field, and no
// cache that grows with every control ever shown.
func fieldIDsOf(cid int64) fieldIDs {
	p := "c" + itoa(cid) + "-"
	names := [...]string{"owner", "complete", "note", "evidence", "evidence-error", "na", "na-reason"}
	var b strings.Builder
	b.Grow(len(names)*len(p) + 48)
	var ends [len(names)]int
	for i, n := range names {
		b.WriteString(p)
		b.WriteString(n)
		ends[i] = b.Len()
	}
	all := b.String()
	part := func(i int) string {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return all[start:ends[i]]
	}
	return fieldIDs{owner: part(0), complete: part(1), note: part(2), evidence: part(3), evidenceError: part(4),
		na: part(5), naReason: part(6)}
}

// cardClass is a control card's classes: its party, and whether it is done
// or does not apply.
func cardClass(a srm.Assignment) string {
	c := "control control-" + string(a.Party)
	if a.Done() {
		c += " is-done"
	}
	if a.Status.NotApplicable && a.Party.Counted() {
		c += " is-na"
	}
	return c
}

// query builds a query string from key/value pairs, leaving out empty values.
func query(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

func partyClass(p srm.Party) string { return "party party-" + string(p) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

// inPlace is attrs when on, and no attributes otherwise: the htmx wiring
// of a form that is swapped in place on one page and posts plainly on
// another.
func inPlace(on bool, attrs templ.Attributes) templ.Attributes {
	if on {
		return attrs
	}
	return nil
}

// shortDate is a day as a row shows it: "3 Dec" this year, "3 Dec 2025"
// another year.
func shortDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Year() == time.Now().UTC().Year() {
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

// inheritedText is what an inherited row says: that it is inherited and,
// when someone worked on it before it was, that their work is kept.
func inheritedText(s srm.Status) string {
	switch {
	case s.OwnerName != "":
		return "Inherited. Earlier work by " + s.OwnerName + " is kept."
	case s.Complete:
		return "Inherited. Earlier work is kept."
	}
	return "Inherited."
}

// shownVersions is the version of every row of sections a person can
// change, as "control:version" joined by commas: what a bulk action on
// them is conditional on.
func shownVersions(sections []checklistLayer) string {
	var b strings.Builder
	for _, l := range sections {
		for _, a := range l.Rows {
			if !a.Party.Counted() {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(itoa(a.Control.ID))
			b.WriteByte(':')
			b.WriteString(itoa(a.Status.Version))
		}
	}
	return b.String()
}

// rowKind is what a checklist row's classes say: its party unless it is
// the customer's (the checklist's default style), and whether it is done
// or does not apply. ChecklistRow spells each out as a constant class
// attribute: a page has hundreds of rows.
type rowKind int

const (
	rowOpen       rowKind = iota // the customer's, open: no class
	rowAzure                     // "azure"
	rowShared                    // "shared"
	rowSharedDone                // "shared done"
	rowSharedNA                  // "shared na"
	rowDone                      // "done"
	rowNA                        // "na"
)

// rowClass is the kind of a's row.
func rowClass(a *srm.Assignment) rowKind {
	switch {
	case a.Party == srm.Provider:
		return rowAzure
	case a.Party == srm.Shared && a.Status.NotApplicable:
		return rowSharedNA
	case a.Party == srm.Shared && a.Done():
		return rowSharedDone
	case a.Party == srm.Shared:
		return rowShared
	case a.Status.NotApplicable:
		return rowNA
	case a.Done():
		return rowDone
	}
	return rowOpen
}

// completedText says when a row was completed and, when it was not by the
// owner the row shows, by whom: the day, and the year only when it is not
// this year's.
func completedText(s srm.Status, owner string) string {
	if s.CompletedBy == owner {
		return "on " + shortDate(s.CompletedAt)
	}
	return "by " + s.CompletedBy + " on " + shortDate(s.CompletedAt)
}

// controlRef is how a control is referred to: its id in its framework as
// people write it (AC-2, AC-2(1)). srm's own catalog has no framework ids,
// so its controls are numbered.
func controlRef(c srm.Control) string {
	if c.Ref != "" {
		return c.Ref
	}
	return "#" + itoa(c.ID)
}

// controlName is a control as a person names it, reference and title:
// what screen readers hear for each of its row's fields.
func controlName(c srm.Control) string { return controlRef(c) + " " + c.Title }

// FilterQuery is f as the query string of the checklist's address
// (without "?"), in a fixed order; "" for no filter.
func FilterQuery(f srm.ChecklistFilter) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("framework", f.Framework)
	set("q", f.Query)
	set("layer", string(f.Layer))
	set("party", string(f.Party))
	set("state", f.State)
	set("owner", f.Owner)
	return v.Encode()
}

// ParseFilter reads a checklist filter from an address's query, dropping
// what it does not understand.
func ParseFilter(q url.Values) srm.ChecklistFilter {
	return srm.ChecklistFilter{
		Query: q.Get("q"), Layer: srm.Layer(q.Get("layer")), Party: srm.Party(q.Get("party")),
		State: q.Get("state"), Owner: q.Get("owner"), Framework: q.Get("framework"),
	}.Clean()
}

// ChecklistURL is workload wid's checklist filtered by the query string
// back (from FilterQuery).
func ChecklistURL(wid int64, back string) string {
	if back == "" {
		return WorkloadURL(wid)
	}
	return WorkloadURL(wid) + "?" + back
}

// ChecklistExportURL is the download of workload wid's checklist in
// format ext ("csv" or "xlsx"), filtered by the query string back (from
// FilterQuery), as the page shows it.
func ChecklistExportURL(wid int64, back, ext string) string {
	u := WorkloadURL(wid) + "/checklist." + ext
	if back == "" {
		return u
	}
	return u + "?" + back
}

// CRMExportURL is the download of workload wid's customer responsibility
// matrix for the framework of slug, in format ext ("csv" or "xlsx").
func CRMExportURL(wid int64, slug, ext string) string {
	return query(WorkloadURL(wid)+"/crm."+ext, "framework", slug)
}

// SSPURL is the OSCAL system security plan of workload wid for the
// framework whose slug is framework.
func SSPURL(wid int64, framework string) string {
	return query(WorkloadURL(wid)+"/ssp.json", "framework", framework)
}

// controlPageURL is control cid's page, remembering the checklist's filter
// to go back to.
func controlPageURL(wid, cid int64, back string) string {
	if back == "" {
		return StatusURL(wid, cid)
	}
	return StatusURL(wid, cid) + "?" + back
}

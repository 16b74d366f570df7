package views

import (
	"context"
	"io"

	"github.com/a-h/templ"

	"github.com/srmhq/srm"
)

// ChecklistRow is one control in the checklist: who carries it and, for
// the customer's and shared controls, its owner and completion, part of
// the checklist's one form (named o<id> and c<id>) and saved in place. Its
// details open below it. A page lists hundreds of rows, so a row carries
// little: no form, button, hidden field or id of its own beyond its
// title's (the row's anchor, ControlAnchor); its fields are named by the
// control through aria-labelledby (checklistLabels and the title's id); it
// is saved with JavaScript as it changes, without by its section's Save
// changes; its layout comes from the checklist's styles.
//
// It is written in Go rather than in templ because a page has hundreds of
// rows and templ's generated code spends more on each expression (a
// fmt.Sprint per text, an interface per attribute) than on writing it:
// the rows were most of the page's CPU. Every value still goes through
// templ's escaping (html.go: text and attribute values escaped, the link
// through templ.URL); the rare parts (a rejected row, details opened in
// place) are templ components.
func ChecklistRow(v *WorkloadView, a *srm.Assignment, back string, editor bool) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		cid := a.Control.ID
		edit := v.rowEdit(cid)
		st := a.Status
		ownerName := st.OwnerName
		if edit != nil {
			st, ownerName = edit.Status, edit.OwnerName
		}
		editable := editor && v.editable(a)
		// The row's names and ids are the control's id with a letter: o, c
		// and s its owner, Complete and selection fields in the checklist's
		// form; r its title's id (ControlAnchor), which with a word of
		// checklistLabels (ls, lo, lc) names each field; r<id>o the owner
		// field's id when an error describes it. Digits need no escaping.
		n := itoa(cid)
		h := newHTML()
		h.raw(rowOpenTags[rowClass(a)])
		if editable {
			h.raw(`<input type="checkbox" name="s`)
			h.raw(n)
			h.raw(`" aria-labelledby="ls r`)
			h.raw(n)
			h.raw(`"> `)
		}
		h.raw(`<a id="r`)
		h.raw(n)
		h.raw(`" href="`)
		h.url(controlPageURL(v.Workload.ID, cid, back))
		h.raw(`"><span>`)
		h.text(controlRef(a.Control))
		h.raw(`</span> `)
		h.text(a.Control.Title)
		h.raw(`</a><b>`)
		h.text(a.Party.Label())
		h.raw(`</b> `)
		if a.Overridden() {
			h.raw(`<span class="flag flag-override" data-testid="overridden">Overridden</span> `)
		}
		switch {
		case editable:
			h.raw(`<input`)
			if edit != nil {
				h.raw(` id="r`)
				h.raw(n)
				h.raw(`o" aria-describedby="r`)
				h.raw(n)
				h.raw(`o-error"`)
			}
			h.raw(` name="o`)
			h.raw(n)
			h.raw(`"`)
			if ownerName != "" {
				h.raw(` value="`)
				h.attr(ownerName)
				h.raw(`"`)
			}
			h.raw(` list="owners" aria-labelledby="lo r`)
			h.raw(n)
			h.raw(`"> `)
			if a.Status.NotApplicable && st.NotApplicable {
				h.raw(`<span class="flag" data-testid="na-flag">Not applicable</span> `)
			} else {
				h.raw(`<label><input type="checkbox" name="c`)
				h.raw(n)
				h.raw(`"`)
				if st.Complete {
					h.raw(` checked`)
				}
				h.raw(` aria-labelledby="lc r`)
				h.raw(n)
				h.raw(`">Complete</label> `)
			}
			if a.Status.Complete && st.Complete && !st.NotApplicable {
				h.raw(`<small>`)
				h.text(completedText(a.Status, ownerName))
				h.raw(`</small> `)
			}
			if edit != nil {
				if err := rowProblems(a, edit, "r"+n+"o").Render(ctx, h); err != nil {
					return err
				}
			}
		case a.Party.Counted():
			h.raw(`<span class="ck-o"><span class="muted small">Owner</span> `)
			h.text(ownerOrNobody(a.Status.OwnerName))
			h.raw(`</span> `)
			switch {
			case a.Status.NotApplicable:
				h.raw(`<span class="flag">Not applicable</span> `)
			case a.Done():
				h.raw(`<span class="flag flag-done">Complete</span> <small>`)
				h.text(completedText(a.Status, a.Status.OwnerName))
				h.raw(`</small> `)
			default:
				h.raw(`<span class="flag">Open</span> `)
			}
		default:
			h.raw(`<i data-testid="inherited">`)
			h.text(inheritedText(a.Status))
			h.raw(`</i> `)
		}
		if v.Open == cid {
			if err := rowDetails(v, a).Render(ctx, h); err != nil {
				return err
			}
		}
		h.raw(`</li>`)
		return h.flush(w)
	})
}

// rowOpenTags are a row's opening tag by its kind (rowClass): its party
// unless it is the customer's (the checklist's default style), and whether
// it is done or does not apply.
var rowOpenTags = [...]string{
	rowOpen:       `<li>`,
	rowAzure:      `<li class="azure">`,
	rowShared:     `<li class="shared">`,
	rowSharedDone: `<li class="shared done">`,
	rowSharedNA:   `<li class="shared na">`,
	rowDone:       `<li class="done">`,
	rowNA:         `<li class="na">`,
}

package views

import (
	"io"

	"github.com/a-h/templ"
)

// html writes markup for components written in Go (ChecklistRow), with
// templ's escaping for every value, and keeps the first write error.
type html struct {
	w   io.Writer
	err error
}

// raw writes markup as it is: only ever a constant of the component's own.
func (h *html) raw(markup string) {
	if h.err == nil {
		_, h.err = io.WriteString(h.w, markup)
	}
}

// text writes s as the text of an element, escaped.
func (h *html) text(s string) { h.raw(templ.EscapeString(s)) }

// attr writes s as the value of a double-quoted attribute, escaped.
func (h *html) attr(s string) { h.raw(templ.EscapeString(s)) }

// url writes u as the value of an href: sanitized as templ sanitizes a
// link (a javascript: or other unsafe address becomes harmless), then
// escaped.
func (h *html) url(u string) { h.raw(templ.EscapeString(string(templ.URL(u)))) }

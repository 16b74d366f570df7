package views

import (
	"io"
	"sync"

	"github.com/a-h/templ"
)

// html builds markup for components written in Go (ChecklistRow) in a
// buffer, with templ's escaping for every value, and writes it out in one
// piece (flush): a row is some forty pieces, and each write through the
// render's writers costs more than copying it.
type html struct {
	b []byte
}

// rowBuffers keep html's buffers between rows and requests.
var rowBuffers = sync.Pool{New: func() any { return &html{b: make([]byte, 0, 1024)} }}

// newHTML is an empty html from the pool; flush returns it.
func newHTML() *html {
	h := rowBuffers.Get().(*html)
	h.b = h.b[:0]
	return h
}

// flush writes what h holds to w and returns h to the pool.
func (h *html) flush(w io.Writer) error {
	_, err := w.Write(h.b)
	if cap(h.b) <= 64<<10 { // a rare huge row does not pin its buffer
		rowBuffers.Put(h)
	}
	return err
}

// Write adds markup a templ component rendered (into h): the rare parts of
// a component written in Go.
func (h *html) Write(markup []byte) (int, error) {
	h.b = append(h.b, markup...)
	return len(markup), nil
}

// raw adds markup as it is: only ever a constant of the component's own,
// or digits.
func (h *html) raw(markup string) { h.b = append(h.b, markup...) }

// text adds s as the text of an element, escaped.
func (h *html) text(s string) { h.b = append(h.b, templ.EscapeString(s)...) }

// attr adds s as the value of a double-quoted attribute, escaped.
func (h *html) attr(s string) { h.b = append(h.b, templ.EscapeString(s)...) }

// url adds u as the value of an href: sanitized as templ sanitizes a link
// (a javascript: or other unsafe address becomes harmless), then escaped.
func (h *html) url(u string) { h.b = append(h.b, templ.EscapeString(string(templ.URL(u)))...) }

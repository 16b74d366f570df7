package web

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// handlerFunc is an http.HandlerFunc that returns its error instead of
// writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

var errMethod = errors.New("method not allowed")

// handle answers any error h returns with the matching status and the
// error page. Only unexpected (5xx) errors are logged, once.
func handle(logger *slog.Logger, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		status, title, detail := describe(err)
		switch {
		case status == http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "5")
			logger.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		case status >= 500:
			logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if rerr := render(w, r, status, views.ErrorPage(status, title, detail)); rerr != nil {
			// Nothing was written yet (render buffers): say it in plain text.
			logger.ErrorContext(r.Context(), "error page failed", "method", r.Method, "path", r.URL.Path, "err", rerr)
			http.Error(w, title+": "+detail, status)
		}
	}
}

// describe maps an error to a status and words a person can act on.
func describe(err error) (int, string, string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "That was too much",
			fmt.Sprintf("What was sent is larger than srm accepts here (%s at most). Shorten the text, or choose a smaller file, and try again.", sizeOf(tooLarge.Limit))
	case errors.Is(err, srm.ErrNotFound):
		return http.StatusNotFound, "Not found", "There is no such page, or what it showed has been deleted."
	case errors.Is(err, srm.ErrInvalid):
		return http.StatusBadRequest, "That address is not valid", "Part of the address or the form is malformed. Follow a link from the portfolio instead."
	case errors.Is(err, store.ErrAccountChanged):
		return http.StatusConflict, "Sign in again", "Your account changed while you were signing in (an admin changed it, or you did in another window), so srm did not sign you in. Sign in again."
	case errors.Is(err, srm.ErrConflict):
		return http.StatusConflict, "Someone got there first", "The change conflicts with another one. Reload the page and try again."
	case errors.Is(err, srm.ErrUnavailable):
		return http.StatusServiceUnavailable, "The database is not answering", "srm cannot reach its database right now. Nothing you sent was half-saved: try again in a few seconds."
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "Not allowed", "This address does not accept that kind of request."
	}
	return http.StatusInternalServerError, "Something went wrong", "srm could not finish this request. It has been logged; try again in a moment."
}

// render writes c with status. It renders into a buffer first, so a
// template error never leaves half a page on the wire.
func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			buf.Reset()
			buffers.Put(buf)
		}
	}()
	if err := c.Render(r.Context(), buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client has gone; nothing useful to do
	return nil
}

// buffers holds render buffers between requests: a workload page is tens
// of kilobytes, and allocating that afresh for every request feeds the
// garbage collector for nothing.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps a rare huge page from pinning its buffer forever.
const maxPooledBuffer = 1 << 20

// wantsFragment reports whether r is an htmx swap that wants only a
// fragment. A history restore also carries HX-Request but needs the whole
// page.
func wantsFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" &&
		r.Header.Get("HX-History-Restore-Request") != "true"
}

// pathID reads a positive integer id from the path, or returns an error
// wrapping srm.ErrInvalid (400).
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("path %s %q: %w", name, r.PathValue(name), srm.ErrInvalid)
	}
	return id, nil
}

// postedVersion is the version a form was read at (its "version" field),
// which a save is conditional on; 0 when it has none. parseForm has
// refused a version that is not a number.
func postedVersion(r *http.Request) int64 {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	return v
}

// parseForm parses the request's form, mapping an oversized body to 413
// and anything else malformed, a version that is not a whole number
// included, to 400.
func parseForm(r *http.Request) error {
	parse := r.ParseForm
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// A catalog's upload: its fields, csrf among them, are in the
		// multipart body (files beyond uploadMemory wait on disk).
		parse = func() error { return r.ParseMultipartForm(uploadMemory) }
	}
	if err := parse(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return fmt.Errorf("form: %w (%v)", srm.ErrInvalid, err)
	}
	if v := r.PostForm.Get("version"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return fmt.Errorf("form: version %q: %w", v, srm.ErrInvalid)
		}
	}
	return nil
}

// seeOther redirects after a POST, so reloading never submits twice.
func seeOther(w http.ResponseWriter, r *http.Request, url string) error {
	http.Redirect(w, r, url, http.StatusSeeOther)
	return nil
}

// sizeOf says a byte count as a person reads it: "1 MB", "51 MB", "64 KB".
func sizeOf(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

package web

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// maxAuditSearch is the longest search the audit page accepts, in characters.
const maxAuditSearch = 200

// auditQuery reads the audit filter from a query string: the store's
// query, the filter as typed (to show it again), and what is wrong with it,
// field by field. Dates are whole days in UTC; "to" includes its day.
func auditQuery(v url.Values) (store.AuditQuery, views.AuditFilter, srm.Problems) {
	f := views.AuditFilter{
		Workload: strings.TrimSpace(v.Get("workload")),
		User:     strings.TrimSpace(v.Get("user")),
		Action:   strings.TrimSpace(v.Get("action")),
		From:     strings.TrimSpace(v.Get("from")),
		To:       strings.TrimSpace(v.Get("to")),
		Search:   strings.TrimSpace(v.Get("q")),
	}
	var q store.AuditQuery
	p := srm.Problems{}
	id := func(field, value, msg string) int64 {
		if value == "" {
			return 0
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 {
			p[field] = msg
			return 0
		}
		return n
	}
	q.WorkloadID = id("workload", f.Workload, "Choose a workload from the list.")
	q.ActorID = id("user", f.User, "Choose a user from the list.")
	q.Before = id("before", strings.TrimSpace(v.Get("before")), "This page link is malformed. Start again from the newest rows.")
	if msg := srm.CheckText(f.Action, 100); msg != "" {
		p["action"] = msg
	} else {
		q.Action = f.Action
	}
	day := func(field, value string) time.Time {
		if value == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, value)
		if err != nil || t.Year() < 1 || t.Year() > 9999 {
			p[field] = "Enter a date as YYYY-MM-DD, for example 2026-03-31."
			return time.Time{}
		}
		return t
	}
	q.From = day("from", f.From)
	if to := day("to", f.To); !to.IsZero() {
		q.To = to.AddDate(0, 0, 1) // the whole of the last day
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		p["to"] = "The end date is before the start date."
	}
	if msg := srm.CheckText(f.Search, maxAuditSearch); msg != "" {
		p["q"] = msg
	} else {
		q.Search = f.Search
	}
	return q, f, p
}

// auditPage handles "GET /audit": the audit trail, filtered by workload,
// user, action, dates and a search, one page at a time, newest first. A
// filter that cannot be read comes back with a message per field and 400.
func auditPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		q, f, problems := auditQuery(r.URL.Query())
		filters, err := st.AuditFilters(ctx)
		if err != nil {
			return err
		}
		v := views.AuditView{Filter: f, Problems: problems, Paged: q.Before > 0, Actions: filters.Actions,
			Actors: filters.Actors, Workloads: filters.Workloads}
		if len(problems) > 0 {
			return render(w, r, http.StatusBadRequest, views.AuditPage(v))
		}
		page, err := st.Audit(ctx, q)
		if err != nil {
			return err
		}
		v.Entries, v.Older = page.Entries, page.Older
		return render(w, r, http.StatusOK, views.AuditPage(v))
	}
}

// auditCSVColumns heads the audit export.
var auditCSVColumns = []string{"id", "time", "actor", "actor id", "action", "object type", "object id",
	"object name", "workload id", "before", "after", "client ip", "user agent"}

// auditCSV handles "GET /audit.csv": every row the audit page's filter
// selects, as CSV, streamed from PostgreSQL as it reads them. Values
// before and after are the rows' JSON, in full.
func auditCSV(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, _, problems := auditQuery(r.URL.Query())
		if len(problems) > 0 {
			return fmt.Errorf("audit export: %w", srm.ErrInvalid)
		}
		q.Before, q.Limit = 0, 0 // the whole trail the filter selects

		sent := &countingWriter{w: w}
		out := csv.NewWriter(bufio.NewWriterSize(sent, 32<<10))
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="srm-audit-`+time.Now().UTC().Format("20060102")+`.csv"`)
		h.Set("Cache-Control", "no-store")

		err := out.Write(auditCSVColumns)
		if err == nil {
			err = st.EachAuditEntry(r.Context(), q, func(e srm.AuditEntry) error { return out.Write(auditCSVRecord(e)) })
		}
		if err == nil {
			out.Flush()
			err = out.Error()
		}
		if err == nil {
			return nil
		}
		if sent.n == 0 { // nothing sent yet: answer with the error page
			h.Del("Content-Disposition")
			return err
		}
		// Half a file is on its way. Abort the response, so the download
		// fails rather than looking complete.
		panic(http.ErrAbortHandler)
	}
}

// auditCSVRecord is one row of the export.
func auditCSVRecord(e srm.AuditEntry) []string {
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	return []string{
		strconv.FormatInt(e.ID, 10),
		e.At.UTC().Format(time.RFC3339Nano),
		exchange.SafeCell(e.Actor),
		id(e.ActorID),
		exchange.SafeCell(e.Action),
		exchange.SafeCell(e.ObjectType),
		exchange.SafeCell(e.ObjectID),
		exchange.SafeCell(e.ObjectName),
		id(e.WorkloadID),
		exchange.SafeCell(string(e.Before)),
		exchange.SafeCell(string(e.After)),
		exchange.SafeCell(e.ClientIP),
		exchange.SafeCell(e.UserAgent),
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// workloadHistoryPage handles "GET /workloads/{id}/history": the
// workload's own rows of the audit trail, newest first, one page at a time.
// A deleted workload's history stays readable; an id the trail never
// mentioned is 404.
func workloadHistoryPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var before int64
		if b := r.URL.Query().Get("before"); b != "" {
			if before, err = strconv.ParseInt(b, 10, 64); err != nil || before <= 0 {
				return fmt.Errorf("history of workload %d: before %q: %w", id, b, srm.ErrInvalid)
			}
		}
		page, err := st.Audit(ctx, store.AuditQuery{WorkloadID: id, Before: before})
		if err != nil {
			return err
		}
		v := views.WorkloadHistoryView{WorkloadID: id, Entries: page.Entries, Older: page.Older, Paged: before > 0}
		if len(page.Entries) > 0 {
			v.Name, v.Exists = page.Entries[0].WorkloadName, page.Entries[0].WorkloadExists
		}
		if !v.Exists {
			wl, err := st.Workload(ctx, id)
			switch {
			case err == nil:
				v.Name, v.Exists = wl.Name, true
			case !errors.Is(err, srm.ErrNotFound):
				return err
			case len(page.Entries) == 0 && before == 0:
				return err // never on the trail, and not there: no such workload
			}
		}
		if v.Name == "" {
			v.Name = "Workload " + strconv.FormatInt(id, 10)
		}
		return render(w, r, http.StatusOK, views.WorkloadHistoryPage(v))
	}
}

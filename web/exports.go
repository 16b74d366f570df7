package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
)

// exportPageSize is how many workloads the portfolio export reads per
// statement: it walks the list by keyset, never holding all of it. Tests
// make it small to walk many pages.
var exportPageSize = func() *atomic.Int64 { var n atomic.Int64; n.Store(500); return &n }()

// fileSlug is s reduced to what is safe in a file name in any browser and
// any system: lower-case ASCII letters, digits and single hyphens, at most
// 60 characters ("" when nothing is left).
func fileSlug(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// export streams one table as a download named name (without extension)
// in format f: the header, then what rows writes, row by row. An error
// before anything was sent is answered with the error page; after, the
// response is aborted, so a half file never looks complete.
func export(w http.ResponseWriter, f exchange.Format, name, sheet string, cols []exchange.Column, rows func(write func([]exchange.Value) error) error) error {
	sent := &countingWriter{w: w}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+name+f.Ext()+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	out, err := exchange.NewWriter(f, sent, sheet, cols)
	if err == nil {
		err = rows(out.Write)
		if err == nil {
			err = out.Close()
		} else {
			_ = out.Abort()
		}
	}
	if err == nil {
		return nil
	}
	if sent.n == 0 {
		h.Del("Content-Disposition")
		h.Set("Content-Type", "text/html; charset=utf-8")
		return err
	}
	panic(http.ErrAbortHandler)
}

// checklistExport handles "GET /workloads/{id}/checklist.csv" and
// ".xlsx": the controls the checklist shows with the same filter (the
// page's query), with everything the page says of each.
func checklistExport(st *store.Store, f exchange.Format) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, _, err := loadChecklistView(r, st, id, r.URL.Query())
		if err != nil {
			return err
		}
		filter := checklistFilter(r, r.URL.Query(), v.Owners, v.Frameworks)
		name := exportName("checklist", strconv.FormatInt(id, 10), v.Workload.Name)
		return export(w, f, name, v.Workload.Name, exchange.ChecklistColumns, func(write func([]exchange.Value) error) error {
			for _, a := range v.Assignments {
				if !filter.Match(a) {
					continue
				}
				if err := write(exchange.ChecklistRow(v.Workload, v.Baseline.Name, a)); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// portfolioExport handles "GET /portfolio.csv" and ".xlsx": every
// workload the portfolio's filter (model, framework) selects, in its sort
// order, read a page at a time by keyset.
func portfolioExport(st *store.Store, f exchange.Format) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		model, framework, sort := portfolioFilter(r)
		name := "srm-portfolio-" + time.Now().UTC().Format("20060102")
		size := int(exportPageSize.Load())
		return export(w, f, name, "Portfolio", exchange.PortfolioColumns, func(write func([]exchange.Value) error) error {
			// The whole list, page after page: no page needs the count.
			q := store.WorkloadQuery{Model: model, Framework: framework, Sort: store.WorkloadSort(sort), Page: 1, PerPage: size,
				NoCount: true}
			for {
				list, err := st.Workloads(r.Context(), q)
				if err != nil {
					return fmt.Errorf("portfolio export: %w", err)
				}
				for _, s := range list.Items {
					if err := write(exchange.PortfolioRow(s)); err != nil {
						return err
					}
				}
				if len(list.Items) < size {
					return nil
				}
				q.After = list.Items[len(list.Items)-1].Workload.ID
			}
		})
	}
}

// portfolioFilter reads the portfolio's filter from the query, falling
// back to the defaults for values it does not understand.
func portfolioFilter(r *http.Request) (model srm.ServiceModel, framework, sort string) {
	q := r.URL.Query()
	model = srm.ServiceModel(q.Get("model"))
	if !model.Valid() {
		model = ""
	}
	sort = q.Get("sort")
	switch store.WorkloadSort(sort) {
	case store.ByProgress, store.ByProgressDesc:
	default:
		sort = string(store.ByName)
	}
	framework = strings.TrimSpace(q.Get("framework"))
	if len(framework) > 100 {
		framework = "" // no slug is that long
	}
	return model, framework, sort
}

// requesterID is the account a request acts as: the API token's, or the
// signed-in session's (0 for none).
func requesterID(r *http.Request) int64 {
	if c := caller(r); c.User.ID > 0 {
		return c.User.ID
	}
	return viewer(r).ID
}

// exportName is a download's file name without extension: srm-kind, then
// the parts that say what it holds, made safe (see fileSlug), then the day.
func exportName(kind string, parts ...string) string {
	name := "srm-" + kind
	for _, p := range parts {
		if s := fileSlug(p); s != "" {
			name += "-" + s
		}
	}
	return name + "-" + time.Now().UTC().Format("20060102")
}

// queueExport handles "GET /owners/{id}/queue.csv" and ".xlsx": every
// control the owner holds, all pages of the queue in its order (open,
// completed, no longer counted), streamed from PostgreSQL row by row.
func queueExport(st *store.Store, f exchange.Format) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		o, err := st.Owner(r.Context(), id)
		if err != nil {
			return err
		}
		name := exportName("queue", strconv.FormatInt(o.ID, 10), o.Name)
		return export(w, f, name, o.Name, exchange.QueueColumns, func(write func([]exchange.Value) error) error {
			return st.EachQueueItem(r.Context(), o.ID, func(q srm.QueueItem) error {
				return write(exchange.QueueRow(o, q))
			})
		})
	}
}

// matrixExport handles "GET /matrix.csv" and ".xlsx": the matrix page's
// baseline and framework (the query's baseline and framework, by slug),
// every control against the four service models, layer by layer as the
// page lists them.
func matrixExport(st *store.Store, f exchange.Format) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, err := loadMatrix(r, st)
		if err != nil {
			return err
		}
		name := exportName("matrix", m.baseline.Slug, m.framework.Slug)
		return export(w, f, name, m.baseline.Name, exchange.MatrixColumns, func(write func([]exchange.Value) error) error {
			for _, l := range srm.Layers {
				for _, row := range m.rows {
					if row.Control.Layer != l {
						continue
					}
					if err := write(exchange.MatrixRow(m.baseline.Name, row)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
}

// crmExport handles "GET /workloads/{id}/crm.csv" and ".xlsx": the
// customer responsibility matrix of the workload for one of its
// frameworks (the query's framework, by slug, or the SSP's default:
// chosenFramework; one it does not hold is 404), every control of that
// framework in the checklist's order.
func crmExport(st *store.Store, f exchange.Format) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, ws, err := loadWorkloadView(r, st, id)
		if err != nil {
			return err
		}
		fw, err := chosenFramework(ws, r.URL.Query().Get("framework"))
		if err != nil {
			return err
		}
		name := exportName("crm", strconv.FormatInt(id, 10), v.Workload.Name, fw.Slug)
		return export(w, f, name, "CRM "+fw.Name, exchange.CRMColumns, func(write func([]exchange.Value) error) error {
			for _, a := range v.Assignments {
				if a.Control.FrameworkID != fw.ID {
					continue
				}
				if err := write(exchange.CRMRow(requirement(a))); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// requirement is a as the CRM and the SSP export it: a control of an
// imported framework carries its id, title and statement as written there.
func requirement(a srm.Assignment) exchange.Requirement {
	req := exchange.Requirement{Assignment: a}
	if c := a.Control; c.Ref != "" {
		req.Framework = &framework.Control{ID: c.Ref, Title: c.Title, Statement: c.Description,
			Family: c.Family, Parent: c.Parent, Guidance: c.Guidance}
	}
	return req
}

package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
)

// The OSCAL system security plan of a workload (docs/oscal.md): one
// document per framework the workload holds, since an SSP imports one
// profile and its control ids must be unique (NIST's Low, Moderate and
// High name the same controls). ?framework= picks the framework by slug;
// without it, the first framework the workload holds other than srm's own
// catalog, or srm's catalog when it holds no other. Built from one read of
// the store (WorkloadState), whatever the number of controls.

// chosenFramework is the framework of ws that a per-framework document
// (the SSP, the customer responsibility matrix) answers: the one slug
// names, or by default the first the workload holds other than srm's own
// catalog (the one an auditor asks about), else srm's catalog. An error
// wrapping srm.ErrNotFound when the workload holds no framework, or none
// by that slug.
func chosenFramework(ws store.WorkloadState, slug string) (srm.Framework, error) {
	held := heldFrameworks(ws)
	if slug = strings.TrimSpace(slug); slug != "" {
		for _, f := range held {
			if f.Slug == slug {
				return f, nil
			}
		}
		return srm.Framework{}, noFramework{workload: ws.Workload.ID, slug: slug}
	}
	if len(held) == 0 {
		return srm.Framework{}, noFramework{workload: ws.Workload.ID}
	}
	for _, f := range held {
		if f.Slug != srm.SRMFramework {
			return f, nil
		}
	}
	return held[0], nil
}

// noFramework says the workload holds no framework (by that slug): a 404.
type noFramework struct {
	workload int64
	slug     string
}

func (e noFramework) Error() string {
	if e.slug == "" {
		return fmt.Sprintf("workload %d holds no framework", e.workload)
	}
	return fmt.Sprintf("workload %d holds no framework %q", e.workload, e.slug)
}

func (e noFramework) Unwrap() error { return srm.ErrNotFound }

// sspProfile is what the SSP of framework f imports: NIST's published
// profile for the baselines srm ships; else a resource in the SSP's back
// matter naming the catalog (and linking where it was published).
func sspProfile(f srm.Framework) exchange.Profile {
	if f.Slug == srm.SRMFramework {
		return exchange.Profile{Title: f.Name}
	}
	for _, b := range framework.Builtins() {
		if b.Slug == f.Slug && b.SourceURL == f.SourceURL && b.Profile != "" {
			return exchange.Profile{Href: b.Profile, Title: f.Name}
		}
	}
	desc := "The OSCAL catalog “" + f.Name + "”"
	if f.Version != "" {
		desc += ", version " + f.Version
	}
	desc += ", as imported into srm"
	if f.Source != "" {
		desc += " (" + f.Source + ")"
	}
	return exchange.Profile{Title: f.Name, Description: desc + ". Control ids are the catalog's own.", Source: f.SourceURL}
}

// sspInput builds the SSP of framework f for the workload in ws: the
// engine's assessment of f's controls alone, in the framework's order
// (srm's own catalog keeps the checklist's order, by layer).
func sspInput(ws store.WorkloadState, f srm.Framework) (exchange.SSPInput, error) {
	wl := ws.Workload
	b, as, err := ws.Catalog.Assess(wl.BaselineID, []int64{f.ID}, wl.Model, ws.Overrides, ws.Statuses)
	if err != nil {
		return exchange.SSPInput{}, err
	}
	in := exchange.SSPInput{Workload: wl, Baseline: b.Name, BaselineSourceURL: b.SourceURL, Profile: sspProfile(f),
		Owners: ws.Owners, LastModified: wl.UpdatedAt, Requirements: make([]exchange.Requirement, len(as))}
	for i, a := range as {
		in.Requirements[i].Assignment = a
		if c := a.Control; c.Ref != "" {
			in.Requirements[i].Framework = &framework.Control{ID: c.Ref, OSCALID: c.OSCALID, Title: c.Title,
				Family: c.Family, Parent: c.Parent, Statement: c.Description, Guidance: c.Guidance}
		}
		// The plan changed when the workload or any of its answers did:
		// last-modified is the latest of them, so the same data exports
		// the same document.
		if s, ok := ws.Statuses[a.Control.ID]; ok && s.Version > 0 && s.UpdatedAt.After(in.LastModified) {
			in.LastModified = s.UpdatedAt
		}
		if a.Override != nil && a.Override.CreatedAt.After(in.LastModified) {
			in.LastModified = a.Override.CreatedAt
		}
	}
	if f.Slug != srm.SRMFramework {
		ids := make(map[int64]string, len(in.Requirements))
		for _, r := range in.Requirements {
			ids[r.Assignment.Control.ID] = r.OSCALControlID()
		}
		slices.SortStableFunc(in.Requirements, func(x, y exchange.Requirement) int {
			return framework.Natural(ids[x.Assignment.Control.ID], ids[y.Assignment.Control.ID])
		})
	}
	return in, nil
}

// workloadSSP reads workload id (one statement, plus the catalog's and
// owners' when they changed) and writes the SSP of the framework slug
// picks into a buffer: a failure is answered before any byte is sent.
func workloadSSP(r *http.Request, st *store.Store, id int64) ([]byte, store.WorkloadState, srm.Framework, error) {
	ws, err := st.WorkloadState(r.Context(), id)
	if err != nil {
		return nil, ws, srm.Framework{}, err
	}
	f, err := chosenFramework(ws, r.URL.Query().Get("framework"))
	if err != nil {
		return nil, ws, f, err
	}
	in, err := sspInput(ws, f)
	if err != nil {
		return nil, ws, f, err
	}
	var buf bytes.Buffer
	if err := exchange.WriteSSP(&buf, in); err != nil {
		return nil, ws, f, fmt.Errorf("ssp of workload %d, framework %s: %w", id, f.Slug, err)
	}
	return buf.Bytes(), ws, f, nil
}

// sspExport handles "GET /workloads/{id}/ssp.json": the workload's OSCAL
// system security plan as a download.
func sspExport(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		doc, ws, f, err := workloadSSP(r, st, id)
		if err != nil {
			return err
		}
		name := "srm-ssp-" + strconv.FormatInt(id, 10)
		if s := fileSlug(ws.Workload.Name); s != "" {
			name += "-" + s
		}
		name += "-" + fileSlug(f.Slug) + "-" + time.Now().UTC().Format("20060102")
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		h.Set("Content-Length", strconv.Itoa(len(doc)))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(doc)
		return nil
	}
}

// apiSSP handles "GET /api/v1/workloads/{id}/ssp": the same document.
func apiSSP(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		doc, _, _, err := workloadSSP(r, st, id)
		var none noFramework
		switch {
		case errors.As(err, &none) && none.slug != "":
			return newProblem(http.StatusNotFound, "not-found", "The workload does not hold this framework",
				fmt.Sprintf("The workload holds no framework %q. Its frameworks are the ids in GET /api/v1/workloads/%d; GET /api/v1/frameworks gives their slugs.", none.slug, id))
		case errors.As(err, &none):
			return newProblem(http.StatusNotFound, "not-found", "The workload holds no framework",
				"An SSP answers the controls of a framework; an admin can attach one to the workload.")
		case err != nil:
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(doc)))
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(doc)
		return nil
	}
}

package web

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
)

// The API's reference data (owners, frameworks, baselines), the audit
// trail for admins, and the OpenAPI document.

// apiOwners handles "GET /api/v1/owners": every owner with the progress
// of the controls they hold, by name.
func apiOwners(st *store.Store) handlerFunc {
	type owner struct {
		ID       int64         `json:"id"`
		Name     string        `json:"name"`
		Kind     srm.OwnerKind `json:"kind"`
		Progress apiProgress   `json:"progress"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		os, err := st.OwnerSummaries(r.Context())
		if err != nil {
			return err
		}
		out := struct {
			Items []owner `json:"items"`
		}{Items: make([]owner, 0, len(os))}
		for _, o := range os {
			out.Items = append(out.Items, owner{ID: o.ID, Name: o.Name, Kind: o.Kind, Progress: progressJSON(o.Progress)})
		}
		return ok(w, http.StatusOK, out)
	}
}

// apiFrameworks handles "GET /api/v1/frameworks".
func apiFrameworks(st *store.Store) handlerFunc {
	type framework struct {
		ID           int64     `json:"id"`
		Slug         string    `json:"slug"`
		Name         string    `json:"name"`
		Version      string    `json:"version"`
		OSCALVersion string    `json:"oscal_version"`
		Source       string    `json:"source"`
		SourceURL    string    `json:"source_url"`
		Reading      string    `json:"reading"`
		Default      bool      `json:"default"`
		ImportedAt   time.Time `json:"imported_at"`
		Controls     int       `json:"controls"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		fs, err := st.Frameworks(r.Context())
		if err != nil {
			return err
		}
		out := struct {
			Items []framework `json:"items"`
		}{Items: make([]framework, 0, len(fs))}
		for _, f := range fs {
			out.Items = append(out.Items, framework{ID: f.ID, Slug: f.Slug, Name: f.Name, Version: f.Version,
				OSCALVersion: f.OSCALVersion, Source: f.Source, SourceURL: f.SourceURL, Reading: f.Reading,
				Default: f.Default, ImportedAt: f.ImportedAt, Controls: f.Controls})
		}
		return ok(w, http.StatusOK, out)
	}
}

// apiBaselines handles "GET /api/v1/baselines": each rule set with its
// rows, the party of each service model: the matrix as data.
func apiBaselines(st *store.Store) handlerFunc {
	type row struct {
		Area     srm.Area                       `json:"area"`
		Label    string                         `json:"label"`
		InSource bool                           `json:"in_source"`
		Note     string                         `json:"note"`
		Cells    map[srm.ServiceModel]srm.Party `json:"cells"`
	}
	type baseline struct {
		ID          int64  `json:"id"`
		Slug        string `json:"slug"`
		Name        string `json:"name"`
		Source      string `json:"source"`
		SourceURL   string `json:"source_url"`
		AsOf        string `json:"as_of"`
		Description string `json:"description"`
		Rows        []row  `json:"rows"`
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		bs, err := st.Baselines(r.Context())
		if err != nil {
			return err
		}
		out := struct {
			Items []baseline `json:"items"`
		}{Items: make([]baseline, 0, len(bs))}
		for _, b := range bs {
			x := baseline{ID: b.ID, Slug: b.Slug, Name: b.Name, Source: b.Source, SourceURL: b.SourceURL, AsOf: b.AsOf,
				Description: b.Description, Rows: make([]row, 0, len(b.Rows))}
			for _, rw := range b.Rows {
				x.Rows = append(x.Rows, row{Area: rw.Area, Label: rw.Label, InSource: rw.InSource, Note: rw.Note, Cells: rw.Cells})
			}
			out.Items = append(out.Items, x)
		}
		return ok(w, http.StatusOK, out)
	}
}

// timeParam reads an RFC 3339 time query parameter, zero when absent.
func timeParam(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badParam(name, "give a time such as 2026-12-03T14:00:00Z")
	}
	return t, nil
}

// apiAudit handles "GET /api/v1/audit", for admins: the trail, newest
// first, filtered as the audit page filters it, paged by keyset (next is
// the older page's address, absent on the last).
func apiAudit(st *store.Store) handlerFunc {
	type entry struct {
		ID         int64           `json:"id"`
		At         time.Time       `json:"at"`
		ActorID    *int64          `json:"actor_id"`
		Actor      string          `json:"actor"`
		Action     string          `json:"action"`
		ObjectType string          `json:"object_type"`
		ObjectID   string          `json:"object_id"`
		ObjectName string          `json:"object_name"`
		WorkloadID *int64          `json:"workload_id"`
		Before     json.RawMessage `json:"before"`
		After      json.RawMessage `json:"after"`
		ClientIP   string          `json:"client_ip"`
		UserAgent  string          `json:"user_agent"`
	}
	nullable := func(id int64) *int64 {
		if id == 0 {
			return nil
		}
		return &id
	}
	raw := func(b json.RawMessage) json.RawMessage {
		if len(b) == 0 {
			return json.RawMessage("null")
		}
		return b
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		var (
			aq  = store.AuditQuery{Action: q.Get("action"), Search: strings.TrimSpace(q.Get("q"))}
			err error
		)
		if aq.WorkloadID, err = intParam(q, "workload", 1<<62); err != nil {
			return err
		}
		if aq.ActorID, err = intParam(q, "actor", 1<<62); err != nil {
			return err
		}
		if aq.Before, err = intParam(q, "before", 1<<62); err != nil {
			return err
		}
		limit, err := intParam(q, "limit", store.MaxAuditLimit)
		if err != nil {
			return err
		}
		aq.Limit = int(limit)
		if aq.From, err = timeParam(q, "from"); err != nil {
			return err
		}
		if aq.To, err = timeParam(q, "to"); err != nil {
			return err
		}
		if msg := srm.CheckText(aq.Search, srm.MaxName); msg != "" {
			return badParam("q", msg)
		}
		page, err := st.Audit(r.Context(), aq)
		if err != nil {
			return err
		}
		out := struct {
			Items []entry `json:"items"`
			Next  string  `json:"next,omitempty"`
		}{Items: make([]entry, 0, len(page.Entries))}
		for _, e := range page.Entries {
			out.Items = append(out.Items, entry{ID: e.ID, At: e.At, ActorID: nullable(e.ActorID), Actor: e.Actor, Action: e.Action,
				ObjectType: e.ObjectType, ObjectID: e.ObjectID, ObjectName: e.ObjectName, WorkloadID: nullable(e.WorkloadID),
				Before: raw(e.Before), After: raw(e.After), ClientIP: e.ClientIP, UserAgent: e.UserAgent})
		}
		if page.Older > 0 {
			next := url.Values{}
			for k, v := range q {
				next[k] = v
			}
			next.Set("before", strconv.FormatInt(page.Older, 10))
			out.Next = "/api/v1/audit?" + next.Encode()
		}
		return ok(w, http.StatusOK, out)
	}
}

// openAPI is the API's OpenAPI 3.1 document, written by hand; the API
// tests check every request and response they make against it.
//
//go:embed api_openapi.json
var openAPI []byte

// serveOpenAPI handles "GET /api/v1/openapi.json", open to anyone: it
// says what the API does, not what srm holds.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(openAPI)))
	_, _ = w.Write(openAPI)
}

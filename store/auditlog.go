package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditQuery selects rows of the audit trail. Zero fields select
// everything; the filters that are set must all hold.
type AuditQuery struct {
	WorkloadID int64     // rows about this workload: the workload itself, its statuses and overrides
	ActorID    int64     // rows written by this user
	Action     string    // exactly this action, such as "workload.updated"
	From       time.Time // rows at or after From
	To         time.Time // rows before To
	// Search keeps rows whose actor, action, object name or values before
	// or after contain it, ignoring case. % and _ are matched literally.
	Search string
	Before int64 // keyset paging: rows with a smaller id, i.e. older rows
	Limit  int   // Audit: rows per page (DefaultAuditLimit when 0, at most MaxAuditLimit); AuditCSV: 0 for all
}

// Page sizes of Audit.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
)

// AuditEntry is one row of the audit trail, with what it names resolved
// for display.
type AuditEntry struct {
	ID         int64
	At         time.Time
	ActorID    int64 // 0 when srm itself or a signed-out visitor acted
	Actor      string
	Action     string // object type, dot, what happened: "workload.created", "signin.failed"
	ObjectType string
	ObjectID   string
	ObjectName string
	WorkloadID int64
	Before     json.RawMessage // the row before the change, as JSON; nil for a creation or an event
	After      json.RawMessage // the row after it, or an event's details; nil for a deletion
	ClientIP   string
	UserAgent  string

	// WorkloadName is the workload's name now, or, when it has been
	// deleted, its name then; "" for rows about no workload.
	WorkloadName string
	// WorkloadExists reports whether the workload is still there to link to.
	WorkloadExists bool
	// ControlTitle is the title of the control a status or override row
	// is about, now or, if the control was deleted, when it was.
	ControlTitle string
}

// AuditChange is one field of an audited row as it was before and after.
type AuditChange struct {
	Field     string
	Before    string // for display: strings as they are, times in UTC, null as "(none)"
	After     string
	HasBefore bool // false for a creation or an event: there is no before
	HasAfter  bool // false for a deletion
}

// auditNoise are fields the display leaves out: those every update
// changes, and the keys that say what the row is about, which the display
// names in words. The raw values (and the CSV export) keep them.
var auditNoise = map[string]bool{"version": true, "updated_at": true, "id": true, "workload_id": true, "control_id": true}

// Changes returns the fields to show for e, by field name: for an update
// only those whose values differ, for a creation, deletion or event every
// field it recorded. Version counters, update times and the row's own
// keys are left out.
func (e AuditEntry) Changes() []AuditChange {
	before, after := jsonObject(e.Before), jsonObject(e.After)
	update := before != nil && after != nil
	keys := make([]string, 0, len(before)+len(after))
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []AuditChange
	for _, k := range keys {
		if auditNoise[k] {
			continue
		}
		b, hasB := before[k]
		a, hasA := after[k]
		if update && hasB && hasA && bytes.Equal(b, a) {
			continue
		}
		c := AuditChange{Field: k, HasBefore: hasB, HasAfter: hasA}
		if hasB {
			c.Before = displayJSON(b)
		}
		if hasA {
			c.After = displayJSON(a)
		}
		out = append(out, c)
	}
	return out
}

// jsonObject decodes raw as an object, or returns nil when it is not one.
func jsonObject(raw json.RawMessage) map[string]json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	return m
}

// displayJSON is a JSON value as a person reads it.
func displayJSON(raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		if x == "" {
			return "(empty)"
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Entries []AuditEntry
	// Older is the Before of the next page, or 0 when this page holds the
	// oldest matching row.
	Older int64
}

// auditSelect reads audit rows with the names they refer to. A status or
// override row's object id is its control's id. Names of deleted
// workloads and controls come from the trail itself: the row of their
// deletion, of which there is one, since ids are never reused. COALESCE
// and CASE evaluate those lookups only for rows that need them; each is an
// index probe on the action or the workload, so its estimated cost stays
// small too (a large one would make PostgreSQL compile the page's query
// with JIT, which costs more than running it).
const auditSelect = `
	SELECT a.id, a.at, COALESCE(a.actor_id, 0), a.actor, a.action, a.object_type, a.object_id, a.object_name,
	       COALESCE(a.workload_id, 0), a.before, a.after, a.client_ip, a.user_agent,
	       w.id IS NOT NULL,
	       COALESCE(w.name, CASE WHEN a.workload_id IS NOT NULL THEN (
	           SELECT x.before->>'name' FROM audit x
	           WHERE x.workload_id = a.workload_id AND x.action = 'workload.deleted' LIMIT 1) END, ''),
	       COALESCE(c.title, CASE WHEN a.object_type IN ('status', 'override') THEN (
	           SELECT x.before->>'title' FROM audit x
	           WHERE x.action = 'control.deleted' AND x.object_id = a.object_id LIMIT 1) END, '')
	FROM audit a
	LEFT JOIN workloads w ON w.id = a.workload_id
	LEFT JOIN controls c ON c.id = CASE WHEN a.object_type IN ('status', 'override')
	                                     AND a.object_id ~ '^[0-9]{1,18}$' THEN a.object_id::bigint END`

// where is q as SQL conditions on audit a, with their arguments. Only
// fixed text goes into the SQL; every value is an argument.
func (q AuditQuery) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.WorkloadID > 0 {
		add("a.workload_id = ?", q.WorkloadID)
	}
	if q.ActorID > 0 {
		add("a.actor_id = ?", q.ActorID)
	}
	if q.Action != "" {
		add("a.action = ?", q.Action)
	}
	if !q.From.IsZero() {
		add("a.at >= ?", q.From)
	}
	if !q.To.IsZero() {
		add("a.at < ?", q.To)
	}
	if q.Search != "" {
		add(`(a.actor ILIKE ? ESCAPE '\' OR a.action ILIKE ? ESCAPE '\' OR a.object_name ILIKE ? ESCAPE '\'
			OR a.before::text ILIKE ? ESCAPE '\' OR a.after::text ILIKE ? ESCAPE '\')`, likeContains(q.Search))
	}
	if q.Before > 0 {
		add("a.id < ?", q.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likeContains is a LIKE pattern matching s anywhere, with LIKE's own
// characters in s matched literally.
func likeContains(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
	return "%" + s + "%"
}

func scanAuditEntry(row pgx.Row) (AuditEntry, error) {
	var e AuditEntry
	var before, after []byte
	err := row.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &e.ObjectName,
		&e.WorkloadID, &before, &after, &e.ClientIP, &e.UserAgent, &e.WorkloadExists, &e.WorkloadName, &e.ControlTitle)
	if err != nil {
		return AuditEntry{}, err
	}
	if before != nil {
		e.Before = json.RawMessage(before)
	}
	if after != nil {
		e.After = json.RawMessage(after)
	}
	e.At = e.At.UTC()
	return e, nil
}

// Audit returns one page of the rows q selects, newest first, in one
// statement. Page through older rows by passing the page's Older as the
// next query's Before: unlike an offset, that stays right while new rows
// arrive.
func (s *Store) Audit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultAuditLimit
	case q.Limit > MaxAuditLimit:
		q.Limit = MaxAuditLimit
	}
	var page AuditPage
	more := q
	more.Limit++ // one more, to know whether there are older rows
	err := s.AuditCSV(ctx, more, func(e AuditEntry) error {
		page.Entries = append(page.Entries, e)
		return nil
	})
	if err != nil {
		return AuditPage{}, err
	}
	if len(page.Entries) > q.Limit {
		page.Entries = page.Entries[:q.Limit]
		page.Older = page.Entries[q.Limit-1].ID
	}
	return page, nil
}

// AuditCSV calls fn with every row q selects, newest first, as PostgreSQL
// sends them, so an export of the whole trail never sits in memory. A
// Limit of 0 means every row. An error from fn stops the export and is
// returned.
func (s *Store) AuditCSV(ctx context.Context, q AuditQuery, fn func(AuditEntry) error) error {
	where, args := q.where()
	sql := auditSelect + where + " ORDER BY a.id DESC"
	if q.Limit > 0 {
		args = append(args, q.Limit)
		sql += " LIMIT $" + strconv.Itoa(len(args))
	}
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("store: audit: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return fmt.Errorf("store: audit: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: audit: %w", translate(err))
	}
	return nil
}

// AuditName is something the audit trail can be filtered by: a user or a
// workload, with its id.
type AuditName struct {
	ID   int64
	Name string
}

// AuditFilters are the choices of the audit page's filters: only what
// occurs on the trail.
type AuditFilters struct {
	Actions   []string    // by name
	Actors    []AuditName // users who did something, by email
	Workloads []AuditName // workloads the trail mentions, by name
}

// AuditFilters returns the distinct actions, actors and workloads on the
// trail, in one statement. Each list is read by skipping through an index
// from one distinct value to the next (a loose index scan), so it costs
// one index probe per value, however long the trail. Deleted users and
// workloads are named as the trail last named them.
func (s *Store) AuditFilters(ctx context.Context) (AuditFilters, error) {
	var f AuditFilters
	var actorIDs, workloadIDs []int64
	var actorNames, workloadNames []string
	err := s.db.QueryRow(ctx, `
		WITH RECURSIVE
		actions AS (
			(SELECT action FROM audit ORDER BY action LIMIT 1)
			UNION ALL
			SELECT (SELECT a.action FROM audit a WHERE a.action > actions.action ORDER BY a.action LIMIT 1)
			FROM actions WHERE actions.action IS NOT NULL
		),
		actors AS (
			(SELECT actor_id FROM audit WHERE actor_id IS NOT NULL ORDER BY actor_id LIMIT 1)
			UNION ALL
			SELECT (SELECT a.actor_id FROM audit a WHERE a.actor_id > actors.actor_id ORDER BY a.actor_id LIMIT 1)
			FROM actors WHERE actors.actor_id IS NOT NULL
		),
		workloads_seen AS (
			(SELECT workload_id FROM audit WHERE workload_id IS NOT NULL ORDER BY workload_id LIMIT 1)
			UNION ALL
			SELECT (SELECT a.workload_id FROM audit a WHERE a.workload_id > workloads_seen.workload_id
			        ORDER BY a.workload_id LIMIT 1)
			FROM workloads_seen WHERE workloads_seen.workload_id IS NOT NULL
		),
		actor_names AS (
			SELECT t.actor_id AS id, COALESCE(u.email, (
				SELECT a.actor FROM audit a WHERE a.actor_id = t.actor_id
				ORDER BY a.actor_id DESC, a.id DESC LIMIT 1)) AS name
			FROM actors t LEFT JOIN users u ON u.id = t.actor_id
			WHERE t.actor_id IS NOT NULL
		),
		workload_names AS (
			SELECT t.workload_id AS id, COALESCE(w.name, (
				SELECT a.before->>'name' FROM audit a
				WHERE a.workload_id = t.workload_id AND a.action = 'workload.deleted' LIMIT 1),
				'#' || t.workload_id) AS name
			FROM workloads_seen t LEFT JOIN workloads w ON w.id = t.workload_id
			WHERE t.workload_id IS NOT NULL
		)
		SELECT ARRAY(SELECT action FROM actions WHERE action IS NOT NULL ORDER BY action),
		       ARRAY(SELECT id FROM actor_names ORDER BY lower(name), id),
		       ARRAY(SELECT name FROM actor_names ORDER BY lower(name), id),
		       ARRAY(SELECT id FROM workload_names ORDER BY lower(name), id),
		       ARRAY(SELECT name FROM workload_names ORDER BY lower(name), id)`,
	).Scan(&f.Actions, &actorIDs, &actorNames, &workloadIDs, &workloadNames)
	if err != nil {
		return AuditFilters{}, fmt.Errorf("store: audit filters: %w", translate(err))
	}
	for i, id := range actorIDs {
		f.Actors = append(f.Actors, AuditName{ID: id, Name: actorNames[i]})
	}
	for i, id := range workloadIDs {
		f.Workloads = append(f.Workloads, AuditName{ID: id, Name: workloadNames[i]})
	}
	return f, nil
}

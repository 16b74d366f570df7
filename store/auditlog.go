package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
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
	Limit  int   // Audit: rows per page (DefaultAuditLimit when 0, at most MaxAuditLimit); EachAuditEntry: 0 for all
}

// Page sizes of Audit.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
)

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

func scanAuditEntry(row pgx.Row) (srm.AuditEntry, error) {
	var e srm.AuditEntry
	var before, after []byte
	err := row.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &e.ObjectName,
		&e.WorkloadID, &before, &after, &e.ClientIP, &e.UserAgent, &e.WorkloadExists, &e.WorkloadName, &e.ControlTitle)
	if err != nil {
		return srm.AuditEntry{}, err
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
func (s *Store) Audit(ctx context.Context, q AuditQuery) (srm.AuditPage, error) {
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultAuditLimit
	case q.Limit > MaxAuditLimit:
		q.Limit = MaxAuditLimit
	}
	var page srm.AuditPage
	more := q
	more.Limit++ // one more, to know whether there are older rows
	err := s.EachAuditEntry(ctx, more, func(e srm.AuditEntry) error {
		page.Entries = append(page.Entries, e)
		return nil
	})
	if err != nil {
		return srm.AuditPage{}, err
	}
	if len(page.Entries) > q.Limit {
		page.Entries = page.Entries[:q.Limit]
		page.Older = page.Entries[q.Limit-1].ID
	}
	return page, nil
}

// EachAuditEntry calls fn with every row q selects, newest first, as
// PostgreSQL sends them: the audit page collects a page of them (Audit),
// and the CSV export streams the whole trail without holding it in memory.
// A Limit of 0 means every row. An error from fn stops the reading and is
// returned.
func (s *Store) EachAuditEntry(ctx context.Context, q AuditQuery, fn func(srm.AuditEntry) error) error {
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

// AuditFilters returns the distinct actions, actors and workloads on the
// trail, in one statement. Each list is read by skipping through an index
// from one distinct value to the next (a loose index scan), so it costs
// one index probe per value, however long the trail. Deleted users and
// workloads are named as the trail last named them.
func (s *Store) AuditFilters(ctx context.Context) (srm.AuditFilters, error) {
	var f srm.AuditFilters
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
		return srm.AuditFilters{}, fmt.Errorf("store: audit filters: %w", translate(err))
	}
	for i, id := range actorIDs {
		f.Actors = append(f.Actors, srm.AuditName{ID: id, Name: actorNames[i]})
	}
	for i, id := range workloadIDs {
		f.Workloads = append(f.Workloads, srm.AuditName{ID: id, Name: workloadNames[i]})
	}
	return f, nil
}

package srm

import (
	"encoding/json"
	"time"
)

// AuditEntry is one row of the audit trail, with what it names resolved:
// the store reads it, the views show it and the export writes it.
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

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Entries []AuditEntry
	// Older is the Before of the next page, or 0 when this page holds the
	// oldest matching row.
	Older int64
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

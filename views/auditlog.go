package views

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
)

// How the audit trail reads to a person: what each row is about, by name
// and with a link while it still has a page, and what changed, field by
// field. The raw rows (srm.AuditEntry) are what the CSV export writes.

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

// AuditChanges returns the fields to show for e, by field name: for an
// update only those whose values differ, for a creation, deletion or event
// every field it recorded. Version counters, update times and the row's
// own keys are left out.
func AuditChanges(e srm.AuditEntry) []AuditChange {
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

// auditObject is what row e is about, by name, and its page while it still
// has one: a workload, or the control a status or override is about, on
// its workload's page.
func auditObject(e srm.AuditEntry) (name, url string) {
	name = e.ObjectName
	switch e.ObjectType {
	case "workload":
		url = auditWorkloadURL(e)
	case "status", "override":
		name = e.ControlTitle
		if name == "" {
			name = "control " + e.ObjectID
		}
		if e.WorkloadExists {
			url = WorkloadURL(e.WorkloadID) + "#control-" + e.ObjectID
		}
	}
	if name == "" {
		name = strings.TrimSpace(e.ObjectType + " " + e.ObjectID)
	}
	return name, url
}

// auditWorkload is the workload a status or override row belongs to, by
// name, and its page while it still has one; "" for any other row.
func auditWorkload(e srm.AuditEntry) (name, url string) {
	switch e.ObjectType {
	case "status", "override":
		return e.WorkloadName, auditWorkloadURL(e)
	}
	return "", ""
}

func auditWorkloadURL(e srm.AuditEntry) string {
	if !e.WorkloadExists {
		return ""
	}
	return WorkloadURL(e.WorkloadID)
}

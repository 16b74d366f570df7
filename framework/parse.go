package framework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultLimit is the size limit Parse applies when it is given 0 or less:
// 50 MB, some twenty times NIST's largest baseline.
const DefaultLimit int64 = 50 << 20

// Catalog is an OSCAL catalog as srm keeps it: what it is, and its controls.
type Catalog struct {
	UUID  string
	Title string
	// Version is the publisher's version of the catalog (metadata.version),
	// e.g. "5.1.1+u4" for NIST's rev5 baselines.
	Version string
	// OSCALVersion is the version of OSCAL the file says it follows
	// (metadata.oscal-version); SchemaVersion is the OSCAL schema srm
	// checked it against (the same, or the nearest of its minor version).
	OSCALVersion  string
	SchemaVersion string
	LastModified  time.Time // zero when the file's date cannot be read
	// Controls in document order, each enhancement right after its parent
	// (and after the parent's earlier enhancements).
	Controls []Control
	// Withdrawn lists the ids of controls the catalog marks withdrawn
	// (prop status=withdrawn): they are no longer requirements, so they are
	// not in Controls. NIST's baselines have none.
	Withdrawn []string
}

// Control is one control of a catalog. An enhancement (AC-2(1)) is a control
// of its own that names its parent.
type Control struct {
	// ID is the id as people write it: the control's label prop ("AC-2",
	// "AC-2(1)"), or its OSCAL id upper-cased when it has no label.
	ID string
	// OSCALID is the id in the file ("ac-2.1").
	OSCALID string
	Title   string
	// Family is the id of the group holding the control, upper-cased ("AC"),
	// and FamilyTitle that group's title ("Access Control"). Both are empty
	// for a control outside any group.
	Family      string
	FamilyTitle string
	// Parent is the ID of the control an enhancement belongs to, or "".
	Parent string
	// Statement is what the control requires, its items labelled ("a.",
	// "1.", "(a)") and indented two spaces per level, parameters shown by
	// their labels in brackets.
	Statement string
	// Guidance is the control's discussion, parameters shown the same way.
	Guidance string
	// Path is where the control is in the file, as a JSON path.
	Path string
}

// Enhancement reports whether c belongs to another control.
func (c Control) Enhancement() bool { return c.Parent != "" }

// Control returns the control whose ID (or OSCAL id) is id.
func (c Catalog) Control(id string) (Control, bool) {
	for _, x := range c.Controls {
		if x.ID == id || x.OSCALID == id {
			return x, true
		}
	}
	return Control{}, false
}

// Family is one family (top-level group) of a catalog.
type Family struct {
	ID       string // "AC"
	Title    string // "Access Control"
	Controls int    // base controls and enhancements
}

// Families lists the catalog's families in the order they first appear.
func (c Catalog) Families() []Family {
	var out []Family
	at := map[string]int{}
	for _, x := range c.Controls {
		i, ok := at[x.Family]
		if !ok {
			i = len(out)
			at[x.Family] = i
			out = append(out, Family{ID: x.Family, Title: x.FamilyTitle})
		}
		out[i].Controls++
	}
	return out
}

// Parse reads an OSCAL catalog in JSON (OSCAL 1.0.x or 1.1.x; a resolved
// profile catalog is a catalog) from r, checks it against the OSCAL schema
// of its version, and returns its controls. limit is the largest file it
// accepts in bytes (DefaultLimit when 0 or less).
//
// Every error about the file is a *ParseError that wraps one of the Err*
// kinds and srm.ErrInvalid, and says where the problem is. Errors reading r
// are returned as they are.
func Parse(r io.Reader, limit int64) (Catalog, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return Catalog{}, fmt.Errorf("reading the catalog: %w", err)
	}
	if int64(len(data)) > limit {
		e := parseErr(ErrTooBig, "", "The file is larger than srm's limit of %s: srm reads catalogs up to that size.", size(limit))
		return Catalog{}, e
	}
	doc, err := decode(data)
	if err != nil {
		return Catalog{}, err
	}
	cat, err := catalogOf(doc)
	if err != nil {
		return Catalog{}, err
	}
	md, _ := cat["metadata"].(map[string]any)
	oscalVersion, schemaVersion, err := versionOf(md)
	if err != nil {
		return Catalog{}, err
	}
	if err := validate(doc, oscalVersion, schemaVersion); err != nil {
		return Catalog{}, err
	}
	out := Catalog{
		UUID:          str(cat, "uuid"),
		Title:         str(md, "title"),
		Version:       str(md, "version"),
		OSCALVersion:  oscalVersion,
		SchemaVersion: schemaVersion,
	}
	if t, err := time.Parse(time.RFC3339Nano, str(md, "last-modified")); err == nil {
		out.LastModified = t
	}
	if err := extract(cat, &out); err != nil {
		return Catalog{}, err
	}
	return out, nil
}

// size writes n bytes the way a person says it.
func size(n int64) string {
	const mb = 1 << 20
	if n >= mb && n%mb == 0 {
		return strconv.FormatInt(n/mb, 10) + " MB"
	}
	if n >= mb {
		return strconv.FormatFloat(float64(n)/mb, 'f', 1, 64) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// decode parses data as one JSON object.
func decode(data []byte) (map[string]any, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, parseErr(ErrNotJSON, "", "The file is empty: srm expects an OSCAL catalog in JSON.")
	}
	if t := bytes.TrimSpace(data); t[0] == '<' {
		return nil, parseErr(ErrNotJSON, "", "The file is XML (or HTML), not JSON: srm reads OSCAL catalogs in JSON. Publishers of OSCAL, NIST among them, ship each catalog in JSON as well as XML.")
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			e := parseErr(ErrNotJSON, "", "The file is not JSON: %s at line %d, column %d. srm reads OSCAL catalogs in JSON (not XML or YAML).", se.Error(), line, col)
			e.Line, e.Column = line, col
			return nil, e
		}
		return nil, parseErr(ErrNotJSON, "", "The file is not JSON: %v.", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, parseErr(ErrNotOSCAL, "", "The file is JSON but not OSCAL: it holds %s where an OSCAL document holds an object with a \"catalog\".", kindOf(v))
	}
	return m, nil
}

// position turns the byte offset of a JSON syntax error into a line and a
// column (in characters), both counted from 1. The offset is just after
// the offending byte.
func position(data []byte, off int64) (line, col int) {
	at := int(off) - 1
	at = max(0, min(at, len(data)))
	before := data[:at]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	col = 1 + utf8.RuneCount(before[start:])
	return line, col
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return "a value"
}

// oscalModels are the other top-level keys of OSCAL documents.
var oscalModels = []string{"component-definition", "system-security-plan", "assessment-plan", "assessment-results", "plan-of-action-and-milestones", "mapping-collection"}

// catalogOf returns the catalog object of doc, or says what doc is instead.
func catalogOf(doc map[string]any) (map[string]any, error) {
	if c, ok := doc["catalog"]; ok {
		m, ok := c.(map[string]any)
		if !ok {
			return nil, parseErr(ErrNotOSCAL, "catalog", "The file's \"catalog\" is %s, not an object: this is not an OSCAL catalog.", kindOf(c))
		}
		return m, nil
	}
	if _, ok := doc["profile"]; ok {
		return nil, parseErr(ErrUnresolvedProfile, "profile",
			"This is an OSCAL profile, not a catalog: a profile only lists which controls of another catalog it selects and how it changes them, so srm cannot read controls from it. "+
				"Resolve it first, e.g. with oscal-cli `profile resolve`, or import the resolved catalog its publisher ships (NIST publishes each baseline as *-resolved-profile_catalog.json).")
	}
	for _, k := range oscalModels {
		if _, ok := doc[k]; ok {
			return nil, parseErr(ErrNotOSCAL, k, "This is an OSCAL %s, not a catalog: srm imports catalogs of controls.", k)
		}
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	if len(keys) > 5 {
		keys = append(keys[:5], "…")
	}
	has := "nothing"
	if len(keys) > 0 {
		has = strings.Join(keys, ", ")
	}
	return nil, parseErr(ErrNotOSCAL, "", "The file is JSON but not an OSCAL catalog: an OSCAL catalog starts with a \"catalog\" object, and this file has %s at its top.", has)
}

// SupportedVersions says which OSCAL versions srm reads, for messages and pages.
const SupportedVersions = "OSCAL 1.0.x and 1.1.x"

// versionOf checks the catalog's OSCAL version and picks the schema to check
// it against: its own when go-oscal ships it, else the nearest of the same
// minor version (OSCAL keeps patch releases compatible).
func versionOf(md map[string]any) (oscal, schema string, err error) {
	const path = "catalog.metadata.oscal-version"
	raw, ok := md["oscal-version"]
	if !ok {
		return "", "", parseErr(ErrVersion, path, "The catalog does not say which OSCAL version it follows (%s is missing): srm reads %s and needs the version to check the file.", path, SupportedVersions)
	}
	v, ok := raw.(string)
	if !ok {
		return "", "", parseErr(ErrVersion, path, "The catalog's %s is %s, not a version such as \"1.1.2\": srm reads %s.", path, kindOf(raw), SupportedVersions)
	}
	schema, ok = schemaFor(v)
	if !ok {
		return "", "", parseErr(ErrVersion, path, "The catalog follows OSCAL %q, which srm does not read: srm reads %s. Ask its publisher for the catalog in OSCAL 1.1.", v, SupportedVersions)
	}
	return v, schema, nil
}

// schemas are the complete OSCAL schemas go-oscal v0.7.0 ships.
var schemas = map[string][]int{"1.0": {4, 5, 6}, "1.1": {0, 1, 2, 3}}

func schemaFor(v string) (string, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "", false
	}
	patch, err := strconv.Atoi(parts[2])
	if err != nil || patch < 0 || parts[2] != strconv.Itoa(patch) {
		return "", false
	}
	minor := parts[0] + "." + parts[1]
	known, ok := schemas[minor]
	if !ok {
		return "", false
	}
	best := known[0]
	for _, k := range known {
		if k <= patch {
			best = k
		}
	}
	return minor + "." + strconv.Itoa(best), true
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func list(m map[string]any, k string) []any {
	l, _ := m[k].([]any)
	return l
}

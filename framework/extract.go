package framework

import (
	"strconv"
	"strings"
)

// extractor walks a validated catalog and collects its controls.
type extractor struct {
	params map[string]map[string]any // by id, and by alt-identifier
	out    *Catalog
	paths  map[string]string // OSCAL id -> path of the first control with it
	ids    map[string]string // ID -> path of the first control with it
	err    error
	b      strings.Builder
}

func extract(cat map[string]any, out *Catalog) error {
	x := &extractor{params: map[string]map[string]any{}, out: out, paths: map[string]string{}, ids: map[string]string{}}
	x.collectParams(cat)
	x.controls(list(cat, "controls"), "catalog.controls", "", "", "")
	x.groups(list(cat, "groups"), "catalog.groups", "", "")
	if x.err != nil {
		return x.err
	}
	if len(out.Controls) == 0 {
		if len(out.Withdrawn) > 0 {
			return parseErr(ErrNoControls, "catalog", "The catalog has no controls in force: all %d of its controls are withdrawn.", len(out.Withdrawn))
		}
		return parseErr(ErrNoControls, "catalog", "The catalog has no controls: srm found none in catalog.controls nor in any group's controls.")
	}
	return nil
}

// collectParams indexes every parameter of the document, wherever it sits:
// on the catalog, a group, a control or an enhancement. NIST's resolved
// catalogs replace a control's parameters by assessment parameters that
// name the old id in an alt-identifier prop; statements may use either.
func (x *extractor) collectParams(m map[string]any) {
	var alts [][2]string
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for _, p := range list(m, "params") {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			if id := str(pm, "id"); id != "" {
				x.params[id] = pm
			}
			for _, pr := range list(pm, "props") {
				if prm, ok := pr.(map[string]any); ok && str(prm, "name") == "alt-identifier" {
					alts = append(alts, [2]string{str(prm, "value"), str(pm, "id")})
				}
			}
		}
		for _, k := range []string{"groups", "controls"} {
			for _, c := range list(m, k) {
				if cm, ok := c.(map[string]any); ok {
					walk(cm)
				}
			}
		}
	}
	walk(m)
	for _, a := range alts {
		if _, taken := x.params[a[0]]; !taken && a[0] != "" {
			x.params[a[0]] = x.params[a[1]]
		}
	}
}

func (x *extractor) groups(gs []any, path, family, familyTitle string) {
	for i, g := range gs {
		gm, ok := g.(map[string]any)
		if !ok {
			continue
		}
		p := path + "[" + strconv.Itoa(i) + "]"
		fam, title := family, familyTitle
		if fam == "" { // a family is a top-level group; subgroups stay in it
			fam, title = strings.ToUpper(str(gm, "id")), str(gm, "title")
		}
		x.controls(list(gm, "controls"), p+".controls", fam, title, "")
		x.groups(list(gm, "groups"), p+".groups", fam, title)
	}
}

func (x *extractor) controls(cs []any, path, family, familyTitle, parent string) {
	for i, c := range cs {
		if x.err != nil {
			return
		}
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		p := path + "[" + strconv.Itoa(i) + "]"
		ctl := Control{
			ID:          controlID(cm),
			OSCALID:     str(cm, "id"),
			Title:       strings.TrimSpace(str(cm, "title")),
			Family:      family,
			FamilyTitle: familyTitle,
			Parent:      parent,
			Path:        p,
		}
		if first, dup := x.paths[ctl.OSCALID]; dup {
			x.err = duplicate(ctl.OSCALID, ctl.ID, first, p)
			return
		}
		x.paths[ctl.OSCALID] = p
		if first, dup := x.ids[ctl.ID]; dup {
			x.err = duplicate(ctl.ID, ctl.ID, first, p)
			return
		}
		x.ids[ctl.ID] = p
		if withdrawn(cm) {
			x.out.Withdrawn = append(x.out.Withdrawn, ctl.ID)
		} else {
			for _, part := range list(cm, "parts") {
				pm, ok := part.(map[string]any)
				if !ok {
					continue
				}
				switch str(pm, "name") {
				case "statement":
					ctl.Statement = join(ctl.Statement, x.text(pm))
				case "guidance":
					ctl.Guidance = join(ctl.Guidance, x.text(pm))
				}
			}
			x.out.Controls = append(x.out.Controls, ctl)
		}
		x.controls(list(cm, "controls"), p+".controls", family, familyTitle, ctl.ID)
	}
}

func duplicate(id, control, first, second string) *ParseError {
	e := parseErr(ErrDuplicate, second, "Two controls have the id %q, at %s and at %s: each control of a catalog needs its own id.", id, first, second)
	e.Control = control
	return e
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "\n" + b
}

// controlID is the id people write: the label prop without a class (NIST
// also gives zero-padded and SP 800-53A labels), else the first label, else
// the OSCAL id upper-cased.
func controlID(m map[string]any) string {
	first := ""
	for _, p := range list(m, "props") {
		pm, ok := p.(map[string]any)
		if !ok || str(pm, "name") != "label" {
			continue
		}
		v := strings.TrimSpace(str(pm, "value"))
		if v == "" {
			continue
		}
		if str(pm, "class") == "" {
			return v
		}
		if first == "" {
			first = v
		}
	}
	if first != "" {
		return first
	}
	return strings.ToUpper(str(m, "id"))
}

func withdrawn(m map[string]any) bool {
	for _, p := range list(m, "props") {
		if pm, ok := p.(map[string]any); ok && str(pm, "name") == "status" && strings.EqualFold(str(pm, "value"), "withdrawn") {
			return true
		}
	}
	return false
}

// text flattens a part and its sub-parts into lines: the part's own prose,
// then each sub-part as "label prose", indented two spaces per level.
func (x *extractor) text(part map[string]any) string {
	x.b.Reset()
	x.part(part, 0)
	return strings.TrimRight(x.b.String(), "\n")
}

func (x *extractor) part(part map[string]any, depth int) {
	label := ""
	for _, p := range list(part, "props") {
		if pm, ok := p.(map[string]any); ok && str(pm, "name") == "label" && str(pm, "class") == "" {
			label = strings.TrimSpace(str(pm, "value"))
			break
		}
	}
	prose := strings.TrimSpace(str(part, "prose"))
	if label != "" || prose != "" {
		for range max(0, depth-1) {
			x.b.WriteString("  ")
		}
		if label != "" {
			x.b.WriteString(label)
			if prose != "" {
				x.b.WriteByte(' ')
			}
		}
		x.insert(prose, 0)
		x.b.WriteByte('\n')
	}
	for _, sp := range list(part, "parts") {
		if spm, ok := sp.(map[string]any); ok {
			x.part(spm, depth+1)
		}
	}
}

// insert writes s with every {{ insert: param, ID }} replaced by the
// parameter's rendering.
func (x *extractor) insert(s string, depth int) {
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			x.b.WriteString(s)
			return
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			x.b.WriteString(s)
			return
		}
		x.b.WriteString(s[:i])
		inner := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+2:]
		kind, id, ok := strings.Cut(strings.TrimPrefix(inner, "insert:"), ",")
		if !strings.HasPrefix(inner, "insert:") || !ok {
			x.b.WriteString("{{" + inner + "}}")
			continue
		}
		kind, id = strings.TrimSpace(kind), strings.TrimSpace(id)
		if kind != "param" {
			x.b.WriteString("[" + id + "]")
			continue
		}
		x.param(id, depth)
	}
}

// param writes the parameter id as a reader of the control should see it:
// its assigned values, its choices, or its label, in brackets.
func (x *extractor) param(id string, depth int) {
	p, ok := x.params[id]
	if !ok || depth > 4 {
		x.b.WriteString("[" + id + "]")
		return
	}
	if vals := strings_(list(p, "values")); len(vals) > 0 {
		x.b.WriteByte('[')
		x.insert(strings.Join(vals, "; "), depth+1)
		x.b.WriteByte(']')
		return
	}
	if sel, ok := p["select"].(map[string]any); ok {
		x.b.WriteString("[Selection")
		if str(sel, "how-many") == "one-or-more" {
			x.b.WriteString(" (one or more)")
		}
		x.b.WriteString(": ")
		for i, c := range strings_(list(sel, "choice")) {
			if i > 0 {
				x.b.WriteString("; ")
			}
			x.insert(strings.TrimSpace(c), depth+1)
		}
		x.b.WriteByte(']')
		return
	}
	if label := paramLabel(p); label != "" {
		x.b.WriteString("[" + label + "]")
		return
	}
	// A parameter with no label of its own that gathers others.
	var parts []string
	for _, pr := range list(p, "props") {
		if pm, ok := pr.(map[string]any); ok && str(pm, "name") == "aggregates" {
			parts = append(parts, str(pm, "value"))
		}
	}
	if len(parts) == 0 {
		x.b.WriteString("[" + id + "]")
		return
	}
	for i, a := range parts {
		if i > 0 {
			x.b.WriteString(" and ")
		}
		x.param(a, depth+1)
	}
}

// paramLabel is the words shown for a parameter. NIST's resolved catalogs
// give each organization-defined parameter (ODP) the short label of SP
// 800-53A ("frequency") and, sometimes, the wording of SP 800-53 itself as
// an alt-label; srm shows SP 800-53's wording, which says the value is
// organization-defined.
func paramLabel(p map[string]any) string {
	label := strings.TrimSpace(str(p, "label"))
	odp := false
	for _, pr := range list(p, "props") {
		pm, ok := pr.(map[string]any)
		if !ok {
			continue
		}
		switch {
		case str(pm, "name") == "alt-label" && str(pm, "class") == "sp800-53":
			if v := strings.TrimSpace(str(pm, "value")); v != "" {
				label = v
			}
		case str(pm, "name") == "label" && str(pm, "class") == "sp800-53a":
			odp = true
		}
	}
	if odp && label != "" && !strings.HasPrefix(label, "organization-defined") {
		label = "organization-defined " + label
	}
	return label
}

func strings_(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

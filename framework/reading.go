package framework

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/srmhq/srm"
)

// A reading says, for every control of a framework, which responsibility
// area it is read as, and so which layer it sits in and, through a
// workload's baseline and service model, who carries it. It is kept in a
// text file a person reviews line by line (see nist/reading-800-53.txt):
//
//	# a comment, on a line of its own
//	name     srm's reading of NIST SP 800-53 rev5
//	area     SLUG LAYER Name of the area
//	fill     SLUG ONPREM IAAS PAAS SAAS Why srm fills the row this way
//	family   AC AREA[@LAYER] [why]
//	control  AC-2 AREA[@LAYER] why
//	control  *-1 AREA[@LAYER] why
//
// An area line names an area and the layer its controls sit in. A fill
// line gives the row that every baseline lacking the area gets (parties
// customer, shared or provider, in the order on-premises, IaaS, PaaS,
// SaaS), as srm fills missing rows of a chart. A family line is the
// default of a family; a control line an exception, with its reason; "*-1"
// stands for the control numbered 1 of every family. @LAYER puts a rule's
// controls in another layer than their area's. An enhancement follows its
// parent unless a control line names it.
type Reading struct {
	Name     string
	File     string    // the file's name, for messages
	Areas    []AreaDef // in the order of the file
	Families []Rule
	Controls []Rule // control ids and patterns, in the order of the file
	// Fallback, when set, reads the controls of a family the reading has no
	// line for as this area (one of Areas) instead of refusing the catalog,
	// marking them Unread: the web's upload, after which an admin reads
	// each such family (store.SetFamilyReading). "" refuses such a catalog.
	Fallback srm.Area

	areas    map[srm.Area]int
	families map[string]int
	controls map[string]int
}

// AreaDef is an area a reading uses.
type AreaDef struct {
	Slug  srm.Area
	Layer srm.Layer
	Name  string
	// Fill is the row srm gives the area in a baseline whose source has no
	// row for it; nil when every baseline must have the area already.
	Fill *Fill
	Line int
}

// Fill is the row srm fills in for an area a baseline's source lacks.
type Fill struct {
	Cells map[srm.ServiceModel]srm.Party
	Note  string
}

// Row is the row srm adds for a to a baseline that lacks it: labelled with
// the area's name, not in the source, with the fill's note and cells. It
// is the zero Row when a has no fill.
func (a AreaDef) Row() srm.Row {
	if a.Fill == nil {
		return srm.Row{}
	}
	return srm.Row{Area: a.Slug, Label: a.Name, InSource: false, Note: a.Fill.Note, Cells: maps.Clone(a.Fill.Cells)}
}

// Rule is one family or control line of a reading.
type Rule struct {
	Key    string // "SC", "SC-7", "*-1"
	Family bool
	Area   srm.Area
	Layer  srm.Layer // "" when the area's layer applies
	Reason string
	Line   int
}

// Area returns the area slug of r.
func (r *Reading) Area(slug srm.Area) (AreaDef, bool) {
	i, ok := r.areas[slug]
	if !ok {
		return AreaDef{}, false
	}
	return r.Areas[i], true
}

// ParseReading reads a reading file. name is used in messages (the file's
// name). Every error is a *ReadingError with the line at fault.
func ParseReading(in io.Reader, name string) (*Reading, error) {
	r := &Reading{File: name, areas: map[srm.Area]int{}, families: map[string]int{}, controls: map[string]int{}}
	fail := func(line int, format string, args ...any) error {
		return &ReadingError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	type fillAt struct {
		area string
		fill *Fill
		line int
	}
	var fills []fillAt
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, rest := field(line)
		switch kind {
		case "name":
			if rest == "" {
				return nil, fail(n, "a name line needs the reading's name")
			}
			r.Name = rest
		case "area":
			slug, rest := field(rest)
			layer, label := field(rest)
			switch {
			case !isSlug(slug):
				return nil, fail(n, "%q is not an area slug: write it in lower case with dashes, e.g. network-controls", slug)
			case !srm.Layer(layer).Valid():
				return nil, fail(n, "%q is not a layer; the layers are %s", layer, layerList())
			case label == "":
				return nil, fail(n, "area %s needs a name after its layer, e.g. \"Network controls\"", slug)
			}
			if i, dup := r.areas[srm.Area(slug)]; dup {
				return nil, fail(n, "area %s is already declared on line %d", slug, r.Areas[i].Line)
			}
			r.areas[srm.Area(slug)] = len(r.Areas)
			r.Areas = append(r.Areas, AreaDef{Slug: srm.Area(slug), Layer: srm.Layer(layer), Name: label, Line: n})
		case "fill":
			slug, rest := field(rest)
			f := &Fill{Cells: map[srm.ServiceModel]srm.Party{}}
			for _, m := range srm.ServiceModels {
				var p string
				p, rest = field(rest)
				if !srm.Party(p).Valid() {
					return nil, fail(n, "fill %s: %q is not a party for %s; write customer, shared or provider for on-premises, IaaS, PaaS and SaaS in that order", slug, p, m.Label())
				}
				f.Cells[m] = srm.Party(p)
			}
			if rest == "" {
				return nil, fail(n, "fill %s needs a note after the four parties, saying why srm fills the row this way", slug)
			}
			f.Note = rest
			fills = append(fills, fillAt{slug, f, n})
		case "family", "control":
			key, rest := field(rest)
			target, reason := field(rest)
			areaSlug, layer, hasLayer := strings.Cut(target, "@")
			rule := Rule{Key: key, Family: kind == "family", Area: srm.Area(areaSlug), Layer: srm.Layer(layer), Reason: reason, Line: n}
			switch {
			case key == "":
				return nil, fail(n, "a %s line needs the %s id, then an area", kind, kind)
			case rule.Family && !isFamily(key):
				return nil, fail(n, "%q is not a family id: write it as the catalog's group id in upper case, e.g. AC", key)
			case !rule.Family && isFamily(key):
				return nil, fail(n, "%q looks like a family: write \"family %s …\" for a family's default", key, key)
			case areaSlug == "":
				return nil, fail(n, "%s %s needs an area after its id", kind, key)
			case hasLayer && !rule.Layer.Valid():
				return nil, fail(n, "%q is not a layer; the layers are %s", layer, layerList())
			case !rule.Family && reason == "":
				return nil, fail(n, "control %s departs from its family: say why after the area", key)
			}
			if rule.Family {
				if i, dup := r.families[key]; dup {
					return nil, fail(n, "family %s is already read on line %d", key, r.Families[i].Line)
				}
				r.families[key] = len(r.Families)
				r.Families = append(r.Families, rule)
			} else {
				if i, dup := r.controls[key]; dup {
					return nil, fail(n, "control %s is already read on line %d", key, r.Controls[i].Line)
				}
				r.controls[key] = len(r.Controls)
				r.Controls = append(r.Controls, rule)
			}
		default:
			return nil, fail(n, "%q is not a kind of line srm knows: start each line with name, area, fill, family or control (or # for a comment)", kind)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	// References are checked once every line is known, so that the file may
	// list its lines in any order.
	for _, f := range fills {
		i, ok := r.areas[srm.Area(f.area)]
		if !ok {
			return nil, fail(f.line, "fill %s: area %s is not declared; declare it with an area line (%s)", f.area, f.area, r.areaList())
		}
		if r.Areas[i].Fill != nil {
			return nil, fail(f.line, "area %s is already filled on an earlier line", f.area)
		}
		r.Areas[i].Fill = f.fill
	}
	for _, rule := range slices.Concat(r.Families, r.Controls) {
		if _, ok := r.areas[rule.Area]; !ok {
			return nil, fail(rule.Line, "%s: area %q is not declared; the areas are %s", rule.Key, rule.Area, r.areaList())
		}
		if rule.Family {
			continue
		}
		fam, _, ok := strings.Cut(rule.Key, "-")
		if ok && fam != "*" {
			if _, known := r.families[fam]; !known {
				return nil, fail(rule.Line, "control %s is in family %s, which this file does not read: add a line \"family %s AREA\" or check the id", rule.Key, fam, fam)
			}
		}
	}
	if len(r.Families)+len(r.Controls) == 0 {
		return nil, &ReadingError{File: name, Msg: name + " reads no family and no control"}
	}
	return r, nil
}

// field splits s into its first word and the rest, both trimmed.
func field(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func isSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isFamily(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func layerList() string {
	ls := make([]string, len(srm.Layers))
	for i, l := range srm.Layers {
		ls[i] = string(l)
	}
	return strings.Join(ls, ", ")
}

func (r *Reading) areaList() string {
	as := make([]string, len(r.Areas))
	for i, a := range r.Areas {
		as[i] = string(a.Slug)
	}
	if len(as) == 0 {
		return "none yet"
	}
	return strings.Join(as, ", ")
}

// Check reports an error when the reading uses an area that is neither
// among known (the areas srm's baselines have) nor filled by the reading,
// since no baseline could then say who carries its controls.
func (r *Reading) Check(known []srm.AreaInfo) error {
	for _, a := range r.Areas {
		if a.Fill != nil || slices.ContainsFunc(known, func(k srm.AreaInfo) bool { return k.Slug == a.Slug }) {
			continue
		}
		return &ReadingError{File: r.File, Line: a.Line, Msg: fmt.Sprintf("area %s is not an area srm's baselines have, and no fill line says how to fill it", a.Slug)}
	}
	return nil
}

// ControlReading is how srm reads one control of a catalog.
type ControlReading struct {
	Control  string // the control's ID, "AC-2(1)"
	Area     srm.Area
	AreaName string
	Layer    srm.Layer
	// Rule is the line of the reading that decided, and Parent the ID of
	// the parent an enhancement follows ("" when a rule names the control
	// or its family decides).
	Rule   Rule
	Parent string
	// Provenance says it in words: "srm reads family SC as Network
	// controls", "srm reads SC-7 as Network controls: boundary …".
	Provenance string
	// Unread says the reading has no line for the control's family: it is
	// read as the reading's Fallback until an admin reads the family.
	Unread bool
}

// ByControl reports whether a control line, rather than the family's
// default, decided the reading (for the control or the parent it follows).
func (cr ControlReading) ByControl() bool { return !cr.Rule.Family }

// Read gives every control of c its area under reading r, in the order of
// c.Controls. A control line for the control wins; else an enhancement
// follows its parent; else a pattern such as *-1; else its family's line.
// A control that nothing reads is an error naming it: a reading has no gaps.
func Read(c Catalog, r *Reading) ([]ControlReading, error) {
	out := make([]ControlReading, 0, len(c.Controls))
	at := make(map[string]int, len(c.Controls))
	for _, ctl := range c.Controls {
		cr, err := r.read(ctl, out, at)
		if err != nil {
			return nil, err
		}
		at[ctl.ID] = len(out)
		out = append(out, cr)
	}
	return out, nil
}

func (r *Reading) read(ctl Control, done []ControlReading, at map[string]int) (ControlReading, error) {
	fam := ctl.Family
	if fam == "" {
		fam, _, _ = strings.Cut(ctl.ID, "-")
	}
	if i, ok := r.controls[ctl.ID]; ok {
		rule := r.Controls[i]
		return r.reading(ctl, rule, "srm reads "+ctl.ID+" as ", ": "+rule.Reason), nil
	}
	if ctl.Parent != "" {
		if i, ok := at[ctl.Parent]; ok {
			p := done[i]
			cr := p
			cr.Control = ctl.ID
			cr.Parent = ctl.Parent
			if !p.Rule.Family {
				cr.Provenance = fmt.Sprintf("srm reads %s with its parent %s as %s: %s", ctl.ID, ctl.Parent, p.AreaName, p.Rule.Reason)
			}
			return cr, nil
		}
	}
	if rest, ok := strings.CutPrefix(ctl.ID, fam); ok && rest != "" {
		if i, ok := r.controls["*"+rest]; ok {
			rule := r.Controls[i]
			return r.reading(ctl, rule, "srm reads "+ctl.ID+" as ", ": "+rule.Reason), nil
		}
	}
	if i, ok := r.families[fam]; ok {
		rule := r.Families[i]
		return r.reading(ctl, rule, "srm reads family "+fam+" as ", ""), nil
	}
	if _, ok := r.areas[r.Fallback]; ok && r.Fallback != "" {
		cr := r.reading(ctl, Rule{Key: fam, Family: true, Area: r.Fallback}, "srm has no reading for family "+fam+": read as ",
			" until an admin reads the family")
		cr.Unread = true
		return cr, nil
	}
	where := ctl.Path
	if where == "" {
		where = "the catalog"
	}
	return ControlReading{}, &ReadingError{File: r.File, Control: ctl.ID,
		Msg: fmt.Sprintf("%s has no line for control %s (at %s) nor for its family %s: add a line \"family %s AREA\" to %s", r.label(), ctl.ID, where, fam, fam, r.label())}
}

func (r *Reading) label() string {
	if r.File != "" {
		return r.File
	}
	return "the reading"
}

// reading applies rule to ctl; the provenance is head, the area's name, tail.
func (r *Reading) reading(ctl Control, rule Rule, head, tail string) ControlReading {
	a := r.Areas[r.areas[rule.Area]]
	layer := a.Layer
	if rule.Layer != "" {
		layer = rule.Layer
	}
	return ControlReading{Control: ctl.ID, Area: a.Slug, AreaName: a.Name, Layer: layer, Rule: rule, Provenance: head + a.Name + tail}
}

package srm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Baseline is a named, dated rule set: a provider's responsibility chart as
// data. Every area srm knows has a row in every baseline; a row the source
// lacks is filled by srm and says so (InSource false, Note explains).
type Baseline struct {
	ID          int64
	Slug        string
	Name        string
	Source      string // where the chart was published
	SourceURL   string
	AsOf        string // when the source said so, as precisely as known
	Description string
	Rows        []Row // in the order the source lists them
}

// Row is one responsibility area of a baseline with its four cells.
type Row struct {
	Area     Area
	Label    string // the row's name in this baseline
	InSource bool   // false when srm filled the row because the source has none
	Note     string
	Cells    map[ServiceModel]Party
	// ProviderPart and CustomerPart are the area's general split of work
	// (AreaInfo's), the same in every baseline.
	ProviderPart string
	CustomerPart string
}

// Row returns the row of b for area a.
func (b Baseline) Row(a Area) (Row, bool) {
	for _, r := range b.Rows {
		if r.Area == a {
			return r, true
		}
	}
	return Row{}, false
}

// Cell is the party b gives area a under model m. The error wraps ErrInvalid
// when b has no such row or no valid cell.
func (b Baseline) Cell(a Area, m ServiceModel) (Party, Row, error) {
	r, ok := b.Row(a)
	if !ok {
		return "", Row{}, fmt.Errorf("baseline %s has no row for area %q: %w", b.Slug, a, ErrInvalid)
	}
	p := r.Cells[m]
	if !p.Valid() {
		return "", Row{}, fmt.Errorf("baseline %s, area %q: no cell for model %q: %w", b.Slug, a, m, ErrInvalid)
	}
	return p, r, nil
}

// Assignment is the answer for one control of one workload: who carries it,
// why, and what the customer has done about it.
type Assignment struct {
	Control    Control
	Model      ServiceModel
	Baseline   string // the baseline's name
	AreaLabel  string // the row's name in that baseline
	AreaNote   string // set when srm filled the row
	ChartParty Party  // what the baseline's cell says
	Party      Party  // who carries it for this workload
	Override   *Override
	Status     Status
	// AreaProviderPart and AreaCustomerPart are the general split of work
	// of the area the control is read as; Parts uses them when the control
	// has no parts of its own.
	AreaProviderPart string
	AreaCustomerPart string
}

// Overridden reports whether this workload departs from the baseline here.
func (a Assignment) Overridden() bool { return a.Override != nil }

// Counted reports whether the control is on the customer's to-do list and
// counts towards progress: customer or shared, and not marked not applicable.
func (a Assignment) Counted() bool { return a.Party.Counted() && !a.Status.NotApplicable }

// Done reports whether the control counts and is complete.
func (a Assignment) Done() bool { return a.Counted() && a.Status.Complete }

// Progress is what a adds to a tally: 0/0, 0/1 or 1/1. The store keeps the
// same two facts per control (counted, done), so what the database sums is
// what these methods decide.
func (a Assignment) Progress() Progress {
	var p Progress
	if a.Counted() {
		p.Total = 1
	}
	if a.Done() {
		p.Done = 1
	}
	return p
}

// Reason says in one sentence where the party came from. For a framework
// control it starts with the control and how srm reads it: "SC-7 Boundary
// Protection: srm reads family SC as Network controls; Azure chart
// “Network controls” × PaaS says Shared."
func (a Assignment) Reason() string {
	cell := fmt.Sprintf("%s “%s” × %s says %s", a.Baseline, a.AreaLabel, a.Model.Label(), a.ChartParty.Label())
	if c := a.Control; c.Ref != "" {
		reading := c.Reading
		if c.ReadDifferently() {
			reading = fmt.Sprintf("read as “%s” by an admin: %s (srm's default: %s)", a.AreaLabel, c.ReadingReason, c.Reading)
		}
		cell = c.Name() + ": " + reading + "; " + cell
	}
	if a.Override != nil {
		return fmt.Sprintf("Overridden to %s for this workload: %s (%s.)", a.Party.Label(), a.Override.Reason, cell)
	}
	return cell + "."
}

// Part is what one party does for a control: the control's own text, or
// else the general text of the area the control is read as. Area is then
// what the text is about ("Network controls under PaaS"), so that a reader
// knows it is the area's general split and not the control's.
type Part struct {
	Text string
	Area string // "" when Text is the control's own
}

// FromArea reports whether the text is the area's general one.
func (p Part) FromArea() bool { return p.Area != "" }

// Labelled is the text for a place without a heading of its own, such as
// a cell of an export: the area's text starts with what it is ("What Azure
// does for Network controls under PaaS, in general: …"); the control's own
// text is as written. who is the party's name ("Azure", "the customer").
func (p Part) Labelled(who string) string {
	if !p.FromArea() || p.Text == "" {
		return p.Text
	}
	return "What " + who + " does for " + p.Area + ", in general: " + p.Text
}

// Parts says what Azure and the customer each do for the control. A party
// that carries none of it has no part (a customer-owned control has no
// provider part, an inherited one no customer part). A part is the
// control's own text when it has one (srm's controls do); otherwise the
// general one of the area the control is read as, under the workload's
// model (framework controls have none of their own). This is the one rule
// the control's page, the customer responsibility matrix and the OSCAL SSP
// follow.
func (a Assignment) Parts() (provider, customer Part) {
	area := a.AreaLabel + " under " + a.Model.Label()
	pick := func(own, general string) Part {
		if strings.TrimSpace(own) != "" {
			return Part{Text: own}
		}
		if strings.TrimSpace(general) != "" {
			return Part{Text: general, Area: area}
		}
		return Part{}
	}
	if a.Party != Customer {
		provider = pick(a.Control.ProviderPart, a.AreaProviderPart)
	}
	if a.Party != Provider {
		customer = pick(a.Control.CustomerPart, a.AreaCustomerPart)
	}
	return provider, customer
}

// Assess decides, for every control, who carries it for a workload hosted
// under model m and judged by baseline b. overrides and statuses are keyed by
// control id; either may be nil. The result keeps the order of controls.
// The error wraps ErrInvalid when m is unknown or b lacks a control's area.
func Assess(b Baseline, m ServiceModel, controls []Control, overrides map[int64]Override, statuses map[int64]Status) ([]Assignment, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("assess: service model %q: %w", m, ErrInvalid)
	}
	out := make([]Assignment, 0, len(controls))
	for _, c := range controls {
		chart, row, err := b.Cell(c.Area, m)
		if err != nil {
			return nil, fmt.Errorf("assess control %q: %w", c.Title, err)
		}
		a := Assignment{
			Control:    c,
			Model:      m,
			Baseline:   b.Name,
			AreaLabel:  row.Label,
			ChartParty: chart,
			Party:      chart,
			Status:     statuses[c.ID],

			AreaProviderPart: row.ProviderPart,
			AreaCustomerPart: row.CustomerPart,
		}
		if !row.InSource {
			a.AreaNote = row.Note
		}
		if o, ok := overrides[c.ID]; ok && o.Party.Valid() {
			a.Override = &o
			a.Party = o.Party
		}
		out = append(out, a)
	}
	return out, nil
}

// Progress counts completed controls among those that count.
type Progress struct {
	Done  int
	Total int
}

// Percent is the share of counted controls that are complete, rounded down,
// and 0 when nothing counts.
func (p Progress) Percent() int {
	if p.Total == 0 {
		return 0
	}
	return p.Done * 100 / p.Total
}

// Open is the number of counted controls not yet complete.
func (p Progress) Open() int { return p.Total - p.Done }

// Plus adds two tallies.
func (p Progress) Plus(q Progress) Progress { return Progress{p.Done + q.Done, p.Total + q.Total} }

// Tally applies the counting rule to as: completed / applicable controls
// that are the customer's or shared. It is TallyByLayer summed.
func Tally(as []Assignment) Progress { return Sum(TallyByLayer(as)) }

// LayerProgress is the tally of one layer.
type LayerProgress struct {
	Layer    Layer
	Progress Progress
	Controls int // every control of the layer, counted or not
}

// TallyByLayer tallies as per layer, in the order of Layers; every layer is
// present even when it has no controls. It is TallyWorkload's layers.
func TallyByLayer(as []Assignment) []LayerProgress { return TallyWorkload(as).Layers }

// FrameworkProgress is the tally of one framework's controls.
type FrameworkProgress struct {
	Progress Progress
	Controls int // every control of the framework, counted or not
}

// WorkloadProgress is a workload's progress by the counting rule, per
// layer and per framework. The store reads it from the engine's answers it
// keeps (store.WorkloadLayerState) when a page holds the assignments of one
// layer only; TallyWorkload computes it from every assignment.
type WorkloadProgress struct {
	Layers     []LayerProgress             // every layer, in the order of Layers
	Frameworks map[int64]FrameworkProgress // by framework id; a framework without controls is absent
}

// All is the workload's progress over all its controls.
func (p WorkloadProgress) All() Progress { return Sum(p.Layers) }

// Controls is the number of the workload's controls, counted or not.
func (p WorkloadProgress) Controls() int {
	n := 0
	for _, l := range p.Layers {
		n += l.Controls
	}
	return n
}

// TallyWorkload tallies as per layer (in the order of Layers, every layer
// present) and per framework. It is the one loop that applies the counting
// rule (Assignment.Counted and Done) to a list.
func TallyWorkload(as []Assignment) WorkloadProgress {
	out := WorkloadProgress{Layers: make([]LayerProgress, len(Layers)), Frameworks: map[int64]FrameworkProgress{}}
	for i, l := range Layers {
		out.Layers[i].Layer = l
	}
	for _, a := range as {
		i := a.Control.Layer.Index()
		if i < 0 {
			continue
		}
		p := a.Progress()
		out.Layers[i].Controls++
		out.Layers[i].Progress = out.Layers[i].Progress.Plus(p)
		f := out.Frameworks[a.Control.FrameworkID]
		f.Controls++
		f.Progress = f.Progress.Plus(p)
		out.Frameworks[a.Control.FrameworkID] = f
	}
	return out
}

// Move is a control whose carrier changes between two assessments.
type Move struct {
	Control Control
	From    Party
	To      Party
	Status  Status // the customer's work on it, kept either way
}

// Diff lists the controls whose party differs between before and after,
// matched by control id, ordered by layer and then by the order of after.
// Controls only in one of the two are ignored.
func Diff(before, after []Assignment) []Move {
	was := make(map[int64]Party, len(before))
	for _, a := range before {
		was[a.Control.ID] = a.Party
	}
	var moves []Move
	for _, a := range after {
		from, ok := was[a.Control.ID]
		if !ok || from == a.Party {
			continue
		}
		moves = append(moves, Move{Control: a.Control, From: from, To: a.Party, Status: a.Status})
	}
	slices.SortStableFunc(moves, func(x, y Move) int {
		return cmp.Compare(x.Control.Layer.Index(), y.Control.Layer.Index())
	})
	return moves
}

// MatrixRow is one control of the catalog against the four service models.
type MatrixRow struct {
	Control Control
	Row     Row
	Cells   []Party // in the order of ServiceModels
}

// Matrix assesses the whole catalog under every service model of b. The
// error wraps ErrInvalid when b lacks a control's area.
func Matrix(b Baseline, controls []Control) ([]MatrixRow, error) {
	out := make([]MatrixRow, 0, len(controls))
	for _, c := range controls {
		r, ok := b.Row(c.Area)
		if !ok {
			return nil, fmt.Errorf("matrix: baseline %s has no row for area %q: %w", b.Slug, c.Area, ErrInvalid)
		}
		mr := MatrixRow{Control: c, Row: r}
		for _, m := range ServiceModels {
			p, _, err := b.Cell(c.Area, m)
			if err != nil {
				return nil, fmt.Errorf("matrix: %w", err)
			}
			mr.Cells = append(mr.Cells, p)
		}
		out = append(out, mr)
	}
	return out, nil
}

// AreaChange is one responsibility area that two baselines treat
// differently: another label, a row only one of them has, or other cells.
type AreaChange struct {
	Area     Area
	Old, New Row
	// Models lists the service models whose cell differs.
	Models   []ServiceModel
	Controls []Control // the catalog's controls in this area
}

// Relabelled reports whether only the label or the origin of the row changed.
func (c AreaChange) Relabelled() bool {
	return c.Old.Label != c.New.Label || c.Old.InSource != c.New.InSource
}

// CompareBaselines lists the areas that old and new treat differently, in
// the order of new's rows. An area missing from either baseline is an error
// wrapping ErrInvalid.
func CompareBaselines(old, new Baseline, controls []Control) ([]AreaChange, error) {
	var out []AreaChange
	for _, nr := range new.Rows {
		or, ok := old.Row(nr.Area)
		if !ok {
			return nil, fmt.Errorf("compare: baseline %s has no row for area %q: %w", old.Slug, nr.Area, ErrInvalid)
		}
		ch := AreaChange{Area: nr.Area, Old: or, New: nr}
		for _, m := range ServiceModels {
			if or.Cells[m] != nr.Cells[m] {
				ch.Models = append(ch.Models, m)
			}
		}
		if len(ch.Models) == 0 && !ch.Relabelled() {
			continue
		}
		for _, c := range controls {
			if c.Area == nr.Area {
				ch.Controls = append(ch.Controls, c)
			}
		}
		out = append(out, ch)
	}
	if len(old.Rows) != len(new.Rows) {
		for _, r := range old.Rows {
			if _, ok := new.Row(r.Area); !ok {
				return nil, fmt.Errorf("compare: baseline %s has no row for area %q: %w", new.Slug, r.Area, ErrInvalid)
			}
		}
	}
	return out, nil
}

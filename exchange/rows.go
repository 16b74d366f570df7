package exchange

import (
	"strconv"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

// The headers below are stable: files people keep, scripts and the import
// depend on them. Add columns at the end; never rename one.

// Checklist columns: a workload's checklist, one row per control. The
// first three say which workload the row belongs to, so a checklist export
// is also an import file (workload, model, baseline, and the statuses).
const (
	ColWorkload       = "workload"
	ColDescription    = "description"
	ColModel          = "model"
	ColBaseline       = "baseline"
	ColLayer          = "layer"
	ColControlID      = "control id"
	ColControl        = "control"
	ColParty          = "party"
	ColWhy            = "why"
	ColOwner          = "owner"
	ColComplete       = "complete"
	ColCompletedBy    = "completed by"
	ColCompletedAt    = "completed at"
	ColNote           = "note"
	ColEvidence       = "evidence"
	ColNotApplicable  = "not applicable"
	ColNAReason       = "not applicable reason"
	ColOverrideParty  = "override party"
	ColOverrideReason = "override reason"
	ColVersion        = "version"
	ColDone           = "done"
	ColTotal          = "total"
	ColPercent        = "percent"
)

func cols(spec ...any) []Column {
	var out []Column
	for i := 0; i < len(spec); i += 2 {
		out = append(out, Column{Header: spec[i].(string), Width: float64(spec[i+1].(int))})
	}
	return out
}

// ChecklistColumns heads a workload's checklist.
var ChecklistColumns = cols(
	ColWorkload, 24, ColModel, 12, ColBaseline, 20, ColLayer, 16, ColControlID, 10, ColControl, 40,
	ColParty, 10, ColWhy, 50, ColOwner, 20, ColComplete, 10, ColCompletedBy, 20, ColCompletedAt, 22,
	ColNote, 40, ColEvidence, 40, ColNotApplicable, 14, ColNAReason, 30, ColOverrideParty, 14,
	ColOverrideReason, 30, ColVersion, 8,
)

// ChecklistRow is one control of workload w, as its checklist shows it.
// baseline is the name of w's baseline.
func ChecklistRow(w srm.Workload, baseline string, a srm.Assignment) []Value {
	var oParty, oReason string
	if a.Override != nil {
		oParty, oReason = a.Override.Party.Label(), a.Override.Reason
	}
	s := a.Status
	return []Value{
		Text(w.Name), Text(w.Model.Label()), Text(baseline),
		Text(a.Control.Layer.Label()), ID(a.Control.ID), Text(a.Control.Title),
		Text(a.Party.Label()), Text(a.Reason()), Text(s.OwnerName),
		Bool(s.Complete), Text(s.CompletedBy), Time(s.CompletedAt),
		Text(s.Note), Text(s.Evidence), Bool(s.NotApplicable), Text(s.NAReason),
		Text(oParty), Text(oReason), Int(s.Version),
	}
}

// PortfolioColumns heads the portfolio: one row per workload. It is also an
// import file of workloads (done, total and percent are not read back).
var PortfolioColumns = cols(
	ColWorkload, 30, ColDescription, 50, ColModel, 12, ColBaseline, 24, ColDone, 8, ColTotal, 8, ColPercent, 9,
)

// PortfolioRow is one workload of the portfolio.
func PortfolioRow(s srm.WorkloadSummary) []Value {
	return []Value{
		Text(s.Name), Text(s.Description), Text(s.Model.Label()), Text(s.BaselineName),
		Int(int64(s.Progress.Done)), Int(int64(s.Progress.Total)), Int(int64(s.Progress.Percent())),
	}
}

// QueueColumns heads an owner's queue: the controls they hold.
var QueueColumns = cols(
	ColOwner, 20, ColWorkload, 24, ColModel, 12, ColLayer, 16, ColControlID, 10, ColControl, 40,
	ColParty, 10, ColComplete, 10, ColCompletedBy, 20, ColCompletedAt, 22, ColNotApplicable, 14,
)

// QueueRow is one item of owner o's queue.
func QueueRow(o srm.Owner, q srm.QueueItem) []Value {
	return []Value{
		Text(o.Name), Text(q.WorkloadName), Text(q.Model.Label()), Text(q.Control.Layer.Label()),
		ID(q.Control.ID), Text(q.Control.Title), Text(q.Party.Label()),
		Bool(q.Complete), Text(q.CompletedBy), Time(q.CompletedAt), Bool(q.NotApplicable),
	}
}

// Matrix columns: the catalog against the four service models of one
// baseline; each model's column holds the party (Customer, Shared, Azure).
const (
	ColArea     = "area"
	ColAreaNote = "area note"
	// ColReference is the control's id in its framework ("AC-2(1)"), as
	// the matrix page shows it; empty for srm's own controls.
	ColReference = "reference"
)

// MatrixColumns heads the matrix of a baseline.
var MatrixColumns = func() []Column {
	c := cols(ColBaseline, 20, ColLayer, 16, ColControlID, 10, ColControl, 40, ColArea, 30)
	for _, m := range srm.ServiceModels {
		c = append(c, Column{Header: m.Label(), Width: 12})
	}
	return append(c, Column{Header: ColAreaNote, Width: 40}, Column{Header: ColReference, Width: 12})
}()

// MatrixRow is one control of the matrix of the baseline named baseline.
func MatrixRow(baseline string, r srm.MatrixRow) []Value {
	out := []Value{Text(baseline), Text(r.Control.Layer.Label()), ID(r.Control.ID), Text(r.Control.Title), Text(r.Row.Label)}
	for i := range srm.ServiceModels {
		p := srm.Party("")
		if i < len(r.Cells) {
			p = r.Cells[i]
		}
		out = append(out, Text(p.Label()))
	}
	note := ""
	if !r.Row.InSource {
		note = r.Row.Note
	}
	return append(out, Text(note), Text(r.Control.Ref))
}

// Requirement is one control of a workload as the CRM and the SSP export
// it: srm's assessment of it, and the framework control it stands for
// (nil for a control of srm's own catalog).
type Requirement struct {
	Assignment srm.Assignment
	Framework  *framework.Control
}

// ControlID is the id people write: the framework's ("AC-2(1)"), or srm's
// own id as a number.
func (r Requirement) ControlID() string {
	if r.Framework != nil {
		return r.Framework.ID
	}
	return strconv.FormatInt(r.Assignment.Control.ID, 10)
}

// Name is the control's title in its framework, or in srm's catalog.
func (r Requirement) Name() string {
	if r.Framework != nil && r.Framework.Title != "" {
		return r.Framework.Title
	}
	return r.Assignment.Control.Title
}

// CRM columns: the customer responsibility matrix, after FedRAMP's.
const (
	ColCRMControlName    = "control name"
	ColResponsibility    = "responsibility"
	ColProviderProvides  = "what Azure provides"
	ColCustomerMustDo    = "what the customer must do"
	ColStatus            = "status"
	ColReason            = "reason"
	ResponsibilityCust   = "Customer"
	ResponsibilityShared = "Shared"
	ResponsibilityInh    = "Inherited from Azure"
	StatusComplete       = "Complete"
	StatusOpen           = "Open"
	StatusNotApplicable  = "Not applicable"
	// StatusInherited is the status of a control Azure carries alone: the
	// customer has nothing to do, so it is neither open nor complete.
	StatusInherited = "Inherited"
)

// CRMColumns heads the customer responsibility matrix of a workload.
var CRMColumns = cols(
	ColControlID, 10, ColCRMControlName, 40, ColResponsibility, 20, ColProviderProvides, 50,
	ColCustomerMustDo, 50, ColOwner, 20, ColStatus, 14, ColReason, 50,
)

// Responsibility is the CRM's word for who carries a control.
func Responsibility(p srm.Party) string {
	switch p {
	case srm.Customer:
		return ResponsibilityCust
	case srm.Shared:
		return ResponsibilityShared
	case srm.Provider:
		return ResponsibilityInh
	}
	return string(p)
}

// CRMStatus is the CRM's status of a: Not applicable, Complete, Open, or
// Inherited when Azure carries it alone.
func CRMStatus(a srm.Assignment) string {
	switch {
	case a.Status.NotApplicable:
		return StatusNotApplicable
	case a.Party == srm.Provider:
		return StatusInherited
	case a.Status.Complete:
		return StatusComplete
	}
	return StatusOpen
}

// Parts says what Azure provides and what the customer must do for a
// control, by srm.Assignment.Parts: the control's own part, else its
// area's general split, labelled as such. A control of one party that has
// no part of its own is all that party's: its description (or statement,
// for a framework) says what, and is more precise than the area's text,
// which is left for when there is neither.
func (r Requirement) Parts() (provider, customer string) {
	a := r.Assignment
	whole := a.Control.Description
	if r.Framework != nil && r.Framework.Statement != "" {
		whole = r.Framework.Statement
	}
	p, c := a.Parts()
	pick := func(part srm.Part, who string) string {
		if !part.FromArea() && part.Text != "" || strings.TrimSpace(whole) == "" {
			return part.Labelled(who)
		}
		return whole
	}
	switch a.Party {
	case srm.Customer:
		return "", pick(c, "the customer")
	case srm.Provider:
		return pick(p, ProviderName), ""
	}
	return p.Labelled(ProviderName), c.Labelled("the customer")
}

// Reasons says why the control departs from the chart or from the work:
// the override's reason and the not-applicable reason, each labelled.
func (r Requirement) Reasons() string {
	a := r.Assignment
	var out []string
	if a.Override != nil {
		out = append(out, "Overridden from "+a.ChartParty.Label()+" to "+a.Party.Label()+": "+a.Override.Reason)
	}
	if a.Status.NotApplicable {
		out = append(out, "Not applicable: "+a.Status.NAReason)
	}
	return strings.Join(out, "\n")
}

// CRMRow is one control of a workload's customer responsibility matrix.
func CRMRow(r Requirement) []Value {
	provider, customer := r.Parts()
	return []Value{
		Text(r.ControlID()), Text(r.Name()), Text(Responsibility(r.Assignment.Party)),
		Text(provider), Text(customer), Text(r.Assignment.Status.OwnerName),
		Text(CRMStatus(r.Assignment)), Text(r.Reasons()),
	}
}

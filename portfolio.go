package srm

import "time"

// WorkloadSummary is a workload with its baseline's name and its progress,
// as the portfolio lists it.
type WorkloadSummary struct {
	Workload
	BaselineName string
	Progress     Progress
}

// OwnerSummary is an owner with the progress of the controls they hold.
type OwnerSummary struct {
	Owner
	Progress Progress
}

// QueueItem is one control of one workload held by an owner.
type QueueItem struct {
	WorkloadID    int64
	WorkloadName  string
	Model         ServiceModel
	Control       Control
	Party         Party
	Complete      bool
	CompletedBy   string
	CompletedAt   time.Time
	NotApplicable bool
}

// Assignment is the item as the engine's answer for its control, with the
// parts of the status that the queue shows.
func (q QueueItem) Assignment() Assignment {
	return Assignment{Control: q.Control, Model: q.Model, Party: q.Party,
		Status: Status{Complete: q.Complete, CompletedBy: q.CompletedBy, CompletedAt: q.CompletedAt, NotApplicable: q.NotApplicable}}
}

// Counted reports whether the item counts towards progress, by the rule of
// Assignment.Counted.
func (q QueueItem) Counted() bool { return q.Assignment().Counted() }

// Sum adds up per-layer tallies into one.
func Sum(layers []LayerProgress) Progress {
	var p Progress
	for _, l := range layers {
		p = p.Plus(l.Progress)
	}
	return p
}

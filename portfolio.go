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

// Counted reports whether the item counts towards progress.
func (q QueueItem) Counted() bool { return q.Party.Counted() && !q.NotApplicable }

// Sum adds up per-layer tallies into one.
func Sum(layers []LayerProgress) Progress {
	var p Progress
	for _, l := range layers {
		p = p.Plus(l.Progress)
	}
	return p
}

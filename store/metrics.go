package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
)

// Watched is what a team watches of the whole portfolio, for metrics.
type Watched struct {
	Workloads int
	// Open is the number of controls on the customer's to-do list that are
	// not complete (srm.Progress.Open), by the party that carries them:
	// srm.Customer and srm.Shared, the only parties that count. Nil unless
	// asked for.
	Open map[srm.Party]int
}

// Watched returns the number of workloads, read from the portfolio's
// summary (a few dozen small rows), and with byParty the open controls by
// party. The summaries keep no party, so that split counts the
// assignments table: one pass over a row per workload and control (about
// 120 ms at 10,000 workloads); callers ask for it sparingly.
func (s *Store) Watched(ctx context.Context, byParty bool) (Watched, error) {
	var (
		w                Watched
		customer, shared int
	)
	if !byParty {
		err := s.db.QueryRow(ctx, `
			SELECT COALESCE(sum(workloads), 0)::int FROM public.portfolio_shards WHERE layer = $1`,
			countedLayer).Scan(&w.Workloads)
		if err != nil {
			return Watched{}, fmt.Errorf("store: watched numbers: %w", err)
		}
		return w, nil
	}
	err := s.db.QueryRow(ctx, `
		SELECT (SELECT COALESCE(sum(workloads), 0) FROM public.portfolio_shards WHERE layer = $1)::int,
		       (count(*) FILTER (WHERE party = $2))::int, (count(*) FILTER (WHERE party = $3))::int
		FROM public.assignments WHERE counted AND NOT done`,
		countedLayer, string(srm.Customer), string(srm.Shared)).Scan(&w.Workloads, &customer, &shared)
	if err != nil {
		return Watched{}, fmt.Errorf("store: watched numbers: %w", err)
	}
	w.Open = map[srm.Party]int{srm.Customer: customer, srm.Shared: shared}
	return w, nil
}

// PoolStats is the state of the store's connection pool, for metrics.
type PoolStats struct {
	Acquired, Idle, Constructing, Total, Max int32 // connections now
	Acquires                                 int64 // acquisitions so far
	AcquireTime                              time.Duration
	CanceledAcquires                         int64 // given up by their context
	EmptyAcquires                            int64 // that had to wait for a connection
	EmptyAcquireWait                         time.Duration
	NewConns                                 int64 // connections opened so far
	LifetimeClosed, IdleClosed               int64 // closed for their age, or for idling
}

// PoolStats reports the connection pool's state; ok is false when the
// store does not run on a *pgxpool.Pool (a transaction, a test's wrapper).
// It sends nothing to the database.
func (s *Store) PoolStats() (stats PoolStats, ok bool) {
	db := s.db
	if m, isMarking := db.(marking); isMarking {
		db = m.db
	}
	pool, ok := db.(*pgxpool.Pool)
	if !ok {
		return PoolStats{}, false
	}
	st := pool.Stat()
	return PoolStats{
		Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Constructing: st.ConstructingConns(),
		Total: st.TotalConns(), Max: st.MaxConns(),
		Acquires: st.AcquireCount(), AcquireTime: st.AcquireDuration(), CanceledAcquires: st.CanceledAcquireCount(),
		EmptyAcquires: st.EmptyAcquireCount(), EmptyAcquireWait: st.EmptyAcquireWaitTime(),
		NewConns: st.NewConnsCount(), LifetimeClosed: st.MaxLifetimeDestroyCount(), IdleClosed: st.MaxIdleDestroyCount(),
	}, true
}

package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// SeedStats says what SeedSynthetic added.
type SeedStats struct {
	Workloads int
	Owners    int
	Statuses  int
}

var (
	seedSystems = []string{"billing", "telemetry", "portal", "warehouse", "payroll", "routing", "tracking",
		"invoicing", "fleet", "customs", "booking", "inventory", "analytics", "identity", "mail", "archive"}
	seedKinds = []string{"API", "pipeline", "database", "web app", "batch jobs", "file share", "VMs", "suite"}
)

// SeedSynthetic adds n realistic synthetic workloads of all four models,
// with owners and a status on every control (about half complete), for load
// tests and benchmarks. It writes with COPY in one transaction, then the
// engine's assignments in batches (as a catalog change does), so 10,000
// workloads take seconds. seed makes the data repeatable.
func (s *Store) SeedSynthetic(ctx context.Context, n int, seed uint64) (SeedStats, error) {
	if n <= 0 {
		return SeedStats{}, fmt.Errorf("store: seed: %d workloads: %w", n, srm.ErrInvalid)
	}
	rnd := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var stats SeedStats
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Hold the catalog (store/assess.go) while the new workloads are assessed.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, int64(catalogLock)); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
		cat, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		if len(cat.baselines) == 0 || len(cat.controls) == 0 {
			return fmt.Errorf("store: seed: the catalog is empty; run the migrations first")
		}
		for _, stmt := range []string{
			// One audit row records the whole load (below), not one per row.
			`ALTER TABLE statuses DISABLE TRIGGER audit_statuses`,
			`ALTER TABLE workloads DISABLE TRIGGER audit_workloads`,
			`ALTER TABLE owners DISABLE TRIGGER audit_owners`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("store: seed: %w", err)
			}
		}

		var first int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM workloads`).Scan(&first); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
		var offset int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM workloads`).Scan(&offset); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}

		// Owners: a few teams and people per hundred workloads, at least 20.
		owners := max(20, n/50)
		var ownerIDs []int64
		var ownerNames []string
		for i := range owners {
			kind, name := srm.Team, fmt.Sprintf("Team %s %d", seedSystems[i%len(seedSystems)], i+offset)
			if i%3 == 0 {
				kind, name = srm.Person, fmt.Sprintf("Engineer %04d", i+offset)
			}
			o, err := s.on(tx).EnsureOwner(ctx, srm.Owner{Name: name, Kind: kind})
			if err != nil {
				return err
			}
			ownerIDs, ownerNames = append(ownerIDs, o.ID), append(ownerNames, o.Name)
		}
		stats.Owners = owners

		models := []srm.ServiceModel{srm.IaaS, srm.PaaS, srm.PaaS, srm.SaaS, srm.OnPrem, srm.PaaS, srm.IaaS}
		rows := make([][]any, n)
		for i := range n {
			b := cat.baselines[0]
			if i%5 == 4 {
				b = cat.baselines[len(cat.baselines)-1]
			}
			name := fmt.Sprintf("%s %s %05d", seedSystems[rnd.IntN(len(seedSystems))], seedKinds[rnd.IntN(len(seedKinds))], offset+i+1)
			rows[i] = []any{name, "Synthetic workload for load tests.", string(models[i%len(models)]), b.ID}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"workloads"}, []string{"name", "description", "model", "baseline_id"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("store: seed workloads: %w", translate(err))
		}
		stats.Workloads = n

		rows2, _ := tx.Query(ctx, `SELECT id FROM workloads WHERE id > $1 ORDER BY id`, first) // CollectRows reports its error
		ids, err := pgx.CollectRows(rows2, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
		now := time.Now().UTC()
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i >= len(ids)*len(cat.controls) {
				return nil, nil
			}
			wid, c := ids[i/len(cat.controls)], cat.controls[i%len(cat.controls)]
			i++
			o := rnd.IntN(len(ownerIDs))
			complete := rnd.IntN(2) == 0
			by, at := "", (*time.Time)(nil)
			if complete {
				t := now.Add(-time.Duration(rnd.IntN(90*24)) * time.Hour)
				by, at = ownerNames[o], &t
			}
			return []any{wid, c.ID, ownerIDs[o], complete, by, at}, nil
		})
		copied, err := tx.CopyFrom(ctx, pgx.Identifier{"statuses"},
			[]string{"workload_id", "control_id", "owner_id", "complete", "completed_by", "completed_at"}, src)
		if err != nil {
			return fmt.Errorf("store: seed statuses: %w", translate(err))
		}
		stats.Statuses = int(copied)
		if _, err := tx.Exec(ctx, `SELECT audit_event('seed.loaded', 'portfolio', '', '', NULL, NULL, $1)`,
			map[string]int{"workloads": n, "statuses": stats.Statuses}); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}

		// The engine's assignments of the new workloads, and with them the
		// summaries, in batches.
		if err := reassess(ctx, tx, cat, ids, nil, true); err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
		for _, stmt := range []string{
			`ALTER TABLE statuses ENABLE TRIGGER audit_statuses`,
			`ALTER TABLE workloads ENABLE TRIGGER audit_workloads`,
			`ALTER TABLE owners ENABLE TRIGGER audit_owners`,
			`ANALYZE workloads`, `ANALYZE audit`, `ANALYZE statuses`, `ANALYZE layer_progress`, `ANALYZE owners`,
			`ANALYZE assignments`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("store: seed: %s: %w", stmt, err)
			}
		}
		return nil
	})
	return stats, err
}

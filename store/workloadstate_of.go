package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// WorkloadStateOf is WorkloadState with the statuses of the controls
// with ids controls only (those of them that have one): the workload, its
// frameworks and overrides, the owners and the catalog are all there, so
// that the engine (Catalog.Assess) gives every control its party and
// checklist place, but only the named controls have their status. A bulk
// action without JavaScript reads this rather than the whole workload: it
// looks at the rows the form names and then redirects, and a workload
// holds hundreds of statuses. One statement (plus one each when the cached
// catalog or owners list is out of date), so one snapshot. An unknown
// workload is an error wrapping srm.ErrNotFound.
func (s *Store) WorkloadStateOf(ctx context.Context, id int64, controls []int64) (WorkloadState, error) {
	// WorkloadState's statement (store/statuses.go), its statuses limited
	// to the controls asked for.
	rows, _ := s.db.Query(ctx, `
		SELECT `+prefixed("w", workloadColumns)+`,
		       (SELECT version FROM catalog_version) AS catalog_version,
		       (SELECT owners_version FROM catalog_version) AS owners_version, o.overrides,
		       array(SELECT framework_id FROM workload_frameworks wf WHERE wf.workload_id = w.id ORDER BY 1) AS frameworks,
		       0::bigint AS control_id, 0::bigint AS owner_id, false AS complete, '' AS completed_by,
		       NULL::timestamptz AS completed_at, '' AS note, '' AS evidence, false AS not_applicable,
		       '' AS na_reason, 0::bigint AS status_version, now() AS status_updated_at
		FROM workloads w
		CROSS JOIN LATERAL (
			SELECT json_agg(json_build_object('control_id', control_id, 'party', party, 'reason', reason,
			                                  'created_at', created_at, 'version', version)) AS overrides
			FROM overrides WHERE workload_id = w.id
		) o
		WHERE w.id = @id
		UNION ALL
		SELECT 0::bigint, '', '', '', 0::bigint, 0::bigint, now(), now(), 0::bigint, 0::bigint, NULL::json,
		       NULL::bigint[], `+statusColumns+`
		FROM statuses s
		WHERE s.workload_id = @id AND s.control_id = ANY (@controls::bigint[])`,
		pgx.NamedArgs{"id": id, "controls": controls})
	var (
		r     workloadStateRow
		recs  []workloadStateRow
		first *workloadStateRow
	)
	_, err := pgx.ForEachRow(rows, r.targets(), func() error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return WorkloadState{}, fmt.Errorf("store: state of %d controls of workload %d: %w", len(controls), id, translate(err))
	}
	for i := range recs {
		if recs[i].ID != 0 {
			first = &recs[i]
			break
		}
	}
	if first == nil {
		return WorkloadState{}, fmt.Errorf("store: workload %d: %w", id, srm.ErrNotFound)
	}
	owners, err := s.ownersAt(ctx, first.OwnersVersion)
	if err != nil {
		return WorkloadState{}, err
	}
	wl := first.workload()
	wl.Frameworks = first.Frameworks
	ws := WorkloadState{Workload: wl, Owners: slices.Clone(owners.owners), Statuses: make(map[int64]srm.Status, len(recs))}
	for _, r := range recs {
		if r.ControlID != 0 {
			ws.Statuses[r.ControlID] = r.status(owners.names[r.OwnerID])
		}
	}
	if ws.Overrides, err = decodeOverrides(id, first.Overrides); err != nil {
		return WorkloadState{}, fmt.Errorf("store: state of workload %d: %w", id, err)
	}
	if ws.Catalog, err = s.catalogAt(ctx, first.CatalogVersion); err != nil {
		return WorkloadState{}, err
	}
	return ws, nil
}

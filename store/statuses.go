package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// Statuses returns the customer's work on every control of a workload that
// has any, keyed by control id.
func (s *Store) Statuses(ctx context.Context, workloadID int64) (map[int64]srm.Status, error) {
	rows, err := s.db.Query(ctx, `
		SELECT s.control_id, COALESCE(s.owner_id, 0), COALESCE(o.name, ''), s.complete, s.completed_by,
		       s.completed_at, s.note, s.evidence, s.not_applicable, s.na_reason, s.version, s.updated_at
		FROM statuses s
		LEFT JOIN owners o ON o.id = s.owner_id
		WHERE s.workload_id = $1`, workloadID)
	if err != nil {
		return nil, fmt.Errorf("store: statuses of workload %d: %w", workloadID, err)
	}
	out := map[int64]srm.Status{}
	var (
		cid int64
		st  srm.Status
		at  *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&cid, &st.OwnerID, &st.OwnerName, &st.Complete, &st.CompletedBy,
		&at, &st.Note, &st.Evidence, &st.NotApplicable, &st.NAReason, &st.Version, &st.UpdatedAt}, func() error {
		st.CompletedAt = time.Time{}
		if at != nil {
			st.CompletedAt = *at
		}
		out[cid] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: statuses of workload %d: %w", workloadID, err)
	}
	return out, nil
}

// SaveStatus records the customer's work on one control of one workload.
// Ticking complete stamps who (the owner at that moment) and when; the
// stamp stays while it remains ticked and is cleared when it is unticked.
// An unknown workload, control or owner is an error wrapping srm.ErrNotFound.
func (s *Store) SaveStatus(ctx context.Context, workloadID, controlID int64, st srm.Status) error {
	var owner *int64
	if st.OwnerID > 0 {
		owner = &st.OwnerID
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
			note, evidence, not_applicable, na_reason)
		VALUES ($1, $2, $3, $4,
			CASE WHEN $4 THEN COALESCE((SELECT name FROM owners WHERE id = $3), '') ELSE '' END,
			CASE WHEN $4 THEN now() END,
			$5, $6, $7, $8)
		ON CONFLICT (workload_id, control_id) DO UPDATE SET
			owner_id       = EXCLUDED.owner_id,
			complete       = EXCLUDED.complete,
			completed_by   = CASE WHEN NOT EXCLUDED.complete THEN ''
			                      WHEN s.complete THEN s.completed_by
			                      ELSE EXCLUDED.completed_by END,
			completed_at   = CASE WHEN NOT EXCLUDED.complete THEN NULL
			                      WHEN s.complete THEN s.completed_at
			                      ELSE EXCLUDED.completed_at END,
			note           = EXCLUDED.note,
			evidence       = EXCLUDED.evidence,
			not_applicable = EXCLUDED.not_applicable,
			na_reason      = EXCLUDED.na_reason,
			version        = s.version + 1,
			updated_at     = now()`,
		workloadID, controlID, owner, st.Complete, st.Note, st.Evidence, st.NotApplicable, st.NAReason)
	if err != nil {
		return fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, translate(err))
	}
	return nil
}

// Overrides returns the workload's departures from its baseline, keyed by
// control id.
func (s *Store) Overrides(ctx context.Context, workloadID int64) (map[int64]srm.Override, error) {
	rows, err := s.db.Query(ctx, `
		SELECT control_id, party, reason, created_at FROM overrides WHERE workload_id = $1`, workloadID)
	if err != nil {
		return nil, fmt.Errorf("store: overrides of workload %d: %w", workloadID, err)
	}
	out := map[int64]srm.Override{}
	var o srm.Override
	var party string
	_, err = pgx.ForEachRow(rows, []any{&o.ControlID, &party, &o.Reason, &o.CreatedAt}, func() error {
		o.WorkloadID, o.Party = workloadID, srm.Party(party)
		out[o.ControlID] = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: overrides of workload %d: %w", workloadID, err)
	}
	return out, nil
}

// SetOverride records or replaces the override of one control of one
// workload. Unknown ids are an error wrapping srm.ErrNotFound.
func (s *Store) SetOverride(ctx context.Context, o srm.Override) error {
	_, err := s.db.Exec(ctx, `
		INSERT INTO overrides (workload_id, control_id, party, reason) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workload_id, control_id) DO UPDATE SET party = EXCLUDED.party, reason = EXCLUDED.reason,
			created_at = now()`,
		o.WorkloadID, o.ControlID, o.Party, o.Reason)
	if err != nil {
		return fmt.Errorf("store: override control %d of workload %d: %w", o.ControlID, o.WorkloadID, translate(err))
	}
	return nil
}

// DeleteOverride returns one control of one workload to its baseline. There
// being no override is not an error.
func (s *Store) DeleteOverride(ctx context.Context, workloadID, controlID int64) error {
	_, err := s.db.Exec(ctx, `DELETE FROM overrides WHERE workload_id = $1 AND control_id = $2`, workloadID, controlID)
	if err != nil {
		return fmt.Errorf("store: clear override of control %d, workload %d: %w", controlID, workloadID, err)
	}
	return nil
}

// PortfolioProgress returns the progress of every workload together, per
// layer in the order of srm.Layers, by the counting rule.
func (s *Store) PortfolioProgress(ctx context.Context) ([]srm.LayerProgress, error) {
	rows, err := s.db.Query(ctx, `
		SELECT layer,
		       count(*) AS controls,
		       count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
		       count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
		FROM assignments
		GROUP BY layer`)
	if err != nil {
		return nil, fmt.Errorf("store: portfolio progress: %w", err)
	}
	out := make([]srm.LayerProgress, len(srm.Layers))
	for i, l := range srm.Layers {
		out[i].Layer = l
	}
	var (
		layer string
		lp    srm.LayerProgress
	)
	_, err = pgx.ForEachRow(rows, []any{&layer, &lp.Controls, &lp.Progress.Total, &lp.Progress.Done}, func() error {
		if i := srm.Layer(layer).Index(); i >= 0 {
			lp.Layer = srm.Layer(layer)
			out[i] = lp
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: portfolio progress: %w", err)
	}
	return out, nil
}

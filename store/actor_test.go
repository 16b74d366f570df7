package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// A write whose context names nobody is a mistake of the caller's: the
// store refuses it before sending anything, and nothing reaches the data
// or the trail (it used to be recorded as "srm").
func TestAWriteWithoutAnActorIsRefused(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "ana@example.com"})
	w := srm.Workload{Name: "Billing API", Model: srm.PaaS, BaselineID: baselineBySlug(t, st, "azure-chart").ID}
	if err := st.CreateWorkload(ctx, &w); err != nil {
		t.Fatal(err)
	}
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mark := auditMark(t, st)

	for _, c := range []struct {
		name string
		ctx  func() error
	}{
		{"a status saved", func() error {
			_, err := st.RecordStatus(t.Context(), w.ID, controls[0].ID, srm.Status{Complete: true}, srm.Owner{Name: "Nobody's team", Kind: srm.Team})
			return err
		}},
		{"an owner added", func() error { return st.CreateOwner(t.Context(), &srm.Owner{Name: "Ghost team", Kind: srm.Team}) }},
		{"an owner ensured", func() error {
			_, err := st.EnsureOwner(t.Context(), srm.Owner{Name: "Ghost team", Kind: srm.Team})
			return err
		}},
		{"a workload added", func() error {
			return st.CreateWorkload(t.Context(), &srm.Workload{Name: "Ghost", Model: srm.IaaS, BaselineID: w.BaselineID})
		}},
		{"a workload deleted", func() error { return st.DeleteWorkload(t.Context(), w.ID) }},
		{"an account added", func() error {
			return st.CreateUser(t.Context(), &srm.User{Email: "ghost@example.com", Role: srm.RoleAdmin}, "x")
		}},
		{"an event recorded", func() error {
			return st.RecordEvent(t.Context(), "signin.failed", srm.User{Email: "x@example.com"}, nil)
		}},
		{"an actor without a name", func() error {
			return st.CreateOwner(store.WithActor(t.Context(), store.Actor{IP: "192.0.2.1"}), &srm.Owner{Name: "Ghost team", Kind: srm.Team})
		}},
	} {
		if err := c.ctx(); !errors.Is(err, store.ErrNoActor) {
			t.Errorf("%s without an actor: error %v, want store.ErrNoActor", c.name, err)
		}
	}

	if got := auditSince(t, st, mark); len(got) != 0 {
		t.Errorf("the trail gained %v from writes without an actor, want nothing", actions(got))
	}
	if _, err := st.Workload(ctx, w.ID); err != nil {
		t.Errorf("the workload whose deletion was refused: %v, want it still there", err)
	}
	owners, err := st.Owners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range owners {
		if strings.HasPrefix(o.Name, "Ghost") || strings.HasPrefix(o.Name, "Nobody") {
			t.Errorf("owner %q was added by a write without an actor", o.Name)
		}
	}
	if ss, err := st.WorkloadState(ctx, w.ID); err != nil || len(ss.Statuses) != 0 {
		t.Errorf("statuses %v (%v) after a save without an actor, want none", ss.Statuses, err)
	}
}

// The database itself refuses a write to an audited table, and an
// audit_event, from a transaction that has not said who is acting: srm's
// serving role, writing SQL by hand, cannot leave a change in the trail
// under a made-up "system" actor, nor make one the trail does not record.
func TestTheDatabaseRefusesAnAuditedWriteWithoutAnActor(t *testing.T) {
	t.Parallel()
	pool, role := storetest.AppPool(t, nil)
	owner := store.New(role.Owner)
	ctx := t.Context()
	admin := store.WithActor(ctx, store.Actor{Name: "admin@example.com"})
	w := srm.Workload{Name: "Billing API", Model: srm.PaaS, BaselineID: baselineBySlug(t, owner, "azure-chart").ID}
	if err := owner.CreateWorkload(admin, &w); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, owner, "ana@example.com", srm.RoleEditor)
	o := srm.Owner{Name: "Platform team", Kind: srm.Team}
	if err := owner.CreateOwner(admin, &o); err != nil {
		t.Fatal(err)
	}
	controls, err := owner.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.RecordStatus(admin, w.ID, controls[0].ID, srm.Status{OwnerID: o.ID}, srm.Owner{}); err != nil {
		t.Fatal(err)
	}
	mark := auditMark(t, owner)

	writes := []struct{ name, sql string }{
		{"a workload added", `INSERT INTO workloads (name, model, baseline_id) SELECT 'Ghost', 'iaas', baseline_id FROM workloads LIMIT 1`},
		{"a workload renamed", `UPDATE workloads SET name = 'Renamed'`},
		{"a workload deleted", `DELETE FROM workloads`},
		{"a status changed", `UPDATE statuses SET note = 'by nobody'`},
		{"a status deleted", `DELETE FROM statuses`},
		{"an override set", `INSERT INTO overrides (workload_id, control_id, party, reason) SELECT workload_id, control_id, 'customer', 'x' FROM statuses`},
		{"a control added", `INSERT INTO controls (layer, area, title, framework_id) SELECT layer, area, 'Ghost control', framework_id FROM controls LIMIT 1`},
		{"an owner added", `INSERT INTO owners (name, kind) VALUES ('Ghost team', 'team')`},
		{"an owner renamed", `UPDATE owners SET name = 'Renamed team'`},
		{"an account's role raised", `UPDATE users SET role = 'admin'`},
		{"an account's hidden column, which the trail leaves out", `UPDATE users SET totp_step = totp_step + 1`},
		{"an account deleted", `DELETE FROM users`},
		{"a setting changed", `UPDATE settings SET value = 'true' WHERE key = 'require_mfa'`},
		{"an event recorded", `SELECT audit_event('signin.failed', 'user', '', 'x@example.com', NULL, NULL, NULL)`},
	}
	for _, wr := range writes {
		for _, set := range []struct{ how, sql string }{
			{"unset", ``},
			{"empty", `SELECT set_config('srm.actor', '', true)`},
			{"without a name", `SELECT set_config('srm.actor', '{"ip": "192.0.2.1"}', true)`},
		} {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if set.sql != "" {
					if _, err := tx.Exec(ctx, set.sql); err != nil {
						return err
					}
				}
				_, err := tx.Exec(ctx, wr.sql)
				return err
			})
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, "srm.actor") {
				t.Errorf("%s as the app role, srm.actor %s: error %v, want it refused for want of an actor", wr.name, set.how, err)
			}
		}
	}
	if got := auditSince(t, owner, mark); len(got) != 0 {
		t.Errorf("the trail gained %v from writes without an actor, want nothing", actions(got))
	}
	if got, err := owner.User(ctx, u.ID); err != nil || got.Role != srm.RoleEditor {
		t.Errorf("the account after the refused writes: %+v (%v), want it still an editor", got, err)
	}

	// The same write naming its actor goes through, recorded as that actor.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('srm.actor', '{"actor": "ops@example.com"}', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE owners SET name = 'Renamed team'`)
		return err
	})
	if err != nil {
		t.Fatalf("a write as the app role naming its actor: %v", err)
	}
	got := auditSince(t, owner, mark)
	if len(got) != 1 || got[0].Action != "owner.updated" || got[0].Actor != "ops@example.com" {
		t.Errorf("the trail after a write naming its actor: %+v, want one owner.updated by ops@example.com", got)
	}
}

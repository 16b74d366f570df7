package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// Every function srm's schema defines resolves names through a search_path
// of its own, pg_catalog first: none can be steered by the caller's path,
// and none lets the session's temporary schema come before public.
func TestEveryFunctionPinsItsSearchPath(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	rows, err := pool.Query(t.Context(), `
		SELECT p.oid::regprocedure::text, COALESCE((
		           SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c
		           WHERE c LIKE 'search_path=%'), '')
		FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d
		                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type fn struct{ name, path string }
	fns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fn, error) {
		var f fn
		return f, r.Scan(&f.name, &f.path)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) < 9 {
		t.Fatalf("found %d functions in schema public, want at least the 9 that migrations 000003-000011 leave", len(fns))
	}
	for _, f := range fns {
		switch f.path {
		case "pg_catalog, public", "pg_catalog, public, pg_temp":
		default:
			t.Errorf("%s: search_path %q; want it pinned with SET search_path = pg_catalog, public[, pg_temp]", f.name, f.path)
		}
	}
}

// appStore is a store connected as srm's least-privilege serving role, each
// of whose connections has made itself a temporary table named audit: the
// shadow that caught the trigger rows before migration 000008. It returns
// the store and one connected as the owner, to look at the real trail.
func appStore(t *testing.T) (app, owner *store.Store, role storetest.AppRole) {
	t.Helper()
	pool, role := storetest.AppPool(t, func(c *pgxpool.Config) {
		c.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, `CREATE TEMP TABLE audit AS SELECT * FROM public.audit WITH NO DATA`)
			return err
		}
	})
	return store.New(pool), store.New(role.Owner), role
}

func TestAppRoleTemporaryAuditTableCatchesNoTriggerRow(t *testing.T) {
	t.Parallel()
	app, owner, _ := appStore(t)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "admin@example.com"})

	u := srm.User{Email: "ana@example.com", Role: srm.RoleEditor}
	if err := owner.CreateUser(ctx, &u, "not-a-real-hash"); err != nil {
		t.Fatal(err)
	}
	w := srm.Workload{Name: "Billing API", Model: srm.PaaS, BaselineID: baselineBySlug(t, app, "azure-chart").ID}
	if err := owner.CreateWorkload(ctx, &w); err != nil {
		t.Fatal(err)
	}
	mark := auditMark(t, owner)

	// The role change and the rename, through the store, as the app role.
	u.Role = srm.RoleViewer
	if _, err := app.UpdateUser(ctx, u); err != nil {
		t.Fatalf("UpdateUser as the app role: %v", err)
	}
	w.Name = "Billing API v2"
	if _, err := app.UpdateWorkload(ctx, w); err != nil {
		t.Fatalf("UpdateWorkload as the app role: %v", err)
	}

	got := actions(auditSince(t, owner, mark))
	for _, want := range []string{"user.updated", "workload.updated"} {
		found := false
		for _, a := range got {
			found = found || a == want
		}
		if !found {
			t.Errorf("the real audit trail has %v after a role change and a rename by the app role, want %s among them", got, want)
		}
	}
	for _, e := range auditSince(t, owner, mark) {
		if e.Actor != "admin@example.com" {
			t.Errorf("audit row %s by %q, want admin@example.com", e.Action, e.Actor)
		}
	}
}

// Each way the hostile review wrote, changed or silenced the trail as srm's
// own role is refused.
func TestAppRoleCannotWriteOrSilenceTheAuditTrail(t *testing.T) {
	t.Parallel()
	pool, role := storetest.AppPool(t, nil)
	app, owner := store.New(pool), store.New(role.Owner)
	ctx := storetest.Context(t)
	if err := app.RecordEvent(store.WithActor(ctx, store.Actor{Name: "ana@example.com"}), "signin.failed",
		srm.User{Email: "ana@example.com"}, map[string]any{"reason": "password"}); err != nil {
		t.Fatalf("RecordEvent as the app role (what srm does): %v", err)
	}

	refused := []struct{ name, sql string }{
		{"back-dated INSERT in someone's name", `INSERT INTO audit (at, actor, action, object_type)
			VALUES ('2020-01-01', 'admin@example.com', 'user.deleted', 'user')`},
		{"INSERT through the public schema", `INSERT INTO public.audit (actor, action, object_type) VALUES ('x', 'y', 'z')`},
		{"UPDATE", `UPDATE audit SET actor = 'someone else'`},
		{"DELETE", `DELETE FROM audit`},
		{"TRUNCATE", `TRUNCATE audit`},
		{"switching the triggers off", `SET session_replication_role = replica`},
		{"disabling a trigger", `ALTER TABLE workloads DISABLE TRIGGER audit_workloads`},
		{"dropping a trigger", `DROP TRIGGER audit_users ON users`},
		{"a trigger-only action through audit_event", `SELECT audit_event('workload.deleted', 'workload', '1', 'Billing', 1, NULL, NULL)`},
		{"a column default on audit", `ALTER TABLE audit ALTER COLUMN at SET DEFAULT '2020-01-01'`},
		{"a function planted in public", `CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2020-01-01'::timestamptz $$`},
	}
	for _, r := range refused {
		_, err := pool.Exec(ctx, r.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" { // insufficient_privilege
			t.Errorf("%s as the app role: error %v, want it refused (42501)", r.name, err)
		}
	}

	// audit_event takes no time from its caller: even inside a transaction
	// begun long ago the row is at most that old, and a temporary audit
	// table with a back-dated default is not where the row goes.
	var before time.Time
	if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS audit (LIKE public.audit)`); err != nil {
		t.Fatal(err)
	}
	mark := auditMark(t, owner)
	// A batch is one transaction: the actor holds for the call (000012).
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('srm.actor', '{"actor": "x@example.com"}', true)`)
	b.Queue(`SELECT audit_event('signin.failed', 'user', '', 'x@example.com', NULL, NULL, NULL)`)
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatalf("audit_event as the app role: %v", err)
	}
	es := auditSince(t, owner, mark)
	if len(es) != 1 || es[0].At.Before(before.Add(-time.Second)) || es[0].At.After(time.Now().Add(time.Minute)) {
		t.Fatalf("audit_event wrote %+v, want one row at about %s", es, before)
	}

	var n int
	if err := role.Owner.QueryRow(ctx, `SELECT count(*) FROM audit WHERE at < '2021-01-01' OR actor = 'someone else'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d forged or changed rows in the trail (err %v), want none", n, err)
	}
}

func TestServingRoleIsJudged(t *testing.T) {
	t.Parallel()
	pool, role := storetest.AppPool(t, nil)
	ctx := storetest.Context(t)

	app, err := store.CurrentRole(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if msg := app.ServeProblem(); msg != "" || app.CanMigrate() {
		t.Errorf("the app role: problem %q, may migrate %v; want none and false", msg, app.CanMigrate())
	}
	if err := store.CheckSchema(ctx, pool); err != nil {
		t.Errorf("CheckSchema as the app role on a migrated database: %v", err)
	}

	super, err := store.CurrentRole(ctx, role.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if msg := super.ServeProblem(); !strings.Contains(msg, "a superuser") || !strings.Contains(msg, "srm migrate --app-role") ||
		!strings.Contains(msg, "SRM_ALLOW_OWNER_ROLE=1") {
		t.Errorf("the superuser's problem = %q, want it to say superuser and what to do", msg)
	}

	// A role that owns the audit table but is no superuser.
	if _, err := role.Owner.Exec(ctx, `ALTER TABLE audit OWNER TO `+pgx.Identifier{role.Name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = role.Owner.Exec(context.Background(), `ALTER TABLE audit OWNER TO CURRENT_USER`)
	})
	ownerish, err := store.CurrentRole(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if msg := ownerish.ServeProblem(); !strings.Contains(msg, "the owner of the table audit") {
		t.Errorf("the owner of audit: problem %q, want it named as the owner of the table audit", msg)
	}

	// GrantAppRole will not make a superuser or srm's owner the app role.
	if err := store.GrantAppRole(ctx, role.Owner, "postgres", nil); err == nil {
		t.Error("GrantAppRole(postgres) = nil, want it refused")
	}
}

// srm migrate --app-role may run on every deploy: again and again, and two
// at once, it leaves the same grants, and a password it is given works.
func TestGrantAppRoleIsIdempotentAndSetsAPassword(t *testing.T) {
	t.Parallel()
	pool, role := storetest.AppPool(t, nil)
	ctx := storetest.Context(t)
	pw := "correct horse battery staple"
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- store.GrantAppRole(ctx, role.Owner, role.Name, &pw) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("GrantAppRole run twice at once: %v", err)
		}
	}
	var verifier string
	if err := role.Owner.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role.Name).Scan(&verifier); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(verifier, "SCRAM-SHA-256$4096:") || strings.Contains(verifier, pw) {
		t.Errorf("stored password %q, want a SCRAM-SHA-256 verifier", verifier)
	}
	// Still exactly the grants: the app role works and still cannot write audit.
	app := store.New(pool)
	if _, err := app.Workloads(ctx, store.WorkloadQuery{}); err != nil {
		t.Errorf("Workloads as the app role after a second grant: %v", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO audit (actor, action, object_type) VALUES ('x', 'y', 'z')`); err == nil {
		t.Error("INSERT INTO audit as the app role succeeded after a second grant")
	}
}

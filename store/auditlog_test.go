package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/views"
)

// ---------------------------------------------------------------------------
// Helpers

// auditSince returns the audit rows written after the row with id mark,
// oldest first.
func auditSince(t *testing.T, st *store.Store, mark int64) []srm.AuditEntry {
	t.Helper()
	var out []srm.AuditEntry
	err := st.EachAuditEntry(storetest.Context(t), store.AuditQuery{}, func(e srm.AuditEntry) error {
		if e.ID > mark {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("EachAuditEntry() error: %v", err)
	}
	slices.Reverse(out)
	return out
}

// auditMark is the id of the newest audit row, 0 when there is none.
func auditMark(t *testing.T, st *store.Store) int64 {
	t.Helper()
	page, err := st.Audit(storetest.Context(t), store.AuditQuery{Limit: 1})
	if err != nil {
		t.Fatalf("Audit() error: %v", err)
	}
	if len(page.Entries) == 0 {
		return 0
	}
	return page.Entries[0].ID
}

func actions(es []srm.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

// field is one top-level value of an audited row's JSON, decoded; nil when
// absent.
func field(t *testing.T, raw json.RawMessage, key string) any {
	t.Helper()
	if raw == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("audit JSON %s: %v", raw, err)
	}
	return m[key]
}

// change returns the displayed change of field name, and whether there is one.
func change(e srm.AuditEntry, name string) (views.AuditChange, bool) {
	for _, c := range views.AuditChanges(e) {
		if c.Field == name {
			return c, true
		}
	}
	return views.AuditChange{}, false
}

func newUser(t *testing.T, st *store.Store, email string, role srm.Role) srm.User {
	t.Helper()
	u := srm.User{Email: email, Role: role}
	if err := st.CreateUser(storetest.Context(t), &u, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"); err != nil {
		t.Fatalf("CreateUser(%q) error: %v", email, err)
	}
	return u
}

func wantPgCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: error = %v, want SQLSTATE %s", what, err, code)
	}
	if pe.Code != code {
		t.Fatalf("%s: SQLSTATE = %s (%s), want %s", what, pe.Code, pe.Message, code)
	}
}

// ---------------------------------------------------------------------------
// Every change writes one row, in its own transaction

func TestAuditEveryChangeWritesOneRowWithItsActor(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	bg := storetest.Context(t)

	admin := newUser(t, st, "ada@example.com", srm.RoleAdmin)
	actor := store.Actor{UserID: admin.ID, Name: admin.Email, IP: "203.0.113.7", UserAgent: "AuditTest/1.0"}
	ctx := store.WithActor(bg, actor)

	azure := baselineBySlug(t, st, "azure-chart")
	patching := titled(t, catalogOf(t, st), "Patching of systems")
	owner := srm.Owner{Name: "Platform team", Kind: srm.Team}
	if err := st.CreateOwner(bg, &owner); err != nil {
		t.Fatal(err)
	}
	disposable := createWorkload(t, st, "Disposable", srm.IaaS, azure.ID)
	target := newUser(t, st, "bob@example.com", srm.RoleViewer)

	var (
		wl     srm.Workload
		status srm.Status
		ctl    srm.Control
	)
	tests := []struct {
		name  string
		do    func() error
		want  []string
		check func(t *testing.T, es []srm.AuditEntry)
	}{
		{"create a workload", func() error {
			wl = srm.Workload{Name: "Shipment tracker", Model: srm.PaaS, BaselineID: azure.ID}
			return st.CreateWorkload(ctx, &wl)
		}, []string{"workload.created"}, func(t *testing.T, es []srm.AuditEntry) {
			if got := field(t, es[0].After, "name"); got != "Shipment tracker" {
				t.Errorf("after.name = %v, want Shipment tracker", got)
			}
			if es[0].WorkloadID != wl.ID || es[0].ObjectName != "Shipment tracker" {
				t.Errorf("workload id, name = %d, %q; want %d, Shipment tracker", es[0].WorkloadID, es[0].ObjectName, wl.ID)
			}
		}},
		{"update a workload", func() error {
			wl.Name = "Shipment tracking"
			var err error
			wl, err = st.UpdateWorkload(ctx, wl)
			return err
		}, []string{"workload.updated"}, func(t *testing.T, es []srm.AuditEntry) {
			c, ok := change(es[0], "name")
			if !ok || c.Before != "Shipment tracker" || c.After != "Shipment tracking" {
				t.Errorf("change of name = %+v, want Shipment tracker → Shipment tracking", c)
			}
			for _, noise := range []string{"version", "updated_at", "model"} {
				if _, ok := change(es[0], noise); ok {
					t.Errorf("Changes() shows %s, which is noise or did not change", noise)
				}
			}
			if field(t, es[0].Before, "version") == field(t, es[0].After, "version") {
				t.Error("the raw values lost the version: it should differ before and after")
			}
		}},
		{"record a status", func() error {
			var err error
			status, err = st.RecordStatus(ctx, wl.ID, patching.ID, srm.Status{OwnerID: owner.ID, Note: "first"}, srm.Owner{})
			return err
		}, []string{"status.created"}, func(t *testing.T, es []srm.AuditEntry) {
			e := es[0]
			if e.ControlTitle != patching.Title || e.WorkloadName != "Shipment tracking" || !e.WorkloadExists {
				t.Errorf("control, workload = %q, %q (exists %v); want %q, Shipment tracking", e.ControlTitle, e.WorkloadName, e.WorkloadExists, patching.Title)
			}
			if got := field(t, e.After, "note"); got != "first" {
				t.Errorf("after.note = %v, want first", got)
			}
		}},
		{"update a status", func() error {
			status.Note, status.Complete = "second", true
			_, err := st.RecordStatus(ctx, wl.ID, patching.ID, status, srm.Owner{})
			return err
		}, []string{"status.updated"}, func(t *testing.T, es []srm.AuditEntry) {
			if c, ok := change(es[0], "note"); !ok || c.Before != "first" || c.After != "second" {
				t.Errorf("change of note = %+v, want first → second", c)
			}
		}},
		{"set an override", func() error {
			return st.SetOverride(ctx, srm.Override{WorkloadID: wl.ID, ControlID: patching.ID, Party: srm.Shared, Reason: "our own image"})
		}, []string{"override.created"}, nil},
		{"change an override", func() error {
			return st.SetOverride(ctx, srm.Override{WorkloadID: wl.ID, ControlID: patching.ID, Party: srm.Customer, Reason: "we patch", Version: 1})
		}, []string{"override.updated"}, func(t *testing.T, es []srm.AuditEntry) {
			if c, ok := change(es[0], "party"); !ok || c.Before != "shared" || c.After != "customer" {
				t.Errorf("change of party = %+v, want shared → customer", c)
			}
		}},
		{"delete an override", func() error {
			return st.DeleteOverride(ctx, wl.ID, patching.ID)
		}, []string{"override.deleted"}, nil},
		{"create a custom control", func() error {
			ctl = srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Backups restored monthly"}
			return st.CreateControl(ctx, &ctl)
		}, []string{"control.created"}, nil},
		{"update a custom control", func() error {
			ctl.Description = "Restore one backup a month."
			var err error
			ctl, err = st.UpdateControl(ctx, ctl)
			return err
		}, []string{"control.updated"}, nil},
		{"delete a custom control", func() error {
			return st.DeleteControl(ctx, ctl.ID)
		}, []string{"control.deleted"}, func(t *testing.T, es []srm.AuditEntry) {
			if got := field(t, es[0].Before, "title"); got != "Backups restored monthly" {
				t.Errorf("before.title = %v", got)
			}
		}},
		{"create an owner", func() error {
			return st.CreateOwner(ctx, &srm.Owner{Name: "Network team", Kind: srm.Team})
		}, []string{"owner.created"}, nil},
		{"create a user", func() error {
			return st.CreateUser(ctx, &srm.User{Email: "carol@example.com", Role: srm.RoleEditor}, "$argon2id$secret")
		}, []string{"user.created"}, nil},
		{"change the role of a user without sessions", func() error {
			target.Role = srm.RoleEditor
			var err error
			target, err = st.UpdateUser(ctx, target)
			return err
		}, []string{"user.updated"}, func(t *testing.T, es []srm.AuditEntry) {
			if c, ok := change(es[0], "role"); !ok || c.Before != "viewer" || c.After != "editor" {
				t.Errorf("change of role = %+v, want viewer → editor", c)
			}
		}},
		{"change the role of a user with a session", func() error {
			if _, err := pool.Exec(bg, `INSERT INTO sessions (token, data, expiry, user_id)
				VALUES ('audit-test', '\x00', now() + interval '1 hour', $1)`, target.ID); err != nil {
				return err
			}
			target.Role = srm.RoleAdmin
			var err error
			target, err = st.UpdateUser(ctx, target)
			return err
		}, []string{"user.updated", "sessions.revoked"}, nil},
		{"require multi-factor authentication", func() error {
			return st.SetMFARequired(ctx, true)
		}, []string{"setting.updated"}, func(t *testing.T, es []srm.AuditEntry) {
			if c, ok := change(es[0], "value"); !ok || c.Before != "false" || c.After != "true" {
				t.Errorf("change of value = %+v, want false → true", c)
			}
		}},
		{"delete a workload", func() error {
			return st.DeleteWorkload(ctx, disposable.ID)
		}, []string{"workload.deleted"}, func(t *testing.T, es []srm.AuditEntry) {
			if es[0].WorkloadExists || es[0].WorkloadName != "Disposable" {
				t.Errorf("deleted workload: exists %v, name %q; want false, Disposable", es[0].WorkloadExists, es[0].WorkloadName)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := auditMark(t, st)
			if err := tt.do(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			es := auditSince(t, st, mark)
			if got := actions(es); !slices.Equal(got, tt.want) {
				t.Fatalf("audit rows = %v, want %v", got, tt.want)
			}
			for _, e := range es {
				if e.ActorID != actor.UserID || e.Actor != actor.Name || e.ClientIP != actor.IP || e.UserAgent != actor.UserAgent {
					t.Errorf("%s: actor = (%d, %q, %q, %q), want (%d, %q, %q, %q)", e.Action, e.ActorID, e.Actor, e.ClientIP,
						e.UserAgent, actor.UserID, actor.Name, actor.IP, actor.UserAgent)
				}
				if time.Since(e.At) > time.Minute || e.At.Location() != time.UTC {
					t.Errorf("%s: at = %v, want just now, in UTC", e.Action, e.At)
				}
				verb := e.Action[strings.LastIndexByte(e.Action, '.')+1:]
				switch {
				case verb == "created" && (e.Before != nil || e.After == nil),
					verb == "updated" && (e.Before == nil || e.After == nil),
					verb == "deleted" && (e.Before == nil || e.After != nil):
					t.Errorf("%s: before %s, after %s", e.Action, e.Before, e.After)
				}
				if verb != "revoked" && len(views.AuditChanges(e)) == 0 {
					t.Errorf("%s: no changes to show", e.Action)
				}
			}
			if tt.check != nil {
				tt.check(t, es)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// A change that rolls back leaves no row

func TestAuditRolledBackChangeLeavesNoRow(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{UserID: 7, Name: "ada@example.com", IP: "203.0.113.7"})
	azure := baselineBySlug(t, st, "azure-chart")
	createWorkload(t, st, "Taken", srm.PaaS, azure.ID)
	other := createWorkload(t, st, "Other", srm.PaaS, azure.ID)

	t.Run("a rename onto a taken name", func(t *testing.T) {
		mark := auditMark(t, st)
		other.Name = "TAKEN"
		if _, err := st.UpdateWorkload(ctx, other); !errors.Is(err, srm.ErrConflict) {
			t.Fatalf("UpdateWorkload onto a taken name = %v, want ErrConflict", err)
		}
		if es := auditSince(t, st, mark); len(es) != 0 {
			t.Errorf("audit rows after a refused rename = %v, want none", actions(es))
		}
	})

	t.Run("a transaction that is rolled back", func(t *testing.T) {
		mark := auditMark(t, st)
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op once rolled back
		w := srm.Workload{Name: "Never was", Model: srm.SaaS, BaselineID: azure.ID}
		if err := store.New(tx).CreateWorkload(ctx, &w); err != nil {
			t.Fatalf("CreateWorkload in a transaction: %v", err)
		}
		var inside int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit WHERE id > $1`, mark).Scan(&inside); err != nil || inside != 1 {
			t.Fatalf("audit rows inside the transaction = %d (%v), want 1", inside, err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if es := auditSince(t, st, mark); len(es) != 0 {
			t.Errorf("audit rows after a rollback = %v, want none", actions(es))
		}
	})

	t.Run("a status for an owner that does not exist", func(t *testing.T) {
		mark := auditMark(t, st)
		patching := titled(t, catalogOf(t, st), "Patching of systems")
		_, err := st.RecordStatus(ctx, other.ID, patching.ID, srm.Status{OwnerID: 999999, Note: "x"}, srm.Owner{})
		if err == nil {
			t.Fatal("RecordStatus with an unknown owner succeeded")
		}
		if es := auditSince(t, st, mark); len(es) != 0 {
			t.Errorf("audit rows after a refused status = %v, want none", actions(es))
		}
	})
}

// ---------------------------------------------------------------------------
// Secrets never reach the trail

func TestAuditKeepsNoSecrets(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "srm"})
	const (
		hash1    = "$argon2id$v=19$m=19456,t=2,p=1$U0FMVFNBTFQ$FIRSTSECRETHASH"
		hash2    = "$argon2id$v=19$m=19456,t=2,p=1$U0FMVFNBTFQ$SECONDSECRETHASH"
		totp     = "JBSWY3DPEHPK3PXPTOTPSECRET"
		recovery = "RECOVERYCODEHASHSECRET"
	)
	u := srm.User{Email: "dora@example.com", Role: srm.RoleEditor}
	if err := st.CreateUser(ctx, &u, hash1); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"enrol an authenticator", func() error { return st.EnableTOTP(ctx, u.ID, totp, 100, []string{recovery}) }},
		{"use a code", func() error { _, err := st.UseTOTPStep(ctx, u.ID, 101); return err }},
		{"use a recovery code", func() error { _, _, err := st.UseRecoveryCode(ctx, u.ID, recovery); return err }},
		{"sign in", func() error { return st.RecordSignIn(ctx, u, "password") }},
		{"change the password", func() error { return st.SetPassword(ctx, u.ID, hash2) }},
		{"remove the authenticator", func() error { return st.DisableTOTP(ctx, u.ID) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}

	rows, err := pool.Query(t.Context(), `SELECT action, row_to_json(a)::text FROM audit a ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	var action, text string
	_, err = pgx.ForEachRow(rows, []any{&action, &text}, func() error {
		seen = append(seen, action)
		for _, secret := range []string{hash1, hash2, "FIRSTSECRETHASH", "SECONDSECRETHASH", totp, recovery,
			"password_hash", "totp_secret", "totp_step", "last_signin_at"} {
			if strings.Contains(text, secret) {
				t.Errorf("audit row %s holds %q: %s", action, secret, text)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"user.created", "mfa.enrolled", "signin.succeeded", "password.changed", "mfa.removed"} {
		if !slices.Contains(seen, want) {
			t.Errorf("audit rows = %v, want one %s", seen, want)
		}
	}
	if n := strings.Count(strings.Join(seen, " "), "user.updated"); n != 1 {
		t.Errorf("audit rows = %v: %d user.updated, want 1 (the password change bumps the version; codes and sign-ins change only secrets)", seen, n)
	}
}

// ---------------------------------------------------------------------------
// PostgreSQL refuses to change the trail

func TestAuditIsAppendOnlyForEveryRole(t *testing.T) {
	t.Parallel()
	ctx := storetest.Context(t)
	url := storetest.URL(t)
	super, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(super.Close)

	// A runtime role like the one docs/security.md recommends, but given
	// UPDATE and DELETE on every table anyway: the trail must hold even
	// when an operator grants too much.
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	role := "srm_app_test_" + hex.EncodeToString(b[:])
	password := hex.EncodeToString(b[:]) + "-pw"
	ident := pgx.Identifier{role}.Sanitize()
	var db string
	if err := super.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`CREATE ROLE ` + ident + ` LOGIN PASSWORD '` + password + `'`,
		`GRANT CONNECT ON DATABASE ` + pgx.Identifier{db}.Sanitize() + ` TO ` + ident,
		`GRANT USAGE ON SCHEMA public TO ` + ident,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + ident,
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ` + ident,
	} {
		if _, err := super.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", strings.Replace(sql, password, "…", 1), err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := super.Exec(ctx, `DROP OWNED BY `+ident); err != nil {
			t.Errorf("drop privileges of %s: %v", role, err)
		}
		if _, err := super.Exec(ctx, `DROP ROLE `+ident); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.User, cfg.ConnConfig.Password = role, password
	app, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close) // before the role is dropped

	// The runtime role works: its writes are audited.
	st := store.New(app)
	azure := baselineBySlug(t, st, "azure-chart")
	createWorkload(t, st, "Runtime", srm.PaaS, azure.ID)
	var who string
	if err := app.QueryRow(ctx, `SELECT current_user`).Scan(&who); err != nil || who != role {
		t.Fatalf("connected as %q (%v), want %q", who, err, role)
	}

	count := func() int {
		var n int
		if err := super.QueryRow(ctx, `SELECT count(*) FROM audit`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	if before == 0 {
		t.Fatal("no audit rows to tamper with")
	}
	for _, c := range []struct {
		who  string
		pool *pgxpool.Pool
	}{{"the connecting superuser", super}, {"the runtime role", app}} {
		for _, sql := range []string{
			`UPDATE audit SET actor = 'mallory'`,
			`UPDATE audit SET before = NULL, after = NULL WHERE action = 'workload.created'`,
			`DELETE FROM audit`,
			`DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)`,
			`TRUNCATE audit`,
		} {
			t.Run(c.who+": "+sql, func(t *testing.T) {
				_, err := c.pool.Exec(ctx, sql)
				wantPgCode(t, sql, err, "42501")
			})
		}
	}
	if after := count(); after != before {
		t.Errorf("audit rows = %d after the attempts, want %d", after, before)
	}
	var tampered bool
	if err := super.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit WHERE actor = 'mallory' OR (action = 'workload.created' AND after IS NULL))`).Scan(&tampered); err != nil || tampered {
		t.Errorf("a row was changed (%v)", err)
	}
}

// ---------------------------------------------------------------------------
// Reading the trail: filters, search, paging and names

// auditFixture is a small trail written by two people.
type auditFixture struct {
	st        *store.Store
	ada, bob  srm.User
	ledger    srm.Workload // "Ledger 100% done", by ada
	lookalike srm.Workload // "Ledger 100x done", by bob
	pay       srm.Workload // "Pay a_b", by ada, then updated by ada
	payx      srm.Workload // "Pay axb", by bob
	start     time.Time
}

func newAuditFixture(t *testing.T) auditFixture {
	t.Helper()
	st := open(t)
	f := auditFixture{st: st, start: time.Now()}
	f.ada = newUser(t, st, "ada@example.com", srm.RoleAdmin)
	f.bob = newUser(t, st, "bob@example.com", srm.RoleAdmin)
	azure := baselineBySlug(t, st, "azure-chart")
	as := func(u srm.User) context.Context {
		return store.WithActor(t.Context(), store.Actor{UserID: u.ID, Name: u.Email, IP: "198.51.100.1", UserAgent: "Fixture"})
	}
	create := func(u srm.User, name string) srm.Workload {
		w := srm.Workload{Name: name, Model: srm.PaaS, BaselineID: azure.ID}
		if err := st.CreateWorkload(as(u), &w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	f.ledger = create(f.ada, "Ledger 100% done")
	f.lookalike = create(f.bob, "Ledger 100x done")
	f.pay = create(f.ada, "Pay a_b")
	f.payx = create(f.bob, "Pay axb")
	f.pay.Description = "Payroll"
	var err error
	if f.pay, err = st.UpdateWorkload(as(f.ada), f.pay); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f auditFixture) query(t *testing.T, q store.AuditQuery) []srm.AuditEntry {
	t.Helper()
	q.Limit = store.MaxAuditLimit
	page, err := f.st.Audit(storetest.Context(t), q)
	if err != nil {
		t.Fatalf("Audit(%+v) error: %v", q, err)
	}
	return page.Entries
}

// described is each entry as "action object", newest first.
func described(es []srm.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action + " " + e.ObjectName
	}
	return out
}

func TestAuditFiltersAndSearch(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	hour := time.Hour
	tests := []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"one workload", store.AuditQuery{WorkloadID: f.pay.ID},
			[]string{"workload.updated Pay a_b", "workload.created Pay a_b"}},
		{"one person", store.AuditQuery{ActorID: f.bob.ID},
			[]string{"workload.created Pay axb", "workload.created Ledger 100x done"}},
		{"one action", store.AuditQuery{Action: "workload.updated"},
			[]string{"workload.updated Pay a_b"}},
		{"a person and an action", store.AuditQuery{ActorID: f.ada.ID, Action: "workload.created"},
			[]string{"workload.created Pay a_b", "workload.created Ledger 100% done"}},
		{"% is literal", store.AuditQuery{Search: "0% d"},
			[]string{"workload.created Ledger 100% done"}},
		{"_ is literal", store.AuditQuery{Search: "y a_b"},
			[]string{"workload.updated Pay a_b", "workload.created Pay a_b"}},
		{"a backslash is literal", store.AuditQuery{Search: `100\%`}, nil},
		{"search ignores case", store.AuditQuery{Search: "LEDGER 100"},
			[]string{"workload.created Ledger 100x done", "workload.created Ledger 100% done"}},
		{"search reads the values", store.AuditQuery{Search: "payroll"},
			[]string{"workload.updated Pay a_b"}},
		{"search reads the actor", store.AuditQuery{Search: "BOB@", Action: "workload.created"},
			[]string{"workload.created Pay axb", "workload.created Ledger 100x done"}},
		{"search and a person", store.AuditQuery{Search: "ledger", ActorID: f.ada.ID},
			[]string{"workload.created Ledger 100% done"}},
		{"nothing before the start", store.AuditQuery{To: f.start.Add(-hour)}, nil},
		{"nothing after the end", store.AuditQuery{From: f.start.Add(hour)}, nil},
		{"a range around it all", store.AuditQuery{From: f.start.Add(-hour), To: f.start.Add(hour), WorkloadID: f.ledger.ID},
			[]string{"workload.created Ledger 100% done"}},
		{"an unknown action", store.AuditQuery{Action: "workload.exploded"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := described(f.query(t, tt.q))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Audit(%+v) = %q, want %q", tt.q, got, tt.want)
			}
		})
	}
}

func TestAuditPagesByKeyset(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	ctx := storetest.Context(t)
	all := f.query(t, store.AuditQuery{})
	if len(all) < 7 {
		t.Fatalf("fixture wrote %d rows, want at least 7", len(all))
	}

	var got []int64
	q := store.AuditQuery{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatal("paging does not end")
		}
		page, err := f.st.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) > 2 || len(page.Entries) == 0 {
			t.Fatalf("page %d has %d rows, want 1 or 2", pages+1, len(page.Entries))
		}
		for _, e := range page.Entries {
			got = append(got, e.ID)
		}
		if pages == 0 {
			// A row written while someone pages does not shift the pages.
			if err := f.st.CreateOwner(ctx, &srm.Owner{Name: "Late arrival", Kind: srm.Team}); err != nil {
				t.Fatal(err)
			}
		}
		if page.Older == 0 {
			break
		}
		if page.Older != page.Entries[len(page.Entries)-1].ID {
			t.Fatalf("Older = %d, want the last id on the page, %d", page.Older, page.Entries[len(page.Entries)-1].ID)
		}
		q.Before = page.Older
	}
	want := make([]int64, len(all))
	for i, e := range all {
		want[i] = e.ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("ids over every page = %v, want %v", got, want)
	}

	// A page that ends exactly at the oldest row says there is no more.
	page, err := f.st.Audit(ctx, store.AuditQuery{Limit: 2, Before: all[len(all)-3].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 2 || page.Older != 0 {
		t.Errorf("last full page: %d rows, Older %d; want 2 rows, Older 0", len(page.Entries), page.Older)
	}
}

func TestAuditNamesWhatRowsAreAboutEvenAfterDeletion(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	azure := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Fleet portal", srm.IaaS, azure.ID)
	ctl := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Backups restored monthly"}
	if err := st.CreateControl(ctx, &ctl); err != nil {
		t.Fatal(err)
	}
	patching := titled(t, catalogOf(t, st), "Patching of systems")
	saveStatus(t, st, w.ID, ctl.ID, srm.Status{Note: "on the custom control"})
	saveStatus(t, st, w.ID, patching.ID, srm.Status{Note: "on a built-in control"})

	check := func(t *testing.T, exists bool) {
		t.Helper()
		es := auditSince(t, st, 0)
		n := 0
		for _, e := range es {
			if e.ObjectType != "status" || e.Action != "status.created" {
				continue
			}
			n++
			if e.WorkloadName != "Fleet portal" || e.WorkloadExists != exists {
				t.Errorf("%s of control %s: workload %q (exists %v), want Fleet portal (%v)", e.Action, e.ObjectID, e.WorkloadName, e.WorkloadExists, exists)
			}
			want := patching.Title
			if e.ObjectID == fmt.Sprint(ctl.ID) {
				want = ctl.Title
			}
			if e.ControlTitle != want {
				t.Errorf("%s of control %s: title %q, want %q", e.Action, e.ObjectID, e.ControlTitle, want)
			}
		}
		if n != 2 {
			t.Errorf("%d status.created rows, want 2", n)
		}
	}
	check(t, true)
	if err := st.DeleteControl(ctx, ctl.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteWorkload(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	check(t, false)

	// The deletions cascade, and each cascaded row is on the trail too.
	got := actions(auditSince(t, st, 0))
	if n := strings.Count(strings.Join(got, " "), "status.deleted"); n != 2 {
		t.Errorf("audit rows %v: %d status.deleted, want 2 (one by the control, one by the workload)", got, n)
	}
}

func TestAuditChangesShowWhatARowHeld(t *testing.T) {
	t.Parallel()
	st := open(t)
	azure := baselineBySlug(t, st, "azure-chart")
	createWorkload(t, st, "Depot scanner", srm.SaaS, azure.ID)
	es := auditSince(t, st, 0)
	var created srm.AuditEntry
	for _, e := range es {
		if e.Action == "workload.created" {
			created = e
		}
	}
	var fields []string
	for _, c := range views.AuditChanges(created) {
		fields = append(fields, c.Field)
		if c.HasBefore || !c.HasAfter {
			t.Errorf("creation: %s has before %v, after %v; want only after", c.Field, c.HasBefore, c.HasAfter)
		}
	}
	want := []string{"baseline_id", "created_at", "description", "model", "name"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields of a creation = %v, want %v (sorted, without id, version and updated_at)", fields, want)
	}
	if c, _ := change(created, "description"); c.After != "test workload" {
		t.Errorf("description shown as %q", c.After)
	}
	if c, _ := change(created, "created_at"); !strings.HasSuffix(c.After, " UTC") {
		t.Errorf("created_at shown as %q, want a UTC time", c.After)
	}

	// An identity event shows its details as the values after.
	e := srm.AuditEntry{Action: "signin.failed", After: json.RawMessage(`{"reason": "wrong password", "failures": 3, "empty": "", "gone": null}`)}
	got := map[string]string{}
	for _, c := range views.AuditChanges(e) {
		got[c.Field] = c.After
	}
	wantEvent := map[string]string{"reason": "wrong password", "failures": "3", "empty": "(empty)", "gone": "(none)"}
	if fmt.Sprint(got) != fmt.Sprint(wantEvent) {
		t.Errorf("event changes = %v, want %v", got, wantEvent)
	}
}

func TestEachAuditEntryStreamsEveryMatchingRow(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	var got []srm.AuditEntry
	err := f.st.EachAuditEntry(storetest.Context(t), store.AuditQuery{ActorID: f.ada.ID}, func(e srm.AuditEntry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"workload.updated Pay a_b", "workload.created Pay a_b", "workload.created Ledger 100% done"}; !slices.Equal(described(got), want) {
		t.Errorf("EachAuditEntry(ada) = %q, want %q", described(got), want)
	}
	if v := field(t, got[0].After, "version"); v != float64(2) {
		t.Errorf("the export's after.version = %v, want 2: the raw values keep what the display leaves out", v)
	}

	stop := errors.New("stop")
	calls := 0
	err = f.st.EachAuditEntry(storetest.Context(t), store.AuditQuery{}, func(srm.AuditEntry) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("EachAuditEntry with a failing fn = %v after %d calls, want stop after 1", err, calls)
	}
}

func TestAuditFiltersListWhatIsOnTheTrail(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	if err := f.st.DeleteWorkload(store.WithActor(t.Context(), store.Actor{UserID: f.bob.ID, Name: f.bob.Email}), f.payx.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.AuditFilters(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"user.created", "workload.created", "workload.deleted", "workload.updated"}; !slices.Equal(got.Actions, want) {
		t.Errorf("Actions = %v, want %v", got.Actions, want)
	}
	if want := []srm.AuditName{{ID: f.ada.ID, Name: "ada@example.com"}, {ID: f.bob.ID, Name: "bob@example.com"}}; !slices.Equal(got.Actors, want) {
		t.Errorf("Actors = %v, want %v", got.Actors, want)
	}
	// Sorted by name in the database's collation; compare them by id.
	want := []srm.AuditName{{ID: f.ledger.ID, Name: "Ledger 100% done"}, {ID: f.lookalike.ID, Name: "Ledger 100x done"}, {ID: f.pay.ID, Name: "Pay a_b"}, {ID: f.payx.ID, Name: "Pay axb"}}
	byID := slices.Clone(got.Workloads)
	slices.SortFunc(byID, func(a, b srm.AuditName) int { return int(a.ID - b.ID) })
	if !slices.Equal(byID, want) {
		t.Errorf("Workloads = %v, want %v (a deleted one by its last name)", got.Workloads, want)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm/store/storetest"
)

var roleSeq atomic.Int64

// newRoleName returns a role name for this test alone, and drops the role
// when the test ends, after the databases made later in the test (their
// grants hold the role).
func newRoleName(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("srm_cli_%d_%d", os.Getpid(), roleSeq.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, testServerURL(t))
		if err != nil {
			t.Errorf("drop role %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+name); err != nil {
			t.Errorf("drop role %s: %v", name, err)
		}
	})
	return name
}

// asUser is dbURL connecting as user.
func asUser(t *testing.T, dbURL, user string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Has("user") {
		q.Set("user", user)
		u.RawQuery = q.Encode()
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// serveOnce runs `srm serve` with env until it serves or fails; when it
// serves, it checks /readyz, stops it and returns nil.
func serveOnce(t *testing.T, kv map[string]string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	kv["SRM_SHUTDOWN_DRAIN"] = "0s"
	base, done := serveInProcess(ctx, t, []string{"serve"}, kv, io.Discard, logs)
	if base == "" {
		return logs.String(), <-done
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %v, %v; want 200", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve stopped with %v", err)
	}
	return logs.String(), nil
}

// The superuser (what make run and docker compose used to serve as) could
// switch the audit triggers off: serve refuses it, says why and what to
// do, and serves as it only when SRM_ALLOW_OWNER_ROLE=1.
func TestServeRefusesASuperuserUnlessAllowed(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	_, err := serveOnce(t, map[string]string{"DATABASE_URL": dbURL})
	if err == nil {
		t.Fatal("serve as the superuser started, want it refused")
	}
	for _, want := range []string{"srm serve is connected as postgres, a superuser", "switch off the audit triggers",
		"srm migrate --app-role srm_app", "SRM_ALLOW_OWNER_ROLE=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("serve as the superuser: %q, want it to contain %q", err, want)
		}
	}
	if logs, err := serveOnce(t, map[string]string{"DATABASE_URL": dbURL, "SRM_ALLOW_OWNER_ROLE": "1"}); err != nil {
		t.Fatalf("serve as the superuser with SRM_ALLOW_OWNER_ROLE=1: %v\n%s", err, logs)
	} else if !strings.Contains(logs, "SRM_ALLOW_OWNER_ROLE=1 allows") {
		t.Errorf("serve as the superuser, allowed, logged no warning:\n%s", logs)
	}
}

// The two-step deployment: srm migrate --app-role as the owner, then serve
// as the role it made, which is refused nothing it needs and may not do
// what it does not need.
func TestMigrateMakesTheAppRoleAndServeRunsAsIt(t *testing.T) {
	t.Parallel()
	role := newRoleName(t)
	ownerURL := emptyDatabase(t)
	appURL := asUser(t, ownerURL, role)

	for i := range 2 { // idempotent: every deploy runs it
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"migrate", "--app-role", role},
			system{getenv: env(map[string]string{"DATABASE_URL": ownerURL}), stdout: &out, stderr: &errOut}); err != nil {
			t.Fatalf("migrate --app-role %s (run %d): %v\n%s", role, i+1, err, errOut.String())
		}
	}
	if logs, err := serveOnce(t, map[string]string{"DATABASE_URL": appURL}); err != nil {
		t.Fatalf("serve as %s: %v\n%s", role, err, logs)
	}

	conn, err := pgx.Connect(t.Context(), appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for _, sql := range []string{`INSERT INTO audit (actor, action, object_type) VALUES ('x', 'y', 'z')`,
		`DELETE FROM audit`, `SET session_replication_role = replica`, `UPDATE schema_migrations SET dirty = true`} {
		if _, err := conn.Exec(t.Context(), sql); err == nil {
			t.Errorf("%s as %s succeeded, want it refused", sql, role)
		}
	}

	// srm seed pauses triggers, which only the owner may: it says so.
	if err := run(t.Context(), []string{"seed", "--workloads", "1"},
		system{getenv: env(map[string]string{"DATABASE_URL": appURL})}); err == nil || !strings.Contains(err.Error(), "run it as the owner") {
		t.Errorf("seed as %s: %v, want it refused as not the owner", role, err)
	}

	// The role cannot migrate, so a schema the owner has not brought up to
	// date is refused with what to do.
	owner, err := pgx.Connect(t.Context(), ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(t.Context())
	if _, err := owner.Exec(t.Context(), `UPDATE schema_migrations SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	_, err = serveOnce(t, map[string]string{"DATABASE_URL": appURL})
	if err == nil || !strings.Contains(err.Error(), "srm migrate --app-role") {
		t.Errorf("serve as %s on an old schema: %v, want it refused with what to do", role, err)
	}
	if _, err := owner.Exec(t.Context(), `UPDATE schema_migrations SET version = version + 1`); err != nil {
		t.Fatal(err)
	}

	// A role that owns srm's tables could drop the audit triggers: refused.
	if _, err := owner.Exec(t.Context(), `ALTER TABLE audit OWNER TO `+role); err != nil {
		t.Fatal(err)
	}
	_, err = serveOnce(t, map[string]string{"DATABASE_URL": appURL})
	if err == nil || !strings.Contains(err.Error(), "the owner of the table audit") {
		t.Errorf("serve as the owner of audit: %v, want it refused", err)
	}
	if _, err := owner.Exec(t.Context(), `ALTER TABLE audit OWNER TO CURRENT_USER`); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateAppRoleRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"a superuser as the app role", []string{"migrate", "--app-role", "postgres"}, nil, "not a built-in one"},
		{"an odd name", []string{"migrate", "--app-role", `srm"; DROP`}, nil, "lower-case letters"},
		{"a password without a role", []string{"migrate", "--app-password-stdin"}, nil, "needs --app-role"},
		{"a password as an argument", []string{"migrate", "--app-role", "srm_app", "hunter2hunter2"}, nil, "never as an argument"},
		{"two passwords", []string{"migrate", "--app-role", "srm_app", "--app-password-stdin"},
			map[string]string{"SRM_APP_PASSWORD": "x"}, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := map[string]string{"DATABASE_URL": "postgres://nowhere.invalid/srm"}
			for k, v := range tt.env {
				kv[k] = v
			}
			err := run(t.Context(), tt.args, system{getenv: env(kv), stdin: strings.NewReader("pw\n")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

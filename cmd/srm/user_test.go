package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// openStore opens the database at url as srm does, for checking what a
// command left there.
func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return store.New(pool)
}

// wantPassword fails the test unless email has a local account whose
// password is pw.
func wantPassword(t *testing.T, st *store.Store, email, pw string) srm.User {
	t.Helper()
	cred, err := st.UserForSignIn(t.Context(), email)
	if err != nil {
		t.Fatalf("UserForSignIn(%q) = %v", email, err)
	}
	if ok, err := credential.CheckPassword(cred.PasswordHash, pw); err != nil || !ok {
		t.Fatalf("CheckPassword(%s) = %v, %v; want the password given", email, ok, err)
	}
	return cred.User
}

func TestUserAddReadsThePasswordFromStandardInput(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	const pw = "a long and private first password"
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"user", "add", "--email", "Ana@Example.com", "--role", "admin", "--name", "Ana Lima"},
		system{getenv: env(map[string]string{"DATABASE_URL": dbURL}), stdin: strings.NewReader(pw + "\r\nignored second line\n"), stdout: &out, stderr: &errOut})
	if err != nil {
		t.Fatalf("user add = %v; stderr:\n%s", err, errOut.String())
	}
	if got, want := out.String(), "added ana@example.com as admin\n"; got != want {
		t.Errorf("user add printed %q, want %q", got, want)
	}
	if strings.Contains(out.String()+errOut.String(), pw) {
		t.Error("user add printed the password")
	}
	u := wantPassword(t, openStore(t, dbURL), "ana@example.com", pw)
	if u.Role != srm.RoleAdmin || u.Name != "Ana Lima" {
		t.Errorf("added %+v, want Ana Lima, admin", u)
	}

	// The same email again, in another case, is refused.
	err = run(t.Context(), []string{"user", "add", "--email", "ANA@example.com", "--role", "viewer"},
		system{getenv: env(map[string]string{"DATABASE_URL": dbURL}), stdin: strings.NewReader(pw + "\n")})
	if err == nil || !strings.Contains(err.Error(), "already an account") {
		t.Errorf("user add of a taken email = %v, want already an account", err)
	}
}

func TestUserAddRefusesBadInput(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	const pw = "a long and private first password"
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{"no subcommand", []string{"user"}, pw, "give a subcommand"},
		{"unknown subcommand", []string{"user", "remove"}, pw, "give a subcommand"},
		{"no email", []string{"user", "add", "--role", "admin"}, pw, "give --email and --role"},
		{"no role", []string{"user", "add", "--email", "a@example.com"}, pw, "give --email and --role"},
		{"bad role", []string{"user", "add", "--email", "a@example.com", "--role", "root"}, pw, "Choose viewer, editor or admin"},
		{"bad email", []string{"user", "add", "--email", "not an address", "--role", "admin"}, pw, "--email"},
		{"password as an argument", []string{"user", "add", "--email", "a@example.com", "--role", "admin", pw}, pw, "standard input"},
		{"empty standard input", []string{"user", "add", "--email", "a@example.com", "--role", "admin"}, "", "first line of standard input"},
		{"short password", []string{"user", "add", "--email", "a@example.com", "--role", "admin"}, "short\n", "at least 12 characters"},
		{"long password", []string{"user", "add", "--email", "a@example.com", "--role", "admin"}, strings.Repeat("x", 5000), "longer than 1,024"},
		{"1,025 characters", []string{"user", "add", "--email", "a@example.com", "--role", "admin"}, strings.Repeat("é", 1025), "1,024 characters or fewer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tt.args, system{getenv: env(map[string]string{"DATABASE_URL": dbURL}), stdin: strings.NewReader(tt.stdin), stdout: &out, stderr: &errOut})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if tt.stdin != "" && strings.Contains(err.Error()+out.String()+errOut.String(), strings.TrimSpace(tt.stdin)) {
				t.Error("the password was printed")
			}
		})
	}
	if any, err := openStore(t, dbURL).HasUsers(t.Context()); err != nil || any {
		t.Errorf("HasUsers() = %v, %v after refused adds; want false", any, err)
	}
}

// demoSignIn matches the lines that tell how to sign in as the demo admin.
var demoSignIn = regexp.MustCompile(`Sign in at (http://\S+)/signin as admin@demo\.srm\.test with password (\S+)\n` +
	`\(this demo account is made once, on an empty database\)\.`)

func TestDemoMakesADemoAdminOnceOnAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	var out, logs bytes.Buffer
	e := env(map[string]string{"DATABASE_URL": dbURL, "SRM_ADDR": ":8080"})
	if err := run(t.Context(), []string{"demo"}, system{getenv: e, stdout: &out, stderr: &logs}); err != nil {
		t.Fatalf("demo = %v; logs:\n%s", err, logs.String())
	}
	m := demoSignIn.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("demo printed %q, want how to sign in", out.String())
	}
	if m[1] != "http://localhost:8080" {
		t.Errorf("sign-in address = %q, want http://localhost:8080", m[1])
	}
	if len(m[2]) != 20 {
		t.Errorf("demo password %q has %d characters, want 20", m[2], len(m[2]))
	}
	if strings.Contains(logs.String(), m[2]) {
		t.Error("the demo password went to the log")
	}
	st := openStore(t, dbURL)
	if u := wantPassword(t, st, "admin@demo.srm.test", m[2]); u.Role != srm.RoleAdmin {
		t.Errorf("demo admin role = %s, want admin", u.Role)
	}

	// Again: the portfolio is there, so nothing is added or printed.
	out.Reset()
	if err := run(t.Context(), []string{"demo"}, system{getenv: e, stdout: &out}); err != nil {
		t.Fatalf("demo again = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("demo again printed %q, want nothing", out.String())
	}
	users, err := st.UserSummaries(t.Context())
	if err != nil || len(users) != 1 {
		t.Errorf("UserSummaries() = %d accounts, %v; want the one demo admin", len(users), err)
	}
}

func TestDemoMakesNoAdminWhenAccountsExist(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	e := env(map[string]string{"DATABASE_URL": dbURL})
	const pw = "a long and private first password"
	if err := run(t.Context(), []string{"user", "add", "--email", "ops@example.com", "--role", "admin"},
		system{getenv: e, stdin: strings.NewReader(pw)}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"demo"}, system{getenv: e, stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("demo printed %q on a database with an account, want nothing", out.String())
	}
	if _, err := openStore(t, dbURL).UserForSignIn(t.Context(), "admin@demo.srm.test"); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("demo admin on a database with an account: %v, want none", err)
	}
}

func TestServeDemoPrintsHowToSignInAndTheDemoAdminCan(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, logs := &syncBuffer{}, &syncBuffer{}
	base, done := serveInProcess(ctx, t, []string{"serve", "--demo"}, map[string]string{"DATABASE_URL": dbURL,
		"SRM_SHUTDOWN_DRAIN": "0s", "SRM_ALLOW_OWNER_ROLE": "1"}, out, logs)
	if base == "" {
		t.Fatalf("srm did not start: %v; logs:\n%s", <-done, logs.String())
	}
	m := demoSignIn.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve --demo printed %q, want how to sign in", out.String())
	}
	if m[1] != base {
		t.Errorf("serve --demo: sign in at %q, want %q, where it listens", m[1], base)
	}
	if strings.Contains(logs.String(), m[2]) {
		t.Error("the demo password went to the log")
	}

	// Sign in with it through the running server.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/signin", url.Values{"email": {"admin@demo.srm.test"}, "password": {m[2]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("sign in as the demo admin: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("srm did not shut down")
	}
}

func TestUserPasswordReplacesThePasswordAndEndsSessions(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	const first, second = "a long and private first password", "another long private password"
	do := func(args []string, stdin string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), args, system{getenv: env(map[string]string{"DATABASE_URL": dbURL}), stdin: strings.NewReader(stdin), stdout: &out})
		return out.String(), err
	}
	if _, err := do([]string{"user", "add", "--email", "bo@example.com", "--role", "editor"}, first+"\n"); err != nil {
		t.Fatal(err)
	}
	out, err := do([]string{"user", "password", "--email", "Bo@Example.com"}, second+"\n")
	if err != nil {
		t.Fatalf("user password = %v", err)
	}
	if want := "changed the password of bo@example.com and signed it out everywhere\n"; out != want || strings.Contains(out, second) {
		t.Errorf("user password printed %q, want %q", out, want)
	}
	wantPassword(t, openStore(t, dbURL), "bo@example.com", second)

	if _, err := do([]string{"user", "password", "--email", "nobody@example.com"}, second+"\n"); err == nil ||
		!strings.Contains(err.Error(), "no local account") {
		t.Errorf("user password for nobody = %v, want no local account", err)
	}
	if _, err := do([]string{"user", "password", "--email", "bo@example.com"}, "short\n"); err == nil ||
		!strings.Contains(err.Error(), "at least 12 characters") {
		t.Errorf("user password with a short one = %v, want the rule", err)
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

func TestTokenAddPrintsATokenOnceThatActsAsTheAccount(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	sys := func(out *bytes.Buffer, stdin string) system {
		return system{getenv: env(map[string]string{"DATABASE_URL": dbURL}), stdin: strings.NewReader(stdin), stdout: out, stderr: &bytes.Buffer{}}
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"user", "add", "--email", "ci@example.com", "--role", "editor"}, sys(&out, "a long and private first password\n")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(t.Context(), []string{"token", "add", "--email", "CI@example.com", "--name", "CI pipeline", "--write", "--expires", "720h"}, sys(&out, "")); err != nil {
		t.Fatalf("token add = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]
	if len(lines) != 2 || !strings.HasPrefix(secret, "srm_") || !strings.Contains(lines[0], `read-write token "CI pipeline" for ci@example.com (editor)`) {
		t.Fatalf("token add printed:\n%s", out.String())
	}
	st := openStore(t, dbURL)
	c, err := st.Authenticate(store.WithActor(t.Context(), store.Actor{Name: "api client"}), secret)
	if err != nil || c.User.Email != "ci@example.com" || !c.CanWrite(srm.RoleEditor) || c.CanWrite(srm.RoleAdmin) {
		t.Fatalf("Authenticate(printed token) = %+v, %v; want ci@example.com, writing as an editor", c, err)
	}
	page, err := st.Audit(t.Context(), store.AuditQuery{Action: "token.created"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Actor != "srm token add" {
		t.Fatalf("token.created in the trail: %+v, %v; want one row by srm token add", page.Entries, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "ci@example.com"}, "give --email and --name"},
		{[]string{"--email", "nobody@example.com", "--name", "x"}, "no account with the email nobody@example.com"},
		{[]string{"--email", "ci@example.com", "--name", "x", "--expires", "20000h"}, "at most 366 days"},
		{[]string{"--email", "ci@example.com", "--name", "x", "--expires", "1m"}, "at least an hour"},
	} {
		out.Reset()
		err := run(t.Context(), append([]string{"token", "add"}, c.args...), sys(&out, ""))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(out.String(), "srm_") {
			t.Errorf("token add %v = %v, printed %q; want an error saying %q and no token", c.args, err, out.String(), c.want)
		}
	}
}

func TestAPIRateLimitIsReadFromTheEnvironment(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"DATABASE_URL": "x"}))
	if err != nil || c.Web.APIRateLimit != 0 {
		t.Errorf("default: %d, %v; want 0 (the server's default)", c.Web.APIRateLimit, err)
	}
	if c, err = loadConfig(env(map[string]string{"DATABASE_URL": "x", "SRM_API_RATE_LIMIT": "1200"})); err != nil || c.Web.APIRateLimit != 1200 {
		t.Errorf("SRM_API_RATE_LIMIT=1200: %d, %v", c.Web.APIRateLimit, err)
	}
	for _, v := range []string{"0", "-5", "many", "20000000"} {
		_, err := loadConfig(env(map[string]string{"DATABASE_URL": "x", "SRM_API_RATE_LIMIT": v}))
		if err == nil || !strings.Contains(err.Error(), "SRM_API_RATE_LIMIT=") || !strings.Contains(err.Error(), "give") {
			t.Errorf("SRM_API_RATE_LIMIT=%s: %v, want it refused, saying what to give", v, err)
		}
	}
}

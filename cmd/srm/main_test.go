package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestCommandLineExplainsItselfAndRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" means success
		wantOut string
	}{
		{"help", []string{"help"}, nil, "", "srm serve [--demo]"},
		{"-h", []string{"-h"}, nil, "", "DATABASE_URL"},
		{"no command", nil, nil, "no command given", ""},
		{"unknown command", []string{"launch"}, nil, `unknown command "launch"`, ""},
		{"serve without a database", []string{"serve"}, nil, "DATABASE_URL is not set", ""},
		{"unknown flag", []string{"serve", "--nope"}, map[string]string{"DATABASE_URL": "postgres://x"}, "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tt.args, env(tt.env), strings.NewReader(""), &out, &errOut)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run(%q) = %v, want success", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run(%q) = %v, want error containing %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q, want it to contain %q", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Served as srm's least-privilege role, as make run and docker compose do.
func TestServeWithDemoThenShutDownGracefully(t *testing.T) {
	t.Parallel()
	url := storetest.AppURL(t).URL
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo"}, env(map[string]string{"DATABASE_URL": url, "SRM_ADDR": "127.0.0.1:0"}), strings.NewReader(""), io.Discard, logs)
	}()

	serving := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("srm did not start; logs:\n%s", logs.String())
		}
		if m := serving.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		}
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz = %d, want 200", code)
	}
	if code, _ := get("/"); code != http.StatusOK || !strings.Contains(logs.String(), "path=/signin") {
		t.Errorf("GET / signed out = %d, want the sign-in page after a redirect", code)
	}
	sessions.Store(base, signInOver(t, base, url))
	r := send(ctx, http.MethodGet, base+"/", nil)
	if r.code != http.StatusOK || !strings.Contains(r.body, "Truck telemetry ingestion") || !strings.Contains(r.body, "Warehouse management system") {
		t.Errorf("GET / signed in = %v; the demo portfolio is not listed", r)
	}
	if !strings.Contains(logs.String(), `msg=request method=GET path=/readyz status=200`) {
		t.Errorf("no structured request log line for /readyz in:\n%s", logs.String())
	}

	cancel() // what SIGINT and SIGTERM do
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("srm did not shut down within 15 s")
	}
}

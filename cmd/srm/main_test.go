package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
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
			err := run(t.Context(), tt.args, system{getenv: env(tt.env), stdout: &out, stderr: &errOut})
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

// serveInProcess runs `srm args...` (serve) in this process on a listener
// of its own on 127.0.0.1:0, so the test knows the port without reading the
// log. It returns once srm serves, with its base URL (http://127.0.0.1:port)
// and the channel run's result will arrive on; or, when run returns before
// it listens, with no URL and the result waiting in the channel.
func serveInProcess(ctx context.Context, t *testing.T, args []string, kv map[string]string, stdout, stderr io.Writer) (string, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() }) // when run never took it
	listened := make(chan struct{})
	done := make(chan error, 1)
	sys := system{getenv: env(kv), stdout: stdout, stderr: stderr,
		listen: func(string) (net.Listener, error) { close(listened); return ln, nil }}
	go func() { done <- run(ctx, args, sys) }()
	select {
	case <-listened:
	case err := <-done:
		done <- err
		return "", done
	case <-time.After(20 * time.Second):
		t.Fatalf("srm %q neither listened nor returned within 20 s", args)
	}
	// Until it serves, a request waits in the listener's queue; if run
	// fails meanwhile, it closes the listener and the request fails.
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		select {
		case err := <-done:
			done <- err
			return "", done
		case <-time.After(15 * time.Second):
			t.Fatalf("GET /healthz on %s: %v, and srm did not return", base, err)
		}
	}
	resp.Body.Close()
	return base, done
}

// Served as srm's least-privilege role, as make run and docker compose do.
func TestServeWithDemoThenShutDownGracefully(t *testing.T) {
	t.Parallel()
	url := storetest.AppURL(t).URL
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	base, done := serveInProcess(ctx, t, []string{"serve", "--demo"}, map[string]string{"DATABASE_URL": url}, io.Discard, logs)
	if base == "" {
		t.Fatalf("srm did not start: %v; logs:\n%s", <-done, logs.String())
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

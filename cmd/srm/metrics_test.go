package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

const testMetricsToken = "cmd-test-metrics-token-0123456789abcdef"

// Metrics are off unless configured; a token too short, or with spaces, an
// address that is not one, or SRM_ADDR's own, is refused, and the error
// never repeats the token.
func TestConfigReadsTheMetricsSettings(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"DATABASE_URL": "x"}))
	if err != nil || c.Metrics != (metricsConfig{}) {
		t.Fatalf("defaults: %+v, %v; want metrics off", c.Metrics, err)
	}
	c, err = loadConfig(env(map[string]string{"DATABASE_URL": "x", "SRM_METRICS_ADDR": "127.0.0.1:9090",
		"SRM_METRICS_TOKEN": testMetricsToken}))
	if err != nil || c.Metrics != (metricsConfig{Addr: "127.0.0.1:9090", Token: testMetricsToken}) {
		t.Fatalf("set: %+v, %v", c.Metrics, err)
	}
	for _, bad := range []map[string]string{
		{"SRM_METRICS_TOKEN": "short-secret"},
		{"SRM_METRICS_TOKEN": "a token with spaces in it, long enough anyway"},
		{"SRM_METRICS_ADDR": "9090"},
		{"SRM_METRICS_ADDR": "127.0.0.1:8080"}, // SRM_ADDR's default
		{"SRM_ADDR": "0.0.0.0:80", "SRM_METRICS_ADDR": "0.0.0.0:80"},
	} {
		bad["DATABASE_URL"] = "x"
		_, err := loadConfig(env(bad))
		var name string
		for k := range bad {
			if strings.HasPrefix(k, "SRM_METRICS_") {
				name = k
			}
		}
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "give") {
			t.Errorf("%v: %v, want it refused, naming %s and what to give", bad, err, name)
		}
		if tok := bad["SRM_METRICS_TOKEN"]; err != nil && tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("the error repeats the token: %v", err)
		}
	}
}

// serve with SRM_METRICS_ADDR serves the metrics on a listener of its own
// and not on SRM_ADDR's; with SRM_METRICS_TOKEN alone, on SRM_ADDR's to
// bearers of the token; with both, on their own listener to bearers only.
// The metrics listener closes with the server.
func TestServeMetricsWhereConfigured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		addr, token    string
		mainServes     bool // GET /metrics on SRM_ADDR's listener with the token, if any
		separate       bool
		separateNoAuth int // GET /metrics on the metrics listener without a token
	}{
		{name: "own address", addr: "metrics.test:9090", separate: true, separateNoAuth: http.StatusOK},
		{name: "token", token: testMetricsToken, mainServes: true},
		{name: "own address and token", addr: "metrics.test:9090", token: testMetricsToken,
			separate: true, separateNoAuth: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := storetest.AppURL(t)
			w := srm.Workload{Name: "Ledger", Model: srm.IaaS}
			createWorkload(t, app, &w)
			kv := map[string]string{"DATABASE_URL": app.URL, "SRM_ADDR": "main.test:8080", "SRM_SHUTDOWN_DRAIN": "0s"}
			if tc.addr != "" {
				kv["SRM_METRICS_ADDR"] = tc.addr
			}
			if tc.token != "" {
				kv["SRM_METRICS_TOKEN"] = tc.token
			}
			lns := map[string]net.Listener{"main.test:8080": listenLocal(t), "metrics.test:9090": listenLocal(t)}
			opened := make(chan string, 2)
			sys := system{getenv: env(kv), stderr: io.Discard, listen: func(addr string) (net.Listener, error) {
				opened <- addr
				if ln, ok := lns[addr]; ok {
					return ln, nil
				}
				return nil, fmt.Errorf("listen on %q: not an address the test expects", addr)
			}}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve"}, sys) }()
			mainBase := "http://" + lns["main.test:8080"].Addr().String()
			metricsBase := "http://" + lns["metrics.test:9090"].Addr().String()
			client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect to sign in is an answer
			}}
			get := func(url, token string) (int, string) {
				t.Helper()
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", url, err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			if code, _ := get(mainBase+"/healthz", ""); code != http.StatusOK {
				t.Fatalf("GET /healthz on SRM_ADDR = %d, want 200", code)
			}

			code, body := get(mainBase+"/metrics", tc.token)
			switch {
			case tc.mainServes && code != http.StatusOK:
				t.Errorf("GET /metrics on SRM_ADDR with the token = %d, want 200", code)
			case tc.mainServes:
				wantMetrics(t, body)
			case code == http.StatusOK || strings.Contains(body, "srm_http_requests_total"):
				t.Errorf("GET /metrics on SRM_ADDR = %d, want no metrics there (an unknown address):\n%s", code, body)
			}
			if !tc.separate {
				cancel()
				waitServe(t, done)
				if len(opened) != 1 {
					t.Errorf("serve opened %d listeners, want SRM_ADDR's alone", len(opened))
				}
				return
			}
			if code, body := get(metricsBase+"/metrics", ""); code != tc.separateNoAuth {
				t.Errorf("GET /metrics on SRM_METRICS_ADDR without a token = %d, want %d", code, tc.separateNoAuth)
			} else if code == http.StatusOK {
				wantMetrics(t, body)
			}
			if tc.token != "" {
				code, body := get(metricsBase+"/metrics", tc.token)
				if code != http.StatusOK {
					t.Errorf("GET /metrics on SRM_METRICS_ADDR with the token = %d, want 200", code)
				}
				wantMetrics(t, body)
			}
			if code, _ := get(metricsBase+"/healthz", ""); code != http.StatusNotFound {
				t.Errorf("GET /healthz on SRM_METRICS_ADDR = %d, want 404: the listener serves metrics alone", code)
			}

			cancel() // what SIGINT and SIGTERM do
			waitServe(t, done)
			if c, err := net.DialTimeout("tcp", lns["metrics.test:9090"].Addr().String(), time.Second); err == nil {
				c.Close()
				t.Error("the metrics listener still accepts connections after serve returned")
			}
		})
	}
}

// wantMetrics checks that body is srm's metrics after SRM_ADDR answered
// GET /healthz, with the one workload the test created.
func wantMetrics(t *testing.T, body string) {
	t.Helper()
	for _, want := range []string{
		`srm_http_requests_total{code="200",method="GET",route="/healthz"}`,
		`srm_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.005"}`,
		"srm_db_pool_total_connections ",
		"srm_workloads 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the metrics lack %s:\n%s", want, body)
		}
	}
}

// createWorkload adds w as app's database owner, judged by the first baseline.
func createWorkload(t *testing.T, app storetest.AppRole, w *srm.Workload) {
	t.Helper()
	st := store.New(app.Owner)
	bs, err := st.Baselines(t.Context())
	if err != nil || len(bs) == 0 {
		t.Fatalf("Baselines: %v, %v", bs, err)
	}
	w.BaselineID = bs[0].ID
	if err := st.CreateWorkload(store.WithActor(t.Context(), store.Actor{Name: "metrics test"}), w); err != nil {
		t.Fatal(err)
	}
}

// listenLocal listens on a free port of 127.0.0.1, closed when the test ends.
func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// waitServe waits for run to return nil after its context ended.
func waitServe(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("srm did not shut down within 15 s")
	}
}

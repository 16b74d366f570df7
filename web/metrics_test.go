package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

var discard = slog.New(slog.DiscardHandler)

const metricsToken = "test-metrics-token-0123456789abcdef0123456789abcdef"

// newMetricsHarness is newHarness on a server built with cfg.
func newMetricsHarness(t *testing.T, cfg web.Config) *harness {
	t.Helper()
	pool, role := storetest.AppPool(t, nil)
	st := store.New(pool)
	h := &harness{t: t, st: st, pool: pool, dbOwner: store.New(role.Owner), srv: newServer(t, st, cfg)}
	h.signInAs(srm.RoleAdmin)
	return h
}

// scrape sends GET /metrics with the given Authorization header ("" for
// none) and no session.
func scrape(h *harness, authorization string) *httptest.ResponseRecorder {
	h.t.Helper()
	return getAnon(h, "/metrics", authorization)
}

// getAnon sends GET path with the given Authorization header ("" for none),
// the Accept header of a Prometheus scrape, and no session.
func getAnon(h *harness, path, authorization string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// Deny by default: without a token, /metrics on srm's own address is an
// address srm does not have, answered exactly like any other (404 signed
// in; signed out, what every unknown address gets, so nothing tells an
// outsider it is special), token or no token; and it stays so when the
// metrics are collected for an address of their own.
func TestMetricsAreNotServedOnTheMainAddressWithoutAToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	st := store.New(h.pool)
	sep := &harness{t: t, st: st, pool: h.pool, srv: newServer(t, st, web.Config{Metrics: web.NewMetrics(discard, st)})}
	wantStatus(t, "GET /metrics signed in, no metrics configured", h.get("/metrics"), http.StatusNotFound)
	sep.cookie, sep.csrf = h.cookie, h.csrf
	wantStatus(t, "GET /metrics signed in, metrics on a separate address", sep.get("/metrics"), http.StatusNotFound)
	for _, srv := range []*harness{h, sep} {
		for _, auth := range []string{"", "Bearer " + metricsToken} {
			got, unknown := getAnon(srv, "/metrics", auth), getAnon(srv, "/nometrics", auth)
			// The sign-in redirect names the address asked for: compare it
			// with that of the unknown address, renamed.
			wantLoc := strings.ReplaceAll(unknown.Header().Get("Location"), "nometrics", "metrics")
			if got.Code == http.StatusOK || got.Code != unknown.Code || got.Header().Get("Location") != wantLoc {
				t.Errorf("GET /metrics signed out (Authorization %q) = %d %q; want what an unknown address gets, %d %q",
					auth, got.Code, got.Header().Get("Location"), unknown.Code, wantLoc)
			}
			if strings.Contains(got.Body.String(), "srm_") {
				t.Errorf("GET /metrics signed out leaked metrics:\n%s", snippet(got.Body.String()))
			}
		}
	}
}

// With a token, /metrics answers only requests that bear it: not a signed-in
// admin's session, not another token, not the token under another scheme.
func TestMetricsNeedTheirToken(t *testing.T) {
	t.Parallel()
	h := newMetricsHarness(t, web.Config{MetricsToken: metricsToken})
	for _, tc := range []struct{ what, auth string }{
		{"no Authorization", ""},
		{"another token", "Bearer " + strings.Replace(metricsToken, "0", "1", 1)},
		{"a prefix of the token", "Bearer " + metricsToken[:len(metricsToken)-1]},
		{"the token as Basic", "Basic " + metricsToken},
		{"the bare token", metricsToken},
	} {
		rec := scrape(h, tc.auth)
		wantStatus(t, "GET /metrics with "+tc.what, rec, http.StatusUnauthorized)
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET /metrics with %s: WWW-Authenticate %q, want a Bearer challenge", tc.what, rec.Header().Get("WWW-Authenticate"))
		}
		if strings.Contains(rec.Body.String(), "srm_") {
			t.Errorf("GET /metrics with %s leaked metrics:\n%s", tc.what, snippet(rec.Body.String()))
		}
	}
	rec := h.get("/metrics") // the admin's session cookie, no token
	wantStatus(t, "GET /metrics with an admin's session and no token", rec, http.StatusUnauthorized)

	rec = scrape(h, "Bearer "+metricsToken)
	wantStatus(t, "GET /metrics with the token", rec, http.StatusOK)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want Prometheus's text format", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET /metrics: Cache-Control %q, want no-store", cc)
	}
}

// The metrics count requests by the pattern of their route, never by their
// path, time them, show the database pool, and count the portfolio as the
// engine does.
func TestMetricsReportRoutesLatencyPoolAndPortfolio(t *testing.T) {
	t.Parallel()
	h := newMetricsHarness(t, web.Config{MetricsToken: metricsToken})
	wls := []srm.Workload{h.workload("Ledger", srm.IaaS), h.workload("Portal", srm.PaaS), h.workload("Mail", srm.SaaS)}
	// One control complete, so that "open" is not merely "counted".
	done := h.controlID("Patching of systems") // the customer's under IaaS
	if err := h.st.SaveStatus(as(t.Context(), h.user), wls[0].ID, done, srm.Status{Complete: true, CompletedBy: "test"}); err != nil {
		t.Fatal(err)
	}

	wantStatus(t, "GET a workload", h.get(workloadPath(wls[0].ID)), http.StatusOK)
	wantStatus(t, "GET another workload", h.get(workloadPath(wls[1].ID)), http.StatusOK)
	wantStatus(t, "GET an address srm does not have", h.get("/no/such/page-12345"), http.StatusNotFound)

	rec := scrape(h, "Bearer "+metricsToken)
	wantStatus(t, "GET /metrics with the token", rec, http.StatusOK)
	body := rec.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET /metrics is not in Prometheus's text format: %v\n%s", err, snippet(body))
	}

	if n := sample(t, mfs, "srm_http_requests_total", map[string]string{"route": "/workloads/{id}", "method": "GET", "code": "200"}); n != 2 {
		t.Errorf("srm_http_requests_total{route=/workloads/{id},GET,200} = %v, want 2 (both workloads under one pattern)", n)
	}
	if n := sample(t, mfs, "srm_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "code": "404"}); n != 1 {
		t.Errorf("srm_http_requests_total{route=unmatched,GET,404} = %v, want 1", n)
	}
	for _, raw := range []string{workloadPath(wls[0].ID), workloadPath(wls[1].ID), "/no/such/page-12345"} {
		if strings.Contains(body, `"`+raw+`"`) {
			t.Errorf("GET /metrics has the raw path %s as a label value; routes must be patterns", raw)
		}
	}
	hist := series(t, mfs, "srm_http_request_duration_seconds", map[string]string{"route": "/workloads/{id}", "method": "GET"})
	if hist.GetHistogram().GetSampleCount() != 2 || len(hist.GetHistogram().GetBucket()) == 0 || hist.GetHistogram().GetSampleSum() <= 0 {
		t.Errorf("srm_http_request_duration_seconds{/workloads/{id},GET} = %v, want 2 timed requests in buckets", hist.GetHistogram())
	}

	if n := sample(t, mfs, "srm_db_pool_total_connections", nil); n < 1 {
		t.Errorf("srm_db_pool_total_connections = %v, want at least the one the requests used", n)
	}
	if n := sample(t, mfs, "srm_db_pool_max_connections", nil); n < 1 {
		t.Errorf("srm_db_pool_max_connections = %v, want the pool's size", n)
	}
	if n := sample(t, mfs, "srm_db_pool_acquires_total", nil); n < 1 {
		t.Errorf("srm_db_pool_acquires_total = %v, want the requests' acquisitions", n)
	}
	if _, ok := mfs["go_goroutines"]; !ok {
		t.Error("GET /metrics has no Go runtime metrics (go_goroutines)")
	}

	if n := sample(t, mfs, "srm_workloads", nil); n != float64(len(wls)) {
		t.Errorf("srm_workloads = %v, want the %d created", n, len(wls))
	}
	want := openByParty(t, h.st, wls)
	if want[srm.Customer] == 0 || want[srm.Shared] == 0 {
		t.Fatalf("the test's workloads have no open customer or shared controls (%v): choose others", want)
	}
	for _, p := range []srm.Party{srm.Customer, srm.Shared} {
		if n := sample(t, mfs, "srm_controls_open", map[string]string{"party": string(p)}); n != float64(want[p]) {
			t.Errorf("srm_controls_open{party=%s} = %v, want %d as the engine assesses the workloads", p, n, want[p])
		}
	}
	if _, ok := lookup(mfs, "srm_controls_open", map[string]string{"party": string(srm.Provider)}); ok {
		t.Error("srm_controls_open has a provider series; the provider's controls are never on the customer's list")
	}
}

// openByParty counts, with the engine, the controls of wls on the
// customer's list that are not complete, by party.
func openByParty(t *testing.T, st *store.Store, wls []srm.Workload) map[srm.Party]int {
	t.Helper()
	open := map[srm.Party]int{}
	for _, w := range wls {
		ws, err := st.WorkloadState(t.Context(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ws.Catalog.Baseline(ws.Workload.BaselineID)
		as, err := srm.Assess(b, ws.Workload.Model, ws.Catalog.Controls(), ws.Overrides, ws.Statuses)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Counted() && !a.Done() {
				open[a.Party]++
			}
		}
	}
	return open
}

// lookup finds the series of family name whose labels include labels.
func lookup(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (*dto.Metric, bool) {
	for _, m := range mfs[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			if have[k] != v {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

// series is lookup, failing the test when there is no such series.
func series(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	m, ok := lookup(mfs, name, labels)
	if !ok {
		t.Fatalf("GET /metrics has no %s%v", name, labels)
	}
	return m
}

// sample is the value of a counter or gauge series.
func sample(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := series(t, mfs, name, labels)
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// Counting requests costs no SQL: a page sends as many statements with
// metrics as without (the budget tests hold without them), and a scrape
// sends one.
func TestMetricsSendNoSQLPerRequestAndOnePerScrape(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	plain := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{})}
	plain.signInAs(srm.RoleAdmin)
	w := plain.workload("Ledger", srm.IaaS)
	measured := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{MetricsToken: metricsToken})}
	measured.cookie, measured.csrf = plain.cookie, plain.csrf

	count := func(h *harness) int64 {
		t.Helper()
		wantStatus(t, "GET a workload", h.get(workloadPath(w.ID)), http.StatusOK) // warms the caches
		counter.Reset()
		wantStatus(t, "GET a workload", h.get(workloadPath(w.ID)), http.StatusOK)
		return counter.Reset()
	}
	if without, with := count(plain), count(measured); with != without {
		t.Errorf("GET a workload sent %d statements with metrics, %d without; counting requests must send none", with, without)
	}
	for i, want := range []string{"the first scrape (workloads and open controls by party)", "a scrape within the minute"} {
		counter.Reset()
		wantStatus(t, "GET /metrics with the token", scrape(measured, "Bearer "+metricsToken), http.StatusOK)
		if n := counter.Reset(); n != 1 {
			t.Errorf("scrape %d, %s, sent %d statements, want 1", i+1, want, n)
		}
	}
}

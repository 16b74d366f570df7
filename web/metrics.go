package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
)

// Metrics is what srm tells Prometheus, in a registry of its own (never
// the process-wide default one): requests by route pattern, method and
// status, and their latency; the database pool; the Go runtime and the
// process; and the numbers a team watches, workloads and open controls by
// party. NewServer counts the requests of a server given it in
// Config.Metrics; Handler serves it all.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	st       *store.Store
	logger   *slog.Logger

	// The open controls by party, counted at most once per openEvery (the
	// count reads every assignment; the workloads are read every scrape).
	mu     sync.Mutex
	open   map[srm.Party]int
	openAt time.Time
}

const (
	// openEvery is how often, at most, a scrape counts the open controls
	// by party; scrapes in between report the last count.
	openEvery = time.Minute
	// watchTimeout bounds a scrape's query of the team numbers. Past it,
	// that scrape has no team numbers; everything else is still served.
	watchTimeout = 2 * time.Second
	// unmatched is the route label of requests no route matched: the raw
	// path would make a new series of every address anyone tries.
	unmatched = "unmatched"
)

// Descriptions of the team numbers, which each scrape reads afresh.
var (
	workloadsDesc = prometheus.NewDesc("srm_workloads", "Workloads in the portfolio.", nil, nil)
	openDesc      = prometheus.NewDesc("srm_controls_open",
		"Controls on the customer's to-do list (not marked not applicable) that are not complete, "+
			"by the party that carries them, across every workload. Counted at most once a minute.",
		[]string{"party"}, nil)
)

// NewMetrics returns the metrics of a server on st, in a new registry.
// logger receives the errors of scrapes (a database that does not answer).
func NewMetrics(logger *slog.Logger, st *store.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "srm_http_requests_total",
			Help: "HTTP requests answered, by route pattern (\"unmatched\" when no route matched), method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "srm_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		st:     st,
		logger: logger,
	}
	m.reg.MustRegister(m.requests, m.latency, poolCollector{st},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument counts every request and times it, by the pattern of the
// route that answered it. It reads the pattern after the request was
// routed and answered, and sends nothing to the database.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route, method := routeOf(r), methodOf(r.Method)
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// routeOf is the pattern of the route that answered r, such as
// /workloads/{id}, or unmatched.
func routeOf(r *http.Request) string {
	if p := chi.RouteContext(r.Context()).RoutePattern(); p != "" {
		return p
	}
	return unmatched
}

// methodOf is method when HTTP defines it, and "other" otherwise: a client
// may send any word as a method.
func methodOf(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// Handler serves the metrics in Prometheus's text format. With a token,
// only to requests that carry it as "Authorization: Bearer TOKEN"
// (compared in constant time); others get 401. An empty token lets every
// request through: for a listener of its own that only the scraper can
// reach.
func (m *Metrics) Handler(token string) http.Handler {
	want := sha256.Sum256([]byte(token))
	opts := promhttp.HandlerOpts{ErrorLog: scrapeLog{m.logger}, ErrorHandling: promhttp.ContinueOnError}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if token != "" && !hasBearer(r, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="srm metrics"`)
			http.Error(w, "401 unauthorized: send the metrics token as Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), watchTimeout)
		defer cancel()
		promhttp.HandlerFor(prometheus.Gatherers{m.reg, m.watched(ctx)}, opts).ServeHTTP(w, r)
	})
}

// hasBearer reports whether r carries the token whose SHA-256 is want.
// Comparing digests takes the same time whatever the token's length.
func hasBearer(r *http.Request, want [sha256.Size]byte) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// watched gathers the team numbers for one scrape, read with its context.
func (m *Metrics) watched(ctx context.Context) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		w, err := m.readWatched(ctx)
		if err != nil {
			return nil, err
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(workloadsDesc, prometheus.GaugeValue, float64(w.Workloads))
			for _, p := range []srm.Party{srm.Customer, srm.Shared} {
				ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(w.Open[p]), string(p))
			}
		}))
		return reg.Gather()
	})
}

// readWatched reads the team numbers in one statement, counting the open
// controls by party again only when the last count is older than
// openEvery. Scrapes take turns, so one count serves them all.
func (m *Metrics) readWatched(ctx context.Context) (store.Watched, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fresh := m.open != nil && time.Since(m.openAt) < openEvery
	w, err := m.st.Watched(ctx, !fresh)
	if err != nil {
		return store.Watched{}, err
	}
	if fresh {
		w.Open = m.open
	} else {
		m.open, m.openAt = w.Open, time.Now()
	}
	return w, nil
}

// scrapeLog writes promhttp's errors (a scrape whose team numbers failed)
// to srm's log.
type scrapeLog struct{ logger *slog.Logger }

func (l scrapeLog) Println(v ...any) { l.logger.Warn("metrics: " + fmt.Sprint(v...)) }

// poolCollector reports the database pool's state at each scrape.
type poolCollector struct{ st *store.Store }

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("srm_db_pool_"+name, help, nil, nil)
}

var (
	poolAcquired         = poolDesc("acquired_connections", "Connections in use by a request now.")
	poolIdle             = poolDesc("idle_connections", "Connections open and idle now.")
	poolConstructing     = poolDesc("constructing_connections", "Connections being opened now.")
	poolTotal            = poolDesc("total_connections", "Connections now: acquired, idle and being opened.")
	poolMax              = poolDesc("max_connections", "The most connections the pool opens.")
	poolAcquires         = poolDesc("acquires_total", "Connections acquired from the pool.")
	poolAcquireSeconds   = poolDesc("acquire_duration_seconds_total", "Time spent acquiring connections, in all.")
	poolCanceled         = poolDesc("canceled_acquires_total", "Acquisitions given up because their request's context ended.")
	poolEmpty            = poolDesc("empty_acquires_total", "Acquisitions that found no idle connection and waited for one.")
	poolEmptyWaitSeconds = poolDesc("empty_acquire_wait_seconds_total", "Time those acquisitions waited, in all.")
	poolNew              = poolDesc("new_connections_total", "Connections opened.")
	poolLifetimeClosed   = poolDesc("max_lifetime_closed_total", "Connections closed for reaching their maximum lifetime.")
	poolIdleClosed       = poolDesc("max_idle_closed_total", "Connections closed for idling too long.")
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolConstructing, poolTotal, poolMax, poolAcquires,
		poolAcquireSeconds, poolCanceled, poolEmpty, poolEmptyWaitSeconds, poolNew, poolLifetimeClosed, poolIdleClosed} {
		ch <- d
	}
}

// Collect reads the pool's counters; it sends nothing to the database.
// A store that runs on something other than a pool reports nothing.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s, ok := c.st.PoolStats()
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquired, float64(s.Acquired))
	gauge(poolIdle, float64(s.Idle))
	gauge(poolConstructing, float64(s.Constructing))
	gauge(poolTotal, float64(s.Total))
	gauge(poolMax, float64(s.Max))
	counter(poolAcquires, float64(s.Acquires))
	counter(poolAcquireSeconds, s.AcquireTime.Seconds())
	counter(poolCanceled, float64(s.CanceledAcquires))
	counter(poolEmpty, float64(s.EmptyAcquires))
	counter(poolEmptyWaitSeconds, s.EmptyAcquireWait.Seconds())
	counter(poolNew, float64(s.NewConns))
	counter(poolLifetimeClosed, float64(s.LifetimeClosed))
	counter(poolIdleClosed, float64(s.IdleClosed))
}

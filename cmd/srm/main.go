// Command srm serves the shared-responsibility matrix: who secures what,
// for every workload, by service model and defense-in-depth layer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

const usage = `srm — a shared-responsibility matrix for cloud security.

Usage:
  srm serve [--demo]   migrate the database, then serve the web interface
  srm migrate          apply pending database migrations and exit
  srm demo             load the demo portfolio into an empty database and exit
  srm seed --workloads N [--seed S]
                       add N synthetic workloads (all models, owners, a status on
                       every control, about half complete) for load tests
  srm help             show this help

serve:
  --demo   load the demo portfolio (a shipping company's workloads) first,
           when the database has no workloads yet

Environment:
  DATABASE_URL   PostgreSQL connection string (required), for example
                 postgres://user:password@localhost:5432/srm?sslmode=disable
  SRM_ADDR       address to listen on (default 127.0.0.1:8080)
  SRM_SHUTDOWN_DRAIN
                 on SIGTERM, how long /readyz answers 503 while requests are
                 still served, before the listener closes (default 2s, 0s-5s)
  SRM_SESSION_IDLE
                 sign a person out after this long without a request (default 30m)
  SRM_SESSION_LIFETIME
                 sign a person out after this long whatever they do (default 12h)
  SRM_TRUSTED_PROXIES
                 comma-separated CIDRs of reverse proxies whose X-Forwarded-For
                 srm believes for client addresses (default: none; the TCP peer
                 is the client)
  SRM_OIDC_ISSUER, SRM_OIDC_CLIENT_ID, SRM_OIDC_CLIENT_SECRET, SRM_OIDC_REDIRECT_URL
                 single sign-on with an OpenID Connect provider; all four or
                 none. The redirect URL is srm's own
                 https://HOST/signin/oidc/callback, registered with the provider
  SRM_OIDC_NAME  the provider's name on the sign-in button (default "single sign-on")
  SRM_OIDC_ROLE  the role of a person's account the first time they sign in
                 with single sign-on (default viewer)
  SRM_BENCH_CEILING
                 benchmarking aid, off unless set to 1 (make bench sets it):
                 serve then also answers GET /_bench/ceiling with one SELECT 1
                 through the pool and no middleware, a ceiling to compare
                 pages against

serve stops gracefully on SIGINT or SIGTERM: /readyz turns 503 at once,
the listener closes after the drain, and requests in flight get up to 10
seconds more to finish.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "srm:", err)
		os.Exit(1)
	}
}

// config is srm's configuration, read from the environment.
type config struct {
	DatabaseURL  string
	Addr         string
	BenchCeiling bool          // SRM_BENCH_CEILING=1: serve /_bench/ceiling as well
	Drain        time.Duration // SRM_SHUTDOWN_DRAIN: how long /readyz says 503 before the listener closes
	Web          web.Config    // sessions, proxies and single sign-on
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DatabaseURL: getenv("DATABASE_URL"), Addr: getenv("SRM_ADDR"),
		BenchCeiling: getenv("SRM_BENCH_CEILING") == "1"}
	if c.DatabaseURL == "" {
		return c, errors.New("DATABASE_URL is not set; see `srm help`")
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	c.Drain = 2 * time.Second
	if v := getenv("SRM_SHUTDOWN_DRAIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Second {
			return c, fmt.Errorf("SRM_SHUTDOWN_DRAIN=%q: give a duration from 0s to 5s", v)
		}
		c.Drain = d
	}
	for _, d := range []struct {
		name string
		into *time.Duration
		min  time.Duration
	}{{"SRM_SESSION_IDLE", &c.Web.IdleTimeout, time.Minute}, {"SRM_SESSION_LIFETIME", &c.Web.Lifetime, 5 * time.Minute}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < d.min || t > 30*24*time.Hour {
				return c, fmt.Errorf("%s=%q: give a duration from %s to 720h, such as 30m or 12h", d.name, v, d.min)
			}
			*d.into = t
		}
	}
	if v := getenv("SRM_TRUSTED_PROXIES"); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if _, err := netip.ParsePrefix(p); err != nil {
				return c, fmt.Errorf("SRM_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", p)
			}
			c.Web.TrustedProxies = append(c.Web.TrustedProxies, p)
		}
	}
	oidc := web.OIDCConfig{Issuer: getenv("SRM_OIDC_ISSUER"), ClientID: getenv("SRM_OIDC_CLIENT_ID"),
		ClientSecret: getenv("SRM_OIDC_CLIENT_SECRET"), RedirectURL: getenv("SRM_OIDC_REDIRECT_URL"),
		Name: getenv("SRM_OIDC_NAME"), Role: srm.Role(getenv("SRM_OIDC_ROLE"))}
	switch set := countSet(oidc.Issuer, oidc.ClientID, oidc.ClientSecret, oidc.RedirectURL); set {
	case 0:
	case 4:
		if oidc.Role == "" {
			oidc.Role = srm.Viewer
		}
		if !oidc.Role.Valid() {
			return c, fmt.Errorf("SRM_OIDC_ROLE=%q: give viewer, editor or admin", oidc.Role)
		}
		c.Web.OIDC = &oidc
	default:
		return c, errors.New("single sign-on needs all of SRM_OIDC_ISSUER, SRM_OIDC_CLIENT_ID, SRM_OIDC_CLIENT_SECRET and SRM_OIDC_REDIRECT_URL")
	}
	return c, nil
}

// countSet counts the non-empty values.
func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve", "migrate", "demo", "seed":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}

	fs := flag.NewFlagSet("srm "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	demo := false
	var workloads int
	var seed uint64
	switch cmd {
	case "serve":
		fs.BoolVar(&demo, "demo", false, "load the demo portfolio into an empty database")
	case "seed":
		fs.IntVar(&workloads, "workloads", 0, "number of synthetic workloads to add")
		fs.Uint64Var(&seed, "seed", 1, "random seed, for repeatable data")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	if cmd == "seed" && workloads <= 0 {
		return errors.New("seed: give the number of workloads with --workloads N")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err) // pgx never puts the password in this error
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 || pcfg.ConnConfig.ConnectTimeout > time.Second {
		// While PostgreSQL is down, requests fail fast with a 503 instead of
		// waiting on the operating system's connect timeout.
		pcfg.ConnConfig.ConnectTimeout = time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil { // pgxpool.New does not dial
		return fmt.Errorf("ping database: %w", err)
	}
	if err := store.Migrate(pool); err != nil {
		return err
	}
	st := store.New(pool)
	switch cmd {
	case "migrate":
		logger.Info("migrations applied")
		return nil
	case "demo":
		return seedDemo(ctx, st, logger)
	case "seed":
		start := time.Now()
		stats, err := st.SeedSynthetic(ctx, workloads, seed)
		if err != nil {
			return err
		}
		logger.Info("synthetic data added", "workloads", stats.Workloads, "owners", stats.Owners,
			"statuses", stats.Statuses, "duration", time.Since(start).Round(time.Millisecond))
		return nil
	}
	if demo {
		if err := seedDemo(ctx, st, logger); err != nil {
			return err
		}
	}
	return serve(ctx, cfg, logger, st)
}

func seedDemo(ctx context.Context, st *store.Store, logger *slog.Logger) error {
	added, err := st.SeedDemo(ctx)
	if err != nil {
		return err
	}
	if added {
		logger.Info("demo portfolio loaded")
	} else {
		logger.Info("demo portfolio skipped: the database already has workloads")
	}
	return nil
}

func serve(ctx context.Context, cfg config, logger *slog.Logger, st *store.Store) error {
	if os.Getenv("GOGC") == "" {
		// srm's live heap is a few megabytes; collecting at 4× rather than 2×
		// of it halves the collector's share of a page's cost and keeps the
		// process far under 100 MiB.
		debug.SetGCPercent(400)
	}
	var stopping atomic.Bool
	wcfg := cfg.Web
	wcfg.Ready = func() bool { return !stopping.Load() }
	handler, err := web.NewServer(ctx, logger, st, wcfg)
	if err != nil {
		return err
	}
	if cfg.BenchCeiling {
		logger.Warn("benchmark ceiling enabled", "path", benchCeilingPath)
		handler = withBenchCeiling(handler, st)
	}
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("srm is serving", "url", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness turns 503 at once; new requests are still served during the
	// drain, so a load balancer has time to notice before the listener
	// closes. Then requests in flight get up to 10 seconds to finish.
	stopping.Store(true)
	logger.Info("shutting down", "drain", cfg.Drain)
	select {
	case <-time.After(cfg.Drain):
	case err := <-errc:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// benchCeilingPath is served only with SRM_BENCH_CEILING=1.
const benchCeilingPath = "/_bench/ceiling"

// withBenchCeiling answers GET /_bench/ceiling with one SELECT 1 through the
// store's pool and no middleware: the most a page that touches the database
// could do on this machine, for benchmarks to compare pages against. Every
// other request goes to next.
func withBenchCeiling(next http.Handler, st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != benchCeilingPath || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

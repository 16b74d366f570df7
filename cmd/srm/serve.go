package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

const serveDetails = `  --demo   load the demo portfolio (a shipping company's workloads) first,
           when the database has no workloads yet. On a database with no
           accounts either, it also adds the admin admin@demo.srm.test with a
           random password and prints how to sign in (demo does the same)
  serve refuses to run as a superuser or as the owner of srm's schema or
  tables (such a role could switch the audit trail off), unless
  SRM_ALLOW_OWNER_ROLE=1. As its least-privilege role it does not migrate:
  it checks that the schema is current and says so when it is not. As an
  owner, allowed, it migrates first.
`

// serveCmd is "srm serve [--demo]".
type serveCmd struct{ demo bool }

func (c *serveCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.demo, "demo", false, "load the demo portfolio into an empty database")
}

func (c *serveCmd) check([]string) error { return nil }

func (c *serveCmd) run(ctx context.Context, e *invocation) error {
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if msg := db.role.ServeProblem(); msg != "" {
		if !e.cfg.AllowOwnerRole {
			return errors.New(msg)
		}
		e.logger.Warn("serving as a role that could switch off the audit trail, as SRM_ALLOW_OWNER_ROLE=1 allows",
			"role", db.role.Name)
	}
	if err := db.ready(ctx); err != nil {
		return err
	}
	ln, err := e.listen(e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var metricsLn net.Listener
	if e.cfg.Metrics.Addr != "" {
		if metricsLn, err = e.listen(e.cfg.Metrics.Addr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics (SRM_METRICS_ADDR): %w", err)
		}
	}
	if c.demo {
		if err := seedDemo(ctx, db.st, ln.Addr().String(), e.logger, e.stdout); err != nil {
			ln.Close()
			closeListener(metricsLn)
			return err
		}
	}
	return serve(ctx, e.cfg, e.logger, db.st, ln, metricsLn)
}

// serve serves srm on ln until ctx ends, then shuts down gracefully:
// /readyz turns 503 at once, new requests are still served for the drain,
// then the listener closes and requests in flight get the grace to finish.
// With metricsLn (SRM_METRICS_ADDR), it serves the metrics there too,
// until the main server has shut down. It closes ln and metricsLn.
func serve(ctx context.Context, cfg config, logger *slog.Logger, st *store.Store, ln, metricsLn net.Listener) error {
	cfg.Runtime.apply()
	var stopping atomic.Bool
	wcfg := cfg.Web
	wcfg.Ready = func() bool { return !stopping.Load() }
	wcfg.Metrics, wcfg.MetricsToken = metricsFor(cfg.Metrics, logger, st)
	handler, err := web.NewServer(ctx, logger, st, wcfg)
	if err != nil {
		ln.Close()
		closeListener(metricsLn)
		return err
	}
	stopMetrics := serveMetrics(cfg, logger, wcfg.Metrics, metricsLn)
	defer stopMetrics()
	// Dead sessions (expired, or made before their account changed) are
	// cleared every five minutes for as long as srm serves.
	cleanCtx, stopCleaning := context.WithCancel(ctx)
	var cleaning sync.WaitGroup
	defer cleaning.Wait()
	defer stopCleaning()
	cleaning.Go(func() {
		st.Sessions().Clean(cleanCtx, 5*time.Minute, func(err error) {
			logger.Warn("clearing dead sessions failed", "err", err)
		})
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if web.BenchBuild {
		logger.Warn("benchmark build (-tags srmbench): serving /_bench/ceiling and /_bench/workload/{id}; never in production")
	}
	// The address with its port: with SRM_ADDR's port 0, the one the system
	// chose. Scripts that start srm read it from this line.
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
	// closes. Then requests in flight get the grace to finish.
	stopping.Store(true)
	logger.Info("shutting down", "drain", cfg.HTTP.Drain, "grace", cfg.HTTP.Grace)
	select {
	case <-time.After(cfg.HTTP.Drain):
	case err := <-errc:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.Grace)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

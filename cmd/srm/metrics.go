package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

// metricsFor returns the metrics serve collects, and the token /metrics
// asks for on SRM_ADDR's listener: none when metrics are off, or when
// they have an address of their own (SRM_ADDR then has no /metrics).
func metricsFor(mc metricsConfig, logger *slog.Logger, st *store.Store) (*web.Metrics, string) {
	if mc.Addr == "" && mc.Token == "" {
		return nil, ""
	}
	m := web.NewMetrics(logger, st)
	if mc.Addr != "" {
		return m, ""
	}
	return m, mc.Token
}

// serveMetrics serves m at /metrics on ln, alone (any other path is 404),
// behind the token when there is one, and returns the function that stops
// it. serve calls that after the main server has shut down, so the
// metrics show the drain and the grace too. A nil ln serves nothing.
func serveMetrics(cfg config, logger *slog.Logger, m *web.Metrics, ln net.Listener) (stop func()) {
	if ln == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler(cfg.Metrics.Token))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.Metrics.Token == "" && !loopback(ln.Addr()) {
		logger.Warn("metrics are served without a token on an address other machines may reach: "+
			"keep SRM_METRICS_ADDR on a private network, or set SRM_METRICS_TOKEN", "addr", ln.Addr().String())
	}
	logger.Info("srm is serving metrics", "url", "http://"+ln.Addr().String()+"/metrics", "token", cfg.Metrics.Token != "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving metrics failed", "err", err)
		}
	}()
	return func() {
		// A scrape takes a few milliseconds: one second, then cut off.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-done
	}
}

// loopback reports whether addr is on a loopback interface only.
func loopback(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().IsLoopback()
}

// closeListener closes ln unless it is nil.
func closeListener(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
}

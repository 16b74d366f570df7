package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/web"
)

// config is srm's configuration. loadConfig reads all of it, and nothing
// else reads the environment.
type config struct {
	DatabaseURL    string
	Addr           string // SRM_ADDR: where serve listens
	AllowOwnerRole bool   // SRM_ALLOW_OWNER_ROLE=1: serve may run as a role that owns srm's schema
	AppPassword    string // SRM_APP_PASSWORD: migrate --app-role's password, when not on stdin
	Metrics        metricsConfig
	HTTP           httpConfig
	Runtime        runtimeConfig
	Web            web.Config // sessions, proxies and single sign-on
}

// httpConfig is how serve's HTTP server treats connections, and how it
// stops.
type httpConfig struct {
	ReadHeaderTimeout time.Duration // SRM_HTTP_READ_HEADER_TIMEOUT: a client's whole request head, or the connection closes
	ReadTimeout       time.Duration // SRM_HTTP_READ_TIMEOUT: a whole request, body included
	WriteTimeout      time.Duration // SRM_HTTP_WRITE_TIMEOUT: a response (streamed exports get web.Config.ExportTimeout)
	IdleTimeout       time.Duration // SRM_HTTP_IDLE_TIMEOUT: a kept-alive connection between requests
	Drain             time.Duration // SRM_SHUTDOWN_DRAIN: how long /readyz says 503 before the listener closes
	Grace             time.Duration // SRM_SHUTDOWN_GRACE: then, how long requests in flight get to finish
}

// metricsConfig is where serve serves its Prometheus metrics, if anywhere:
// on an address of their own, or on SRM_ADDR's to bearers of a token, or
// both (the token is then asked for on the metrics address). Neither: off.
type metricsConfig struct {
	Addr  string // SRM_METRICS_ADDR: a listener serving /metrics alone
	Token string // SRM_METRICS_TOKEN: the bearer token /metrics asks for
}

// minMetricsToken is the shortest metrics token srm accepts: 32 characters,
// as `openssl rand -hex 16` prints, or more.
const minMetricsToken = 32

// runtimeConfig is the Go runtime's memory settings for serve, read from
// GOGC and GOMEMLIMIT like the runtime does, with srm's own defaults.
type runtimeConfig struct {
	// GCPercent is GOGC (-1 for off). srm's live heap is a few megabytes;
	// collecting at 4× rather than 2× of it halves the collector's share of
	// a page's cost and keeps the process far under 100 MiB: default 400.
	GCPercent int
	// MemoryLimit is GOMEMLIMIT in bytes (math.MaxInt64 for off). A
	// password check holds 19 MiB (argon2id) for a moment; a collection
	// during one would otherwise let the heap grow to five times that
	// before the next. The soft limit makes the collector work harder
	// instead, near it: default 64 MiB.
	MemoryLimit int64
}

// apply sets the runtime's collector to r.
func (r runtimeConfig) apply() {
	debug.SetGCPercent(r.GCPercent)
	debug.SetMemoryLimit(r.MemoryLimit)
}

// durationSetting is a duration read from the environment, with its
// default and bounds.
type durationSetting struct {
	name     string
	into     *time.Duration
	def      time.Duration // 0: leave the field zero, its user's default
	min, max time.Duration
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DatabaseURL: getenv("DATABASE_URL"), Addr: getenv("SRM_ADDR"),
		AllowOwnerRole: getenv("SRM_ALLOW_OWNER_ROLE") == "1", AppPassword: getenv("SRM_APP_PASSWORD")}
	if c.DatabaseURL == "" {
		return c, errors.New("DATABASE_URL is not set; see `srm help`")
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	for _, d := range []durationSetting{
		{"SRM_HTTP_READ_HEADER_TIMEOUT", &c.HTTP.ReadHeaderTimeout, 5 * time.Second, 100 * time.Millisecond, time.Minute},
		{"SRM_HTTP_READ_TIMEOUT", &c.HTTP.ReadTimeout, 30 * time.Second, time.Second, time.Hour},
		{"SRM_HTTP_WRITE_TIMEOUT", &c.HTTP.WriteTimeout, 30 * time.Second, time.Second, time.Hour},
		{"SRM_HTTP_IDLE_TIMEOUT", &c.HTTP.IdleTimeout, 2 * time.Minute, time.Second, time.Hour},
		{"SRM_SHUTDOWN_DRAIN", &c.HTTP.Drain, 2 * time.Second, 0, 5 * time.Second},
		{"SRM_SHUTDOWN_GRACE", &c.HTTP.Grace, 10 * time.Second, 0, 5 * time.Minute},
		{"SRM_SESSION_IDLE", &c.Web.IdleTimeout, 0, time.Minute, 30 * 24 * time.Hour},
		{"SRM_SESSION_LIFETIME", &c.Web.Lifetime, 0, 5 * time.Minute, 30 * 24 * time.Hour},
	} {
		*d.into = d.def
		v := getenv(d.name)
		if v == "" {
			continue
		}
		t, err := time.ParseDuration(v)
		if err != nil || t < d.min || t > d.max {
			return c, fmt.Errorf("%s=%q: give a duration from %s to %s, such as %s", d.name, v, short(d.min), short(d.max), short(max(d.def, d.min)))
		}
		*d.into = t
	}
	if v := getenv("SRM_API_RATE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000_000 {
			return c, fmt.Errorf("SRM_API_RATE_LIMIT=%q: give the requests a minute each API token may make, from 1 to 10000000, such as %d", v, web.DefaultAPIRateLimit)
		}
		c.Web.APIRateLimit = n
	}
	var err error
	if c.Runtime.GCPercent, err = parseGOGC(getenv("GOGC")); err != nil {
		return c, err
	}
	if c.Runtime.MemoryLimit, err = parseGOMEMLIMIT(getenv("GOMEMLIMIT")); err != nil {
		return c, err
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
	if c.Metrics, err = loadMetricsConfig(getenv, c.Addr); err != nil {
		return c, err
	}
	oidc := web.OIDCConfig{Issuer: getenv("SRM_OIDC_ISSUER"), ClientID: getenv("SRM_OIDC_CLIENT_ID"),
		ClientSecret: getenv("SRM_OIDC_CLIENT_SECRET"), RedirectURL: getenv("SRM_OIDC_REDIRECT_URL"),
		Name: getenv("SRM_OIDC_NAME"), Role: srm.Role(getenv("SRM_OIDC_ROLE"))}
	switch set := countSet(oidc.Issuer, oidc.ClientID, oidc.ClientSecret, oidc.RedirectURL); set {
	case 0:
	case 4:
		if oidc.Role == "" {
			oidc.Role = srm.RoleViewer
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

// loadMetricsConfig reads SRM_METRICS_ADDR and SRM_METRICS_TOKEN. The
// token is never put in an error.
func loadMetricsConfig(getenv func(string) string, addr string) (metricsConfig, error) {
	m := metricsConfig{Addr: getenv("SRM_METRICS_ADDR"), Token: getenv("SRM_METRICS_TOKEN")}
	if m.Addr != "" {
		if _, _, err := net.SplitHostPort(m.Addr); err != nil {
			return m, fmt.Errorf("SRM_METRICS_ADDR=%q: give a host and port, such as 127.0.0.1:9090", m.Addr)
		}
		if m.Addr == addr {
			return m, fmt.Errorf("SRM_METRICS_ADDR=%q: give an address other than SRM_ADDR's (to serve metrics there, set SRM_METRICS_TOKEN alone)", m.Addr)
		}
	}
	if m.Token != "" && (len(m.Token) < minMetricsToken || strings.ContainsFunc(m.Token, unicode.IsSpace)) {
		return m, fmt.Errorf("SRM_METRICS_TOKEN: give at least %d characters without spaces, such as the output of `openssl rand -hex 32`", minMetricsToken)
	}
	return m, nil
}

// short writes d as people write it: 30m, 12h, 720h, 100ms.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseGOGC reads GOGC as the runtime does: a percentage, or off; srm's
// default, unset, is 400.
func parseGOGC(v string) (int, error) {
	switch v {
	case "":
		return 400, nil
	case "off":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("GOGC=%q: give a percentage such as 400, or off", v)
	}
	return n, nil
}

// parseGOMEMLIMIT reads GOMEMLIMIT as the runtime does: a number of bytes
// with an optional unit (B, KiB, MiB, GiB, TiB), or off; srm's default,
// unset, is 64 MiB.
func parseGOMEMLIMIT(v string) (int64, error) {
	switch v {
	case "":
		return 64 << 20, nil
	case "off":
		return math.MaxInt64, nil
	}
	num, unit := v, int64(1)
	for _, u := range []struct {
		suffix string
		bytes  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			num, unit = strings.TrimSuffix(v, u.suffix), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("GOMEMLIMIT=%q: give a size such as 64MiB or 1GiB, or off", v)
	}
	return n * unit, nil
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

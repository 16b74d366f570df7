package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestConfigReadsEverySettingFromTheEnvironmentItIsGiven: every setting,
// the Go runtime's included, comes from the getenv srm is given (never
// from the process's own environment), with its default when unset, and a
// value out of bounds is refused with what to give.
func TestConfigReadsEverySettingFromTheEnvironmentItIsGiven(t *testing.T) {
	t.Setenv("GOGC", "50") // the process's own: must not be read
	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("SRM_HTTP_READ_HEADER_TIMEOUT", "3s")
	base := map[string]string{"DATABASE_URL": "postgres://x"}
	c, err := loadConfig(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Runtime.GCPercent != 400 || c.Runtime.MemoryLimit != 64<<20 {
		t.Errorf("defaults: GOGC %d, GOMEMLIMIT %d; want srm's 400 and 64 MiB", c.Runtime.GCPercent, c.Runtime.MemoryLimit)
	}
	want := httpConfig{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, Drain: 2 * time.Second, Grace: 10 * time.Second}
	if c.HTTP != want || c.Addr != "127.0.0.1:8080" || c.AllowOwnerRole {
		t.Errorf("defaults: %+v, %q, %v; want %+v, 127.0.0.1:8080, false", c.HTTP, c.Addr, c.AllowOwnerRole, want)
	}

	set := map[string]string{"DATABASE_URL": "postgres://x", "GOGC": "off", "GOMEMLIMIT": "512MiB",
		"SRM_HTTP_READ_HEADER_TIMEOUT": "250ms", "SRM_HTTP_READ_TIMEOUT": "1m", "SRM_HTTP_WRITE_TIMEOUT": "45s",
		"SRM_HTTP_IDLE_TIMEOUT": "10s", "SRM_SHUTDOWN_DRAIN": "0s", "SRM_SHUTDOWN_GRACE": "1m", "SRM_ALLOW_OWNER_ROLE": "1",
		"SRM_SESSION_IDLE": "15m"}
	if c, err = loadConfig(env(set)); err != nil {
		t.Fatal(err)
	}
	want = httpConfig{ReadHeaderTimeout: 250 * time.Millisecond, ReadTimeout: time.Minute, WriteTimeout: 45 * time.Second,
		IdleTimeout: 10 * time.Second, Drain: 0, Grace: time.Minute}
	if c.HTTP != want || c.Runtime.GCPercent != -1 || c.Runtime.MemoryLimit != 512<<20 || !c.AllowOwnerRole ||
		c.Web.IdleTimeout != 15*time.Minute {
		t.Errorf("set: %+v %+v %v %v; want %+v, GOGC off, 512 MiB, owner allowed, 15m idle", c.HTTP, c.Runtime,
			c.AllowOwnerRole, c.Web.IdleTimeout, want)
	}
	if c, err = loadConfig(env(map[string]string{"DATABASE_URL": "x", "GOGC": "100", "GOMEMLIMIT": "off"})); err != nil ||
		c.Runtime.GCPercent != 100 || c.Runtime.MemoryLimit != math.MaxInt64 {
		t.Errorf("GOGC=100 GOMEMLIMIT=off: %+v, %v", c.Runtime, err)
	}
	if c, err = loadConfig(env(map[string]string{"DATABASE_URL": "x", "GOMEMLIMIT": "1048576"})); err != nil ||
		c.Runtime.MemoryLimit != 1<<20 {
		t.Errorf("GOMEMLIMIT=1048576: %+v, %v; want 1 MiB", c.Runtime, err)
	}

	for k, v := range map[string]string{"SRM_HTTP_READ_HEADER_TIMEOUT": "0s", "SRM_HTTP_WRITE_TIMEOUT": "2h",
		"SRM_HTTP_IDLE_TIMEOUT": "soon", "SRM_SHUTDOWN_DRAIN": "6s", "SRM_SHUTDOWN_GRACE": "-1s",
		"SRM_SESSION_LIFETIME": "1m", "GOGC": "lots", "GOMEMLIMIT": "64MB"} {
		_, err := loadConfig(env(map[string]string{"DATABASE_URL": "x", k: v}))
		if err == nil || !strings.Contains(err.Error(), k+"=") || !strings.Contains(err.Error(), "give") {
			t.Errorf("%s=%s: %v, want it refused, naming the variable and what to give", k, v, err)
		}
	}
}

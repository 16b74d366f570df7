package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

// BenchmarkWorkloadPageOnSeededDatabase serves the workload page, whole and
// filtered to one layer (a different workload and layer each time), signed
// in, against a database seeded beforehand as for
// BenchmarkBulk50OnSeededDatabase (`srm framework import --builtin
// nist-800-53-rev5-moderate`, then `srm seed --workloads 2000 --framework
// nist-800-53-rev5-moderate`), named by SRM_BULK_BENCH_URL. It adds an
// account to that database each run. Besides time per page it reports the CPU of
// this process (srm, with the test's small overhead) and, when PostgreSQL
// runs on this machine, of the one database connection it uses, per page.
// Without the variable it skips.
func BenchmarkWorkloadPageOnSeededDatabase(b *testing.B) {
	url := os.Getenv("SRM_BULK_BENCH_URL")
	if url == "" {
		b.Skip("SRM_BULK_BENCH_URL is not set")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 1 // one backend, whose CPU the benchmark reads
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var backend int
	if err := pool.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	st := store.New(pool)
	list, err := st.Workloads(context.Background(), store.WorkloadQuery{PerPage: 50})
	if err != nil || len(list.Items) == 0 {
		b.Fatalf("workloads: %v", err)
	}
	srv := newServer(b, st, web.Config{})
	session := &harness{t: b, st: st, srv: srv}
	// An account of its own each run: the database outlives the run.
	u := newUser(b, st, fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano()), srm.RoleEditor)
	session.signIn(u.Email, testPassword)
	for _, c := range []struct {
		name  string
		query func(i int) string
		htmx  bool
	}{
		{"whole", func(int) string { return "" }, false},
		{"one layer", func(i int) string { return "?layer=" + string(srm.Layers[i%len(srm.Layers)]) }, false},
		{"one layer, htmx", func(i int) string { return "?layer=" + string(srm.Layers[i%len(srm.Layers)]) }, true},
		{"one layer, open, unassigned", func(i int) string {
			return "?layer=" + string(srm.Layers[i%len(srm.Layers)]) + "&state=open&owner=none"
		}, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			get := func(i int) {
				req := httptest.NewRequest("GET", fmt.Sprintf("/workloads/%d%s", list.Items[i%len(list.Items)].Workload.ID, c.query(i/len(list.Items))), nil)
				if c.htmx {
					req.Header.Set("HX-Request", "true")
				}
				if rec := session.do(req); rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", req.URL, rec.Code)
				}
			}
			get(0) // caches filled
			pg0, srm0 := backendCPU(backend), processCPU()
			i := 0
			for b.Loop() {
				get(i)
				i++
			}
			b.ReportMetric(float64((processCPU()-srm0).Microseconds())/float64(i), "srm-cpu-µs/op")
			if pg1 := backendCPU(backend); pg1 >= 0 && pg0 >= 0 {
				b.ReportMetric(float64((pg1-pg0).Microseconds())/float64(i), "pg-cpu-µs/op")
			}
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// backendCPU is the CPU time the PostgreSQL backend pid has used, or -1
// when it is not a process of this machine that this one may read.
func backendCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * time.Second / 100 // clock ticks: 100 per second on Linux
}

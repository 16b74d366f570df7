package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// discardWriter is a ResponseWriter that keeps nothing of the body, only
// its size, so the heap measured is the server's alone.
type discardWriter struct {
	h      http.Header
	status int
	n      int64
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(s int) {
	if d.status == 0 {
		d.status = s
	}
}
func (d *discardWriter) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	d.n += int64(len(p))
	return len(p), nil
}

// liveHeapDuring runs fn while sampling the live heap (after a collection)
// every few milliseconds, and returns how far it rose above where it was
// before fn.
func liveHeapDuring(fn func()) (growth uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

// The whole portfolio at 10,000 workloads streams: the export reads a
// page of workloads at a time (keyset) and writes each row on, so the
// server's live heap while it runs stays about the same whatever the
// number of workloads. The same export read in one statement (a page as
// large as the portfolio, as a handler holding every row would) is
// measured too, to show the probe sees the difference.
func TestPortfolioExportStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 workloads")
	}
	pool := storetest.Pool(t) // the schema's owner: the bulk load pauses triggers
	st := store.New(pool)
	ctx := storetest.Context(t)
	const n = 10_000
	err := st.BulkLoad(ctx, func(b *store.Bulk) error { // workloads alone: statuses do not change the portfolio's rows
		ws := make([]srm.Workload, n)
		models := srm.ServiceModels
		for i := range ws {
			ws[i] = srm.Workload{Name: fmt.Sprintf("Workload %05d", i), Model: models[i%len(models)],
				BaselineID: b.Catalog().Baselines()[0].ID, Description: strings.Repeat("Runs a part of the business. ", 10)}
		}
		_, err := b.AddWorkloads(ctx, ws)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := (&harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{})}).signInAs(srm.RoleViewer)
	list, err := h.st.Workloads(ctx, store.WorkloadQuery{PerPage: 1})
	if err != nil || list.Total != n {
		t.Fatalf("seeded %d workloads (%v), want %d", list.Total, err, n)
	}
	export := func(f exchange.Format, pageSize int) (growth uint64, bytes int64) {
		defer web.SetExportPageSize(pageSize)()
		req := httptest.NewRequest(http.MethodGet, "/portfolio"+f.Ext(), nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: h.cookie})
		w := &discardWriter{h: http.Header{}}
		growth = liveHeapDuring(func() { h.srv.ServeHTTP(w, req) })
		if w.status != http.StatusOK || w.n == 0 {
			t.Fatalf("GET %s: status %d, %d bytes", req.URL, w.status, w.n)
		}
		return growth, w.n
	}
	const mib = 1 << 20
	for _, tc := range []struct {
		f     exchange.Format
		limit uint64 // growth of the live heap, MiB
	}{
		{exchange.CSV, 2},
		// XLSX: excelize keeps up to 16 MiB of sheet XML in a buffer (which
		// may double as it grows) before it spills to a temporary file, so
		// its ceiling is that, whatever the rows; at 10,000 workloads the
		// sheet fits the buffer. The CSV, through the same read loop, shows
		// the rows are not held.
		{exchange.XLSX, 48},
	} {
		streamed, size := export(tc.f, 200)
		whole, _ := export(tc.f, n)
		t.Logf("%s of %d workloads (%.1f MiB): live heap +%.1f MiB read 200 at a time, +%.1f MiB read at once",
			tc.f, n, float64(size)/mib, float64(streamed)/mib, float64(whole)/mib)
		if streamed > tc.limit*mib {
			t.Errorf("%s: the export of %d workloads grew the live heap by %.1f MiB, over %d MiB", tc.f, n, float64(streamed)/mib, tc.limit)
		}
		if tc.f == exchange.CSV && whole < streamed+2*mib {
			t.Errorf("%s: reading every workload at once cost %.1f MiB, streaming %.1f MiB: the probe does not see rows held", tc.f, float64(whole)/mib, float64(streamed)/mib)
		}
	}
}

package exchange

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/srmhq/srm"
)

// countWriter counts bytes and throws them away, as a client far away
// would take them; every 4 MiB it calls sample, so that a file built in
// memory before it is written is seen.
type countWriter struct {
	n, next int64
	sample  func()
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.n += int64(len(p)); c.n >= c.next && c.sample != nil {
		c.sample()
		c.next = c.n + 4*mib
	}
	return len(p), nil
}

type streamStats struct {
	peakHeap uint64 // the highest HeapInuse seen (garbage included)
	peakLive uint64 // the highest heap after a collection: what is kept
	bytes    int64
	elapsed  time.Duration
}

// streamChecklist writes n checklist rows of realistic size in format f,
// sampling the heap every sampleEvery rows.
func streamChecklist(tb testing.TB, f Format, n int, sampleEvery int) streamStats {
	tb.Helper()
	var st streamStats
	var ms runtime.MemStats
	sample := func(gc bool) {
		if gc {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		st.peakHeap = max(st.peakHeap, ms.HeapInuse)
		if gc {
			st.peakLive = max(st.peakLive, ms.HeapAlloc)
		}
	}
	as := testAssess(tb, srm.PaaS)
	wl := testWorkload(srm.PaaS)
	out := &countWriter{sample: func() { sample(true) }}
	runtime.GC()
	start := time.Now()
	w, err := NewWriter(f, out, "Checklist", ChecklistColumns)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		a := as[i%len(as)]
		a.Control.ID = int64(i + 1)
		a.Control.Title = fmt.Sprintf("Control number %d of a long catalog", i+1)
		if err := w.Write(ChecklistRow(wl, "Azure chart", a)); err != nil {
			tb.Fatal(err)
		}
		if sampleEvery > 0 && (i+1)%sampleEvery == 0 {
			sample((i+1)%(sampleEvery*4) == 0)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	st.elapsed = time.Since(start)
	sample(true)
	st.bytes = out.n
	return st
}

const mib = 1 << 20

// TestExportStreamsInConstantMemory: writing 200,000 rows keeps about as
// much heap as writing 20,000: neither encoder holds the rows. XLSX keeps
// up to excelize's 16 MiB chunk of sheet XML in memory, then spills to a
// temporary file, which Close removes.
func TestExportStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 440,000 rows")
	}
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "excelize-*"))
	for _, tc := range []struct {
		f     Format
		limit uint64 // live heap ceiling, MiB
	}{{CSV, 4}, {XLSX, 48}} {
		// The small file must already fill excelize's 16 MiB chunk (about
		// 16,000 rows), or the comparison measures the chunk filling up.
		n, m := 200_000, 20_000
		if raceEnabled { // several times slower, and with more heap of its own
			n = 40_000
			tc.limit += 6
		}
		small := streamChecklist(t, tc.f, m, 5_000)
		big := streamChecklist(t, tc.f, n, 5_000)
		t.Logf("%s: %d rows: %.1f MiB out, live heap ≤ %.1f MiB; %d rows: %.1f MiB out in %v, live heap ≤ %.1f MiB, heap in use ≤ %.1f MiB",
			tc.f, m, float64(small.bytes)/mib, float64(small.peakLive)/mib,
			n, float64(big.bytes)/mib, big.elapsed.Round(time.Millisecond), float64(big.peakLive)/mib, float64(big.peakHeap)/mib)
		if big.peakLive > tc.limit*mib {
			t.Errorf("%s: %d rows kept %.1f MiB of heap, over %d MiB", tc.f, n, float64(big.peakLive)/mib, tc.limit)
		}
		// Ten times the rows may not cost anywhere near ten times the heap
		// (the XLSX buffer only fills up with the bigger file).
		if big.peakLive > small.peakLive+8*mib {
			t.Errorf("%s: heap grew with the rows: %.1f MiB for %d rows, %.1f MiB for %d", tc.f, float64(small.peakLive)/mib, m, float64(big.peakLive)/mib, n)
		}
		if big.bytes*int64(m) < small.bytes*int64(n)*9/10 {
			t.Errorf("%s: %d rows gave %d bytes, %d gave %d", tc.f, n, big.bytes, m, small.bytes)
		}
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "excelize-*"))
	if len(after) > len(before) {
		t.Errorf("temporary files left behind: %v", after)
	}
}

// BenchmarkExport writes 200,000 checklist rows per op and reports rows/s
// and the heap: go test -run '^$' -bench Export -benchtime 1x ./exchange/
func BenchmarkExport(b *testing.B) {
	const rows = 200_000
	for _, f := range []Format{CSV, XLSX} {
		b.Run(string(f), func(b *testing.B) {
			var st streamStats
			var r0, r1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
			for b.Loop() {
				s := streamChecklist(b, f, rows, 10_000)
				st.elapsed += s.elapsed
				st.peakHeap = max(st.peakHeap, s.peakHeap)
				st.peakLive = max(st.peakLive, s.peakLive)
				st.bytes = s.bytes
			}
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
			cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
			b.ReportMetric(float64(rows*b.N)/st.elapsed.Seconds(), "rows/s")
			// CPU time, GC included: steadier than rows/s on a shared machine.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(st.peakHeap)/mib, "peak-heap-MiB")
			b.ReportMetric(float64(st.peakLive)/mib, "live-heap-MiB")
			b.ReportMetric(float64(st.bytes)/mib, "file-MiB")
		})
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/srmhq/srm"
)

// bulkRows is how many rows one bulk action changes.
const bulkRows = 50

// bulkWorkload is a workload the bulk action row changes: 50 controls it
// counts, with the version and owner of each as a page would show them.
type bulkWorkload struct {
	id       int64
	controls []int64
	versions []int64
	owners   []int64
}

// bulkSet hands out the bulk action's workloads, one request at a time
// each (as controls does for single saves), so that every version sent is
// the one stored and every action changes all 50 rows.
type bulkSet struct {
	mu   sync.Mutex
	list []*bulkWorkload
	free []int
	busy map[string]bulkTake // request path to what it sent (one request per workload at a time)
}

type bulkTake struct {
	i     int
	owner int64
}

// loadBulk picks up to 200 workloads not in skip with at least bulkRows
// counted controls, for the bulk action row.
func loadBulk(ctx context.Context, pool *pgxpool.Pool, d *benchData, skip map[int64]bool) (*bulkSet, error) {
	var ids []int64
	for _, i := range d.rnd.Perm(len(d.workloads)) {
		if w := d.workloads[i]; !skip[w] {
			ids = append(ids, w)
		}
		if len(ids) == 200 {
			break
		}
	}
	rows, _ := pool.Query(ctx, `
		SELECT a.workload_id, a.control_id, COALESCE(s.version, 0), COALESCE(s.owner_id, 0) FROM assignments a
		LEFT JOIN statuses s USING (workload_id, control_id)
		WHERE a.workload_id = ANY($1) AND a.counted
		ORDER BY 1, 2`, ids)
	by := map[int64]*bulkWorkload{}
	var wid, cid, ver, owner int64
	if _, err := pgx.ForEachRow(rows, []any{&wid, &cid, &ver, &owner}, func() error {
		b := by[wid]
		if b == nil {
			b = &bulkWorkload{id: wid}
			by[wid] = b
		}
		if len(b.controls) < bulkRows {
			b.controls, b.versions, b.owners = append(b.controls, cid), append(b.versions, ver), append(b.owners, owner)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load the bulk action's workloads: %w", err)
	}
	s := &bulkSet{busy: map[string]bulkTake{}}
	for _, id := range ids {
		if b := by[id]; b != nil && len(b.controls) == bulkRows {
			s.free = append(s.free, len(s.list))
			s.list = append(s.list, b)
		}
	}
	if len(s.list) < 32 {
		return nil, fmt.Errorf("only %d workloads have %d controls to change", len(s.list), bulkRows)
	}
	return s, nil
}

// take builds the form of a bulk action on a free workload: assign its 50
// rows to a random owner, each from the version stored.
func (s *bulkSet) take(d *benchData, ownerIDs []int64) (string, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := d.intn(len(s.free))
	i := s.free[k]
	s.free[k] = s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	b := s.list[i]
	// Any owner: the rows it already owns stay as they are (srm writes
	// nothing for them), the others get a new version (done).
	owner := ownerIDs[d.intn(len(ownerIDs))]
	form := url.Values{"action": {"owner"}, "owner_id": {strconv.FormatInt(owner, 10)}}
	for j, c := range b.controls {
		form.Add("select", strconv.FormatInt(c, 10))
		form.Add("ver", fmt.Sprintf("%d:%d", c, b.versions[j]))
	}
	path := fmt.Sprintf("/workloads/%d/bulk", b.id)
	s.busy[path] = bulkTake{i: i, owner: owner}
	return path, []byte(form.Encode())
}

// done gives the workload back; a saved action made a new version of
// every row, with the new owner.
func (s *bulkSet) done(u string, saved bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, err := url.Parse(u); err == nil {
		u = p.Path
	}
	t, ok := s.busy[u]
	if !ok {
		return
	}
	delete(s.busy, u)
	if saved {
		b := s.list[t.i]
		for j := range b.versions {
			if b.owners[j] != t.owner {
				b.versions[j]++
				b.owners[j] = t.owner
			}
		}
	}
	s.free = append(s.free, t.i)
}

// pageSize is the size of one signed-in workload page, unfiltered.
func pageSize(ctx context.Context, base string, auth http.Header, id int64) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/workloads/%d", base, id), nil)
	if err != nil {
		return 0, err
	}
	req.Header = auth.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /workloads/%d: status %d", id, resp.StatusCode)
	}
	return int(n), err
}

// importRun is a framework imported while pages are served.
type importRun struct {
	slug    string
	took    time.Duration
	pages   row // the workload pages served meanwhile
	skipped bool
}

// importWhileServing imports the framework slug with `srm framework import
// --builtin` while o.workers clients load random workload pages, and
// returns how long the import took and how the pages fared meanwhile.
func importWhileServing(ctx context.Context, o options, cmd *exec.Cmd, t target, cpu func() cpuSample) (importRun, error) {
	run := importRun{slug: o.importSlug}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.workers, DisableCompression: true, ReadBufferSize: 128 << 10}}
	defer client.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(o.workers)), vegeta.MaxWorkers(uint64(o.workers)),
		vegeta.Redirects(vegeta.NoFollow), vegeta.Timeout(30*time.Second), vegeta.MaxBody(0))
	r := row{name: t.name}
	var m vegeta.Metrics
	finished := make(chan struct{})
	before := cpu()
	go func() {
		defer close(finished)
		for res := range atk.Attack(t.next, vegeta.ConstantPacer{}, 10*time.Minute, t.name) {
			m.Add(res)
			if res.Error != "" || int(res.Code) != t.want {
				r.errors++
				if r.example == "" {
					r.example = fmt.Sprintf("%s %s: %d %s", res.Method, res.URL, res.Code, res.Error)
				}
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // pages are being served when the import starts
	start := time.Now()
	out, err := cmd.CombinedOutput()
	run.took = time.Since(start)
	time.Sleep(500 * time.Millisecond)
	atk.Stop()
	<-finished
	if err != nil {
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		return run, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	m.Close()
	r.m, r.cpu = m, cpu().since(before)
	run.pages = r
	return run, nil
}

// exportRun is one download of the whole portfolio.
type exportRun struct {
	name    string
	took    time.Duration
	bytes   int64
	peakRSS int64 // srm's VmHWM during the download alone
	err     error
}

// export downloads path once, signed in, after resetting srm's peak RSS
// (clear_refs 5), so that peakRSS is the download's own.
func export(ctx context.Context, base, path string, auth http.Header, pid int) exportRun {
	x := exportRun{name: "GET " + path}
	resetHWM(pid)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		x.err = err
		return x
	}
	req.Header = auth.Clone()
	start := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		x.err = err
		return x
	}
	x.bytes, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	x.took = time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	x.err = err
	x.peakRSS, _ = vmHWM(pid)
	return x
}

// resetHWM resets the peak RSS of process pid to its current RSS.
func resetHWM(pid int) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// layerOf is a random layer, for the filtered checklist.
func layerOf(d *benchData) srm.Layer { return srm.Layers[d.intn(len(srm.Layers))] }

// profiler returns what attack calls as an endpoint's measured load starts:
// with -cpuprofile, it asks srm (a build with -tags srmbench) for a CPU
// profile covering the load and writes it to <folder>/<endpoint>.pprof;
// the function it returns waits for that. Without -cpuprofile it does
// nothing.
func profiler(o options, base, endpoint string, stderr io.Writer) func(time.Duration) func() {
	if o.cpuprofile == "" {
		return func(time.Duration) func() { return func() {} }
	}
	return func(d time.Duration) func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			secs := max(1, int(d/time.Second)-1) // inside the load, not past its end
			if err := saveProfile(base, secs, filepath.Join(o.cpuprofile, profileName(endpoint))); err != nil {
				fmt.Fprintln(stderr, "srmbench: CPU profile of", endpoint+":", err)
			}
		}()
		return func() { <-done }
	}
}

// profileName is a file name for an endpoint's profile: "workload page,
// one layer" becomes "workload-page-one-layer.pprof".
func profileName(endpoint string) string {
	f := strings.FieldsFunc(strings.ToLower(endpoint), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	return strings.Join(f, "-") + ".pprof"
}

// saveProfile fetches srm's CPU profile over secs seconds into path.
func saveProfile(base string, secs int, path string) error {
	resp, err := http.Get(fmt.Sprintf("%s/_bench/pprof/profile?seconds=%d", base, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_bench/pprof/profile: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

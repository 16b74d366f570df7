// Command srmbench measures srm under a bounded load on loopback and checks
// it against the performance budgets in docs/performance.md.
//
//	DATABASE_URL=... srmbench [-srm bin/srm-bench] [-workloads 10000] [-duration 10s] [-check]
//
// It creates a fresh database (-db, default srm_bench) on the server that
// DATABASE_URL points at, refusing to run if that database exists; runs
// `srm migrate` and `srm seed`; starts `srm serve` (a binary built with
// -tags srmbench, which has the benchmark endpoints) on a free port of
// 127.0.0.1; times start-up to /readyz; drives the ceiling handler, the
// portfolio, the workload page, the API's workload read and completing a
// control in turn, each with a fixed number of concurrent clients at maximum rate for
// a fixed time after a short warm-up; and prints a table, with the CPU each
// request cost srm, PostgreSQL and the load generator, read from /proc. On
// exit, also on Ctrl-C, it stops srm and drops the database. `make bench`
// runs it against a throwaway PostgreSQL cluster.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	// vegeta, as a library, is the load generator: a fixed pool of workers
	// at maximum rate (a closed loop, like N people clicking as fast as the
	// server answers), every latency in a t-digest for p50/p99, and nothing
	// to install on the machine. It costs more CPU than wrk in-process, so
	// compare only ratios measured in one run.
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/srmhq/srm/web"
)

// Budgets, as the issues state them (docs/performance.md). The workload
// page holds every control of srm's catalog and NIST SP 800-53 Moderate.
const (
	budgetSeed          = 90 * time.Second
	budgetPortfolioP99  = 50 * time.Millisecond
	budgetWorkloadP99   = 50 * time.Millisecond
	budgetWorkloadSize  = 150 << 10
	budgetFilteredP99   = 30 * time.Millisecond
	budgetCompleteP99   = 30 * time.Millisecond
	budgetBulkP99       = 200 * time.Millisecond
	budgetPeakRSS       = 150 << 20
	budgetStartup       = time.Second
	budgetImport        = 30 * time.Second
	budgetExportPeakRSS = 150 << 20
)

var errBudget = errors.New("budgets missed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil // before stop, which cancels ctx too
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case interrupted:
		fmt.Fprintln(os.Stderr, "srmbench: interrupted; srm stopped and the database dropped")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "srmbench:", err)
		os.Exit(1)
	}
}

type options struct {
	srm       string
	db        string
	workloads int
	seed      uint64
	workers   int
	duration  time.Duration
	warmup    time.Duration
	check     bool

	framework  string // held by every seeded workload besides srm's own
	importSlug string // imported while pages are served

	only       *regexp.Regexp // endpoints to measure (nil: all, with the import and exports)
	reuse      bool           // use the database -db when it exists, and keep it
	cpuprofile string         // folder for a CPU profile of srm per endpoint measured
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("srmbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.srm, "srm", "", "srm binary to run, built with -tags srmbench (default: build ./cmd/srm so, into a temporary folder)")
	fs.StringVar(&o.db, "db", "srm_bench", "database to create on DATABASE_URL's server, and drop at the end")
	fs.IntVar(&o.workloads, "workloads", 10000, "synthetic workloads to seed")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed for the data and the requests")
	fs.IntVar(&o.workers, "workers", 16, "concurrent clients per endpoint")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured load per endpoint")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load per endpoint before it")
	fs.BoolVar(&o.check, "check", false, "exit 1 when a budget is missed")
	fs.StringVar(&o.framework, "framework", "nist-800-53-rev5-moderate", "built-in framework every seeded workload also holds (empty: srm's own catalog only)")
	fs.StringVar(&o.importSlug, "import", "nist-800-53-rev5-high", "built-in framework imported while pages are served (empty: skip)")
	fs.Func("only", "measure only the endpoints whose name matches this regular expression (and the ceiling); skips the import and the exports, and the budgets of rows not measured", func(v string) (err error) {
		o.only, err = regexp.Compile(v)
		return err
	})
	fs.BoolVar(&o.reuse, "reuse", false, "when the database -db exists, measure it as it is (migrated, not seeded again) and keep it; when it does not, create and seed it, and keep it")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "folder to write a CPU profile of srm into for each endpoint measured (<endpoint>.pprof; read with go tool pprof)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: DATABASE_URL=... srmbench [flags]   (see `make bench`)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || o.workloads <= 0 || o.workers <= 0 || o.duration <= 0 || o.warmup < 0 {
		fs.Usage()
		return errors.New("bad arguments")
	}
	adminURL := getenv("DATABASE_URL")
	if adminURL == "" {
		return errors.New("DATABASE_URL is not set: a server where srmbench may create a database")
	}

	tmp, err := os.MkdirTemp("", "srmbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin := o.srm
	if bin == "" {
		bin = filepath.Join(tmp, "srm")
		fmt.Fprintln(stderr, "srmbench: building ./cmd/srm")
		if err := runQuiet(ctx, exec.CommandContext(ctx, "go", "build", "-tags", "srmbench", "-o", bin, "./cmd/srm")); err != nil {
			return err
		}
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("srm binary: %w", err)
	}

	dbURL, created, err := createDatabase(ctx, adminURL, o.db, o.reuse)
	if err != nil {
		return err
	}
	if !o.reuse {
		defer func() {
			if err := dropDatabase(adminURL, o.db); err != nil {
				fmt.Fprintln(stderr, "srmbench:", err)
			}
		}()
	}
	env := append(os.Environ(), "DATABASE_URL="+dbURL)

	srmCmd := func(args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env
		c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
		c.WaitDelay = 10 * time.Second
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return c
	}
	if err := runQuiet(ctx, srmCmd("migrate")); err != nil {
		return err
	}
	var seedTime time.Duration
	if created {
		fmt.Fprintf(stderr, "srmbench: seeding %d workloads\n", o.workloads)
		if seedTime, err = seedDatabase(ctx, o, srmCmd); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "srmbench: seeded in %s\n", seedTime.Round(10*time.Millisecond))
	} else {
		fmt.Fprintf(stderr, "srmbench: measuring the database %s as it is (-reuse)\n", o.db)
	}
	if created {
		// Pages are measured signed in, as a person uses them: an editor,
		// who may complete controls.
		add := srmCmd("user", "add", "--email", benchEmail, "--role", "editor")
		add.Stdin = strings.NewReader(benchPassword + "\n")
		if err := runQuiet(ctx, add); err != nil {
			return err
		}
	}
	// The API is measured with a read-only token of the same account.
	var tokenOut bytes.Buffer
	tok := srmCmd("token", "add", "--email", benchEmail, "--name", "srmbench")
	tok.Stdout = &tokenOut
	if err := tok.Run(); err != nil {
		return fmt.Errorf("srm token add: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(tokenOut.String()), "\n")
	apiAuth := http.Header{"Authorization": {"Bearer " + lines[len(lines)-1]}}

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	data, err := loadData(ctx, pool, o.seed)
	if err != nil {
		return err
	}

	// Start-up: from launching serve (migrations applied) to /readyz 200.
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	base := "http://" + addr
	logPath := filepath.Join(tmp, "srm.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	serve := exec.Command(bin, "serve")
	// The bench database is throwaway and DATABASE_URL's role made it: serve
	// as that role, as SRM_ALLOW_OWNER_ROLE allows for one-off use.
	// One token drives the API row at full speed: lift its rate limit.
	serve.Env = slices.Concat(env, []string{"SRM_ADDR=" + addr, "SRM_ALLOW_OWNER_ROLE=1", "SRM_API_RATE_LIMIT=10000000"})
	serve.Stdout, serve.Stderr = logFile, logFile
	serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	launched := time.Now()
	if err := serve.Start(); err != nil {
		return err
	}
	srv := watch(serve)
	defer srv.stop()
	if err := waitReady(ctx, base, srv); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(logPath, 20))
	}
	startup := time.Since(launched)
	if code, err := get(ctx, base+"/_bench/ceiling"); err != nil || code != http.StatusOK {
		return fmt.Errorf("GET /_bench/ceiling: %d %v: is %s an srm built with -tags srmbench (as make bench builds it)?", code, err, bin)
	}

	auth, err := signIn(ctx, base)
	if err != nil {
		return err
	}

	postmaster, err := postmasterPID(ctx, pool)
	if err != nil {
		fmt.Fprintln(stderr, "srmbench: PostgreSQL's CPU is not measured:", err)
	}
	sample := func() cpuSample { return sampleCPU(os.Getpid(), serve.Process.Pid, postmaster) }
	size, err := pageSize(ctx, base, auth, data.workloads[0])
	if err != nil {
		return err
	}
	ts := targets(base, data, auth, apiAuth)
	if o.only != nil {
		ts = slices.DeleteFunc(ts, func(t target) bool { return t.name != ts[0].name && !o.only.MatchString(t.name) })
	}
	fmt.Fprintf(stderr, "srmbench: srm ready in %s; %d endpoints × (%s warm-up + %s) at %d clients\n",
		startup.Round(time.Millisecond), len(ts), o.warmup, o.duration, o.workers)
	rows := make([]row, 0, len(ts))
	for _, t := range ts {
		r, err := attack(ctx, t, o, sample, profiler(o, base, t.name, stderr))
		if err != nil {
			return err
		}
		if srv.exited() {
			return fmt.Errorf("srm exited during %s\n%s", t.name, tail(logPath, 20))
		}
		if r.peakRSS, err = vmHWM(serve.Process.Pid); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "srmbench: %-20s %8.0f req/s  p99 %s\n", t.name, r.m.Rate, ms(r.m.Latencies.P99))
		rows = append(rows, r)
	}
	var imp importRun
	if o.importSlug != "" && o.only == nil {
		fmt.Fprintf(stderr, "srmbench: importing %s while serving workload pages\n", o.importSlug)
		if imp, err = importWhileServing(ctx, o, srmCmd("framework", "import", "--builtin", o.importSlug), ts[slices.IndexFunc(ts, func(t target) bool { return t.name == "workload page" })], sample); err != nil {
			return err
		}
		if imp.pages.peakRSS, err = vmHWM(serve.Process.Pid); err != nil {
			return err
		}
	}
	// Exports last: each resets srm's peak RSS to measure its own.
	var exports []exportRun
	for _, path := range []string{"/portfolio.csv", "/portfolio.xlsx"} {
		if o.only != nil {
			break
		}
		x := export(ctx, base, path, auth, serve.Process.Pid)
		fmt.Fprintf(stderr, "srmbench: %s: %s, %d bytes, peak RSS %s, %v\n", x.name, x.took.Round(time.Millisecond), x.bytes, mib(x.peakRSS), x.err)
		exports = append(exports, x)
	}
	srv.stop()
	// The form names an owner; a name srm did not know would have added one.
	var owners int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM owners`).Scan(&owners); err != nil {
		return err
	}

	rep := report{o: o, data: data, seedTime: seedTime, startup: startup, rows: rows,
		ownersAdded: owners - len(data.owners), pageSize: size, imported: imp, exports: exports}
	rep.print(stdout)
	if !rep.budgetsHold() && o.check {
		return errBudget
	}
	return nil
}

// runQuiet runs c, showing its output only when it fails.
func runQuiet(ctx context.Context, c *exec.Cmd) error {
	out, err := c.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(c.Args, " "), err, out)
	}
	return nil
}

// createDatabase creates database name on adminURL's server and returns a
// URL for it, and whether it created it. It refuses to touch a database
// that already exists, unless reuse is set.
func createDatabase(ctx context.Context, adminURL, name string, reuse bool) (string, bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", false, fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", false, err
	}
	switch {
	case exists && reuse:
		return withDatabase(adminURL, name), false, nil
	case exists:
		return "", false, fmt.Errorf("database %q exists; srmbench only uses a database it creates: drop it, pass -db, or pass -reuse to measure it as it is", name)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", false, fmt.Errorf("create database: %w", err)
	}
	return withDatabase(adminURL, name), true, nil
}

// seedDatabase imports o's framework and seeds o's workloads with srm's
// own commands, and returns how long the seed took.
func seedDatabase(ctx context.Context, o options, srmCmd func(args ...string) *exec.Cmd) (time.Duration, error) {
	seedArgs := []string{"seed", "--workloads", strconv.Itoa(o.workloads), "--seed", strconv.FormatUint(o.seed, 10)}
	if o.framework != "" {
		if err := runQuiet(ctx, srmCmd("framework", "import", "--builtin", o.framework)); err != nil {
			return 0, err
		}
		seedArgs = append(seedArgs, "--framework", o.framework)
	}
	start := time.Now()
	if err := runQuiet(ctx, srmCmd(seedArgs...)); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func dropDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	return nil
}

// withDatabase returns the connection string dsn with its database set to
// name, for a URL (postgres://…/db?…) or a keyword/value string.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Del("dbname")
		u.Path, u.RawPath, u.RawQuery = "/"+name, "", q.Encode()
		return u.String()
	}
	return dsn + " dbname=" + name // the last keyword wins
}

// benchData is what the requests pick from.
type benchData struct {
	workloads []int64   // every workload id
	owners    []string  // every owner's name
	ownerIDs  []int64   // and their ids
	controls  *controls // controls to complete
	bulk      *bulkSet  // workloads for bulk actions
	statuses  int
	pgVersion string
	rnd       *rand.Rand
	mu        sync.Mutex
}

func loadData(ctx context.Context, pool *pgxpool.Pool, seed uint64) (*benchData, error) {
	d := &benchData{rnd: rand.New(rand.NewPCG(seed, seed^0xbe4c))}
	rows, _ := pool.Query(ctx, `SELECT id FROM workloads ORDER BY id`)
	ws, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("load workloads: %w", err)
	}
	rows, _ = pool.Query(ctx, `SELECT name FROM owners ORDER BY id`)
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("load owners: %w", err)
	}
	rows, _ = pool.Query(ctx, `SELECT id FROM owners ORDER BY id`)
	if d.ownerIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return nil, fmt.Errorf("load owners: %w", err)
	}
	if len(ws) == 0 || len(owners) == 0 {
		return nil, errors.New("the seeded database has no workloads or no owners")
	}
	d.workloads, d.owners = ws, owners
	// Controls to complete: those that count, as the engine decided and the
	// assignments table holds, on a thousand random workloads.
	sample := make([]int64, min(1000, len(ws)))
	for i := range sample {
		sample[i] = ws[d.rnd.IntN(len(ws))]
	}
	rows, _ = pool.Query(ctx, `
		SELECT a.workload_id, a.control_id, COALESCE(s.version, 0) FROM assignments a
		LEFT JOIN statuses s USING (workload_id, control_id)
		WHERE a.workload_id = ANY($1) AND a.counted
		ORDER BY 1, 2`, sample)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (control, error) {
		var c control
		err := r.Scan(&c.workload, &c.control, &c.version)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("load assignments: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("no control is the customer's or shared")
	}
	d.controls = &controls{list: list, free: make([]int, len(list)), busy: map[string]int{}}
	for i := range d.controls.free {
		d.controls.free[i] = i
	}
	// Bulk actions on other workloads than single saves, so that neither
	// moves a version the other sends.
	skip := map[int64]bool{}
	for _, w := range sample {
		skip[w] = true
	}
	if d.bulk, err = loadBulk(ctx, pool, d, skip); err != nil {
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM statuses`).Scan(&d.statuses); err != nil {
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SHOW server_version`).Scan(&d.pgVersion); err != nil {
		return nil, err
	}
	return d, nil
}

// intn is a random number below n, safe for vegeta's workers.
func (d *benchData) intn(n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rnd.IntN(n)
}

// controls hands out the controls to complete, each with the version of
// its status that a person would have seen on the page (the form sends it;
// srm refuses a save from an older version). A control is out with one
// request at a time, so the only refusals would be srm's mistakes.
type controls struct {
	mu   sync.Mutex
	list []control
	free []int          // indexes into list of the controls not in flight
	busy map[string]int // request URL to index, in flight
}

type control struct{ workload, control, version int64 }

// take picks a random control that no request is saving.
func (cs *controls) take(d *benchData, base string) (u string, c control) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.free) == 0 { // cannot happen with more controls than clients
		panic("srmbench: every control is in flight")
	}
	k := d.intn(len(cs.free))
	i := cs.free[k]
	cs.free[k] = cs.free[len(cs.free)-1]
	cs.free = cs.free[:len(cs.free)-1]
	c = cs.list[i]
	u = fmt.Sprintf("%s/workloads/%d/controls/%d", base, c.workload, c.control)
	cs.busy[u] = i
	return u, c
}

// done gives back the control that request u was for; a save makes a new
// version.
func (cs *controls) done(u string, saved bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	i, ok := cs.busy[u]
	if !ok {
		return
	}
	delete(cs.busy, u)
	if saved {
		cs.list[i].version++
	}
	cs.free = append(cs.free, i)
}

type target struct {
	name string
	want int // the status code that counts as success
	next vegeta.Targeter
	done func(*vegeta.Result) // called for every result, if set
}

// The account the benchmark signs in as.
const (
	benchEmail    = "bench@example.com"
	benchPassword = "benchmark password, long enough"
)

// signIn signs in to srm at base as the bench account and returns the
// headers that make a request part of that session: its cookie, and its
// anti-forgery token for forms.
func signIn(ctx context.Context, base string) (http.Header, error) {
	noFollow := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/signin",
		strings.NewReader(url.Values{"email": {benchEmail}, "password": {benchPassword}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil {
		return nil, fmt.Errorf("sign in as %s: status %d, no session cookie", benchEmail, resp.StatusCode)
	}
	h := http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		return nil, err
	}
	req.Header = h.Clone()
	resp, err = noFollow.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("GET / signed in: status %d and no anti-forgery token", resp.StatusCode)
	}
	h.Set("X-CSRF-Token", string(m[1]))
	return h, nil
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func targets(base string, d *benchData, auth, apiAuth http.Header) []target {
	pages := (len(d.workloads) + 49) / 50
	sorts := []string{"name", "progress", "-progress"}
	form := auth.Clone()
	form.Set("Content-Type", "application/x-www-form-urlencoded")
	return []target{
		{name: "ceiling (SELECT 1)", want: http.StatusOK, next: vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: base + "/_bench/ceiling"})},
		{name: "portfolio /", want: http.StatusOK, next: vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: base + "/", Header: auth})},
		{name: "portfolio, next page", want: http.StatusOK, next: func(t *vegeta.Target) error {
			// A Next link from anywhere in the list, in any of the three
			// orders: a page after a random workload (keyset paging).
			t.Method, t.Header = "GET", auth
			t.URL = fmt.Sprintf("%s/?sort=%s&page=%d&after=%d", base, sorts[d.intn(len(sorts))], 2+d.intn(pages-1),
				d.workloads[d.intn(len(d.workloads))])
			return nil
		}},
		{name: "portfolio, page by number", want: http.StatusOK, next: func(t *vegeta.Target) error {
			// Any page of 50 typed into the address bar: no budget, but
			// deep pages show what OFFSET costs.
			t.Method, t.Header = "GET", auth
			t.URL = fmt.Sprintf("%s/?sort=%s&page=%d", base, sorts[d.intn(len(sorts))], 1+d.intn(pages))
			return nil
		}},
		{name: "workload page", want: http.StatusOK, next: func(t *vegeta.Target) error {
			t.Method, t.Header = "GET", auth
			t.URL = fmt.Sprintf("%s/workloads/%d", base, d.workloads[d.intn(len(d.workloads))])
			return nil
		}},
		{name: "workload page, one layer", want: http.StatusOK, next: func(t *vegeta.Target) error {
			// The checklist filtered to one layer, as its layer links do.
			t.Method, t.Header = "GET", auth
			t.URL = fmt.Sprintf("%s/workloads/%d?layer=%s", base, d.workloads[d.intn(len(d.workloads))], layerOf(d))
			return nil
		}},
		{name: "workload page, not rendered", want: http.StatusOK, next: func(t *vegeta.Target) error {
			// The same, up to the HTML: session, workload, assessment.
			t.Method, t.Header = "GET", auth
			t.URL = fmt.Sprintf("%s/_bench/workload/%d", base, d.workloads[d.intn(len(d.workloads))])
			return nil
		}},
		{name: "API workload read", want: http.StatusOK, next: func(t *vegeta.Target) error {
			// GET /api/v1/workloads/{id} with a token: the token's check,
			// the workload, its assessment, as JSON.
			t.Method, t.Header = "GET", apiAuth
			t.URL = fmt.Sprintf("%s/api/v1/workloads/%d", base, d.workloads[d.intn(len(d.workloads))])
			return nil
		}},
		{name: "complete a control", want: http.StatusSeeOther, next: func(t *vegeta.Target) error {
			// The form without htmx, naming an existing owner: saved, then
			// 303 back to the control.
			u, c := d.controls.take(d, base)
			t.Method, t.URL, t.Header = "POST", u, form
			t.Body = []byte(url.Values{
				"owner":    {d.owners[d.intn(len(d.owners))]},
				"complete": {"1"},
				"version":  {strconv.FormatInt(c.version, 10)},
			}.Encode())
			return nil
		}, done: func(r *vegeta.Result) { d.controls.done(r.URL, r.Code == http.StatusSeeOther) }},
		{name: "bulk action, 50 rows", want: http.StatusSeeOther, next: func(t *vegeta.Target) error {
			// The checklist's bulk form without htmx: 50 ticked rows
			// assigned to an owner, each from the version the page showed.
			path, body := d.bulk.take(d, d.ownerIDs)
			t.Method, t.URL, t.Header, t.Body = "POST", base+path, form, body
			return nil
		}, done: func(r *vegeta.Result) { d.bulk.done(r.URL, r.Code == http.StatusSeeOther) }},
	}
}

// row is one endpoint's result.
type row struct {
	name    string
	m       vegeta.Metrics
	errors  int
	example string // one error, to say what went wrong
	peakRSS int64
	cpu     cpuSample // CPU used while measured
}

// attack runs t with o.workers clients at maximum rate: o.warmup unmeasured,
// then o.duration measured, on the same kept-alive connections.
func attack(ctx context.Context, t target, o options, cpu func() cpuSample, profile func(time.Duration) func()) (row, error) {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: o.workers,
		DisableCompression:  true,
		// Read a response in one or two system calls, not in 4 KB pieces:
		// the generator shares the CPUs it measures.
		ReadBufferSize: 128 << 10,
	}}
	defer client.CloseIdleConnections()
	r := row{name: t.name}
	for _, phase := range []struct {
		d       time.Duration
		measure bool
	}{{o.warmup, false}, {o.duration, true}} {
		if phase.d == 0 {
			continue
		}
		atk := vegeta.NewAttacker(
			vegeta.Client(client), // first: the options below change it
			vegeta.Workers(uint64(o.workers)),
			vegeta.MaxWorkers(uint64(o.workers)),
			vegeta.Redirects(vegeta.NoFollow), // measure the 303 itself
			vegeta.Timeout(10*time.Second),
			vegeta.MaxBody(0), // read and discard the body
		)
		stop := context.AfterFunc(ctx, func() { atk.Stop() })
		profiled := func() {}
		if phase.measure {
			profiled = profile(phase.d)
		}
		before := cpu()
		var m vegeta.Metrics
		for res := range atk.Attack(t.next, vegeta.ConstantPacer{}, phase.d, t.name) { // rate 0: as fast as answered
			if t.done != nil {
				t.done(res)
			}
			if !phase.measure {
				continue
			}
			m.Add(res)
			if res.Error != "" || int(res.Code) != t.want {
				r.errors++
				if r.example == "" {
					r.example = fmt.Sprintf("%s %s: %d %s", res.Method, res.URL, res.Code, res.Error)
				}
			}
		}
		stop()
		profiled()
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		m.Close()
		r.m, r.cpu = m, cpu().since(before)
	}
	return r, nil
}

// server watches the srm serve child.
type server struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func watch(cmd *exec.Cmd) *server {
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	return s
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop shuts srm down gracefully, or kills it after 15 seconds.
func (s *server) stop() {
	s.once.Do(func() {
		if s.exited() {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, base string, srv *server) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if srv.exited() {
			return errors.New("srm serve exited before it was ready")
		}
		if code, _ := get(ctx, base+"/readyz"); code == http.StatusOK {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
	return errors.New("srm serve was not ready within 30 seconds")
}

// probe follows no redirect: an srm built without -tags srmbench answers
// /_bench/ceiling with a redirect to its sign-in page, which must not pass
// for the ceiling.
var probe = &http.Client{Timeout: time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(ctx context.Context, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := probe.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// vmHWM is the peak resident set size of process pid, in bytes.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc status")
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return "---- srm log ----\n" + strings.Join(lines[max(0, len(lines)-n):], "\n")
}

type report struct {
	o        options
	data     *benchData
	seedTime time.Duration
	startup  time.Duration
	rows     []row

	ownersAdded int // by completing controls: should be none
	pageSize    int // bytes of one unfiltered workload page
	imported    importRun
	exports     []exportRun
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d workloads, %d statuses; %d clients per endpoint, %s each after %s warm-up; "+
		"%d CPUs, %s, PostgreSQL %s\n\n", len(r.data.workloads), r.data.statuses, r.o.workers, r.o.duration,
		r.o.warmup, runtime.NumCPU(), runtime.Version(), r.data.pgVersion)
	fw := "srm's own catalog"
	if r.o.framework != "" {
		fw += " and " + r.o.framework
	}
	fmt.Fprintf(w, "every workload holds %s\n\n", fw)
	fmt.Fprintf(w, "seed: %s   start-up to /readyz 200: %s   workload page: %.1f KB\n\n", r.seedTime.Round(10*time.Millisecond),
		r.startup.Round(time.Millisecond), float64(r.pageSize)/1024)
	fmt.Fprintln(w, "| endpoint | req/s | p50 | p99 | ratio to ceiling | errors | peak RSS |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	ceiling := r.rows[0].m.Rate
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %.2f | %d | %s |\n", x.name, x.m.Rate, ms(x.m.Latencies.P50),
			ms(x.m.Latencies.P99), x.m.Rate/ceiling, x.errors, mib(x.peakRSS))
	}
	fmt.Fprintln(w, "\npeak RSS is srm's VmHWM after each endpoint: the high-water mark so far.")
	fmt.Fprintln(w, "\nCPU per request (what a request costs, and where), and the share of the machine other processes took:")
	fmt.Fprintln(w, "\n| endpoint | srm | PostgreSQL | load generator | other processes |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for _, x := range r.rows {
		n := float64(x.m.Requests)
		pg := "n/a"
		if x.cpu.pgOK {
			pg = ms(time.Duration(float64(x.cpu.postgres) / n))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f%% |\n", x.name, ms(time.Duration(float64(x.cpu.srm)/n)), pg,
			ms(time.Duration(float64(x.cpu.self)/n)), 100*x.cpu.otherShare())
	}
	if im := r.imported; im.slug != "" {
		p := im.pages
		fmt.Fprintf(w, "\nimporting %s took %s while %d clients loaded workload pages: %d pages, %.0f req/s, p50 %s, p99 %s, max %s, %d errors\n",
			im.slug, im.took.Round(10*time.Millisecond), r.o.workers, p.m.Requests, p.m.Rate, ms(p.m.Latencies.P50),
			ms(p.m.Latencies.P99), ms(p.m.Latencies.Max), p.errors)
	}
	if len(r.exports) > 0 {
		fmt.Fprintln(w, "\n| export | time | size | srm's peak RSS during it |")
		fmt.Fprintln(w, "|---|--:|--:|--:|")
		for _, x := range r.exports {
			fmt.Fprintf(w, "| %s | %s | %.1f MB | %s |\n", x.name, x.took.Round(10*time.Millisecond), float64(x.bytes)/1e6, mib(x.peakRSS))
		}
	}
	for _, x := range append(slices.Clone(r.rows), r.imported.pages) {
		if x.example != "" {
			fmt.Fprintf(w, "errors on %s, for example: %s\n", x.name, x.example)
		}
	}
	for _, x := range r.exports {
		if x.err != nil {
			fmt.Fprintf(w, "%s failed: %v\n", x.name, x.err)
		}
	}
	if r.ownersAdded != 0 {
		fmt.Fprintf(w, "completing controls added %d owners: srm did not recognise the owner names sent\n", r.ownersAdded)
	}
	fmt.Fprintln(w, "\n| budget | measured | holds |")
	fmt.Fprintln(w, "|---|--:|---|")
	for _, b := range r.budgets() {
		fmt.Fprintf(w, "| %s | %s | %s |\n", b.name, b.measured, yesNo(b.ok))
	}
}

type budget struct {
	name, measured string
	ok             bool
}

func (r *report) budgets() []budget {
	find := func(name string) (row, bool) {
		for _, x := range r.rows {
			if x.name == name {
				return x, true
			}
		}
		return row{}, false // not measured (-only)
	}
	errs, peak := r.ownersAdded, int64(0)
	for _, x := range r.rows {
		errs += x.errors
		peak = max(peak, x.peakRSS)
	}
	var bs []budget
	if r.seedTime > 0 { // 0: a database measured as it was (-reuse)
		bs = append(bs, budget{"seed < 90 s", r.seedTime.Round(10 * time.Millisecond).String(), r.seedTime < budgetSeed})
	}
	for _, p99 := range []struct {
		row, name string
		limit     time.Duration
	}{
		{"portfolio /", "portfolio p99 < 50 ms", budgetPortfolioP99},
		{"portfolio, next page", "portfolio, next page p99 < 50 ms", budgetPortfolioP99},
		{"workload page", "workload page p99 < 50 ms", budgetWorkloadP99},
		{"workload page, one layer", "workload page, one layer p99 < 30 ms", budgetFilteredP99},
		{"complete a control", "complete a control p99 < 30 ms", budgetCompleteP99},
		{"bulk action, 50 rows", "bulk action, 50 rows p99 < 200 ms", budgetBulkP99},
	} {
		if x, ok := find(p99.row); ok {
			bs = append(bs, budget{p99.name, ms(x.m.Latencies.P99), x.m.Latencies.P99 < p99.limit})
		}
		if p99.row == "workload page" {
			bs = append(bs, budget{"workload page < 150 KB", fmt.Sprintf("%.1f KB", float64(r.pageSize)/1024), r.pageSize < budgetWorkloadSize})
		}
	}
	bs = append(bs,
		budget{"errors = 0", strconv.Itoa(errs), errs == 0},
		budget{"peak RSS < 150 MiB", mib(peak), peak < budgetPeakRSS},
		budget{"start-up < 1 s", r.startup.Round(time.Millisecond).String(), r.startup < budgetStartup},
	)
	if im := r.imported; im.slug != "" {
		bs = append(bs,
			budget{"import " + im.slug + " < 30 s", im.took.Round(10 * time.Millisecond).String(), im.took < budgetImport},
			budget{"pages served during the import, errors = 0", strconv.Itoa(im.pages.errors), im.pages.errors == 0 && im.pages.m.Requests > 0})
	}
	for _, x := range r.exports {
		bs = append(bs, budget{x.name + ": peak RSS < 150 MiB", mib(x.peakRSS), x.err == nil && x.peakRSS < budgetExportPeakRSS})
	}
	return bs
}

func (r *report) budgetsHold() bool {
	for _, b := range r.budgets() {
		if !b.ok {
			return false
		}
	}
	return true
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**NO**"
}

// cpuSample is the CPU time used so far by the processes of a run, and by
// the whole machine, read from /proc; since turns two into a difference.
type cpuSample struct {
	at                  time.Time
	elapsed             time.Duration // set by since
	machine             time.Duration // busy time of all CPUs together
	self, srm, postgres time.Duration // postgres: the postmaster and all its children
	pgOK                bool
}

func (b cpuSample) since(a cpuSample) cpuSample {
	return cpuSample{at: b.at, elapsed: b.at.Sub(a.at), machine: b.machine - a.machine, self: b.self - a.self,
		srm: b.srm - a.srm, postgres: b.postgres - a.postgres, pgOK: a.pgOK && b.pgOK}
}

// otherShare is the share of the machine that processes outside the run
// took: when it is not near 0, the figures are skewed.
func (c cpuSample) otherShare() float64 {
	if c.elapsed <= 0 {
		return 0
	}
	other := c.machine - c.self - c.srm - c.postgres
	return max(0, float64(other)/float64(c.elapsed*time.Duration(runtime.NumCPU())))
}

// clockTick is USER_HZ, the unit of /proc CPU times: 100 on Linux.
const clockTick = 10 * time.Millisecond

func sampleCPU(self, srm, postmaster int) cpuSample {
	c := cpuSample{at: time.Now()}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal ...
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		for i, v := range f[1:min(len(f), 9)] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			c.machine += time.Duration(n) * clockTick
		}
	}
	c.self, _, _ = procCPU(self)
	c.srm, _, _ = procCPU(srm)
	if postmaster > 0 {
		// The postmaster's own time and its waited-for children's, plus
		// every live child's.
		total, _, err := procCPU(postmaster)
		c.pgOK = err == nil
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			pid, _ := strconv.Atoi(filepath.Base(d))
			if t, ppid, err := procCPU(pid); err == nil && ppid == postmaster {
				total += t
			}
		}
		c.postgres = total
	}
	return c
}

// procCPU returns the CPU time of process pid and of its children that it
// has waited for, and its parent's pid.
func procCPU(pid int) (time.Duration, int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid ... utime(14) stime cutime cstime(17)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0, 0, errors.New("short /proc stat")
	}
	ppid, _ := strconv.Atoi(f[1])
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * clockTick, ppid, nil
}

// postmasterPID is the pid of the PostgreSQL server on this machine that
// pool talks to, or an error when it is not here to measure.
func postmasterPID(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0, err
	}
	_, ppid, err := procCPU(backend)
	if err != nil {
		return 0, fmt.Errorf("the server is not on this machine (or not visible): %w", err)
	}
	return ppid, nil
}

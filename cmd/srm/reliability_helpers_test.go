package main

// Helpers for the reliability tests: the srm binary run as a real process,
// a throwaway PostgreSQL cluster of the test's own, empty databases on the
// TEST_DATABASE_URL server, pg_dump, and a recount of the progress summary.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"

	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/web"
)

// longRun reports whether the long reliability runs are asked for
// (SRM_RELIABILITY=1, as `make reliability` sets).
func longRun() bool { return os.Getenv("SRM_RELIABILITY") == "1" }

// ---------------------------------------------------------------------------
// The srm binary

var (
	binMu   sync.Mutex
	binPath string
	binRefs int
)

// srmBinary builds ./cmd/srm once for all tests running at the same time and
// removes it when the last of them ends.
func srmBinary(t *testing.T) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if binRefs == 0 {
		dir, err := os.MkdirTemp("", "srm-bin-")
		if err != nil {
			t.Fatal(err)
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out, err := exec.Command(gobin, "build", "-o", filepath.Join(dir, "srm"), ".").CombinedOutput()
		if err != nil {
			_ = os.RemoveAll(dir)
			t.Fatalf("go build ./cmd/srm: %v\n%s", err, out)
		}
		binPath = filepath.Join(dir, "srm")
	}
	binRefs++
	t.Cleanup(func() {
		binMu.Lock()
		defer binMu.Unlock()
		binRefs--
		if binRefs == 0 {
			_ = os.RemoveAll(filepath.Dir(binPath))
			binPath = ""
		}
	})
	return binPath
}

// srmProc is one srm process.
type srmProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   *syncBuffer // stdout and stderr
	base   string      // http://127.0.0.1:port once serving
	exited chan struct{}
	code   int // exit code once exited; -1 when killed by a signal
}

// servingLine is the log line srm serve writes once it listens, with the
// address: the drills run the binary with SRM_ADDR=127.0.0.1:0, so the
// system picks a free port (none is picked here and then raced for), and
// this line is how the binary tells which (srm help documents it).
var servingLine = regexp.MustCompile(`msg="srm is serving" url=(http://127\.0\.0\.1:\d+)`)

// spawnSRM starts `srm args...` on dbURL, listening on a free loopback port.
// The process is killed when the test ends, if it still runs.
func spawnSRM(t *testing.T, bin, dbURL string, args ...string) *srmProc {
	t.Helper()
	p := &srmProc{t: t, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SRM_ADDR=127.0.0.1:0",
		"SRM_ALLOW_OWNER_ROLE=1") // the drills connect as the test cluster's superuser
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start srm %v: %v", args, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// startSRM starts `srm serve args...` and waits until it serves.
func startSRM(t *testing.T, bin, dbURL string, args ...string) *srmProc {
	t.Helper()
	p := spawnSRM(t, bin, dbURL, append([]string{"serve"}, args...)...)
	if err := p.waitServing(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	sessions.Store(p.base, signInOver(t, p.base, dbURL))
	return p
}

// session is a signed-in session: its cookie and its anti-forgery token.
type session struct{ cookie, csrf string }

// sessions holds the session send uses for each instance, by base URL, so
// the drills' requests are made signed in, as people make them.
var sessions sync.Map

// drillAdmin is the account the drills sign in as; its password is
// drillPassword.
const (
	drillAdmin    = "drill-admin@example.com"
	drillPassword = "drill password, long enough"
)

// signInOver makes sure the drill admin exists in the database at dbURL,
// signs in to the instance at base, and returns the session.
func signInOver(t *testing.T, base, dbURL string) session {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to add the drill admin: %v", err)
	}
	defer conn.Close(ctx)
	hash, err := credential.HashPassword(drillPassword)
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// A write to an audited table names its actor (migration 000012).
		if _, err := tx.Exec(ctx, `SELECT set_config('srm.actor', '{"actor": "drill"}', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO users (email, role, password_hash) VALUES ($1, 'admin', $2)
			ON CONFLICT DO NOTHING`, drillAdmin, hash)
		return err
	})
	if err != nil {
		t.Fatalf("add the drill admin: %v", err)
	}
	r := send(ctx, http.MethodPost, base+"/signin", url.Values{"email": {drillAdmin}, "password": {drillPassword}})
	var s session
	for _, c := range r.cookies {
		if c.Name == web.SessionCookie {
			s.cookie = c.Value
		}
	}
	if r.code != http.StatusSeeOther || s.cookie == "" {
		t.Fatalf("sign in to %s = %v, cookie %q: %.500s", base, r, s.cookie, r.body)
	}
	sessions.Store(base, s)
	page := mustGet(t, base+"/")
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no anti-forgery token on %s/", base)
	}
	s.csrf = m[1]
	return s
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p *srmProc) waitServing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if m := servingLine.FindStringSubmatch(p.logs.String()); m != nil {
			p.base = m[1]
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("srm exited with %d before serving; output:\n%s", p.code, p.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("srm did not serve within %v; output:\n%s", timeout, p.logs.String())
		}
	}
}

// wait waits up to timeout for the process to exit and reports whether it did.
func (p *srmProc) wait(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (p *srmProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// runSRM runs `srm args...` to completion (at most a minute) and returns its
// output and exit code.
func runSRM(t *testing.T, bin, dbURL string, args ...string) (string, int) {
	t.Helper()
	p := spawnSRM(t, bin, dbURL, args...)
	if !p.wait(time.Minute) {
		t.Fatalf("srm %v did not finish within a minute; output:\n%s", args, p.logs.String())
	}
	return p.logs.String(), p.code
}

// ---------------------------------------------------------------------------
// HTTP

var client = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// reply is one HTTP exchange as the test saw it.
type reply struct {
	code     int
	body     string
	location string
	cookies  []*http.Cookie
	err      error
	start    time.Time
	dur      time.Duration
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return strconv.Itoa(r.code)
}

// send does one request; form nil means GET.
func send(ctx context.Context, method, u string, form url.Values) reply {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return reply{err: err}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if s, ok := sessions.Load(req.URL.Scheme + "://" + req.URL.Host); ok {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: s.(session).cookie})
		req.Header.Set("X-CSRF-Token", s.(session).csrf)
	}
	r := reply{start: time.Now()}
	resp, err := client.Do(req)
	if err != nil {
		r.err, r.dur = err, time.Since(r.start)
		return r
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	r.dur = time.Since(r.start)
	r.code, r.body, r.location, r.cookies, r.err = resp.StatusCode, string(b), resp.Header.Get("Location"), resp.Cookies(), err
	return r
}

func get(ctx context.Context, u string) reply { return send(ctx, http.MethodGet, u, nil) }

func post(ctx context.Context, u string, form url.Values) reply {
	return send(ctx, http.MethodPost, u, form)
}

// mustGet GETs u and fails the test unless it answers 200.
func mustGet(t *testing.T, u string) string {
	t.Helper()
	r := get(t.Context(), u)
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("GET %s = %v, want 200; body:\n%.1500s", u, r, r.body)
	}
	return r.body
}

// looksLikeACrash reports whether a page leaks internals: a Go stack trace
// or a raw database error.
func looksLikeACrash(body string) bool {
	for _, s := range []string{"goroutine ", "panic", ".go:", "runtime/", "pgconn", "SQLSTATE", "dial unix", "dial tcp"} {
		if strings.Contains(body, s) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Databases on the TEST_DATABASE_URL server

var dbSeq atomic.Int64

// testServerURL returns TEST_DATABASE_URL, skipping the test without it
// (failing it when SRM_REQUIRE_DB is set), like storetest.
func testServerURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("SRM_REQUIRE_DB") != "" {
			t.Fatal("SRM_REQUIRE_DB is set but TEST_DATABASE_URL is not")
		}
		t.Skip("TEST_DATABASE_URL not set; skipping PostgreSQL-backed test")
	}
	return base
}

// emptyDatabase creates an empty database on the TEST_DATABASE_URL server,
// dropped when the test ends, and returns its URL.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	base := testServerURL(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("srm_rel_%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return withDatabaseName(t, base, name)
}

// withDatabaseName points conn (a URL or keyword/value string) at database name.
func withDatabaseName(t *testing.T, conn, name string) string {
	t.Helper()
	if !strings.HasPrefix(conn, "postgres://") && !strings.HasPrefix(conn, "postgresql://") {
		return conn + " dbname=" + name
	}
	u, err := url.Parse(conn)
	if err != nil {
		t.Fatalf("parse %q: %v", conn, err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String()
}

// openPool opens a pool on dbURL for the test's own checks, closed when the
// test ends.
func openPool(t *testing.T, dbURL string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	cfg.ConnConfig.RuntimeParams["application_name"] = "srm-reliability-test"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatalf("ping %s: %v", dbURL, err)
	}
	return pool
}

// pgBinDir is the folder of the newest PostgreSQL server binaries, or "".
func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// needPGBin returns pgBinDir, skipping (or failing, with SRM_REQUIRE_DB) the
// test when there is none.
func needPGBin(t *testing.T) string {
	t.Helper()
	d := pgBinDir()
	if d == "" {
		if os.Getenv("SRM_REQUIRE_DB") != "" {
			t.Fatal("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); apt-get install -y postgresql")
		}
		t.Skip("PostgreSQL server binaries not found")
	}
	return d
}

// pgDump runs pg_dump on dbURL with args and returns its output without
// the lines that differ on every run (pg_dump ≥ 15.14 writes \restrict with
// a random key).
func pgDump(t *testing.T, dbURL string, args ...string) string {
	t.Helper()
	bin := needPGBin(t)
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "pg_dump"), append([]string{
		"-h", cfg.Host, "-p", strconv.Itoa(int(cfg.Port)), "-U", cfg.User, "-d", cfg.Database, "--no-password",
	}, args...)...)
	cmd.Env = os.Environ()
	if cfg.Password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+cfg.Password)
	}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("pg_dump: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("pg_dump: %v", err)
	}
	var keep []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `\restrict`) || strings.HasPrefix(line, `\unrestrict`) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// firstDifference describes where a and b part, for failure messages.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  before: %q\n  after:  %q", i+1, x, y)
		}
	}
	return "no difference"
}

// migrationState reads golang-migrate's version row.
func migrationState(t *testing.T, pool *pgxpool.Pool) (version int64, dirty bool) {
	t.Helper()
	if err := pool.QueryRow(t.Context(), `SELECT version, dirty FROM schema_migrations`).Scan(&version, &dirty); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return version, dirty
}

// ---------------------------------------------------------------------------
// The progress summary, recounted from the assignments table

// summaryMismatches recounts every summary table (workloads.total/done,
// layer_progress, owner_progress, portfolio_shards, owner_totals) straight
// from the engine's facts in the assignments table (migration 000011),
// without the deltas that keep them, and describes every row that differs.
func summaryMismatches(ctx context.Context, db *pgxpool.Pool) ([]string, error) {
	const recount = `
WITH layers (layer) AS (
    SELECT unnest($1::text[])
), a AS (
    SELECT workload_id, layer, count(*) AS controls,
           count(*) FILTER (WHERE counted) AS total,
           count(*) FILTER (WHERE done) AS done
    FROM assignments GROUP BY workload_id, layer
), lp AS (
    SELECT w.id AS workload_id, l.layer, w.model, COALESCE(a.controls, 0)::int AS controls,
           COALESCE(a.total, 0)::int AS total, COALESCE(a.done, 0)::int AS done
    FROM workloads w CROSS JOIN layers l
    LEFT JOIN a ON a.workload_id = w.id AND a.layer = l.layer
), op AS (
    SELECT owner_id, workload_id,
           count(*) FILTER (WHERE counted)::int AS total,
           count(*) FILTER (WHERE done)::int AS done
    FROM assignments WHERE owner_id IS NOT NULL GROUP BY owner_id, workload_id
)
SELECT 'workloads ' || w.id || ': stored total/done ' || w.total || '/' || w.done ||
       ', recounted ' || COALESCE(r.total, 0) || '/' || COALESCE(r.done, 0)
FROM workloads w
LEFT JOIN (SELECT workload_id, sum(total) AS total, sum(done) AS done FROM lp GROUP BY workload_id) r
       ON r.workload_id = w.id
WHERE (w.total, w.done) IS DISTINCT FROM (COALESCE(r.total, 0)::int, COALESCE(r.done, 0)::int)
UNION ALL
SELECT 'layer_progress ' || COALESCE(s.workload_id, r.workload_id) || '/' || COALESCE(s.layer, r.layer) ||
       ': stored ' || COALESCE(s.model || ' ' || s.controls || ' ' || s.total || ' ' || s.done, 'nothing') ||
       ', recounted ' || COALESCE(r.model || ' ' || r.controls || ' ' || r.total || ' ' || r.done, 'nothing')
FROM layer_progress s
FULL JOIN lp r ON r.workload_id = s.workload_id AND r.layer = s.layer
WHERE (s.model, s.controls, s.total, s.done) IS DISTINCT FROM (r.model, r.controls, r.total, r.done)
UNION ALL
SELECT 'owner_progress ' || COALESCE(s.owner_id, r.owner_id) || '/' || COALESCE(s.workload_id, r.workload_id) ||
       ': stored ' || COALESCE(s.total || '/' || s.done, 'nothing') ||
       ', recounted ' || COALESCE(r.total || '/' || r.done, 'nothing')
FROM owner_progress s
FULL JOIN op r ON r.owner_id = s.owner_id AND r.workload_id = s.workload_id
WHERE (COALESCE(s.total, 0), COALESCE(s.done, 0)) IS DISTINCT FROM (COALESCE(r.total, 0), COALESCE(r.done, 0))
UNION ALL
SELECT 'portfolio_shards ' || p.model || '/' || p.layer || '/' || p.shard ||
       ': stored ' || p.workloads || ' ' || p.controls || ' ' || p.total || ' ' || p.done ||
       ', recounted ' || COALESCE(r.workloads, 0) || ' ' || COALESCE(r.controls, 0) || ' ' ||
       COALESCE(r.total, 0) || ' ' || COALESCE(r.done, 0)
FROM portfolio_shards p
LEFT JOIN (SELECT model, layer, (workload_id % 16)::int AS shard,
                  count(*) AS workloads, -- each workload once per layer
                  sum(controls) AS controls, sum(total) AS total, sum(done) AS done
           FROM lp GROUP BY 1, 2, 3) r
       ON r.model = p.model AND r.layer = p.layer AND r.shard = p.shard
WHERE (p.workloads, p.controls, p.total, p.done) IS DISTINCT FROM
      (COALESCE(r.workloads, 0), COALESCE(r.controls, 0), COALESCE(r.total, 0), COALESCE(r.done, 0))
UNION ALL
SELECT 'owner_totals ' || COALESCE(s.owner_id, r.owner_id) ||
       ': stored ' || COALESCE(s.total, 0) || '/' || COALESCE(s.done, 0) ||
       ', recounted ' || COALESCE(r.total, 0) || '/' || COALESCE(r.done, 0)
FROM owner_totals s
FULL JOIN (SELECT owner_id, sum(total) AS total, sum(done) AS done FROM op GROUP BY owner_id) r
       ON r.owner_id = s.owner_id
WHERE (COALESCE(s.total, 0), COALESCE(s.done, 0)) IS DISTINCT FROM (COALESCE(r.total, 0), COALESCE(r.done, 0))
ORDER BY 1
LIMIT 50`
	layers := make([]string, len(srm.Layers))
	for i, l := range srm.Layers {
		layers[i] = string(l)
	}
	rows, err := db.Query(ctx, recount, layers)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// checkSummary fails the test when the summary tables disagree with a
// recount.
func checkSummary(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	bad, err := summaryMismatches(t.Context(), pool)
	if err != nil {
		t.Fatalf("recount the progress summary: %v", err)
	}
	if len(bad) > 0 {
		t.Errorf("the progress summary disagrees with a recount of the assignments table (%d rows, at most 50 shown):\n  %s",
			len(bad), strings.Join(bad, "\n  "))
	}
}

// waitQuiet waits until no other session on the database runs a statement,
// so what the test reads next is settled.
func waitQuiet(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		err := pool.QueryRow(t.Context(), `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			  AND backend_type = 'client backend'
			  AND application_name <> 'srm-reliability-test' AND state <> 'idle'`).Scan(&n)
		if err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still busy after 20 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Status writes

// slot is one customer or shared control of one workload, with the version
// of its status as the test believes it stored.
type slot struct {
	wid, cid int64
	version  int64
	acked    int    // writes acknowledged (303) by srm
	lastNote string // the note of the last acknowledged write
	lastDone bool
}

// customerSlots lists every (workload, control) the customer carries, with
// the current status versions.
func customerSlots(t *testing.T, pool *pgxpool.Pool) []*slot {
	t.Helper()
	rows, err := pool.Query(t.Context(), `
		SELECT a.workload_id, a.control_id, COALESCE(s.version, 0)
		FROM assignments a
		LEFT JOIN statuses s ON s.workload_id = a.workload_id AND s.control_id = a.control_id
		WHERE a.party <> 'provider'
		ORDER BY a.workload_id, a.control_id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []*slot
	var s slot
	if _, err := pgx.ForEachRow(rows, []any{&s.wid, &s.cid, &s.version}, func() error {
		c := s
		out = append(out, &c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no customer controls to write to")
	}
	return out
}

func (s *slot) path() string { return fmt.Sprintf("/workloads/%d/controls/%d", s.wid, s.cid) }

// statusForm is the form the workload page posts for one control.
func statusForm(version int64, note string, complete bool) url.Values {
	f := url.Values{"owner": {"Reliability drill"}, "owner_kind": {"team"}, "note": {note},
		"version": {strconv.FormatInt(version, 10)}}
	if complete {
		f.Set("complete", "1")
	}
	return f
}

// lostWrites compares what srm acknowledged with what the database holds:
// every acknowledged write raised the status version by one and the last
// one's note must be there. It returns the number of acknowledged writes
// missing and a description of the first few.
func lostWrites(t *testing.T, pool *pgxpool.Pool, slots []*slot) (int, []string) {
	t.Helper()
	lost := 0
	var what []string
	for _, s := range slots {
		if s.acked == 0 {
			continue
		}
		var version int64
		var note string
		var done bool
		err := pool.QueryRow(t.Context(), `SELECT version, note, complete FROM statuses WHERE workload_id = $1 AND control_id = $2`,
			s.wid, s.cid).Scan(&version, &note, &done)
		if errors.Is(err, pgx.ErrNoRows) {
			lost += s.acked
			what = append(what, fmt.Sprintf("%s: no status at all, %d writes acknowledged", s.path(), s.acked))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case version < s.version:
			lost += int(s.version - version)
			what = append(what, fmt.Sprintf("%s: version %d, want %d (%d acknowledged writes missing)", s.path(), version, s.version, s.version-version))
		case note != s.lastNote || done != s.lastDone:
			lost++
			what = append(what, fmt.Sprintf("%s: note %q complete %v, want %q %v", s.path(), note, done, s.lastNote, s.lastDone))
		case version > s.version:
			what = append(what, fmt.Sprintf("%s: version %d, more than the %d the test expected (a write the test did not see acknowledged was saved: not a loss)", s.path(), version, s.version))
		}
	}
	return lost, what
}

// ---------------------------------------------------------------------------
// A throwaway PostgreSQL cluster of the test's own

// cluster is a PostgreSQL server the test starts, stops and kills. It
// listens only on a unix socket in its own folder; fsync stays on.
type cluster struct {
	t       *testing.T
	bin     string
	data    string
	sock    string
	logPath string
	proc    *exec.Cmd // the postmaster, or runuser in front of it when root
	exited  chan struct{}
}

func isRoot() bool { return os.Geteuid() == 0 }

// asPG runs a PostgreSQL program as the postgres user when root (initdb
// and postgres refuse to run as root), from / so any cwd will do.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if isRoot() {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = "/"
	return cmd
}

// newCluster initialises a cluster in a temporary folder, starts it,
// creates database srm and stops and removes everything when the test ends.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	bin := needPGBin(t)
	root := t.TempDir()
	c := &cluster{t: t, bin: bin, data: filepath.Join(root, "data"), sock: filepath.Join(root, "sock"),
		logPath: filepath.Join(root, "server.log")}
	if len(c.sock)+len("/.s.PGSQL.5432") > 107 {
		t.Skipf("temporary folder %s too long for a unix socket path", root)
	}
	// The postgres user must traverse every folder down to the data dir.
	for d := root; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o055); err != nil {
				t.Fatal(err)
			}
		}
	}
	for dir, mode := range map[string]os.FileMode{c.data: 0o700, c.sock: 0o755} {
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
		if isRoot() {
			u, err := user.Lookup("postgres")
			if err != nil {
				t.Skipf("running as root without a postgres user: %v", err)
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(dir, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := c.command("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	t.Cleanup(c.destroy)
	c.start()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE srm"); err != nil {
		t.Fatal(err)
	}
	return c
}

// URL is the connection string of database db on this cluster.
func (c *cluster) URL(db string) string {
	return "postgres:///" + db + "?host=" + url.QueryEscape(c.sock) + "&user=postgres&sslmode=disable"
}

// start starts the server and returns the moment it first accepted a
// connection. After a crash, a start can fail while the old server's
// backends still hold its shared memory; it is retried for 20 s.
func (c *cluster) start() time.Time {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 1; ; attempt++ {
		logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			c.t.Fatal(err)
		}
		cmd := c.command("postgres", "-D", c.data, "-k", c.sock, "-c", "listen_addresses=",
			"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "max_connections=100",
			"-c", "recovery_init_sync_method=syncfs") // after a crash, one syncfs() instead of an fsync per file
		cmd.Stdout, cmd.Stderr = logf, logf // never the test's own output
		if err := cmd.Start(); err != nil {
			_ = logf.Close()
			c.t.Fatalf("start postgres: %v", err)
		}
		_ = logf.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		c.proc, c.exited = cmd, exited
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn, err := pgconn.Connect(ctx, c.URL("postgres"))
			cancel()
			if err == nil {
				at := time.Now()
				_ = conn.Close(context.Background())
				return at
			}
			select {
			case <-exited:
			case <-time.After(5 * time.Millisecond):
				if time.Now().After(deadline) {
					c.t.Fatalf("postgres did not accept connections within 20 s; log:\n%s", c.logTail())
				}
				continue
			}
			break // the server gave up: try again
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("postgres did not start after %d attempts; log:\n%s", attempt, c.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cluster) logTail() string {
	b, _ := os.ReadFile(c.logPath)
	s := string(b)
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return s
}

// postmasterPID reads the running server's process id from postmaster.pid.
func (c *cluster) postmasterPID() int {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		c.t.Fatalf("postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		c.t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// signalAndWait sends sig to the postmaster and waits for it to exit.
func (c *cluster) signalAndWait(sig syscall.Signal, timeout time.Duration) bool {
	if err := syscall.Kill(c.postmasterPID(), sig); err != nil {
		c.t.Fatalf("signal postmaster: %v", err)
	}
	select {
	case <-c.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stopFast is `pg_ctl stop -m fast`: sessions are ended, the server checkpoints and exits.
func (c *cluster) stopFast() {
	c.t.Helper()
	if !c.signalAndWait(syscall.SIGINT, 60*time.Second) {
		c.t.Fatalf("postgres did not stop within 60 s; log:\n%s", c.logTail())
	}
}

// kill crashes the whole server at once, as a machine losing power would:
// the postmaster is frozen so that it cannot start another backend, then
// every backend and the postmaster get SIGKILL. The next start runs crash
// recovery. (SIGKILL to the postmaster alone leaves its backends serving
// their open connections for a moment, so a request sent after the kill
// could still commit.)
func (c *cluster) kill() {
	c.t.Helper()
	pm := c.postmasterPID()
	if err := syscall.Kill(pm, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("freeze postmaster: %v", err)
	}
	backends := childrenOf(pm)
	for _, pid := range backends {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := syscall.Kill(pm, syscall.SIGKILL); err != nil {
		c.t.Fatalf("kill postmaster: %v", err)
	}
	// Run as root, the server's parent is runuser, which stops itself when
	// its child stops (as su does), whenever it notices; it must run on to
	// see the postmaster die, so it is woken until it has.
	gone := time.After(30 * time.Second)
	for wait := true; wait; {
		_ = c.proc.Process.Signal(syscall.SIGCONT)
		select {
		case <-c.exited:
			wait = false
		case <-time.After(10 * time.Millisecond):
		case <-gone:
			c.t.Fatal("postgres did not go away after SIGKILL")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range backends {
		for alive(pid) {
			if time.Now().After(deadline) {
				c.t.Fatalf("backend %d still runs 10 s after SIGKILL", pid)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid …": comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == pid {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}

// alive reports whether pid still runs: it exists and is not a zombie
// waiting to be reaped.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// destroy stops the server at once if it runs; the folder goes with t.TempDir.
func (c *cluster) destroy() {
	if c.exited == nil {
		return
	}
	select {
	case <-c.exited:
	default:
		if b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])); err == nil {
				_ = syscall.Kill(pid, syscall.SIGQUIT) // immediate shutdown
			}
		}
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = c.proc.Process.Kill()
			<-c.exited
		}
	}
}

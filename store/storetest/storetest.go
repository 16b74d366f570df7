// Package storetest gives each test its own freshly migrated PostgreSQL
// database, cloned from a template made once per test binary, and drops it
// when the test ends. Tests may therefore run in parallel and leave nothing
// behind. It reads TEST_DATABASE_URL; without it tests skip, unless
// SRM_REQUIRE_DB is set (as `make test` and CI do), when they fail.
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store"
)

var (
	setupOnce sync.Once
	setupErr  error
	admin     *pgxpool.Pool // connected to the server's maintenance database
	template  = fmt.Sprintf("srm_test_%d", os.Getpid())
	seq       atomic.Int64
)

// Main runs the package's tests, then drops the template database.
// Every test package that uses the database calls it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if admin != nil {
		ctx := context.Background()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(template)+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "storetest: drop template: %v\n", err)
			code = 1
		}
		admin.Close()
	}
	os.Exit(code)
}

// URL returns a connection string for a fresh, migrated database that is
// dropped when t ends. Tests that start their own srm process use it.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("SRM_REQUIRE_DB") != "" {
			t.Fatal("storetest: SRM_REQUIRE_DB is set but TEST_DATABASE_URL is not")
		}
		t.Skip("TEST_DATABASE_URL not set; skipping PostgreSQL-backed test")
	}
	ctx := context.Background()
	setupOnce.Do(func() { setupErr = setup(ctx, base) })
	if setupErr != nil {
		t.Fatalf("storetest: %v", setupErr)
	}
	name := fmt.Sprintf("%s_%d", template, seq.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template)); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return u
}

// withDatabase returns conn, a URL or keyword/value connection string,
// pointed at database name.
func withDatabase(conn, name string) (string, error) {
	if !strings.HasPrefix(conn, "postgres://") && !strings.HasPrefix(conn, "postgresql://") {
		return conn + " dbname=" + name, nil
	}
	u, err := url.Parse(conn)
	if err != nil {
		return "", fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Pool returns a pool on a fresh, migrated database that is dropped when t
// ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := connect(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the drop registered by URL
	return pool
}

// Counter counts the round trips to the database made through a pool, and
// the SQL statements they carry, and keeps the statements while recording.
// A statement sent on its own is one round trip; a batch (the store sends
// a write and its actor's setting as one: store/audit.go) is one round
// trip of several statements. It is a pgx.QueryTracer and BatchTracer;
// tests use it to hold pages to a query budget and to EXPLAIN what the
// pages really send.
type Counter struct {
	n          atomic.Int64 // round trips
	statements atomic.Int64
	batch      atomic.Int64 // the most statements in one batch
	rows       atomic.Int64 // rows the statements returned
	recording  atomic.Bool
	mu         sync.Mutex
	kept       []Statement
}

// Statement is one SQL statement as sent, with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// TraceQueryStart counts one round trip of one statement, and keeps it
// while recording.
func (c *Counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.statements.Add(1)
	c.keep(d.SQL, d.Args)
	return ctx
}

// TraceBatchStart counts one round trip of the batch's statements.
func (c *Counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	n := int64(d.Batch.Len())
	c.n.Add(1)
	c.statements.Add(n)
	for {
		most := c.batch.Load()
		if n <= most || c.batch.CompareAndSwap(most, n) {
			break
		}
	}
	return ctx
}

// TraceBatchQuery keeps one statement of a batch while recording.
func (c *Counter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.keep(d.SQL, d.Args)
	c.addRows(d.CommandTag)
}

// TraceBatchEnd does nothing: each statement's rows are counted by
// TraceBatchQuery.
func (c *Counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *Counter) keep(sql string, args []any) {
	if c.recording.Load() {
		c.mu.Lock()
		c.kept = append(c.kept, Statement{SQL: sql, Args: args})
		c.mu.Unlock()
	}
}

// Record starts keeping statements, forgetting those kept before.
func (c *Counter) Record() {
	c.mu.Lock()
	c.kept = nil
	c.mu.Unlock()
	c.recording.Store(true)
}

// Recorded stops keeping statements and returns those kept.
func (c *Counter) Recorded() []Statement {
	c.recording.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kept
}

// TraceQueryEnd counts the rows the statement returned.
func (c *Counter) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	c.addRows(d.CommandTag)
}

// addRows counts the rows a SELECT returned (its command tag says how
// many).
func (c *Counter) addRows(tag pgconn.CommandTag) {
	if tag.Select() {
		c.rows.Add(tag.RowsAffected())
	}
}

// Reset sets the counts to zero and returns the round trips counted.
func (c *Counter) Reset() int64 {
	c.statements.Store(0)
	c.rows.Store(0)
	c.batch.Store(0)
	return c.n.Swap(0)
}

// Count is the number of round trips since the last Reset.
func (c *Counter) Count() int64 { return c.n.Load() }

// Statements is the number of statements since the last Reset, each of a
// batch's counted.
func (c *Counter) Statements() int64 { return c.statements.Load() }

// Rows is the number of rows the statements since the last Reset returned
// (SELECTs only).
func (c *Counter) Rows() int64 { return c.rows.Load() }

// LargestBatch is the most statements sent in one batch since the last
// Reset, 0 when there was no batch.
func (c *Counter) LargestBatch() int64 { return c.batch.Load() }

// CountingPool is Pool with a Counter on every connection.
func CountingPool(t testing.TB) (*pgxpool.Pool, *Counter) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	c := &Counter{}
	cfg.ConnConfig.Tracer = c
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	c.Reset()
	return pool, c
}

// AppRole is what AppURL and AppPool return: a fresh, migrated database,
// and srm's least-privilege serving role on it.
type AppRole struct {
	Name     string        // the role, made for this test and dropped when it ends
	URL      string        // connects to the database as Name
	OwnerURL string        // connects to the same database as the owner (superuser)
	Owner    *pgxpool.Pool // on OwnerURL; closed when the test ends
}

// AppURL makes a fresh, migrated database and a role of its own granted
// exactly what srm serve needs on it (store.GrantAppRole, as `srm migrate
// --app-role` does). Roles are cluster-wide: each test gets its own, dropped
// after its database. The test cluster trusts local connections, so the
// role has no password.
func AppURL(t testing.TB) AppRole {
	t.Helper()
	name := fmt.Sprintf("srm_app_%d_%d", os.Getpid(), seq.Add(1))
	// Registered before URL's drop of the database, so it runs after it:
	// the database held the role's grants.
	t.Cleanup(func() {
		if admin == nil {
			return
		}
		if _, err := admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident(name)); err != nil {
			t.Errorf("storetest: drop role %s: %v", name, err)
		}
	})
	owner := URL(t)
	pool, err := connect(context.Background(), owner)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := store.GrantAppRole(context.Background(), pool, name, nil); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	u, err := withUser(owner, name)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return AppRole{Name: name, URL: u, OwnerURL: owner, Owner: pool}
}

// AppPool is AppURL with a pool connected as the role, closed when the test
// ends; cfg, when not nil, may change the pool's configuration first.
func AppPool(t testing.TB, cfg func(*pgxpool.Config)) (*pgxpool.Pool, AppRole) {
	t.Helper()
	app := AppURL(t)
	pc, err := pgxpool.ParseConfig(app.URL)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	if cfg != nil {
		cfg(pc)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatalf("storetest: connect as %s: %v", app.Name, err)
	}
	return pool, app
}

// withUser returns conn, a URL or keyword/value connection string, with
// the user set to name.
func withUser(conn, name string) (string, error) {
	if !strings.HasPrefix(conn, "postgres://") && !strings.HasPrefix(conn, "postgresql://") {
		return conn + " user=" + name, nil
	}
	u, err := url.Parse(conn)
	if err != nil {
		return "", fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	q := u.Query()
	if q.Has("user") {
		q.Set("user", name)
		u.RawQuery = q.Encode()
	} else {
		u.User = url.User(name)
	}
	return u.String(), nil
}

// Context is t's context with an actor, "test", as a test's own writes
// need one (store.ErrNoActor): for setting up, not for what a test checks
// is recorded.
func Context(t testing.TB) context.Context {
	return store.WithActor(t.Context(), store.Actor{Name: "test"})
}

// NameActor sets srm.actor to "test" for the rest of tx, as the database
// asks before a write to an audited table (migration 000012): for tests
// that write SQL by hand.
func NameActor(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT set_config('srm.actor', '{"actor": "test"}', true)`)
	return err
}

// New returns a Store on a fresh, migrated database.
func New(t testing.TB) *store.Store { return store.New(Pool(t)) }

func setup(ctx context.Context, conn string) error {
	var err error
	admin, err = connect(ctx, conn)
	if err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(template)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(template)); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	tmpl, err := withDatabase(conn, template)
	if err != nil {
		return err
	}
	pool, err := connect(ctx, tmpl)
	if err != nil {
		return err
	}
	defer pool.Close()
	return store.Migrate(pool)
}

func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	return pool, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

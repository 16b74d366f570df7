// Command srm serves the shared-responsibility matrix: who secures what,
// for every workload, by service model and defense-in-depth layer.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/web"
)

const usage = `srm — a shared-responsibility matrix for cloud security.

Usage:
  srm serve [--demo]   serve the web interface, as a least-privilege role
  srm migrate [--app-role NAME [--app-password-stdin]]
                       apply pending database migrations and exit; run it as
                       the owner of srm's schema. With --app-role, also
                       create the role NAME srm serves as, if missing, and
                       grant it exactly what serving needs (docs/deploy.md)
  srm demo             load the demo portfolio into an empty database and exit
  srm user add --email E --role R [--name N]
                       add a local account; the password is the first line
                       of standard input, for example
                       srm user add --email ana@example.com --role admin <password.txt
  srm user password --email E
                       give a local account a new password, read the same way,
                       and sign it out everywhere
  srm seed --workloads N [--seed S]
                       add N synthetic workloads (all models, owners, a status on
                       every control, about half complete) for load tests
  srm help             show this help

serve:
  --demo   load the demo portfolio (a shipping company's workloads) first,
           when the database has no workloads yet. On a database with no
           accounts either, it also adds the admin admin@demo.srm.test with a
           random password and prints how to sign in (demo does the same)
  serve refuses to run as a superuser or as the owner of srm's schema or
  tables (such a role could switch the audit trail off), unless
  SRM_ALLOW_OWNER_ROLE=1. As its least-privilege role it does not migrate:
  it checks that the schema is current and says so when it is not. As an
  owner, allowed, it migrates first.

migrate:
  --app-role NAME       create the role NAME (LOGIN, no other attribute)
                        when missing, and grant it CONNECT, USAGE on schema
                        public, SELECT/INSERT/UPDATE/DELETE on srm's tables
                        (SELECT only on audit and schema_migrations), the
                        sequences and EXECUTE on srm's functions. Run it
                        after every upgrade: new tables are granted then
  --app-password-stdin  set NAME's password to the first line of standard
                        input (or set SRM_APP_PASSWORD). Without either, a
                        role srm creates has no password: it can connect
                        only where pg_hba.conf trusts it, and an existing
                        role's password is left alone

user add:
  --email  the account's email address, used to sign in (required)
  --role   viewer, editor or admin (required)
  --name   the person's name, shown on pages (optional)

Environment:
  DATABASE_URL   PostgreSQL connection string (required), for example
                 postgres://user:password@localhost:5432/srm?sslmode=disable
  SRM_ADDR       address to listen on (default 127.0.0.1:8080)
  SRM_ALLOW_OWNER_ROLE
                 1: let srm serve run as a superuser or the schema's owner
                 (tests, one-off use); see serve above
  SRM_APP_PASSWORD
                 srm migrate --app-role: the role's password, for where
                 standard input is not at hand (containers)
  SRM_SHUTDOWN_DRAIN
                 on SIGTERM, how long /readyz answers 503 while requests are
                 still served, before the listener closes (default 2s, 0s-5s)
  SRM_SESSION_IDLE
                 sign a person out after this long without a request (default 30m)
  SRM_SESSION_LIFETIME
                 sign a person out after this long whatever they do (default 12h)
  SRM_TRUSTED_PROXIES
                 comma-separated CIDRs of reverse proxies whose X-Forwarded-For
                 srm believes for client addresses (default: none; the TCP peer
                 is the client)
  SRM_OIDC_ISSUER, SRM_OIDC_CLIENT_ID, SRM_OIDC_CLIENT_SECRET, SRM_OIDC_REDIRECT_URL
                 single sign-on with an OpenID Connect provider; all four or
                 none. The redirect URL is srm's own
                 https://HOST/signin/oidc/callback, registered with the provider
  SRM_OIDC_NAME  the provider's name on the sign-in button (default "single sign-on")
  SRM_OIDC_ROLE  the role of a person's account the first time they sign in
                 with single sign-on (default viewer)
  SRM_BENCH_CEILING
                 benchmarking aid, off unless set to 1 (make bench sets it):
                 serve then also answers GET /_bench/ceiling with one SELECT 1
                 through the pool and no middleware, a ceiling to compare
                 pages against, and GET /_bench/workload/{id}, the workload
                 page signed in but not rendered

serve stops gracefully on SIGINT or SIGTERM: /readyz turns 503 at once,
the listener closes after the drain, and requests in flight get up to 10
seconds more to finish.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "srm:", err)
		os.Exit(1)
	}
}

// config is srm's configuration, read from the environment.
type config struct {
	DatabaseURL  string
	Addr         string
	BenchCeiling bool          // SRM_BENCH_CEILING=1: serve /_bench/ceiling and /_bench/workload/{id} as well
	Drain        time.Duration // SRM_SHUTDOWN_DRAIN: how long /readyz says 503 before the listener closes
	Web          web.Config    // sessions, proxies and single sign-on
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DatabaseURL: getenv("DATABASE_URL"), Addr: getenv("SRM_ADDR"),
		BenchCeiling: getenv("SRM_BENCH_CEILING") == "1"}
	if c.DatabaseURL == "" {
		return c, errors.New("DATABASE_URL is not set; see `srm help`")
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	c.Drain = 2 * time.Second
	if v := getenv("SRM_SHUTDOWN_DRAIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Second {
			return c, fmt.Errorf("SRM_SHUTDOWN_DRAIN=%q: give a duration from 0s to 5s", v)
		}
		c.Drain = d
	}
	for _, d := range []struct {
		name string
		into *time.Duration
		min  time.Duration
	}{{"SRM_SESSION_IDLE", &c.Web.IdleTimeout, time.Minute}, {"SRM_SESSION_LIFETIME", &c.Web.Lifetime, 5 * time.Minute}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < d.min || t > 30*24*time.Hour {
				return c, fmt.Errorf("%s=%q: give a duration from %s to 720h, such as 30m or 12h", d.name, v, d.min)
			}
			*d.into = t
		}
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
	oidc := web.OIDCConfig{Issuer: getenv("SRM_OIDC_ISSUER"), ClientID: getenv("SRM_OIDC_CLIENT_ID"),
		ClientSecret: getenv("SRM_OIDC_CLIENT_SECRET"), RedirectURL: getenv("SRM_OIDC_REDIRECT_URL"),
		Name: getenv("SRM_OIDC_NAME"), Role: srm.Role(getenv("SRM_OIDC_ROLE"))}
	switch set := countSet(oidc.Issuer, oidc.ClientID, oidc.ClientSecret, oidc.RedirectURL); set {
	case 0:
	case 4:
		if oidc.Role == "" {
			oidc.Role = srm.Viewer
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

// run runs the command in args. Only "user add", "user password" and
// "migrate --app-password-stdin" read stdin.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve", "migrate", "demo", "seed":
	case "user":
		if len(args) == 0 || (args[0] != "add" && args[0] != "password") {
			fmt.Fprint(stderr, usage)
			return errors.New("user: give a subcommand: srm user add --email E --role R, or srm user password --email E")
		}
		cmd, args = "user "+args[0], args[1:]
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}

	fs := flag.NewFlagSet("srm "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	demo := false
	var workloads int
	var seed uint64
	var add srm.User
	var role, appRole string
	var appPasswordStdin bool
	switch cmd {
	case "serve":
		fs.BoolVar(&demo, "demo", false, "load the demo portfolio into an empty database")
	case "migrate":
		fs.StringVar(&appRole, "app-role", "", "the least-privilege role srm serves as, created and granted")
		fs.BoolVar(&appPasswordStdin, "app-password-stdin", false, "read the app role's password from standard input")
	case "seed":
		fs.IntVar(&workloads, "workloads", 0, "number of synthetic workloads to add")
		fs.Uint64Var(&seed, "seed", 1, "random seed, for repeatable data")
	case "user add":
		fs.StringVar(&add.Email, "email", "", "the account's email address")
		fs.StringVar(&role, "role", "", "viewer, editor or admin")
		fs.StringVar(&add.Name, "name", "", "the person's name")
	case "user password":
		fs.StringVar(&add.Email, "email", "", "the local account's email address")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	if cmd == "seed" && workloads <= 0 {
		return errors.New("seed: give the number of workloads with --workloads N")
	}
	if cmd == "migrate" {
		if fs.NArg() > 0 {
			return errors.New("migrate: unexpected argument after the flags; the app role's password goes on standard input, never as an argument")
		}
		if appRole == "" && (appPasswordStdin || getenv("SRM_APP_PASSWORD") != "") {
			return errors.New("migrate: a password for the app role needs --app-role NAME")
		}
		if appRole != "" {
			if msg := store.AppRoleProblem(appRole); msg != "" {
				return fmt.Errorf("migrate: --app-role %q: %s", appRole, msg)
			}
		}
		if appPasswordStdin && getenv("SRM_APP_PASSWORD") != "" {
			return errors.New("migrate: give the app role's password either on standard input or in SRM_APP_PASSWORD, not both")
		}
	}
	var password string
	if strings.HasPrefix(cmd, "user ") {
		if fs.NArg() > 0 {
			// Not repeated: it may be a password typed in the wrong place.
			return fmt.Errorf("%s: unexpected argument after the flags; give the password on standard input, never as an argument", cmd)
		}
	}
	switch cmd {
	case "user add":
		add.Role = srm.Role(role)
		if err := checkNewUser(add); err != nil {
			return err
		}
	case "user password":
		if msg := srm.EmailProblem(add.Email); msg != "" {
			return fmt.Errorf("user password: --email: %s", msg)
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if strings.HasPrefix(cmd, "user ") {
		// Before connecting, so a bad password fails at once.
		if password, err = readPassword(cmd, stdin); err != nil {
			return err
		}
	}
	var appPassword *string
	switch {
	case appPasswordStdin:
		pw, err := readRolePassword(stdin)
		if err != nil {
			return err
		}
		appPassword = &pw
	case appRole != "" && getenv("SRM_APP_PASSWORD") != "":
		pw := getenv("SRM_APP_PASSWORD")
		appPassword = &pw
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err) // pgx never puts the password in this error
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 || pcfg.ConnConfig.ConnectTimeout > time.Second {
		// While PostgreSQL is down, requests fail fast with a 503 instead of
		// waiting on the operating system's connect timeout.
		pcfg.ConnConfig.ConnectTimeout = time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil { // pgxpool.New does not dial
		return fmt.Errorf("ping database: %w", err)
	}
	dbRole, err := store.CurrentRole(ctx, pool)
	if err != nil {
		return err
	}
	if cmd == "serve" {
		if msg := dbRole.ServeProblem(); msg != "" {
			if getenv("SRM_ALLOW_OWNER_ROLE") != "1" {
				return errors.New(msg)
			}
			logger.Warn("serving as a role that could switch off the audit trail, as SRM_ALLOW_OWNER_ROLE=1 allows",
				"role", dbRole.Name)
		}
	}
	switch {
	case cmd == "migrate" || dbRole.CanMigrate():
		if err := store.Migrate(pool); err != nil {
			if !dbRole.CanMigrate() {
				return fmt.Errorf("%w (srm migrate runs as the owner of srm's schema or a superuser; %s is neither)", err, dbRole.Name)
			}
			return err
		}
	default:
		// A least-privilege role may not change the schema: it only checks
		// that the owner has brought it up to date.
		if err := store.CheckSchema(ctx, pool); err != nil {
			return err
		}
	}
	st := store.New(pool)
	switch cmd {
	case "migrate":
		logger.Info("migrations applied")
		if appRole == "" {
			return nil
		}
		if err := store.GrantAppRole(ctx, pool, appRole, appPassword); err != nil {
			return err
		}
		logger.Info("app role ready: serve as it", "role", appRole, "password_set", appPassword != nil)
		return nil
	case "demo":
		return seedDemo(ctx, st, cfg.Addr, logger, stdout)
	case "user add":
		return addUser(ctx, st, add, password, stdout)
	case "user password":
		return setPassword(ctx, st, add.Email, password, stdout)
	case "seed":
		if !dbRole.CanMigrate() {
			// It pauses triggers while it copies, which only the owner may.
			return fmt.Errorf("seed: run it as the owner of srm's schema; %s is not", dbRole.Name)
		}
		start := time.Now()
		stats, err := st.SeedSynthetic(ctx, workloads, seed)
		if err != nil {
			return err
		}
		logger.Info("synthetic data added", "workloads", stats.Workloads, "owners", stats.Owners,
			"statuses", stats.Statuses, "duration", time.Since(start).Round(time.Millisecond))
		return nil
	}
	if demo {
		if err := seedDemo(ctx, st, cfg.Addr, logger, stdout); err != nil {
			return err
		}
	}
	return serve(ctx, cfg, logger, st)
}

// seedDemo loads the demo portfolio into a database without workloads.
// When it does and the database has no accounts either, it adds the demo
// admin and prints to stdout (never to the log) how to sign in at addr.
func seedDemo(ctx context.Context, st *store.Store, addr string, logger *slog.Logger, stdout io.Writer) error {
	added, err := st.SeedDemo(ctx)
	if err != nil {
		return err
	}
	if !added {
		logger.Info("demo portfolio skipped: the database already has workloads")
		return nil
	}
	logger.Info("demo portfolio loaded")
	users, err := st.HasUsers(ctx)
	if err != nil || users {
		return err
	}
	pw := randomPassword(demoPasswordLength)
	hash, err := credential.HashPassword(pw)
	if err != nil {
		return err
	}
	u := srm.User{Email: demoAdmin, Name: "Demo admin", Role: srm.Admin}
	if err := st.CreateUser(store.WithActor(ctx, store.Actor{Name: "srm demo"}), &u, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nSign in at http://%s/signin as %s with password %s\n"+
		"(this demo account is made once, on an empty database).\n\n", browsable(addr), demoAdmin, pw)
	return nil
}

// The demo admin's email, and the length of its random password.
const (
	demoAdmin          = "admin@demo.srm.test"
	demoPasswordLength = 20
)

// passwordAlphabet leaves out characters easily mistaken for one another
// (0/O, 1/l/I), so a password read off the terminal types right.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// randomPassword returns n characters of passwordAlphabet from the
// system's cryptographic random source.
func randomPassword(n int) string {
	size := big.NewInt(int64(len(passwordAlphabet)))
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, size)
		if err != nil {
			panic(err) // the system's random source failed: nothing is safe
		}
		b[i] = passwordAlphabet[k.Int64()]
	}
	return string(b)
}

// browsable is addr as a browser can reach it: a listen address without a
// host, or on every interface, is reached on localhost.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// checkNewUser checks the flags of "user add" before anything else happens.
func checkNewUser(u srm.User) error {
	if u.Email == "" || u.Role == "" {
		return errors.New("user add: give --email and --role, for example --email ana@example.com --role admin")
	}
	problems := u.Validate()
	for _, field := range []string{"email", "name", "role"} {
		if msg, ok := problems[field]; ok {
			return fmt.Errorf("user add: --%s %q: %s", field, flagValue(u, field), msg)
		}
	}
	return nil
}

func flagValue(u srm.User, field string) string {
	switch field {
	case "email":
		return u.Email
	case "name":
		return u.Name
	}
	return string(u.Role)
}

// addUser adds the local account u with password pw, and says so on
// stdout. The password is never printed or logged.
func addUser(ctx context.Context, st *store.Store, u srm.User, pw string, stdout io.Writer) error {
	hash, err := credential.HashPassword(pw)
	if err != nil {
		return err
	}
	err = st.CreateUser(store.WithActor(ctx, store.Actor{Name: "srm user add"}), &u, hash)
	switch {
	case errors.Is(err, srm.ErrConflict):
		return fmt.Errorf("user add: there is already an account with the email %s", u.Email)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "added %s as %s\n", u.Email, u.Role)
	return nil
}

// setPassword gives the local account email a new password and signs it
// out everywhere.
func setPassword(ctx context.Context, st *store.Store, email, pw string, stdout io.Writer) error {
	cred, err := st.UserForSignIn(ctx, email)
	switch {
	case errors.Is(err, srm.ErrNotFound):
		return fmt.Errorf("user password: there is no local account with the email %s", srm.NormalizeEmail(email))
	case err != nil:
		return err
	}
	hash, err := credential.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := st.SetPassword(store.WithActor(ctx, store.Actor{Name: "srm user password"}), cred.User.ID, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "changed the password of %s and signed it out everywhere\n", cred.User.Email)
	return nil
}

// readRolePassword reads the app role's password from the first line of
// r, without its line ending, and never repeats it.
func readRolePassword(r io.Reader) (string, error) {
	const most = 1024
	line, err := bufio.NewReader(io.LimitReader(r, most+3)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("migrate: read the app role's password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case line == "":
		return "", errors.New("migrate: --app-password-stdin: give the password on the first line of standard input")
	case len(line) > most || strings.ContainsRune(line, 0):
		return "", errors.New("migrate: --app-password-stdin: the password is longer than 1,024 bytes or holds a NUL")
	}
	return line, nil
}

// readPassword reads the first line of r, without its line ending, and
// checks it as a new password. It reads no further than a password can be
// long, and never repeats it.
func readPassword(cmd string, r io.Reader) (string, error) {
	const most = 4 * srm.MaxPassword // bytes: 1,024 characters of up to four bytes each
	line, err := bufio.NewReader(io.LimitReader(r, most+3)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: read the password from standard input: %w", cmd, err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case line == "":
		return "", fmt.Errorf("%s: give the password on the first line of standard input", cmd)
	case len(line) > most:
		return "", fmt.Errorf("%s: the password on standard input is longer than 1,024 characters", cmd)
	}
	if msg := srm.PasswordProblem(line); msg != "" {
		return "", fmt.Errorf("%s: the password on standard input: %s", cmd, msg)
	}
	return line, nil
}

func serve(ctx context.Context, cfg config, logger *slog.Logger, st *store.Store) error {
	if os.Getenv("GOGC") == "" {
		// srm's live heap is a few megabytes; collecting at 4× rather than 2×
		// of it halves the collector's share of a page's cost and keeps the
		// process far under 100 MiB.
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A password check holds 19 MiB (argon2id) for a moment; a collection
		// during one would otherwise let the heap grow to five times that
		// before the next. The soft limit makes the collector work harder
		// instead, near it.
		debug.SetMemoryLimit(64 << 20)
	}
	var stopping atomic.Bool
	wcfg := cfg.Web
	wcfg.Ready = func() bool { return !stopping.Load() }
	wcfg.Bench = cfg.BenchCeiling
	handler, err := web.NewServer(ctx, logger, st, wcfg)
	if err != nil {
		return err
	}
	// Dead sessions (expired, or made before their account changed) are
	// cleared every five minutes for as long as srm serves.
	cleanCtx, stopCleaning := context.WithCancel(ctx)
	var cleaning sync.WaitGroup
	defer cleaning.Wait()
	defer stopCleaning()
	cleaning.Go(func() {
		st.Sessions().Clean(cleanCtx, 5*time.Minute, func(err error) {
			logger.Warn("clearing dead sessions failed", "err", err)
		})
	})
	if cfg.BenchCeiling {
		logger.Warn("benchmark ceiling enabled", "path", benchCeilingPath)
		handler = withBenchCeiling(handler, st)
	}
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("srm is serving", "url", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness turns 503 at once; new requests are still served during the
	// drain, so a load balancer has time to notice before the listener
	// closes. Then requests in flight get up to 10 seconds to finish.
	stopping.Store(true)
	logger.Info("shutting down", "drain", cfg.Drain)
	select {
	case <-time.After(cfg.Drain):
	case err := <-errc:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// benchCeilingPath is served only with SRM_BENCH_CEILING=1.
const benchCeilingPath = "/_bench/ceiling"

// withBenchCeiling answers GET /_bench/ceiling with one SELECT 1 through the
// store's pool and no middleware: the most a page that touches the database
// could do on this machine, for benchmarks to compare pages against. Every
// other request goes to next.
func withBenchCeiling(next http.Handler, st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != benchCeilingPath || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

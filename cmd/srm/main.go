// Command srm serves the shared-responsibility matrix: who secures what,
// for every workload, by service model and defense-in-depth layer.
//
// One file per subcommand (serve.go, migrate.go, demo.go, user.go,
// seed.go, framework.go, token.go); this one dispatches to them from the
// table commands, which also writes the usage. config.go reads the environment, in one place.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sys := system{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, listen: listenTCP}
	if err := run(ctx, os.Args[1:], sys); err != nil {
		fmt.Fprintln(os.Stderr, "srm:", err)
		os.Exit(1)
	}
}

// system is what srm takes from the process it runs in. main passes the
// process's own; tests pass theirs, a listener on a port they know included.
type system struct {
	getenv         func(string) string
	stdin          io.Reader // read only by "user add", "user password" and "migrate --app-password-stdin"
	stdout, stderr io.Writer // stdout: what a command tells the person; stderr: the log
	// listen opens a listener serve serves on, for a configured address
	// (SRM_ADDR, and SRM_METRICS_ADDR when set).
	listen func(addr string) (net.Listener, error)
}

// listenTCP listens on the TCP address addr, as main does for serve.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// invocation is what a command runs with: the system, the configuration and the log.
type invocation struct {
	system
	cfg    config
	logger *slog.Logger
}

// An action is one run of a subcommand: its flags, a check of them before
// anything else happens, then the work.
type action interface {
	// flags declares the command's flags on fs.
	flags(fs *flag.FlagSet)
	// check checks the parsed flags and the arguments left after them,
	// before the configuration is read.
	check(rest []string) error
	// run does the command's work.
	run(ctx context.Context, e *invocation) error
}

// command is one of srm's subcommands, as the usage lists it.
type command struct {
	name    string        // as typed: "serve", "user add"
	args    string        // its flags, for the usage
	summary string        // what it does, for the usage; lines after the first start with a tab
	details string        // more about its flags, after the list of commands; may be empty
	new     func() action // a fresh action, flags unset
}

// commands is every subcommand, in the order the usage lists them.
var commands = []command{
	{name: "serve", args: "[--demo]", summary: "serve the web interface, as a least-privilege role",
		details: serveDetails, new: func() action { return &serveCmd{} }},
	{name: "migrate", args: "[--app-role NAME [--app-password-stdin]]",
		summary: "apply pending database migrations and exit; run it as\n\tthe owner of srm's schema. With --app-role, also\n\tcreate the role NAME srm serves as, if missing, and\n\tgrant it exactly what serving needs (docs/deploy.md)",
		details: migrateDetails, new: func() action { return &migrateCmd{} }},
	{name: "demo", summary: "load the demo portfolio into an empty database and exit",
		new: func() action { return demoCmd{} }},
	{name: "user add", args: "--email E --role R [--name N]",
		summary: "add a local account; the password is the first line\n\tof standard input, for example\n\tsrm user add --email ana@example.com --role admin <password.txt",
		details: userAddDetails, new: func() action { return &userAddCmd{} }},
	{name: "user password", args: "--email E",
		summary: "give a local account a new password, read the same way,\n\tand sign it out everywhere",
		new:     func() action { return &userPasswordCmd{} }},
	{name: "seed", args: "--workloads N [--seed S] [--framework SLUG]",
		summary: "add N synthetic workloads (all models, owners, a status on\n\tevery control, about half complete) for load tests; with\n\t--framework, each also holds that imported framework",
		new:     func() action { return &seedCmd{} }},
	{name: "framework import", args: "[--dry-run] [--slug S] FILE | --builtin SLUG",
		summary: "import an OSCAL catalog as a framework, or a newer version\n\tof one, in one transaction; --dry-run says what changes",
		details: frameworkImportDetails, new: func() action { return &frameworkImportCmd{} }},
	{name: "framework list", summary: "list the frameworks with their versions and controls",
		new: func() action { return frameworkListCmd{} }},
	{name: "framework read", args: "--framework S --control ID (--area A --layer L --reason R | --default)",
		summary: "read one control of a framework as another responsibility\n\tarea than srm's reading, with a reason, or as srm does again",
		details: frameworkReadDetails, new: func() action { return &frameworkReadCmd{} }},
	{name: "token add", args: "--email E --name N [--write] [--expires 720h]",
		summary: "make a personal API token for an account and print it,\n\tonce (docs/api.md)",
		details: tokenAddDetails, new: func() action { return &tokenAddCmd{} }},
}

// run runs the command in args.
func run(ctx context.Context, args []string, sys system) error {
	if sys.stdin == nil {
		sys.stdin = strings.NewReader("")
	}
	if sys.stdout == nil {
		sys.stdout = io.Discard
	}
	if sys.stderr == nil {
		sys.stderr = io.Discard
	}
	if sys.listen == nil {
		sys.listen = listenTCP
	}
	if len(args) == 0 {
		fmt.Fprint(sys.stderr, usage())
		return errors.New("no command given")
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(sys.stdout, usage())
		return nil
	}
	c, rest, err := lookup(args)
	if err != nil {
		fmt.Fprint(sys.stderr, usage())
		return err
	}
	a := c.new()
	fs := flag.NewFlagSet("srm "+c.name, flag.ContinueOnError)
	fs.SetOutput(sys.stderr)
	fs.Usage = func() { fmt.Fprint(sys.stderr, usage()) }
	a.flags(fs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := a.check(fs.Args()); err != nil {
		return err
	}
	cfg, err := loadConfig(sys.getenv)
	if err != nil {
		return err
	}
	return a.run(ctx, &invocation{system: sys, cfg: cfg, logger: slog.New(slog.NewTextHandler(sys.stderr, nil))})
}

// lookup finds the command args name, one word or two ("user add"), and
// returns it with the arguments after its name.
func lookup(args []string) (*command, []string, error) {
	for i, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return &commands[i], args[len(words):], nil
		}
	}
	var subs []string // a group, such as "user", without a subcommand it has
	for _, c := range commands {
		if strings.HasPrefix(c.name, args[0]+" ") {
			subs = append(subs, strings.TrimSpace("srm "+c.name+" "+c.args))
		}
	}
	if len(subs) > 0 {
		return nil, nil, fmt.Errorf("%s: give a subcommand: %s", args[0], strings.Join(subs, ", or "))
	}
	return nil, nil, fmt.Errorf("unknown command %q", args[0])
}

// usage is srm help, written from commands.
func usage() string {
	const col = 23 // where summaries start
	var b strings.Builder
	b.WriteString("srm — a shared-responsibility matrix for cloud security.\n\nUsage:\n")
	list := append(slices.Clone(commands), command{name: "help", summary: "show this help"})
	for _, c := range list {
		head := "  " + strings.TrimSpace("srm "+c.name+" "+c.args)
		summary := strings.ReplaceAll(c.summary, "\n\t", "\n"+strings.Repeat(" ", col))
		if len(head) < col-1 {
			fmt.Fprintf(&b, "%-*s%s\n", col, head, summary)
		} else {
			fmt.Fprintf(&b, "%s\n%s%s\n", head, strings.Repeat(" ", col), summary)
		}
	}
	for _, c := range commands {
		if c.details != "" {
			fmt.Fprintf(&b, "\n%s:\n%s", c.name, c.details)
		}
	}
	b.WriteString("\n" + environmentHelp)
	return b.String()
}

// environmentHelp is the environment section of srm help; config.go reads
// these variables.
const environmentHelp = `Environment:
  DATABASE_URL   PostgreSQL connection string (required), for example
                 postgres://user:password@localhost:5432/srm?sslmode=disable
  SRM_ADDR       address to listen on (default 127.0.0.1:8080). With port 0
                 the system picks a free port; the log line
                 msg="srm is serving" url=http://HOST:PORT says which
  SRM_ALLOW_OWNER_ROLE
                 1: let srm serve run as a superuser or the schema's owner
                 (tests, one-off use); see serve above
  SRM_APP_PASSWORD
                 srm migrate --app-role: the role's password, for where
                 standard input is not at hand (containers)
  SRM_HTTP_READ_HEADER_TIMEOUT
                 a client must send its whole request head within this, or
                 the connection closes (default 5s, 100ms-1m)
  SRM_HTTP_READ_TIMEOUT, SRM_HTTP_WRITE_TIMEOUT
                 the most reading a whole request, and writing a response,
                 may take (default 30s each, 1s-1h); a streamed export
                 such as the audit CSV has 10 minutes to write
  SRM_HTTP_IDLE_TIMEOUT
                 how long a kept-alive connection may wait for its next
                 request (default 2m, 1s-1h)
  SRM_SHUTDOWN_DRAIN
                 on SIGTERM, how long /readyz answers 503 while requests are
                 still served, before the listener closes (default 2s, 0s-5s)
  SRM_SHUTDOWN_GRACE
                 then, how long requests in flight get to finish (default
                 10s, 0s-5m)
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
  SRM_METRICS_ADDR
                 serve Prometheus metrics at http://ADDR/metrics, on a
                 listener of their own, such as 127.0.0.1:9090 (default: off;
                 SRM_ADDR then has no /metrics). Keep it on a private network
  SRM_METRICS_TOKEN
                 the bearer token /metrics asks for (Authorization: Bearer
                 TOKEN; 32 characters or more). Without SRM_METRICS_ADDR,
                 metrics are served on SRM_ADDR to bearers of it. Neither set:
                 no metrics
  GOGC, GOMEMLIMIT
                 the Go runtime's collector settings, which srm serve sets to
                 400 and 64MiB unless they are set (off is allowed)

serve stops gracefully on SIGINT or SIGTERM: /readyz turns 503 at once,
the listener closes after the drain, and requests in flight get the grace
to finish.
`

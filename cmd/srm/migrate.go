package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/srmhq/srm/store"
)

const migrateDetails = `  --app-role NAME       create the role NAME (LOGIN, no other attribute)
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
`

// migrateCmd is "srm migrate [--app-role NAME [--app-password-stdin]]".
type migrateCmd struct {
	appRole          string
	appPasswordStdin bool
}

func (c *migrateCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.appRole, "app-role", "", "the least-privilege role srm serves as, created and granted")
	fs.BoolVar(&c.appPasswordStdin, "app-password-stdin", false, "read the app role's password from standard input")
}

func (c *migrateCmd) check(rest []string) error {
	if len(rest) > 0 {
		return errors.New("migrate: unexpected argument after the flags; the app role's password goes on standard input, never as an argument")
	}
	if c.appRole != "" {
		if msg := store.AppRoleProblem(c.appRole); msg != "" {
			return fmt.Errorf("migrate: --app-role %q: %s", c.appRole, msg)
		}
	}
	return nil
}

func (c *migrateCmd) run(ctx context.Context, e *invocation) error {
	if c.appRole == "" && (c.appPasswordStdin || e.cfg.AppPassword != "") {
		return errors.New("migrate: a password for the app role needs --app-role NAME")
	}
	if c.appPasswordStdin && e.cfg.AppPassword != "" {
		return errors.New("migrate: give the app role's password either on standard input or in SRM_APP_PASSWORD, not both")
	}
	var appPassword *string
	switch {
	case c.appPasswordStdin:
		pw, err := readRolePassword(e.stdin)
		if err != nil {
			return err
		}
		appPassword = &pw
	case e.cfg.AppPassword != "":
		pw := e.cfg.AppPassword
		appPassword = &pw
	}
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.migrate(); err != nil {
		return err
	}
	e.logger.Info("migrations applied")
	if c.appRole == "" {
		return nil
	}
	if err := store.GrantAppRole(ctx, db.pool, c.appRole, appPassword); err != nil {
		return err
	}
	e.logger.Info("app role ready: serve as it", "role", c.appRole, "password_set", appPassword != nil)
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

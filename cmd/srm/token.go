package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
)

const tokenAddDetails = `  --email    the account the token acts as, with its role (required)
  --name     what the token is for, such as "CI pipeline" (required)
  --write    let the token change what its owner may change; without it,
             it only reads
  --expires  how long the token lives, such as 720h (default 2160h, 90 days;
             at most 8784h, 366 days)
`

// tokenAddCmd is "srm token add --email E --name N [--write] [--expires D]".
type tokenAddCmd struct {
	email, name string
	write       bool
	expires     time.Duration
}

func (c *tokenAddCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.email, "email", "", "the account the token acts as")
	fs.StringVar(&c.name, "name", "", "what the token is for")
	fs.BoolVar(&c.write, "write", false, "let the token write")
	fs.DurationVar(&c.expires, "expires", srm.DefaultTokenLifetime, "how long the token lives")
}

func (c *tokenAddCmd) check(rest []string) error {
	if len(rest) > 0 {
		return errors.New("token add: unexpected argument after the flags")
	}
	if c.email == "" || c.name == "" {
		return errors.New(`token add: give --email and --name, for example --email ana@example.com --name "CI pipeline"`)
	}
	if msg := srm.EmailProblem(c.email); msg != "" {
		return fmt.Errorf("token add: --email %q: %s", c.email, msg)
	}
	p := srm.TokenProblems(c.name, c.expires)
	if msg, ok := p["name"]; ok {
		return fmt.Errorf("token add: --name %q: %s", c.name, msg)
	}
	if msg, ok := p["expires"]; ok {
		return fmt.Errorf("token add: --expires %s: %s", c.expires, msg)
	}
	return nil
}

func (c *tokenAddCmd) run(ctx context.Context, e *invocation) error {
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	return addToken(store.WithActor(ctx, store.Command("token add")), db.st, c, e.stdout)
}

// addToken makes the token and prints it, once, on stdout: the secret on
// a line of its own (so `| tail -1` or `| head -1` can capture it), what
// it is on standard output's first line. The secret is never logged.
func addToken(ctx context.Context, st *store.Store, c *tokenAddCmd, stdout io.Writer) error {
	u, err := st.UserByEmail(ctx, c.email)
	switch {
	case errors.Is(err, srm.ErrNotFound):
		return fmt.Errorf("token add: there is no account with the email %s", srm.NormalizeEmail(c.email))
	case err != nil:
		return err
	case u.Disabled:
		return fmt.Errorf("token add: the account %s is disabled: enable it first", u.Email)
	}
	t, secret, err := st.CreateToken(ctx, u.ID, c.name, c.write, c.expires)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s token %q for %s (%s), expires %s; shown once, keep it secret:\n%s\n",
		t.Access(), t.Name, u.Email, u.Role, t.ExpiresAt.UTC().Format(time.RFC3339), secret)
	return nil
}

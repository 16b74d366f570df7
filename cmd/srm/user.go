package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
)

const userAddDetails = `  --email  the account's email address, used to sign in (required)
  --role   viewer, editor or admin (required)
  --name   the person's name, shown on pages (optional)
`

// userAddCmd is "srm user add --email E --role R [--name N]".
type userAddCmd struct {
	user srm.User
	role string
}

func (c *userAddCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.user.Email, "email", "", "the account's email address")
	fs.StringVar(&c.role, "role", "", "viewer, editor or admin")
	fs.StringVar(&c.user.Name, "name", "", "the person's name")
}

func (c *userAddCmd) check(rest []string) error {
	if err := noArguments("user add", rest); err != nil {
		return err
	}
	c.user.Role = srm.Role(c.role)
	return checkNewUser(c.user)
}

func (c *userAddCmd) run(ctx context.Context, e *invocation) error {
	// Before connecting, so a bad password fails at once.
	pw, err := readPassword("user add", e.stdin)
	if err != nil {
		return err
	}
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	return addUser(ctx, db.st, c.user, pw, e.stdout)
}

// userPasswordCmd is "srm user password --email E".
type userPasswordCmd struct{ email string }

func (c *userPasswordCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.email, "email", "", "the local account's email address")
}

func (c *userPasswordCmd) check(rest []string) error {
	if err := noArguments("user password", rest); err != nil {
		return err
	}
	if msg := srm.EmailProblem(c.email); msg != "" {
		return fmt.Errorf("user password: --email: %s", msg)
	}
	return nil
}

func (c *userPasswordCmd) run(ctx context.Context, e *invocation) error {
	pw, err := readPassword("user password", e.stdin)
	if err != nil {
		return err
	}
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	return setPassword(ctx, db.st, c.email, pw, e.stdout)
}

// noArguments refuses arguments after the flags. Not repeated: one may be
// a password typed in the wrong place.
func noArguments(cmd string, rest []string) error {
	if len(rest) > 0 {
		return fmt.Errorf("%s: unexpected argument after the flags; give the password on standard input, never as an argument", cmd)
	}
	return nil
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
	err = st.CreateUser(store.WithActor(ctx, store.Command("user add")), &u, hash)
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
	if err := st.SetPassword(store.WithActor(ctx, store.Command("user password")), cred.User.ID, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "changed the password of %s and signed it out everywhere\n", cred.User.Email)
	return nil
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

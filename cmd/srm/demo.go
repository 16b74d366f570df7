package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
)

// demoCmd is "srm demo".
type demoCmd struct{}

func (demoCmd) flags(*flag.FlagSet)  {}
func (demoCmd) check([]string) error { return nil }

func (demoCmd) run(ctx context.Context, e *invocation) error {
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	return seedDemo(ctx, db.st, e.cfg.Addr, e.logger, e.stdout)
}

// seedDemo loads the demo portfolio into a database without workloads.
// When it does and the database has no accounts either, it adds the demo
// admin and prints to stdout (never to the log) how to sign in at addr.
func seedDemo(ctx context.Context, st *store.Store, addr string, logger *slog.Logger, stdout io.Writer) error {
	ctx = store.WithActor(ctx, store.Command("demo"))
	added, err := fixture.Demo(ctx, st)
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
	u := srm.User{Email: demoAdmin, Name: "Demo admin", Role: srm.RoleAdmin}
	if err := st.CreateUser(ctx, &u, hash); err != nil {
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

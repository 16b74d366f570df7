package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
)

// seedCmd is "srm seed --workloads N [--seed S]".
type seedCmd struct {
	workloads int
	seed      uint64
	framework string
}

func (c *seedCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.workloads, "workloads", 0, "number of synthetic workloads to add")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed, for repeatable data")
	fs.StringVar(&c.framework, "framework", "", "an imported framework every new workload also holds")
}

func (c *seedCmd) check([]string) error {
	if c.workloads <= 0 {
		return errors.New("seed: give the number of workloads with --workloads N")
	}
	return nil
}

func (c *seedCmd) run(ctx context.Context, e *invocation) error {
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	if !db.role.CanMigrate() {
		// It pauses triggers while it copies, which only the owner may.
		return fmt.Errorf("seed: run it as the owner of srm's schema; %s is not", db.role.Name)
	}
	start := time.Now()
	var frameworks []string
	if c.framework != "" {
		frameworks = []string{c.framework}
	}
	stats, err := fixture.Synthetic(store.WithActor(ctx, store.Command("seed")), db.st, c.workloads, c.seed, frameworks)
	if err != nil {
		return err
	}
	e.logger.Info("synthetic data added", "workloads", stats.Workloads, "owners", stats.Owners,
		"statuses", stats.Statuses, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

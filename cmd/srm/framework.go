package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
)

const frameworkImportDetails = `  FILE        an OSCAL catalog in JSON (OSCAL 1.0.x or 1.1.x; a resolved
              profile is a catalog), at most 50 MB
  --builtin   instead of FILE, one of the frameworks srm ships:
              nist-800-53-rev5-low, nist-800-53-rev5-moderate, nist-800-53-rev5-high
  --slug      the framework's name in srm (default: from the catalog's
              title); importing the same slug again is a newer version of it
  --name      the name people read (default: the catalog's title)
  --reading   the reading file that reads each control as a responsibility
              area (default: srm's reading of NIST SP 800-53 rev5,
              framework/nist/reading-800-53.txt; docs/frameworks.md)
  --dry-run   print what would be added, removed and changed, by control
              id, and change nothing
  Flags go before FILE. A file that fails changes nothing.
`

// frameworkImportCmd is "srm framework import [flags] FILE | --builtin SLUG".
type frameworkImportCmd struct {
	builtin, slug, name, reading string
	dryRun                       bool
	file                         string
}

func (c *frameworkImportCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.builtin, "builtin", "", "a framework srm ships")
	fs.StringVar(&c.slug, "slug", "", "the framework's name in srm")
	fs.StringVar(&c.name, "name", "", "the name people read")
	fs.StringVar(&c.reading, "reading", "", "the reading file")
	fs.BoolVar(&c.dryRun, "dry-run", false, "say what would change, change nothing")
}

func (c *frameworkImportCmd) check(rest []string) error {
	switch {
	case c.builtin != "" && len(rest) > 0:
		return errors.New("framework import: give either FILE or --builtin SLUG, not both")
	case c.builtin != "":
		if c.slug != "" || c.name != "" || c.reading != "" {
			return errors.New("framework import: --builtin takes only --dry-run")
		}
		return nil
	case len(rest) == 0:
		return errors.New("framework import: give the catalog's FILE, or --builtin SLUG")
	case len(rest) > 1:
		return fmt.Errorf("framework import: one FILE at a time, and flags before it (got %q)", strings.Join(rest, " "))
	}
	c.file = rest[0]
	return nil
}

func (c *frameworkImportCmd) run(ctx context.Context, e *invocation) error {
	opt := store.ImportOptions{Slug: c.slug, Name: c.name, DryRun: c.dryRun, Source: "imported from " + filepath.Base(c.file)}
	var in io.ReadCloser
	if c.file != "" {
		f, err := os.Open(c.file)
		if err != nil {
			return fmt.Errorf("framework import: %w", err)
		}
		in = f
		defer in.Close()
		if c.reading != "" {
			rf, err := os.Open(c.reading)
			if err != nil {
				return fmt.Errorf("framework import: %w", err)
			}
			defer rf.Close()
			if opt.Reading, err = framework.ParseReading(rf, c.reading); err != nil {
				return fmt.Errorf("framework import: %w", err)
			}
		}
	}
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	ctx = store.WithActor(ctx, store.Command("framework import"))
	var res store.ImportResult
	if c.builtin != "" {
		res, err = db.st.ImportBuiltin(ctx, c.builtin, c.dryRun)
	} else {
		res, err = db.st.ImportFramework(ctx, in, opt)
	}
	if err != nil {
		var pe *framework.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("framework import: %s: nothing was imported:\n%w", c.file, err)
		}
		return fmt.Errorf("framework import: nothing was imported: %w", err)
	}
	printImport(e.stdout, res, c.dryRun)
	return nil
}

// printImport says what an import did, or would do.
func printImport(w io.Writer, res store.ImportResult, dryRun bool) {
	f := res.Framework
	ids := func(what string, list []string) {
		if len(list) > 0 {
			fmt.Fprintf(w, "  %s (%d): %s\n", what, len(list), strings.Join(list, ", "))
		}
	}
	switch {
	case dryRun && res.New:
		fmt.Fprintf(w, "Dry run: %s (%s) is new: importing it would add %d controls. Nothing changed.\n",
			f.Name, f.Slug, len(res.Changes.Added))
		return
	case dryRun:
		fmt.Fprintf(w, "Dry run: importing this version of %s (%s, now version %s, held by %d workloads) would change:\n",
			f.Name, f.Slug, f.Version, res.Workloads)
	case res.New:
		fmt.Fprintf(w, "Imported %s (%s), version %s: %d controls.\n", f.Name, f.Slug, f.Version, f.Controls)
		return
	default:
		fmt.Fprintf(w, "Updated %s (%s) to version %s: %d controls; %d workloads that hold it reassessed.\n",
			f.Name, f.Slug, f.Version, f.Controls, res.Workloads)
	}
	if res.Changes.Empty() && len(res.Reread) == 0 {
		fmt.Fprintln(w, "  nothing: the same controls, words and reading")
	}
	ids("added", res.Changes.Added)
	ids("removed, their statuses kept in the history", res.Changes.Removed)
	ids("changed", res.Changes.Changed)
	ids("read as another area", res.Reread)
	if dryRun {
		fmt.Fprintln(w, "Nothing changed.")
	}
}

// frameworkListCmd is "srm framework list".
type frameworkListCmd struct{}

func (frameworkListCmd) flags(*flag.FlagSet) {}
func (frameworkListCmd) check(rest []string) error {
	if len(rest) > 0 {
		return fmt.Errorf("framework list: unexpected argument %q", rest[0])
	}
	return nil
}

func (frameworkListCmd) run(ctx context.Context, e *invocation) error {
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	fws, err := db.st.Frameworks(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tVERSION\tCONTROLS")
	for _, f := range fws {
		v := f.Version
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", f.Slug, f.Name, v, f.Controls)
	}
	return tw.Flush()
}

const frameworkReadDetails = `  --framework  the framework's slug (srm framework list)
  --control    the control's id as people write it, e.g. SC-7 or AC-2(1)
  --area       the responsibility area to read it as, e.g. information-and-data
  --layer      the layer it then sits in: physical, identity, perimeter,
               network, compute, application or data
  --reason     why this installation departs from srm's reading (required;
               shown with the control and kept on the audit trail)
  --default    instead of --area, --layer and --reason: back to srm's reading
`

// frameworkReadCmd is "srm framework read": an admin's reading of one
// control, for every workload holding its framework.
type frameworkReadCmd struct {
	framework, control, area, layer, reason string
	reset                                   bool
}

func (c *frameworkReadCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.framework, "framework", "", "the framework's slug")
	fs.StringVar(&c.control, "control", "", "the control's id, e.g. SC-7")
	fs.StringVar(&c.area, "area", "", "the area to read it as")
	fs.StringVar(&c.layer, "layer", "", "the layer it then sits in")
	fs.StringVar(&c.reason, "reason", "", "why (required)")
	fs.BoolVar(&c.reset, "default", false, "back to srm's reading")
}

func (c *frameworkReadCmd) check(rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("framework read: unexpected argument %q", rest[0])
	case c.framework == "" || c.control == "":
		return errors.New("framework read: give --framework SLUG and --control ID")
	case c.reset && (c.area != "" || c.layer != "" || c.reason != ""):
		return errors.New("framework read: --default takes no --area, --layer or --reason")
	case !c.reset && (c.area == "" || c.layer == ""):
		return errors.New("framework read: give --area and --layer (or --default)")
	case !c.reset && strings.TrimSpace(c.reason) == "":
		return errors.New("framework read: say why with --reason: the reason is shown with the control")
	}
	return nil
}

func (c *frameworkReadCmd) run(ctx context.Context, e *invocation) error {
	db, err := connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.ready(ctx); err != nil {
		return err
	}
	cat, err := db.st.Catalog(ctx)
	if err != nil {
		return err
	}
	f, ok := cat.FrameworkBySlug(c.framework)
	if !ok {
		return fmt.Errorf("framework read: no framework %q (srm framework list)", c.framework)
	}
	var ctl srm.Control
	for _, x := range cat.Controls() {
		if x.FrameworkID == f.ID && x.Ref == c.control {
			ctl = x
		}
	}
	if ctl.ID == 0 {
		return fmt.Errorf("framework read: %s has no control %q", f.Name, c.control)
	}
	ctx = store.WithActor(ctx, store.Command("framework read"))
	if c.reset {
		if err := db.st.ResetReading(ctx, ctl.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is read as srm reads it again: %s.\n", ctl.Name(), ctl.Reading)
		return nil
	}
	if err := db.st.SetReading(ctx, ctl.ID, srm.Area(c.area), srm.Layer(c.layer), c.reason); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is now read as %s (layer %s) for every workload holding %s: %s.\n",
		ctl.Name(), c.area, c.layer, f.Name, strings.TrimSpace(c.reason))
	return nil
}

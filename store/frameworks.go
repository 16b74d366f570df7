package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

// Frameworks returns srm's own catalog and every imported framework, each
// with its number of current controls.
func (s *Store) Frameworks(ctx context.Context) ([]srm.Framework, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Frameworks(), nil
}

// ImportOptions says what an import is of and how to read it.
type ImportOptions struct {
	// Slug names the framework in srm; importing again under the same slug
	// is a newer version of it. Empty: derived from the catalog's title.
	Slug string
	// Name is the framework's name; empty: the catalog's title.
	Name      string
	Source    string
	SourceURL string
	// Reading reads each control as an area; nil: srm's reading of NIST SP
	// 800-53 rev5 (framework/nist/reading-800-53.txt).
	Reading *framework.Reading
	// Fallback, when set, reads the controls of families the reading has
	// no line for as this area rather than refusing the catalog (see
	// framework.Reading.Fallback); ImportResult.Unread names the families.
	Fallback srm.Area
	// Limit is the largest file accepted, in bytes (0: framework.DefaultLimit).
	Limit int64
	// DryRun says what the import would change, and changes nothing.
	DryRun bool
}

// ImportResult says what an import did, or would do.
type ImportResult struct {
	Framework srm.Framework // after the import (before it, for a dry run of a newer version)
	New       bool          // the slug was not imported before
	// Changes lists, by control id, what a newer version adds, removes and
	// changes (every control is added by a first import).
	Changes framework.Changes
	// Reread lists controls that stay but that the reading now reads as
	// another area or layer (an admin's reading is kept).
	Reread []string
	// Workloads is how many workloads hold the framework, whose
	// assignments the import rewrites.
	Workloads int
	// Unread lists the families the reading has no line for, read as
	// ImportOptions.Fallback until an admin reads them.
	Unread []string
}

// ImportBuiltin imports one of the frameworks srm ships
// (framework.Builtins), by slug, as ImportFramework does.
func (s *Store) ImportBuiltin(ctx context.Context, slug string, dryRun bool) (ImportResult, error) {
	i := slices.IndexFunc(framework.Builtins(), func(b framework.Builtin) bool { return b.Slug == slug })
	if i < 0 {
		var slugs []string
		for _, b := range framework.Builtins() {
			slugs = append(slugs, b.Slug)
		}
		return ImportResult{}, fmt.Errorf("store: no built-in framework %q; srm ships %s: %w", slug, strings.Join(slugs, ", "), srm.ErrNotFound)
	}
	b := framework.Builtins()[i]
	rd, err := b.Reading()
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import %s: %w", slug, err)
	}
	in, err := b.Open()
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import %s: %w", slug, err)
	}
	defer in.Close()
	return s.ImportFramework(ctx, in, ImportOptions{Slug: b.Slug, Name: b.Name, Source: b.Source, SourceURL: b.SourceURL,
		Reading: rd, DryRun: dryRun})
}

var (
	notSlug     = regexp.MustCompile(`[^a-z0-9]+`)
	slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,98}[a-z0-9]$`) // as the frameworks table checks it
)

// slugOf makes a framework slug of a catalog's title.
func slugOf(title string) string {
	s := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 60 {
		s = strings.Trim(s[:60], "-")
	}
	if len(s) < 2 {
		s = "framework"
	}
	return s
}

// importControl is one control of an import as the controls table keeps it.
type importControl struct {
	ref, oscalID, title, statement, guidance, family, parent, reading string
	area                                                              srm.Area
	layer                                                             srm.Layer
}

// storedControl is a control of a framework as stored before an import.
type storedControl struct {
	ID            int64
	Ref           string
	Title         string
	Description   string
	Guidance      string
	Family        string
	ParentRef     string
	Area          string
	Layer         string
	DefaultArea   string
	DefaultLayer  string
	ReadingReason string
	Retired       bool
}

// ImportFramework reads an OSCAL catalog from in (framework.Parse: a bad
// file is a *framework.ParseError that says what is wrong and where), reads
// every control as an area with opt.Reading, and stores the framework and
// its controls in one transaction: all of it, or, on any error, nothing.
//
// Importing a slug already imported is a newer version of that framework:
// controls are matched by id; those that stay keep their ids, and so their
// statuses, overrides and owners; an admin's reading of a control is kept;
// a control the new version lacks is retired, not deleted, so its statuses
// stay in the history (and come back if a later version has it again).
// The assignments of every workload holding the framework follow in the
// same transaction. With opt.DryRun nothing changes and the result says
// what would.
func (s *Store) ImportFramework(ctx context.Context, in io.Reader, opt ImportOptions) (ImportResult, error) {
	cat, err := framework.Parse(in, opt.Limit)
	if err != nil {
		return ImportResult{}, err
	}
	if opt.Reading == nil {
		if opt.Reading, err = framework.NIST80053Reading(); err != nil {
			return ImportResult{}, err
		}
	}
	if opt.Fallback != "" {
		rd := *opt.Reading // the shipped reading is shared: never change it
		rd.Fallback = opt.Fallback
		opt.Reading = &rd
	}
	readings, err := framework.Read(cat, opt.Reading)
	if err != nil {
		return ImportResult{}, err
	}
	var unread []string
	for _, r := range readings {
		if fam := r.Rule.Key; r.Unread && !slices.Contains(unread, fam) {
			unread = append(unread, fam)
		}
	}
	known, err := s.Catalog(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	if err := opt.Reading.Check(known.Areas()); err != nil {
		return ImportResult{}, err
	}
	if opt.Slug == "" {
		opt.Slug = slugOf(cat.Title)
	}
	if opt.Name == "" {
		opt.Name = cat.Title
	}
	if !slugPattern.MatchString(opt.Slug) {
		return ImportResult{}, fmt.Errorf("store: import: slug %q: write it in lower-case letters, digits and dashes, e.g. acme-controls: %w",
			opt.Slug, srm.ErrInvalid)
	}
	if opt.Slug == srm.SRMFramework {
		return ImportResult{}, fmt.Errorf("store: import: %q is srm's own catalog; give the framework another slug: %w", opt.Slug, srm.ErrInvalid)
	}
	controls := make([]importControl, len(cat.Controls))
	for i, c := range cat.Controls {
		r := readings[i]
		controls[i] = importControl{ref: c.ID, oscalID: c.OSCALID, title: c.Title, statement: c.Statement, guidance: c.Guidance,
			family: c.Family, parent: c.Parent, reading: r.Provenance, area: r.Area, layer: r.Layer}
	}

	res := ImportResult{Unread: unread}
	write := func(tx pgx.Tx) error {
		if !opt.DryRun {
			if err := lockCatalog(ctx, tx); err != nil {
				return err
			}
		}
		var fid int64
		err := tx.QueryRow(ctx, `SELECT id FROM frameworks WHERE slug = $1`, opt.Slug).Scan(&fid)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			res.New = true
		case err != nil:
			return err
		}
		// The workloads that hold it, held in id order (store/assess.go).
		lock := ` FOR NO KEY UPDATE`
		if opt.DryRun {
			lock = ``
		}
		rows, _ := tx.Query(ctx, `SELECT id FROM workloads
			WHERE id IN (SELECT workload_id FROM workload_frameworks WHERE framework_id = $1) ORDER BY id`+lock, fid)
		holders, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		res.Workloads = len(holders)
		rows, _ = tx.Query(ctx, `
			SELECT id, ref, title, description, guidance, family, parent_ref, area, layer,
			       COALESCE(default_area, '') AS default_area, COALESCE(default_layer, '') AS default_layer,
			       reading_reason, retired_at IS NOT NULL AS retired
			FROM controls WHERE framework_id = $1 ORDER BY position, id`, fid)
		stored, err := pgx.CollectRows(rows, pgx.RowToStructByName[storedControl])
		if err != nil {
			return err
		}
		was := make(map[string]storedControl, len(stored))
		var old framework.Catalog
		for _, c := range stored {
			was[c.Ref] = c
			if !c.Retired {
				old.Controls = append(old.Controls, framework.Control{ID: c.Ref, Title: c.Title, Statement: c.Description,
					Guidance: c.Guidance, Family: c.Family, Parent: c.ParentRef})
			}
		}
		res.Changes = framework.Compare(old, cat)
		// What the engine must assess again: controls new to the store or
		// back from retirement, and those whose area or layer moves.
		reassessRefs := map[string]bool{}
		for _, c := range controls {
			o, ok := was[c.ref]
			switch {
			case !ok || o.Retired:
				reassessRefs[c.ref] = true
			case o.DefaultArea != string(c.area) || o.DefaultLayer != string(c.layer):
				res.Reread = append(res.Reread, c.ref)
				if o.ReadingReason == "" {
					reassessRefs[c.ref] = true
				}
			}
		}
		if opt.DryRun {
			if f, ok := known.Framework(fid); ok {
				res.Framework = f
			} else {
				res.Framework = srm.Framework{Slug: opt.Slug, Name: opt.Name, Version: cat.Version, OSCALVersion: cat.OSCALVersion}
			}
			return nil
		}

		// Areas the reading fills, and their rows in every baseline that
		// lacks them: the way srm fills a row a chart lacks (in_source false,
		// with the reading's note).
		for _, a := range opt.Reading.Areas {
			if a.Fill == nil {
				continue
			}
			row := a.Row()
			if _, err := tx.Exec(ctx, `
				INSERT INTO areas (slug, name, position)
				SELECT @area, @name, COALESCE(max(position), 0) + 1 FROM areas
				ON CONFLICT (slug) DO NOTHING`, pgx.NamedArgs{"area": string(a.Slug), "name": a.Name}); err != nil {
				return fmt.Errorf("area %s: %w", a.Slug, err)
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO baseline_rows (baseline_id, area, label, in_source, note, position, onprem, iaas, paas, saas)
				SELECT b.id, @area, @label, false, @note,
				       (SELECT COALESCE(max(r.position), 0) + 1 FROM baseline_rows r WHERE r.baseline_id = b.id),
				       @onprem, @iaas, @paas, @saas
				FROM baselines b
				WHERE NOT EXISTS (SELECT FROM baseline_rows r WHERE r.baseline_id = b.id AND r.area = @area)
				ORDER BY b.id`,
				pgx.NamedArgs{"area": string(row.Area), "label": row.Label, "note": row.Note,
					"onprem": string(row.Cells[srm.OnPrem]), "iaas": string(row.Cells[srm.IaaS]),
					"paas": string(row.Cells[srm.PaaS]), "saas": string(row.Cells[srm.SaaS])}); err != nil {
				return fmt.Errorf("fill area %s in the baselines: %w", a.Slug, err)
			}
		}

		err = tx.QueryRow(ctx, `
			INSERT INTO frameworks AS f (slug, name, version, oscal_version, source, source_url, reading)
			VALUES (@slug, @name, @version, @oscal, @source, @source_url, @reading)
			ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version,
				oscal_version = EXCLUDED.oscal_version, source = EXCLUDED.source, source_url = EXCLUDED.source_url,
				reading = EXCLUDED.reading, imported_at = now()
			RETURNING id`,
			pgx.NamedArgs{"slug": opt.Slug, "name": opt.Name, "version": cat.Version, "oscal": cat.OSCALVersion,
				"source": opt.Source, "source_url": opt.SourceURL, "reading": opt.Reading.Name}).Scan(&fid)
		if err != nil {
			return fmt.Errorf("framework %s: %w", opt.Slug, err)
		}

		n := len(controls)
		var (
			refs, oscalIDs, titles, statements, guidance, families, parents, readingsText, areas, layers = make([]string, n),
				make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
				make([]string, n), make([]string, n), make([]string, n)
			positions = make([]int32, n)
		)
		for i, c := range controls {
			refs[i], oscalIDs[i], titles[i], statements[i], guidance[i], families[i], parents[i] = c.ref, c.oscalID, c.title, c.statement, c.guidance, c.family, c.parent
			readingsText[i], areas[i], layers[i], positions[i] = c.reading, string(c.area), string(c.layer), int32(i+1)
		}
		// Controls that stay keep their row, and an admin's reading; the
		// WHERE spares unchanged rows a write (and an audit row).
		if _, err := tx.Exec(ctx, `
			INSERT INTO controls AS c (framework_id, ref, oscal_id, title, description, guidance, family, parent_ref, reading,
			                           area, layer, default_area, default_layer, position, builtin)
			SELECT @framework, n.ref, n.oscal_id, n.title, n.statement, n.guidance, n.family, n.parent, n.reading,
			       n.area, n.layer, n.area, n.layer, n.position, true
			FROM unnest(@refs::text[], @oscal_ids::text[], @titles::text[], @statements::text[], @guidance::text[], @families::text[],
			            @parents::text[], @readings::text[], @areas::text[], @layers::text[], @positions::int[])
			     AS n (ref, oscal_id, title, statement, guidance, family, parent, reading, area, layer, position)
			ORDER BY n.position
			ON CONFLICT (framework_id, ref) DO UPDATE SET
				oscal_id = EXCLUDED.oscal_id, title = EXCLUDED.title, description = EXCLUDED.description, guidance = EXCLUDED.guidance,
				family = EXCLUDED.family, parent_ref = EXCLUDED.parent_ref, reading = EXCLUDED.reading,
				default_area = EXCLUDED.default_area, default_layer = EXCLUDED.default_layer,
				area = CASE WHEN c.reading_reason = '' THEN EXCLUDED.area ELSE c.area END,
				layer = CASE WHEN c.reading_reason = '' THEN EXCLUDED.layer ELSE c.layer END,
				position = EXCLUDED.position, retired_at = NULL, version = c.version + 1
			WHERE (c.oscal_id, c.title, c.description, c.guidance, c.family, c.parent_ref, c.reading, c.default_area, c.default_layer,
			       c.position, c.retired_at)
			      IS DISTINCT FROM (EXCLUDED.oscal_id, EXCLUDED.title, EXCLUDED.description, EXCLUDED.guidance, EXCLUDED.family,
			                        EXCLUDED.parent_ref, EXCLUDED.reading, EXCLUDED.default_area, EXCLUDED.default_layer,
			                        EXCLUDED.position, NULL::timestamptz)`,
			pgx.NamedArgs{"framework": fid, "refs": refs, "oscal_ids": oscalIDs, "titles": titles, "statements": statements, "guidance": guidance,
				"families": families, "parents": parents, "readings": readingsText, "areas": areas, "layers": layers,
				"positions": positions}); err != nil {
			return fmt.Errorf("controls: %w", err)
		}
		// Controls the new version lacks are retired: their statuses stay.
		// Many workloads lose rows at once: sum their summaries afresh
		// rather than row by row (as reassess does, store/assess.go).
		bulk := len(holders) > 1 && len(res.Changes.Removed) > 0
		if bulk {
			if _, err := tx.Exec(ctx, `SELECT set_config('srm.bulk', 'on', true)`); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `
			WITH retired AS (
				UPDATE controls SET retired_at = now(), version = version + 1
				WHERE framework_id = @framework AND retired_at IS NULL AND ref <> ALL(@refs::text[])
				RETURNING id
			)
			DELETE FROM assignments WHERE control_id IN (SELECT id FROM retired)`,
			pgx.NamedArgs{"framework": fid, "refs": refs}); err != nil {
			return fmt.Errorf("retire controls: %w", err)
		}

		now, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		res.Framework, _ = now.Framework(fid)
		var only []srm.Control
		for _, c := range now.controls {
			if c.FrameworkID == fid && reassessRefs[c.Ref] {
				only = append(only, c)
			}
		}
		if len(holders) == 0 {
			return nil
		}
		if len(only) > 0 {
			return reassess(ctx, tx, now, holders, only, false) // sums the holders afresh when bulk
		}
		if bulk {
			for batch := range slices.Chunk(holders, reassessBatch) {
				if err := sumWorkloads(ctx, tx, batch); err != nil {
					return err
				}
			}
			return sumTotals(ctx, tx)
		}
		return nil
	}
	if opt.DryRun {
		err = pgx.BeginFunc(ctx, s.db, write) // writes nothing
	} else {
		err = s.inTx(ctx, write)
	}
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import framework %s: %w", opt.Slug, translate(err))
	}
	return res, nil
}

// attachOnCreate attaches the frameworks ids to the new workload wid, or
// the default ones when ids is empty, and returns the ids attached.
func attachOnCreate(ctx context.Context, tx pgx.Tx, cat Catalog, wid int64, ids []int64) ([]int64, error) {
	var want []int64
	for _, f := range cat.frameworks {
		if (len(ids) == 0 && f.Default) || slices.Contains(ids, f.ID) {
			want = append(want, f.ID)
		}
	}
	for _, id := range ids {
		if !slices.Contains(want, id) {
			return nil, fmt.Errorf("framework %d: %w", id, srm.ErrNotFound)
		}
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO workload_frameworks (workload_id, framework_id)
		SELECT $1, f FROM unnest($2::bigint[]) AS f ORDER BY f`, wid, want); err != nil {
		return nil, fmt.Errorf("attach frameworks: %w", err)
	}
	return want, nil
}

// AttachFramework holds the workload to one more framework and assesses
// the framework's controls for it. The customer's work on those controls,
// kept from an earlier time the workload held it, counts again. Already
// holding it is not an error; unknown ids are an error wrapping
// srm.ErrNotFound.
func (s *Store) AttachFramework(ctx context.Context, workloadID, frameworkID int64) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cat, err := s.holdCatalog(ctx, tx)
		if err != nil {
			return err
		}
		if _, ok := cat.Framework(frameworkID); !ok {
			return fmt.Errorf("framework %d: %w", frameworkID, srm.ErrNotFound)
		}
		tag, err := tx.Exec(ctx, `SELECT 1 FROM workloads WHERE id = $1 FOR NO KEY UPDATE`, workloadID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("workload %d: %w", workloadID, srm.ErrNotFound)
		}
		tag, err = tx.Exec(ctx, `INSERT INTO workload_frameworks (workload_id, framework_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, workloadID, frameworkID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if err := frameworkEvent(ctx, tx, "framework.attached", workloadID, frameworkID); err != nil {
			return err
		}
		only := cat.controlsOf([]int64{frameworkID})
		if len(only) == 0 {
			return nil
		}
		return reassess(ctx, tx, cat, []int64{workloadID}, only, false)
	})
	if err != nil {
		return fmt.Errorf("store: attach framework %d to workload %d: %w", frameworkID, workloadID, translate(err))
	}
	return nil
}

// ErrLastFramework is returned when detaching would leave a workload
// without any framework. It wraps srm.ErrInvalid.
var ErrLastFramework = fmt.Errorf("a workload is held to at least one framework: %w", srm.ErrInvalid)

// DetachFramework stops holding the workload to a framework: its controls
// leave the workload's progress, but the customer's work on them is kept,
// so attaching it again restores it. Not holding it is not an error;
// detaching the last framework is ErrLastFramework.
func (s *Store) DetachFramework(ctx context.Context, workloadID, frameworkID int64) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.holdCatalog(ctx, tx); err != nil {
			return err
		}
		var held []int64
		rows, _ := tx.Query(ctx, `
			SELECT wf.framework_id FROM workloads w JOIN workload_frameworks wf ON wf.workload_id = w.id
			WHERE w.id = $1 FOR NO KEY UPDATE OF w`, workloadID)
		held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if !slices.Contains(held, frameworkID) {
			return nil
		}
		if len(held) == 1 {
			return ErrLastFramework
		}
		if _, err := tx.Exec(ctx, `DELETE FROM workload_frameworks WHERE workload_id = $1 AND framework_id = $2`,
			workloadID, frameworkID); err != nil {
			return err
		}
		if err := frameworkEvent(ctx, tx, "framework.detached", workloadID, frameworkID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			DELETE FROM assignments a USING controls c
			WHERE a.workload_id = $1 AND c.id = a.control_id AND c.framework_id = $2`, workloadID, frameworkID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: detach framework %d from workload %d: %w", frameworkID, workloadID, translate(err))
	}
	return nil
}

// SetReading reads one framework control as another area (and layer) than
// srm's default, for every workload, because of reason, which is required.
// The change is audited (the control's row) and the control is assessed
// again for every workload holding its framework. srm's own controls have
// no reading: for them, and unknown ids, the error wraps srm.ErrNotFound;
// bad input is an error wrapping srm.ErrInvalid.
func (s *Store) SetReading(ctx context.Context, controlID int64, area srm.Area, layer srm.Layer, reason string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return fmt.Errorf("store: read control %d differently: say why: %w", controlID, srm.ErrInvalid)
	case srm.CheckText(reason, srm.MaxText) != "":
		return fmt.Errorf("store: read control %d differently: the reason: %s: %w", controlID, srm.CheckText(reason, srm.MaxText), srm.ErrInvalid)
	case !layer.Valid():
		return fmt.Errorf("store: read control %d differently: %q is not a layer: %w", controlID, layer, srm.ErrInvalid)
	}
	return s.reread(ctx, controlID, `
		UPDATE controls SET area = @area, layer = @layer, reading_reason = @reason, version = version + 1
		WHERE id = @id AND ref IS NOT NULL AND retired_at IS NULL`,
		pgx.NamedArgs{"id": controlID, "area": string(area), "layer": string(layer), "reason": reason})
}

// FamilyReasonPrefix starts the reason an admin's reading of a whole family
// leaves on each of its controls ("family AC: …"): it tells the family's
// controls from those read one by one, which a family's reading spares.
func FamilyReasonPrefix(family string) string { return "family " + family + ": " }

// SetFamilyReading reads every current control of one family of framework
// frameworkID as area, in layer, because of reason,
// which is required: the web's way to give a catalog srm has no reading
// for, or whose reading an installation departs from, its own reading of a
// family. Controls an admin read one by one keep that reading; those of
// the family read before are read anew. Each control's change is on the
// audit trail with the reason ("family AC: …"), and the controls are
// assessed again for every workload holding the framework, in the same
// transaction (store/assess.go). It returns how many controls it read
// anew. Unknown frameworks are an error wrapping srm.ErrNotFound; srm's
// own catalog, which has no families, too; bad input wraps srm.ErrInvalid.
func (s *Store) SetFamilyReading(ctx context.Context, frameworkID int64, family string, area srm.Area, layer srm.Layer, reason string) (int, error) {
	reason = strings.TrimSpace(reason)
	family = strings.TrimSpace(family)
	switch {
	case family == "":
		return 0, fmt.Errorf("store: read a family: name the family: %w", srm.ErrInvalid)
	case reason == "":
		return 0, fmt.Errorf("store: read family %s: say why: %w", family, srm.ErrInvalid)
	case srm.CheckText(reason, srm.MaxText) != "":
		return 0, fmt.Errorf("store: read family %s: the reason: %s: %w", family, srm.CheckText(reason, srm.MaxText), srm.ErrInvalid)
	case !layer.Valid():
		return 0, fmt.Errorf("store: read family %s: %q is not a layer: %w", family, layer, srm.ErrInvalid)
	}
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockCatalog(ctx, tx); err != nil {
			return err
		}
		cat, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		f, ok := cat.Framework(frameworkID)
		if !ok || f.Slug == srm.SRMFramework {
			return fmt.Errorf("framework %d: %w", frameworkID, srm.ErrNotFound)
		}
		if !slices.ContainsFunc(cat.areas, func(a srm.AreaInfo) bool { return a.Slug == area }) {
			return fmt.Errorf("read family %s: %q is not an area srm's baselines have: %w", family, area, srm.ErrInvalid)
		}
		rows, _ := tx.Query(ctx, `SELECT id FROM workloads
			WHERE id IN (SELECT workload_id FROM workload_frameworks WHERE framework_id = $1) ORDER BY id FOR NO KEY UPDATE`, frameworkID)
		holders, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		prefix := FamilyReasonPrefix(family)
		rows, _ = tx.Query(ctx, `
			UPDATE controls SET area = @area, layer = @layer, reading_reason = @reason, version = version + 1
			WHERE framework_id = @framework AND family = @family AND ref IS NOT NULL AND retired_at IS NULL
			  AND (reading_reason = '' OR starts_with(reading_reason, @prefix))
			  AND (area, layer, reading_reason) IS DISTINCT FROM (@area, @layer, @reason)
			RETURNING id`,
			pgx.NamedArgs{"framework": frameworkID, "family": family, "area": string(area), "layer": string(layer),
				"reason": prefix + reason, "prefix": prefix})
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		n = len(ids)
		if n == 0 || len(holders) == 0 {
			return nil
		}
		if cat, err = loadCatalog(ctx, tx); err != nil {
			return err
		}
		var only []srm.Control
		for _, id := range ids {
			if c, ok := cat.Control(id); ok {
				only = append(only, c)
			}
		}
		return reassess(ctx, tx, cat, holders, only, false)
	})
	if err != nil {
		return 0, fmt.Errorf("store: reading of family %s: %w", family, translate(err))
	}
	return n, nil
}

// ResetReading returns a framework control to srm's default reading.
func (s *Store) ResetReading(ctx context.Context, controlID int64) error {
	return s.reread(ctx, controlID, `
		UPDATE controls SET area = default_area, layer = default_layer, reading_reason = '', version = version + 1
		WHERE id = @id AND ref IS NOT NULL AND retired_at IS NULL
		  AND (area, layer, reading_reason) IS DISTINCT FROM (default_area, default_layer, '')`,
		pgx.NamedArgs{"id": controlID})
}

// reread runs update, a change of one control's reading, and assesses the
// control again for the workloads holding its framework.
func (s *Store) reread(ctx context.Context, controlID int64, update string, args pgx.NamedArgs) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockCatalog(ctx, tx); err != nil {
			return err
		}
		var fid int64
		err := tx.QueryRow(ctx, `SELECT framework_id FROM controls WHERE id = $1 AND ref IS NOT NULL AND retired_at IS NULL`,
			controlID).Scan(&fid)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id FROM workloads
			WHERE id IN (SELECT workload_id FROM workload_frameworks WHERE framework_id = $1) ORDER BY id FOR NO KEY UPDATE`, fid)
		holders, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, update, args)
		if err != nil || tag.RowsAffected() == 0 || len(holders) == 0 {
			return err
		}
		cat, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		c, ok := cat.Control(controlID)
		if !ok {
			return fmt.Errorf("control %d: %w", controlID, srm.ErrNotFound)
		}
		return reassess(ctx, tx, cat, holders, []srm.Control{c}, false)
	})
	if err != nil {
		return fmt.Errorf("store: reading of control %d: %w", controlID, translate(err))
	}
	return nil
}

// frameworkEvent records on the audit trail that a workload was attached to
// or detached from a framework.
func frameworkEvent(ctx context.Context, tx pgx.Tx, action string, workloadID, frameworkID int64) error {
	_, err := tx.Exec(ctx, `
		SELECT audit_event($1, 'framework', f.id::text, f.name, $2, NULL, NULL) FROM frameworks f WHERE f.id = $3`,
		action, workloadID, frameworkID)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

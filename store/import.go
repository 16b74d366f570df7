package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
)

// WorkloadImport is what an import of workloads does, or would do: the
// problems that stop it, or what it creates and changes.
type WorkloadImport struct {
	// Problems are what stops the import, by row and column of the file:
	// the file's own (exchange.Import.Problems) and those only the
	// database can see (a control srm does not have, a stale version, an
	// existing workload the file describes otherwise). Nothing is written
	// while there is one.
	Problems []exchange.Problem
	Created  []string // workloads the file adds, by name, in file order
	Matched  []string // workloads srm has already that the file names
	Owners   []string // owners the import adds
	// Statuses counts the controls whose status the import creates or
	// changes; Unchanged those the file gives as srm holds them already.
	Statuses  int
	Unchanged int
	Overrides int  // overrides set, changed or removed
	Applied   bool // written (false for a dry run, or with problems)
}

// OK reports whether the import has no problem.
func (w WorkloadImport) OK() bool { return len(w.Problems) == 0 }

// ErrImportRefused is returned by ImportWorkloads, with the problems in its
// result, when a file with problems is applied: nothing was written. It
// wraps srm.ErrInvalid.
var ErrImportRefused = fmt.Errorf("the import file has problems, nothing was imported: %w", srm.ErrInvalid)

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// ImportOptions returns the exchange options an import into this store
// needs: the names of its baselines.
func (s *Store) ImportOptions(ctx context.Context) (exchange.ImportOptions, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return exchange.ImportOptions{}, err
	}
	var names []string
	for _, b := range cat.baselines {
		names = append(names, b.Name)
	}
	return exchange.ImportOptions{Baselines: names}, nil
}

// ImportWorkloads applies a parsed import file in one transaction, all or
// nothing, as the actor of ctx (every workload, status, override and owner
// it writes has its own audit row, and one "workloads.imported" row says
// what the import did). With dryRun it checks everything the same way,
// under the same locks, and writes nothing.
//
// The rules, which the import page and docs/api.md repeat:
//
//   - A workload is matched by name, ignoring case. One srm does not have
//     is created with the file's description, model and baseline, held to
//     the default frameworks and to those of the controls the file names.
//   - A workload srm has is never changed by an import: neither layout
//     carries the workload's version, so the file's model and baseline, and
//     its description when it gives one, must be what srm holds (else a
//     problem on that cell: change the workload on its page, which is
//     versioned). Its controls must be of the frameworks it holds.
//   - A control is found by srm's id when the file's title (and layer)
//     agree, else by a framework's id ("AC-2"), else by its title (and
//     layer).
//   - A status srm holds is overwritten only when the row's version is its
//     version; where srm holds none the row's is created whatever its
//     version (an export imported into another database). A row whose status
//     srm already holds exactly is left alone whatever its version, so
//     applying a file twice changes nothing the second time; any other row
//     at another version is a problem on its version cell, and the whole
//     import is refused. Columns the file lacks keep what srm holds; the
//     override columns, when present, set or remove the override.
//   - Owners are found by name, ignoring case, or created (as teams).
//     Completed by and completed at are taken from the file when given,
//     else kept while the control stays complete, else stamped with the
//     owner's name and the time of the import.
//
// A file with problems returns them in the result; applied (not a dry run)
// the error is ErrImportRefused. Assignments and progress are written by
// the engine (srm.Assess) through reassess, as every other change does.
func (s *Store) ImportWorkloads(ctx context.Context, im *exchange.Import, dryRun bool) (WorkloadImport, error) {
	var res WorkloadImport
	if im == nil {
		return res, fmt.Errorf("store: import workloads: no file: %w", srm.ErrInvalid)
	}
	if !im.OK() {
		res.Problems = slices.Clone(im.Problems)
		if dryRun {
			return res, nil
		}
		return res, ErrImportRefused
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cat, err := s.holdCatalog(ctx, tx)
		if err != nil {
			return err
		}
		p, err := planImport(ctx, tx, cat, im)
		if err != nil {
			return err
		}
		res = p.result
		if !res.OK() || dryRun {
			return errDryRun
		}
		if p.empty() { // nothing to write: no audit row for nothing either
			res.Applied = true
			return errDryRun
		}
		if err := p.apply(ctx, tx, cat); err != nil {
			return err
		}
		res.Applied = true
		return nil
	})
	switch {
	case errors.Is(err, errDryRun) && (dryRun || res.OK()):
		return res, nil
	case errors.Is(err, errDryRun):
		return res, ErrImportRefused
	case err != nil:
		return WorkloadImport{}, fmt.Errorf("store: import workloads: %w", translate(err))
	}
	return res, nil
}

// storedStatus is a status as the import reads it, with its owner's name.
type storedStatus struct {
	WorkloadID    int64              `db:"workload_id"`
	ControlID     int64              `db:"control_id"`
	OwnerID       int64              `db:"owner_id"`
	OwnerName     string             `db:"owner_name"`
	Complete      bool               `db:"complete"`
	CompletedBy   string             `db:"completed_by"`
	CompletedAt   pgtype.Timestamptz `db:"completed_at"`
	Note          string             `db:"note"`
	Evidence      string             `db:"evidence"`
	NotApplicable bool               `db:"not_applicable"`
	NAReason      string             `db:"na_reason"`
	Version       int64              `db:"version"`
}

type storedOverride struct {
	WorkloadID int64  `db:"workload_id"`
	ControlID  int64  `db:"control_id"`
	Party      string `db:"party"`
	Reason     string `db:"reason"`
}

type wcKey struct{ workload, control int64 }

// importPlan is what planImport decided to write.
type importPlan struct {
	result WorkloadImport
	// new workloads, by their index in im.Workloads, with their frameworks
	created    []exchange.ImportedWorkload
	frameworks [][]int64
	existing   []int64 // ids of the workloads matched whose statuses or overrides change
	// statuses to write: on created workloads by index (workload < 0 means
	// created[-workload-1]), else by id
	statuses     []plannedStatus
	setOverrides []plannedOverride
	delOverrides []wcKey
	ownerNames   []string // every owner the statuses name
}

type plannedStatus struct {
	workload    int64 // an id, or -(index in created)-1
	control     int64
	owner       string // "" for nobody
	complete    bool
	completedBy string
	completedAt *time.Time // nil: now, when complete
	note        string
	evidence    string
	na          bool
	naReason    string
}

type plannedOverride struct {
	workload int64 // as plannedStatus.workload
	control  int64
	party    srm.Party
	reason   string
}

// empty reports whether the plan writes nothing.
func (p *importPlan) empty() bool {
	return len(p.created) == 0 && len(p.statuses) == 0 && len(p.setOverrides) == 0 && len(p.delOverrides) == 0
}

// planImport reads what the import needs, under the workloads' locks, and
// decides what to write, or the problems that stop it.
func planImport(ctx context.Context, tx pgx.Tx, cat Catalog, im *exchange.Import) (*importPlan, error) {
	p := &importPlan{}
	problem := func(row int, col, msg string) {
		p.result.Problems = append(p.result.Problems, exchange.Problem{Row: row, Column: col, Message: msg})
	}
	baselines := map[string]srm.Baseline{}
	var baselineNames []string
	for _, b := range cat.baselines {
		baselines[strings.ToLower(b.Name)] = b
		baselineNames = append(baselineNames, b.Name)
	}
	var defaults []int64
	for _, f := range cat.frameworks {
		if f.Default {
			defaults = append(defaults, f.ID)
		}
	}

	names := make([]string, len(im.Workloads))
	for i, iw := range im.Workloads {
		names[i] = strings.ToLower(strings.TrimSpace(iw.Workload.Name))
	}
	// The workloads the file names that srm has, held (in id order) until
	// the import commits: no one changes their statuses meanwhile.
	type existingRow struct {
		workloadRow
		Frameworks []int64
	}
	rows, _ := tx.Query(ctx, `
		SELECT `+prefixed("w", workloadColumns)+`,
		       array(SELECT framework_id FROM public.workload_frameworks wf WHERE wf.workload_id = w.id ORDER BY 1) AS frameworks
		FROM public.workloads w WHERE lower(w.name) = ANY(@names::text[])
		ORDER BY w.id FOR NO KEY UPDATE OF w`, pgx.NamedArgs{"names": names})
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[existingRow])
	if err != nil {
		return nil, fmt.Errorf("workloads named: %w", err)
	}
	byName := map[string]existingRow{}
	var ids []int64
	for _, r := range found {
		byName[strings.ToLower(r.Name)] = r
		ids = append(ids, r.ID)
	}

	stored := map[wcKey]storedStatus{}
	overrides := map[wcKey]storedOverride{}
	if len(ids) > 0 {
		rows, _ := tx.Query(ctx, `
			SELECT s.workload_id, s.control_id, COALESCE(s.owner_id, 0) AS owner_id, COALESCE(o.name, '') AS owner_name,
			       s.complete, s.completed_by, s.completed_at, s.note, s.evidence, s.not_applicable, s.na_reason, s.version
			FROM public.statuses s LEFT JOIN public.owners o ON o.id = s.owner_id
			WHERE s.workload_id = ANY(@ids::bigint[])`, pgx.NamedArgs{"ids": ids})
		ss, err := pgx.CollectRows(rows, pgx.RowToStructByName[storedStatus])
		if err != nil {
			return nil, fmt.Errorf("statuses: %w", err)
		}
		for _, s := range ss {
			stored[wcKey{s.WorkloadID, s.ControlID}] = s
		}
		rows, _ = tx.Query(ctx, `SELECT workload_id, control_id, party, reason FROM public.overrides
			WHERE workload_id = ANY(@ids::bigint[])`, pgx.NamedArgs{"ids": ids})
		os, err := pgx.CollectRows(rows, pgx.RowToStructByName[storedOverride])
		if err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		for _, o := range os {
			overrides[wcKey{o.WorkloadID, o.ControlID}] = o
		}
	}

	hasOverride := im.Has(exchange.ColOverrideParty) || im.Has(exchange.ColOverrideReason)
	owners := map[string]bool{}
	changed := map[int64]bool{}
	for i, iw := range im.Workloads {
		w := iw.Workload
		b, ok := baselines[strings.ToLower(strings.TrimSpace(iw.Baseline))]
		if !ok {
			problem(iw.Row, exchange.ColBaseline, fmt.Sprintf("srm has no baseline called “%s”; use one of: %s.", iw.Baseline, strings.Join(baselineNames, "; ")))
			continue
		}
		cur, exists := byName[names[i]]
		var (
			wid        int64
			candidates []srm.Control
			held       []int64
		)
		if exists {
			// Every control, the frameworks held preferred: one of another
			// framework is a problem that says so.
			wid, held = cur.ID, cur.Frameworks
			candidates = cat.controls
			if string(w.Model) != cur.Model {
				problem(iw.Row, exchange.ColModel, fmt.Sprintf("Workload “%s” is %s in srm; an import does not change an existing workload's model. Change it on the workload's page, or write %s here.",
					cur.Name, srm.ServiceModel(cur.Model).Label(), srm.ServiceModel(cur.Model).Label()))
			}
			if b.ID != cur.BaselineID {
				was, _ := cat.baseline(cur.BaselineID)
				problem(iw.Row, exchange.ColBaseline, fmt.Sprintf("Workload “%s” has baseline “%s” in srm; an import does not change an existing workload's baseline. Change it on the workload's page, or write “%s” here.",
					cur.Name, was.Name, was.Name))
			}
			if w.Description != "" && w.Description != cur.Description {
				problem(iw.Row, exchange.ColDescription, fmt.Sprintf("Workload “%s” has another description in srm; an import does not change an existing workload. Change it on the workload's page, or leave this cell empty.", cur.Name))
			}
			p.result.Matched = append(p.result.Matched, cur.Name)
		} else {
			wid = -int64(len(p.created)) - 1
			candidates, held = cat.controls, defaults
			w.BaselineID = b.ID
			iw.Workload = w
			p.created = append(p.created, iw)
			p.frameworks = append(p.frameworks, slices.Clone(defaults))
			p.result.Created = append(p.result.Created, strings.TrimSpace(w.Name))
		}
		rowOf := map[int64]int{}
		for _, is := range iw.Statuses {
			c, msg := matchControl(cat, candidates, held, is)
			if msg != "" {
				problem(is.Row, exchange.ColControl, msg)
				continue
			}
			if r, dup := rowOf[c.ID]; dup {
				problem(is.Row, exchange.ColControl, fmt.Sprintf("Row %d names the same control of this workload; keep one of the two rows.", r))
				continue
			}
			rowOf[c.ID] = is.Row
			if exists && !slices.Contains(held, c.FrameworkID) {
				f, _ := cat.Framework(c.FrameworkID)
				problem(is.Row, exchange.ColControl, fmt.Sprintf("Workload “%s” is not held to %s, whose control this is. Add the framework on the workload's page first.", cur.Name, f.Name))
				continue
			}
			if !exists {
				fw := &p.frameworks[len(p.frameworks)-1]
				if !slices.Contains(*fw, c.FrameworkID) {
					*fw = append(*fw, c.FrameworkID)
					slices.Sort(*fw)
				}
			}
			ps, same, ver, conflict := planStatus(im, wid, c.ID, is, stored[wcKey{wid, c.ID}], exists)
			o, oChange, oDelete := planOverride(hasOverride, wid, c.ID, is, overrides[wcKey{wid, c.ID}], exists)
			if conflict && !(same && !oChange && !oDelete) {
				problem(is.Row, exchange.ColVersion, fmt.Sprintf("srm holds this control's status at version %d, and the file gives version %s: it changed since the file was exported. Export the checklist again and make the change there.",
					ver, versionText(is.Status.Version)))
				continue
			}
			if same {
				p.result.Unchanged++
			} else {
				p.statuses = append(p.statuses, ps)
				p.result.Statuses++
				if ps.owner != "" {
					owners[strings.ToLower(ps.owner)] = true
					p.ownerNames = append(p.ownerNames, ps.owner)
				}
			}
			switch {
			case oChange:
				p.setOverrides = append(p.setOverrides, o)
				p.result.Overrides++
			case oDelete:
				p.delOverrides = append(p.delOverrides, wcKey{wid, c.ID})
				p.result.Overrides++
			}
			if exists && (!same || oChange || oDelete) {
				changed[wid] = true
			}
		}
	}
	for id := range changed {
		p.existing = append(p.existing, id)
	}
	slices.Sort(p.existing)
	if len(p.ownerNames) > 0 {
		rows, _ := tx.Query(ctx, `SELECT lower(name) FROM public.owners WHERE lower(name) = ANY(@names::text[])`,
			pgx.NamedArgs{"names": lowerAll(p.ownerNames)})
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("owners: %w", err)
		}
		seen := map[string]bool{}
		for _, n := range have {
			seen[n] = true
		}
		for _, n := range p.ownerNames {
			k := strings.ToLower(n)
			if !seen[k] {
				seen[k] = true
				p.result.Owners = append(p.result.Owners, n)
			}
		}
	}
	return p, nil
}

func versionText(v int64) string {
	if v == 0 {
		return "none"
	}
	return strconv.FormatInt(v, 10)
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// matchControl finds the control a row names among candidates: by srm's
// id when the title and layer agree, by a framework's id, or by title and
// layer (preferring the frameworks held, when several share a title). It
// returns the problem in words otherwise.
func matchControl(cat Catalog, candidates []srm.Control, held []int64, is exchange.ImportedStatus) (srm.Control, string) {
	title := strings.TrimSpace(is.Control)
	agrees := func(c srm.Control) bool {
		return (title == "" || strings.EqualFold(title, strings.TrimSpace(c.Title))) && (is.Layer == "" || is.Layer == c.Layer)
	}
	if n, err := strconv.ParseInt(is.ControlID, 10, 64); err == nil {
		if i, ok := cat.byID[n]; ok {
			if c := cat.controls[i]; agrees(c) && slices.ContainsFunc(candidates, func(x srm.Control) bool { return x.ID == c.ID }) {
				return c, ""
			}
		}
	}
	if is.ControlID != "" {
		var refs []srm.Control
		for _, c := range candidates {
			if c.Ref != "" && strings.EqualFold(c.Ref, is.ControlID) && agrees(c) {
				refs = append(refs, c)
			}
		}
		if c, ok := pick(refs, held); ok {
			return c, ""
		}
	}
	if title != "" {
		var titled []srm.Control
		for _, c := range candidates {
			if agrees(c) {
				titled = append(titled, c)
			}
		}
		if c, ok := pick(titled, held); ok {
			return c, ""
		}
		if len(titled) > 1 {
			return srm.Control{}, fmt.Sprintf("Several controls are called “%s”; give its layer, or its control id as srm or its framework writes it.", title)
		}
	}
	what := strings.TrimSpace(is.ControlID + " " + title)
	return srm.Control{}, fmt.Sprintf("srm has no control “%s” for this workload. Check the control id and title against the workload's checklist export.", what)
}

// pick returns the one control of cs, or the one of cs in the frameworks
// held when several match.
func pick(cs []srm.Control, held []int64) (srm.Control, bool) {
	if len(cs) == 1 {
		return cs[0], true
	}
	var in []srm.Control
	for _, c := range cs {
		if slices.Contains(held, c.FrameworkID) {
			in = append(in, c)
		}
	}
	if len(in) == 1 {
		return in[0], true
	}
	return srm.Control{}, false
}

// planStatus merges a row's status with the one srm holds (cur, zero when
// none): the columns the file lacks keep cur's values. same says the
// result is what srm holds already; conflict that srm holds a status and
// the row's version is not its version (ver).
func planStatus(im *exchange.Import, wid, cid int64, is exchange.ImportedStatus, cur storedStatus, exists bool) (ps plannedStatus, same bool, ver int64, conflict bool) {
	f := is.Status
	has := im.Has
	ps = plannedStatus{workload: wid, control: cid, owner: cur.OwnerName, complete: cur.Complete, completedBy: cur.CompletedBy,
		note: cur.Note, evidence: cur.Evidence, na: cur.NotApplicable, naReason: cur.NAReason}
	if cur.CompletedAt.Valid {
		t := cur.CompletedAt.Time
		ps.completedAt = &t
	}
	if has(exchange.ColOwner) {
		ps.owner = strings.TrimSpace(f.OwnerName)
	}
	if has(exchange.ColComplete) {
		if f.Complete != ps.complete {
			ps.completedBy, ps.completedAt = "", nil
		}
		ps.complete = f.Complete
	}
	if has(exchange.ColCompletedBy) && strings.TrimSpace(f.CompletedBy) != "" {
		ps.completedBy = f.CompletedBy
	}
	if has(exchange.ColCompletedAt) && !f.CompletedAt.IsZero() {
		t := f.CompletedAt
		ps.completedAt = &t
	}
	if !ps.complete {
		ps.completedBy, ps.completedAt = "", nil
	} else if ps.completedBy == "" {
		ps.completedBy = ps.owner
	}
	if has(exchange.ColNote) {
		ps.note = f.Note
	}
	if has(exchange.ColEvidence) {
		ps.evidence = f.Evidence
	}
	if has(exchange.ColNotApplicable) {
		ps.na = f.NotApplicable
	}
	if has(exchange.ColNAReason) {
		ps.naReason = f.NAReason
	}
	if cur.Version == 0 && ps == (plannedStatus{workload: wid, control: cid}) {
		// No status, and the row gives none: nothing to write (an export
		// lists every control, most without work).
		return ps, true, 0, false
	}
	if !exists {
		return ps, false, 0, false
	}
	same = cur.Version > 0 && strings.EqualFold(ps.owner, cur.OwnerName) && ps.complete == cur.Complete &&
		ps.completedBy == cur.CompletedBy && sameTime(ps.completedAt, cur.CompletedAt) &&
		ps.note == cur.Note && ps.evidence == cur.Evidence && ps.na == cur.NotApplicable && ps.naReason == cur.NAReason
	return ps, same, cur.Version, cur.Version > 0 && f.Version != cur.Version
}

func sameTime(a *time.Time, b pgtype.Timestamptz) bool {
	if a == nil || !b.Valid {
		return a == nil && !b.Valid
	}
	return a.Equal(b.Time)
}

// planOverride decides the override of a row: set (change) or removed
// (del), when the file has the override columns.
func planOverride(has bool, wid, cid int64, is exchange.ImportedStatus, cur storedOverride, exists bool) (o plannedOverride, change, del bool) {
	if !has {
		return o, false, false
	}
	stored := exists && cur.Party != ""
	if is.Override == nil {
		return o, false, stored
	}
	o = plannedOverride{workload: wid, control: cid, party: is.Override.Party, reason: is.Override.Reason}
	change = !stored || cur.Party != string(o.party) || cur.Reason != o.reason
	return o, change, false
}

// apply writes the plan: a fixed number of statements whatever the number
// of rows (owners, workloads, their frameworks, statuses, overrides, one
// audit row), then the engine's assignments through reassess.
func (p *importPlan) apply(ctx context.Context, tx pgx.Tx, cat Catalog) error {
	ownerIDs := map[string]int64{}
	if len(p.ownerNames) > 0 {
		rows, _ := tx.Query(ctx, `
			WITH added AS (
				INSERT INTO public.owners AS o (name, kind)
				SELECT n, 'team' FROM unnest(@new::text[]) AS n
				ON CONFLICT (lower(name)) DO NOTHING
				RETURNING o.id, lower(o.name) AS name
			)
			SELECT id, name FROM added
			UNION ALL
			SELECT id, lower(name) FROM public.owners WHERE lower(name) = ANY(@all::text[])`,
			pgx.NamedArgs{"new": p.result.Owners, "all": lowerAll(p.ownerNames)})
		var (
			id   int64
			name string
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { ownerIDs[name] = id; return nil }); err != nil {
			return fmt.Errorf("owners: %w", err)
		}
	}

	var newIDs []int64
	if len(p.created) > 0 {
		n := len(p.created)
		name, desc, model, baseline := make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
		for i, iw := range p.created {
			w := iw.Workload
			name[i], desc[i], model[i], baseline[i] = strings.TrimSpace(w.Name), w.Description, string(w.Model), w.BaselineID
		}
		rows, _ := tx.Query(ctx, `
			INSERT INTO public.workloads (name, description, model, baseline_id)
			SELECT * FROM unnest(@name::text[], @description::text[], @model::text[], @baseline::bigint[])
			RETURNING id, lower(name)`,
			pgx.NamedArgs{"name": name, "description": desc, "model": model, "baseline": baseline})
		made := map[string]int64{}
		var (
			id  int64
			low string
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &low}, func() error { made[low] = id; return nil }); err != nil {
			return fmt.Errorf("workloads: %w", err)
		}
		newIDs = make([]int64, n)
		for i := range name {
			if newIDs[i] = made[strings.ToLower(name[i])]; newIDs[i] == 0 {
				return fmt.Errorf("workload %q: not created", name[i])
			}
		}
		var fw, ff []int64
		for i, ids := range p.frameworks {
			for _, f := range ids {
				fw, ff = append(fw, newIDs[i]), append(ff, f)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO public.workload_frameworks (workload_id, framework_id)
			SELECT * FROM unnest(@w::bigint[], @f::bigint[]) ORDER BY 1, 2`, pgx.NamedArgs{"w": fw, "f": ff}); err != nil {
			return fmt.Errorf("frameworks: %w", err)
		}
	}
	wid := func(w int64) int64 {
		if w < 0 {
			return newIDs[-w-1]
		}
		return w
	}

	if n := len(p.statuses); n > 0 {
		var (
			w, c, owner            = make([]int64, n), make([]int64, n), make([]*int64, n)
			complete, na           = make([]bool, n), make([]bool, n)
			by, note, ev, naReason = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			at                     = make([]*time.Time, n)
		)
		for i, s := range p.statuses {
			w[i], c[i] = wid(s.workload), s.control
			if s.owner != "" {
				id := ownerIDs[strings.ToLower(s.owner)]
				owner[i] = &id
			}
			complete[i], na[i] = s.complete, s.na
			by[i], note[i], ev[i], naReason[i] = s.completedBy, s.note, s.evidence, s.naReason
			at[i] = s.completedAt
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO public.statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
			                                  note, evidence, not_applicable, na_reason)
			SELECT t.w, t.c, t.o, t.complete, t.by, CASE WHEN t.complete THEN COALESCE(t.at, now()) END,
			       t.note, t.ev, t.na, t.na_reason
			FROM unnest(@w::bigint[], @c::bigint[], @o::bigint[], @complete::boolean[], @by::text[], @at::timestamptz[],
			            @note::text[], @ev::text[], @na::boolean[], @na_reason::text[])
			     AS t (w, c, o, complete, by, at, note, ev, na, na_reason)
			ORDER BY t.w, t.c
			ON CONFLICT (workload_id, control_id) DO UPDATE SET
				owner_id = EXCLUDED.owner_id, complete = EXCLUDED.complete, completed_by = EXCLUDED.completed_by,
				completed_at = EXCLUDED.completed_at, note = EXCLUDED.note, evidence = EXCLUDED.evidence,
				not_applicable = EXCLUDED.not_applicable, na_reason = EXCLUDED.na_reason,
				version = s.version + 1, updated_at = now()`,
			pgx.NamedArgs{"w": w, "c": c, "o": owner, "complete": complete, "by": by, "at": at,
				"note": note, "ev": ev, "na": na, "na_reason": naReason}); err != nil {
			return fmt.Errorf("statuses: %w", err)
		}
	}

	if n := len(p.setOverrides); n > 0 {
		w, c, party, reason := make([]int64, n), make([]int64, n), make([]string, n), make([]string, n)
		for i, o := range p.setOverrides {
			w[i], c[i], party[i], reason[i] = wid(o.workload), o.control, string(o.party), o.reason
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO public.overrides AS o (workload_id, control_id, party, reason)
			SELECT * FROM unnest(@w::bigint[], @c::bigint[], @party::text[], @reason::text[]) ORDER BY 1, 2
			ON CONFLICT (workload_id, control_id) DO UPDATE SET
				party = EXCLUDED.party, reason = EXCLUDED.reason, created_at = now(), version = o.version + 1`,
			pgx.NamedArgs{"w": w, "c": c, "party": party, "reason": reason}); err != nil {
			return fmt.Errorf("overrides: %w", err)
		}
	}
	if n := len(p.delOverrides); n > 0 {
		w, c := make([]int64, n), make([]int64, n)
		for i, k := range p.delOverrides {
			w[i], c[i] = k.workload, k.control
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM public.overrides o USING unnest(@w::bigint[], @c::bigint[]) AS t (w, c)
			WHERE o.workload_id = t.w AND o.control_id = t.c`, pgx.NamedArgs{"w": w, "c": c}); err != nil {
			return fmt.Errorf("overrides: %w", err)
		}
	}

	// The engine's assignments: new workloads afresh (after their statuses
	// and overrides, which it reads), changed ones again.
	if len(newIDs) > 0 {
		if err := reassess(ctx, tx, cat, newIDs, nil, true); err != nil {
			return err
		}
	}
	if len(p.existing) > 0 {
		if err := reassess(ctx, tx, cat, p.existing, nil, false); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `SELECT public.audit_event('workloads.imported', 'portfolio', '', '', NULL, NULL, $1)`,
		// Counts only: each workload, status, override and owner written
		// has its own row, and a file may name thousands.
		map[string]int{"created": len(p.result.Created), "matched": len(p.result.Matched), "statuses": p.result.Statuses,
			"overrides": p.result.Overrides, "owners": len(p.result.Owners)}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

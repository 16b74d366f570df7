package exchange

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srmhq/srm"
	"github.com/xuri/excelize/v2"
)

// Limits of an import file, unless ImportOptions says otherwise.
const (
	DefaultMaxBytes = 10 << 20 // 10 MiB
	DefaultMaxRows  = 100_000  // rows below the header
)

// ErrTooLarge is returned (wrapped) when a file exceeds its size or row
// limit; the Import then holds a Problem saying so, and nothing else from
// the file should be used. It wraps srm.ErrInvalid.
var ErrTooLarge = fmt.Errorf("import file too large: %w", srm.ErrInvalid)

// ImportOptions are the limits and the context of an import.
type ImportOptions struct {
	MaxBytes int64 // 0 or less: DefaultMaxBytes
	MaxRows  int   // 0 or less: DefaultMaxRows
	// Baselines are the names of the baselines srm has; a workload naming
	// another is a problem. Nil: names are not checked here.
	Baselines []string
}

// Problem is what is wrong with one cell (or row, when Column is "") of an
// import file. Row counts as a spreadsheet does: the header is row 1.
type Problem struct {
	Row     int
	Column  string
	Message string
}

func (p Problem) String() string {
	switch {
	case p.Row == 0:
		return p.Message
	case p.Column == "":
		return fmt.Sprintf("Row %d: %s", p.Row, p.Message)
	}
	return fmt.Sprintf("Row %d, column “%s”: %s", p.Row, p.Column, p.Message)
}

// Import is what a file holds: its workloads in the order they first
// appear, each with its statuses, and every problem found. Apply it only
// when Problems is empty.
type Import struct {
	Workloads []ImportedWorkload
	Problems  []Problem
	Rows      int // rows read below the header, blank ones included
	// Columns are the columns the header names, as the Col* constants
	// spell them. A column the file lacks is not a column of empty cells:
	// the store keeps what it holds for it.
	Columns []string
}

// Has reports whether the file's header names column col (a Col* constant).
func (im *Import) Has(col string) bool { return slices.Contains(im.Columns, col) }

// OK reports whether the file has no problem.
func (im *Import) OK() bool { return len(im.Problems) == 0 }

// ImportedWorkload is one workload of an import file.
type ImportedWorkload struct {
	Row int // the first row naming it
	// Workload has Name, Description and Model; BaselineID is 0: the store
	// finds the baseline by the name in Baseline.
	Workload srm.Workload
	// Baseline is the baseline's name: as srm spells it when
	// ImportOptions.Baselines was given, else as the file does.
	Baseline string
	Statuses []ImportedStatus
}

// ImportedStatus is the customer's work on one control of a workload, as a
// checklist row gives it.
type ImportedStatus struct {
	Row int
	// The control, as the file names it: its id (srm's number, or a
	// framework's id), and its layer and title (unique together in srm).
	ControlID string
	Layer     srm.Layer // "" when the file has no layer column
	Control   string
	// Status holds the owner's name (OwnerID 0: the store finds or makes
	// the owner), completion, note, evidence, not applicable and its
	// reason, and Version: the version the export saw, 0 when absent.
	Status srm.Status
	// Override is set when the row has an override party or reason.
	Override *srm.Override
}

// The columns an import needs; the others of the checklist layout are
// optional, and the rest (layer's party, why, done, total, percent) are
// computed by srm and not read.
var requiredColumns = []string{ColWorkload, ColModel, ColBaseline}

// ReadCSV parses an import file in the checklist or portfolio layout (a
// header row, then one row per workload or per control of a workload).
// Cells escaped by SafeCell are read back as they were. It stops at the
// limits of opt with ErrTooLarge. Any other error is a failure to read r.
func ReadCSV(r io.Reader, opt ImportOptions) (*Import, error) {
	opt = opt.withDefaults()
	lr := &limitedReader{r: r, left: opt.MaxBytes}
	br := bufio.NewReaderSize(lr, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3) // a byte order mark, as Excel writes
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	p := newParser(opt)
	for {
		rec, err := cr.Read()
		if lr.over {
			return p.tooLarge(fmt.Sprintf("The file is larger than %s; split it into smaller files.", sizeText(opt.MaxBytes)))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.csvError(pe)
				return p.finish(), nil
			}
			return nil, fmt.Errorf("reading the import file: %w", err)
		}
		if stop, err := p.record(rec); stop {
			return p.finish(), err
		}
	}
	return p.finish(), nil
}

// ReadXLSX parses an import file in XLSX, from its first sheet, as ReadCSV
// does. The whole file is read in memory (excelize needs it); it is
// refused past opt.MaxBytes, and its parts may not unzip to more than ten
// times that.
func ReadXLSX(r io.Reader, opt ImportOptions) (*Import, error) {
	opt = opt.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, opt.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the import file: %w", err)
	}
	p := newParser(opt)
	if int64(len(data)) > opt.MaxBytes {
		return p.tooLarge(fmt.Sprintf("The file is larger than %s; split it into smaller files.", sizeText(opt.MaxBytes)))
	}
	unzip := 10 * opt.MaxBytes
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: unzip, UnzipXMLSizeLimit: unzip})
	if err != nil {
		p.problem(0, "", "This is not an XLSX workbook srm can read ("+err.Error()+"). Save it again as .xlsx, or export it as CSV.")
		return p.finish(), nil
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		p.problem(0, "", "The workbook has no sheet.")
		return p.finish(), nil
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		p.problem(0, "", "The first sheet cannot be read: "+err.Error())
		return p.finish(), nil
	}
	defer rows.Close()
	for rows.Next() {
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			p.problem(p.row+1, "", "This row cannot be read: "+err.Error())
			return p.finish(), nil
		}
		if stop, err := p.record(rec); stop {
			return p.finish(), err
		}
	}
	if err := rows.Error(); err != nil {
		p.problem(0, "", "The first sheet cannot be read: "+err.Error())
	}
	return p.finish(), nil
}

func (o ImportOptions) withDefaults() ImportOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	return o
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// limitedReader reads at most left bytes and notes when r has more.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.left < 0 {
		l.over = true
		return 0, io.EOF
	}
	if int64(len(b)) > l.left+1 {
		b = b[:l.left+1]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, io.EOF
	}
	return n, err
}

type parser struct {
	opt     ImportOptions
	im      *Import
	row     int            // the spreadsheet row of the last record
	col     map[string]int // header → index
	header  []string
	ctrl    bool                // the file names controls
	byName  map[string]int      // lower-cased workload name → index in im.Workloads
	plain   map[string]int      // lower-cased workload name → its workload-only row
	seenCtl map[[2]string]int   // workload, control key → row
	descRow map[string]struct{} // workloads whose description a row has given
}

func newParser(opt ImportOptions) *parser {
	return &parser{opt: opt, im: &Import{}, byName: map[string]int{}, plain: map[string]int{}, seenCtl: map[[2]string]int{}, descRow: map[string]struct{}{}}
}

func (p *parser) problem(row int, col, msg string) {
	p.im.Problems = append(p.im.Problems, Problem{Row: row, Column: col, Message: msg})
}

func (p *parser) tooLarge(msg string) (*Import, error) {
	p.problem(0, "", msg)
	return p.im, fmt.Errorf("%w: %s", ErrTooLarge, msg)
}

func (p *parser) csvError(pe *csv.ParseError) {
	// csv counts lines, and a quoted cell may span several: name the line.
	p.problem(p.row+1, "", fmt.Sprintf("The CSV is broken at line %d, character %d: %v. Check the quotes around that cell.", pe.Line, pe.Column, pe.Err))
}

func (p *parser) finish() *Import {
	if p.header == nil && len(p.im.Problems) == 0 {
		p.problem(0, "", "The file is empty: it needs a header row ("+strings.Join(requiredColumns, ", ")+", …) and a row per workload.")
	}
	return p.im
}

// record takes one row of the file. It reports stop when reading must end.
func (p *parser) record(rec []string) (stop bool, err error) {
	p.row++
	if p.header == nil {
		return !p.readHeader(rec), nil
	}
	p.im.Rows++
	if p.im.Rows > p.opt.MaxRows {
		_, err := p.tooLarge(fmt.Sprintf("The file has more than %d rows below its header; split it into smaller files.", p.opt.MaxRows))
		return true, err
	}
	blank := true
	for _, c := range rec {
		blank = blank && strings.TrimSpace(c) == ""
	}
	if blank {
		return false, nil
	}
	if len(rec) > len(p.header) {
		extra := false
		for _, c := range rec[len(p.header):] {
			extra = extra || strings.TrimSpace(c) != ""
		}
		if extra {
			p.problem(p.row, "", fmt.Sprintf("This row has %d cells, but the header names %d columns. Remove the extra cells or give them a header.", len(rec), len(p.header)))
			return false, nil
		}
	}
	p.dataRow(rec)
	return false, nil
}

func normHeader(s string) string { return strings.ToLower(strings.TrimSpace(UnescapeCell(s))) }

func (p *parser) readHeader(rec []string) bool {
	p.header = slices.Clone(rec)
	p.col = map[string]int{}
	ok := true
	for i, h := range rec {
		n := normHeader(h)
		if n == "" {
			continue
		}
		if j, dup := p.col[n]; dup {
			p.problem(1, n, fmt.Sprintf("Columns %d and %d are both headed “%s”; keep one.", j+1, i+1, n))
			ok = false
			continue
		}
		p.col[n] = i
		p.im.Columns = append(p.im.Columns, n)
	}
	for _, c := range requiredColumns {
		if _, has := p.col[c]; !has {
			p.problem(1, c, fmt.Sprintf("The header has no column “%s”. The first row must name the columns: %s, and optionally the others of a checklist export.", c, strings.Join(requiredColumns, ", ")))
			ok = false
		}
	}
	_, hasID := p.col[ColControlID]
	_, hasTitle := p.col[ColControl]
	p.ctrl = hasID || hasTitle
	return ok
}

// cell returns the value of column name in rec, unescaped, and whether the
// file has that column.
func (p *parser) cell(rec []string, name string) (string, bool) {
	i, ok := p.col[name]
	if !ok {
		return "", false
	}
	if i >= len(rec) {
		return "", true
	}
	return UnescapeCell(rec[i]), true
}

func (p *parser) get(rec []string, name string) string {
	v, _ := p.cell(rec, name)
	return v
}

// workloadColumn names the column of a Workload.Validate field.
var workloadColumn = map[string]string{"name": ColWorkload, "description": ColDescription, "model": ColModel, "baseline": ColBaseline}

// statusColumn names the column of a Status.Validate or Override.Validate
// field.
var statusColumn = map[string]string{"note": ColNote, "na_reason": ColNAReason, "evidence": ColEvidence, "party": ColOverrideParty, "reason": ColOverrideReason}

func (p *parser) problems(pr srm.Problems, columns map[string]string) {
	keys := make([]string, 0, len(pr))
	for k := range pr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := columns[k]
		if c == "" {
			c = k
		}
		p.problem(p.row, c, pr[k])
	}
}

func (p *parser) dataRow(rec []string) {
	before := len(p.im.Problems)
	name := p.get(rec, ColWorkload)
	desc, hasDesc := p.cell(rec, ColDescription)
	model, modelOK := ParseModel(p.get(rec, ColModel))
	baseline := strings.TrimSpace(p.get(rec, ColBaseline))

	w := srm.Workload{Name: name, Description: desc, Model: model, BaselineID: 1}
	wp := w.Validate()
	if !modelOK {
		wp["model"] = fmt.Sprintf("Write one of On-premises, IaaS, PaaS or SaaS (found “%s”).", clip(p.get(rec, ColModel)))
	}
	p.problems(wp, workloadColumn)
	switch {
	case baseline == "":
		p.problem(p.row, ColBaseline, "Enter the name of the workload's baseline, as srm lists it.")
	case p.opt.Baselines != nil:
		i := slices.IndexFunc(p.opt.Baselines, func(b string) bool { return strings.EqualFold(b, baseline) })
		if i < 0 {
			p.problem(p.row, ColBaseline, fmt.Sprintf("srm has no baseline called “%s”; use one of: %s.", clip(baseline), strings.Join(p.opt.Baselines, "; ")))
		} else {
			baseline = p.opt.Baselines[i] // as srm spells it
		}
	}
	w.BaselineID = 0

	key := strings.ToLower(strings.TrimSpace(name))
	idx, seen := p.byName[key]
	if seen && key != "" {
		first := &p.im.Workloads[idx]
		switch {
		case modelOK && first.Workload.Model != model:
			p.problem(p.row, ColModel, fmt.Sprintf("Workload “%s” is %s on row %d; a workload has one model.", clip(name), first.Workload.Model.Label(), first.Row))
		case baseline != "" && !strings.EqualFold(first.Baseline, baseline):
			p.problem(p.row, ColBaseline, fmt.Sprintf("Workload “%s” has baseline “%s” on row %d; a workload has one baseline.", clip(name), clip(first.Baseline), first.Row))
		}
		if hasDesc && desc != "" {
			if _, given := p.descRow[key]; given && first.Workload.Description != desc {
				p.problem(p.row, ColDescription, fmt.Sprintf("Workload “%s” has another description on row %d; give it once, or the same each time.", clip(name), first.Row))
			} else {
				first.Workload.Description = desc
				p.descRow[key] = struct{}{}
			}
		}
	}

	st, isStatus := p.status(rec)
	if !isStatus {
		if r, dup := p.plain[key]; dup && key != "" {
			p.problem(p.row, ColWorkload, fmt.Sprintf("Workload “%s” is already on row %d; keep one of the two rows.", clip(name), r))
		}
		p.plain[key] = p.row
	}
	if len(p.im.Problems) > before {
		return
	}
	if !seen {
		p.byName[key] = len(p.im.Workloads)
		p.im.Workloads = append(p.im.Workloads, ImportedWorkload{Row: p.row, Workload: w, Baseline: baseline})
		idx = len(p.im.Workloads) - 1
		if hasDesc && desc != "" {
			p.descRow[key] = struct{}{}
		}
	}
	if isStatus {
		p.im.Workloads[idx].Statuses = append(p.im.Workloads[idx].Statuses, st)
	}
}

// status reads the control columns of a row. isStatus is false for a row
// that names no control (a workload alone).
func (p *parser) status(rec []string) (ImportedStatus, bool) {
	if !p.ctrl {
		return ImportedStatus{}, false
	}
	st := ImportedStatus{Row: p.row, ControlID: strings.TrimSpace(p.get(rec, ColControlID)), Control: p.get(rec, ColControl)}
	statusCols := []string{ColOwner, ColComplete, ColCompletedBy, ColCompletedAt, ColNote, ColEvidence, ColNotApplicable, ColNAReason, ColOverrideParty, ColOverrideReason}
	if st.ControlID == "" && strings.TrimSpace(st.Control) == "" {
		for _, c := range statusCols {
			if strings.TrimSpace(p.get(rec, c)) != "" {
				p.problem(p.row, ColControl, "This row gives a status but names no control: fill in the control id or the control's title.")
				break
			}
		}
		return ImportedStatus{}, false
	}
	if msg := srm.CheckText(st.ControlID, 50); msg != "" {
		p.problem(p.row, ColControlID, msg)
	}
	if msg := srm.CheckText(st.Control, srm.MaxTitle); msg != "" {
		p.problem(p.row, ColControl, msg)
	}
	if l, has := p.cell(rec, ColLayer); has && strings.TrimSpace(l) != "" {
		layer, ok := ParseLayer(l)
		if !ok {
			p.problem(p.row, ColLayer, fmt.Sprintf("Write one of the seven layers: %s (found “%s”).", layerNames(), clip(l)))
		}
		st.Layer = layer
	}
	ckey := "#" + st.ControlID
	if st.ControlID == "" {
		ckey = string(st.Layer) + "/" + strings.ToLower(strings.TrimSpace(st.Control))
	}
	wkey := strings.ToLower(strings.TrimSpace(p.get(rec, ColWorkload)))
	if r, dup := p.seenCtl[[2]string{wkey, ckey}]; dup {
		p.problem(p.row, ColControl, fmt.Sprintf("This control of workload “%s” is already on row %d; keep one of the two rows.", clip(p.get(rec, ColWorkload)), r))
	} else {
		p.seenCtl[[2]string{wkey, ckey}] = p.row
	}

	s := &st.Status
	s.OwnerName = p.get(rec, ColOwner)
	if msg := srm.CheckText(s.OwnerName, srm.MaxName); msg != "" {
		p.problem(p.row, ColOwner, msg)
	}
	s.Complete = p.boolCell(rec, ColComplete)
	s.CompletedBy = p.get(rec, ColCompletedBy)
	if msg := srm.CheckText(s.CompletedBy, srm.MaxName); msg != "" {
		p.problem(p.row, ColCompletedBy, msg)
	}
	if v := strings.TrimSpace(p.get(rec, ColCompletedAt)); v != "" {
		t, err := ParseTime(v)
		if err != nil {
			p.problem(p.row, ColCompletedAt, fmt.Sprintf("Write the date and time as 2026-12-03T09:30:00Z (ISO 8601, in UTC) or the date alone as 2026-12-03 (found “%s”).", clip(v)))
		}
		s.CompletedAt = t
	}
	s.Note = p.get(rec, ColNote)
	s.Evidence = strings.TrimSpace(p.get(rec, ColEvidence))
	s.NotApplicable = p.boolCell(rec, ColNotApplicable)
	s.NAReason = p.get(rec, ColNAReason)
	p.problems(s.Validate(), statusColumn)
	if v := strings.TrimSpace(p.get(rec, ColVersion)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			p.problem(p.row, ColVersion, fmt.Sprintf("Write the version as a whole number, as the export gave it (found “%s”).", clip(v)))
		}
		s.Version = n
	}
	oParty, oReason := strings.TrimSpace(p.get(rec, ColOverrideParty)), p.get(rec, ColOverrideReason)
	if oParty != "" || strings.TrimSpace(oReason) != "" {
		party, ok := ParseParty(oParty)
		o := srm.Override{Party: party, Reason: oReason}
		pr := o.Validate()
		if !ok && oParty != "" {
			pr["party"] = fmt.Sprintf("Write Customer, Shared or Azure (found “%s”).", clip(oParty))
		}
		p.problems(pr, statusColumn)
		st.Override = &o
	}
	return st, true
}

func (p *parser) boolCell(rec []string, col string) bool {
	v := p.get(rec, col)
	b, ok := ParseBool(v)
	if !ok {
		p.problem(p.row, col, fmt.Sprintf("Write yes or no (found “%s”).", clip(v)))
	}
	return b
}

// clip shortens what a message quotes from the file.
func clip(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// ParseBool reads yes/no, true/false, 1/0 (any case) and an empty cell (no).
func ParseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "1", "x":
		return true, true
	case "no", "n", "false", "0", "":
		return false, true
	}
	return false, false
}

// ParseModel reads a service model by its label ("On-premises", "IaaS") or
// slug ("onprem"), in any case.
func ParseModel(s string) (srm.ServiceModel, bool) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, m := range srm.ServiceModels {
		if v == string(m) || v == strings.ToLower(m.Label()) {
			return m, true
		}
	}
	switch v {
	case "on-prem", "on premises", "on-premise", "on prem":
		return srm.OnPrem, true
	}
	return "", false
}

// ParseParty reads a party by its label (Customer, Shared, Azure) or slug
// (provider), in any case; "Inherited from Azure" too.
func ParseParty(s string) (srm.Party, bool) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, p := range srm.Parties {
		if v == string(p) || v == strings.ToLower(p.Label()) || v == strings.ToLower(Responsibility(p)) {
			return p, true
		}
	}
	return "", false
}

// ParseLayer reads a layer by its label ("Identity & access") or slug.
func ParseLayer(s string) (srm.Layer, bool) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, l := range srm.Layers {
		if v == string(l) || v == strings.ToLower(l.Label()) {
			return l, true
		}
	}
	return "", false
}

func layerNames() string {
	var n []string
	for _, l := range srm.Layers {
		n = append(n, l.Label())
	}
	return strings.Join(n, ", ")
}

// ParseTime reads a moment as the export writes it (RFC 3339, any offset,
// returned in UTC), or a date alone (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse("2006-01-02", s)
}

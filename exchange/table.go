package exchange

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Column is one column of a table: its header, and its width in XLSX.
type Column struct {
	Header string
	// Width is the column's width in characters in XLSX; 0 sizes it from
	// the header, between 10 and 60 characters. CSV has no widths.
	Width float64
}

type kind uint8

const (
	kindText kind = iota
	kindInt
)

// Value is one cell of a row: text, or a whole number. Text is exported
// through SafeCell in both formats; numbers are numbers in XLSX.
type Value struct {
	kind kind
	s    string
	n    int64
}

// Text is a text cell.
func Text(s string) Value { return Value{kind: kindText, s: s} }

// Int is a number cell.
func Int(n int64) Value { return Value{kind: kindInt, n: n} }

// Bool is a yes/no cell: "yes" or "no", as ParseBool reads them back.
func Bool(b bool) Value {
	if b {
		return Text("yes")
	}
	return Text("no")
}

// Time is a moment in UTC, ISO 8601 (RFC 3339, with fractions of a second
// only when it has some): "2026-12-03T09:30:00Z". The zero time is an empty
// cell. It is text in XLSX too, so a spreadsheet shows and gives back
// exactly what srm stored, whatever its time zone.
func Time(t time.Time) Value {
	if t.IsZero() {
		return Text("")
	}
	return Text(t.UTC().Format(time.RFC3339Nano))
}

// ID is a database id, or an empty cell for 0.
func ID(n int64) Value {
	if n == 0 {
		return Text("")
	}
	return Int(n)
}

// String is the cell as the CSV holds it: text after SafeCell, numbers in
// decimal.
func (v Value) String() string {
	if v.kind == kindInt {
		return strconv.FormatInt(v.n, 10)
	}
	return SafeCell(v.s)
}

// Texts makes a row of text cells.
func Texts(ss ...string) []Value {
	out := make([]Value, len(ss))
	for i, s := range ss {
		out[i] = Text(s)
	}
	return out
}

// Format is a spreadsheet file format.
type Format string

// The two formats srm exports.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ContentType is the media type to send with f.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Ext is the file name extension of f, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// Writer writes a table row by row. Its header is written when it is made.
// Close must be called once, after the last row, to complete the file; a
// Writer is not safe for use by several goroutines.
type Writer interface {
	// Write adds one row; it must have one value per column.
	Write(row []Value) error
	// Close completes the file. For XLSX, nothing reaches the io.Writer
	// before Close.
	Close() error
	// Abort gives up the file after a failure, without completing it, and
	// releases what the writer holds (XLSX: its temporary file). Rows of a
	// CSV already written have been sent. Close or Abort, once, always.
	Abort() error
}

// ErrRowWidth is returned by Write for a row with a wrong number of values.
var ErrRowWidth = errors.New("exchange: row has a different number of values than the table has columns")

// NewWriter makes a Writer of format f on w. sheet names the XLSX sheet
// (CSV has none).
func NewWriter(f Format, w io.Writer, sheet string, cols []Column) (Writer, error) {
	switch f {
	case CSV:
		return NewCSVWriter(w, cols)
	case XLSX:
		return NewXLSXWriter(w, sheet, cols)
	}
	return nil, fmt.Errorf("exchange: unknown format %q", f)
}

// CSVWriter writes a table as CSV (RFC 4180, UTF-8 without a byte order
// mark, CRLF-free: lines end in \n), through a 32 KiB buffer: memory stays
// the same whatever the number of rows.
type CSVWriter struct {
	cols int
	buf  *bufio.Writer
	out  *csv.Writer
	rec  []string
}

// NewCSVWriter writes the header row of cols to w and returns the writer of
// the rows.
func NewCSVWriter(w io.Writer, cols []Column) (*CSVWriter, error) {
	buf := bufio.NewWriterSize(w, 32<<10)
	c := &CSVWriter{cols: len(cols), buf: buf, out: csv.NewWriter(buf), rec: make([]string, len(cols))}
	for i, col := range cols {
		c.rec[i] = SafeCell(col.Header)
	}
	if err := c.out.Write(c.rec); err != nil {
		return nil, err
	}
	return c, nil
}

// Write adds one row.
func (c *CSVWriter) Write(row []Value) error {
	if len(row) != c.cols {
		return fmt.Errorf("%w (%d values, %d columns)", ErrRowWidth, len(row), c.cols)
	}
	for i, v := range row {
		c.rec[i] = v.String()
	}
	return c.out.Write(c.rec)
}

// Close flushes what is buffered to the io.Writer.
func (c *CSVWriter) Close() error {
	c.out.Flush()
	if err := c.out.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// Abort does nothing more for CSV: rows written are sent already.
func (c *CSVWriter) Abort() error { return nil }

// XLSXWriter writes a table as one sheet of an XLSX workbook through
// excelize's StreamWriter: the header row bold and frozen, columns sized,
// text as inline strings (never formulas), numbers as numbers.
//
// Memory: the StreamWriter keeps the sheet's XML in memory up to
// excelize.StreamChunkSize (16 MiB), then moves it to a temporary file
// (os.TempDir, excelize-*), so the heap stays bounded whatever the number
// of rows; the file is removed by Close. Close then zips the workbook
// straight into the io.Writer (through excelize's SetZipWriter), instead of
// excelize's default of building the whole .xlsx in a bytes.Buffer first.
// So the download starts only at Close, and the disk holds the sheet's
// uncompressed XML until then (about 1 KiB per row of a checklist).
type XLSXWriter struct {
	w     io.Writer
	f     *excelize.File
	sw    *excelize.StreamWriter
	cols  int
	row   int
	cells []any
	done  bool
}

// MaxXLSXRows is how many rows a sheet holds, the header included.
const MaxXLSXRows = excelize.TotalRows

// SheetName makes s a valid sheet name: at most 31 characters, none of
// : \ / ? * [ ], not empty.
func SheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) || r < ' ' {
			return ' '
		}
		return r
	}, s)
	s = strings.Trim(strings.TrimSpace(s), "'")
	for utf8.RuneCountInString(s) > excelize.MaxSheetNameLength {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	if strings.TrimSpace(s) == "" {
		return "Sheet1"
	}
	return s
}

// NewXLSXWriter starts a workbook of one sheet, named after sheet (see
// SheetName), with the header row of cols. The workbook is written to w
// by Close.
func NewXLSXWriter(w io.Writer, sheet string, cols []Column) (*XLSXWriter, error) {
	f := excelize.NewFile()
	x := &XLSXWriter{w: w, f: f, cols: len(cols), cells: make([]any, len(cols))}
	fail := func(err error) (*XLSXWriter, error) {
		_ = f.Close()
		return nil, fmt.Errorf("exchange: starting the XLSX sheet: %w", err)
	}
	name := SheetName(sheet)
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return fail(err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fail(err)
	}
	if x.sw, err = f.NewStreamWriter(name); err != nil {
		return fail(err)
	}
	for i, c := range cols {
		width := c.Width
		if width <= 0 {
			width = min(max(float64(utf8.RuneCountInString(c.Header))+2, 10), 60)
		}
		if err := x.sw.SetColWidth(i+1, i+1, width); err != nil {
			return fail(err)
		}
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fail(err)
	}
	for i, c := range cols {
		x.cells[i] = excelize.Cell{StyleID: bold, Value: SafeCell(c.Header)}
	}
	x.row = 1
	if err := x.sw.SetRow("A1", x.cells); err != nil {
		return fail(err)
	}
	return x, nil
}

// Write adds one row.
func (x *XLSXWriter) Write(row []Value) error {
	if len(row) != x.cols {
		return fmt.Errorf("%w (%d values, %d columns)", ErrRowWidth, len(row), x.cols)
	}
	if x.row >= MaxXLSXRows {
		return fmt.Errorf("exchange: an XLSX sheet holds at most %d rows; export as CSV instead", MaxXLSXRows)
	}
	for i, v := range row {
		if v.kind == kindInt {
			x.cells[i] = v.n
		} else {
			// A string is written as an inline string, never as a formula;
			// SafeCell keeps it inert when the sheet is saved again as CSV.
			x.cells[i] = SafeCell(v.s)
		}
	}
	x.row++
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

// Close completes the workbook, writes it to the io.Writer and removes the
// temporary file. It may be called again; only the first call writes.
func (x *XLSXWriter) Close() error {
	if x.done {
		return nil
	}
	x.done = true
	err := x.sw.Flush()
	if err == nil {
		var zw *zip.Writer
		x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
			zw = zip.NewWriter(x.w)
			// Deflate's fastest level: the sheet's XML is repetitive, so the
			// file grows little, and compression is most of Close's time.
			zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
				return flate.NewWriter(out, flate.BestSpeed)
			})
			return zw
		})
		// excelize hands its own (empty) buffer to the zip writer maker;
		// ours writes to x.w instead, so that buffer stays empty.
		err = x.f.Write(io.Discard)
	}
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Abort removes the temporary file and writes nothing to the io.Writer.
func (x *XLSXWriter) Abort() error {
	if x.done {
		return nil
	}
	x.done = true
	return x.f.Close()
}

package exchange

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/xuri/excelize/v2"
)

// payloads are cells a spreadsheet would run as formulas (or DDE).
var payloads = []string{
	`=HYPERLINK("http://evil","x")`, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
	"=cmd|' /C calc'!A0", "'=already quoted",
}

func TestSafeCell(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{`=HYPERLINK("http://evil","x")`, `'=HYPERLINK("http://evil","x")`},
		{"+1+1", "'+1+1"}, {"-2+3", "'-2+3"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"}, {"\r=1", "'\r=1"},
		{"'=x", "''=x"}, {"''+x", "'''+x"}, // quotes before a formula: one more, so it reads back
		{"plain", "plain"}, {"", ""}, {"'", "'"}, {"'quoted", "'quoted"}, {"a=b", "a=b"}, {" =1", " =1"},
	} {
		if got := SafeCell(tc.in); got != tc.out {
			t.Errorf("SafeCell(%q) = %q, want %q", tc.in, got, tc.out)
		}
		if back := UnescapeCell(SafeCell(tc.in)); back != tc.in {
			t.Errorf("UnescapeCell(SafeCell(%q)) = %q", tc.in, back)
		}
	}
}

func writeTable(t *testing.T, f Format, rows [][]Value) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(f, &buf, "Check: list/1", []Column{{Header: "text"}, {Header: "n", Width: 6}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFormulaCellsCSV: every payload is exported with a leading quote, so
// a spreadsheet opening the CSV shows it as text; numbers are not touched.
func TestFormulaCellsCSV(t *testing.T) {
	var rows [][]Value
	for _, p := range payloads {
		rows = append(rows, []Value{Text(p), Int(-5)})
	}
	recs, err := csv.NewReader(bytes.NewReader(writeTable(t, CSV, rows))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "text" || recs[0][1] != "n" {
		t.Errorf("header %q", recs[0])
	}
	for i, p := range payloads {
		got := recs[i+1][0]
		if got[0] != '\'' || got != SafeCell(p) {
			t.Errorf("payload %q exported as %q", p, got)
		}
		if recs[i+1][1] != "-5" {
			t.Errorf("a number cell became %q", recs[i+1][1])
		}
	}
}

// TestFormulaCellsXLSX: in XLSX a payload is a plain (inline) string, never
// a formula, and keeps its quote so a re-save as CSV stays inert; the
// header is bold and frozen, columns have widths, the sheet has its name.
func TestFormulaCellsXLSX(t *testing.T) {
	var rows [][]Value
	for _, p := range payloads {
		rows = append(rows, []Value{Text(p), Int(-5)})
	}
	data := writeTable(t, XLSX, rows)
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	if sheet != "Check  list 1" {
		t.Errorf("sheet name %q", sheet)
	}
	for i, p := range payloads {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		formula, err := f.GetCellFormula(sheet, cell)
		if err != nil || formula != "" {
			t.Errorf("%s holds a formula %q (%v)", cell, formula, err)
		}
		typ, _ := f.GetCellType(sheet, cell)
		v, _ := f.GetCellValue(sheet, cell)
		if typ != excelize.CellTypeInlineString || v != SafeCell(p) {
			t.Errorf("payload %q: cell %s type %v value %q", p, cell, typ, v)
		}
		ncell, _ := excelize.CoordinatesToCellName(2, i+2)
		if typ, _ := f.GetCellType(sheet, ncell); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("number cell %s has type %v", ncell, typ)
		}
		if n, _ := f.GetCellValue(sheet, ncell); n != "-5" {
			t.Errorf("number cell %s = %q", ncell, n)
		}
	}
	// The sheet's XML holds no <f> element at all.
	if strings.Contains(sheetXML(t, data), "<f>") {
		t.Error("the sheet holds a formula element")
	}
	st, _ := f.GetCellStyle(sheet, "A1")
	style, err := f.GetStyle(st)
	if err != nil || style.Font == nil || !style.Font.Bold {
		t.Errorf("header style %+v (%v), want bold", style, err)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v (%v), want the header row frozen", panes, err)
	}
	if w, _ := f.GetColWidth(sheet, "B"); w != 6 {
		t.Errorf("column B width %v, want 6", w)
	}
	if w, _ := f.GetColWidth(sheet, "A"); w != 10 {
		t.Errorf("column A width %v, want 10 (from its header, at least 10)", w)
	}
}

func TestRowWidth(t *testing.T) {
	for _, f := range []Format{CSV, XLSX} {
		w, err := NewWriter(f, &bytes.Buffer{}, "x", []Column{{Header: "a"}, {Header: "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(Texts("only one")); !errors.Is(err, ErrRowWidth) {
			t.Errorf("%s: a short row: %v", f, err)
		}
		_ = w.Close()
	}
}

func TestSheetName(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "Sheet1",
		"[]":                    "Sheet1",
		"Payroll: checklist":    "Payroll  checklist",
		strings.Repeat("é", 40): strings.Repeat("é", 31),
		"'quoted'":              "quoted",
	} {
		if got := SheetName(in); got != want {
			t.Errorf("SheetName(%q) = %q, want %q", in, got, want)
		}
	}
}

// sheetXML returns the XML of the first sheet of an XLSX file.
func sheetXML(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestXLSXAbortWritesNothing: an export that fails half-way sends nothing
// and leaves no temporary file, so a handler can still answer with an
// error page.
func TestXLSXAbortWritesNothing(t *testing.T) {
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "excelize-*"))
	var buf bytes.Buffer
	w, err := NewXLSXWriter(&buf, "x", ChecklistColumns)
	if err != nil {
		t.Fatal(err)
	}
	as := testAssess(t, srm.IaaS)
	for i := range 40_000 { // past excelize's 16 MiB: a temporary file exists
		if err := w.Write(ChecklistRow(testWorkload(srm.IaaS), "Azure chart", as[i%len(as)])); err != nil {
			t.Fatal(err)
		}
	}
	during, _ := filepath.Glob(filepath.Join(os.TempDir(), "excelize-*"))
	if len(during) <= len(before) {
		t.Log("no temporary file yet: the rows stayed under excelize's chunk size")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "excelize-*"))
	if buf.Len() != 0 || len(after) > len(before) {
		t.Errorf("after Abort: %d bytes written, temporary files %v", buf.Len(), after)
	}
	if err := w.Close(); err != nil || buf.Len() != 0 {
		t.Errorf("Close after Abort: %v, %d bytes", err, buf.Len())
	}
}

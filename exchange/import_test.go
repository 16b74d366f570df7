package exchange

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/xuri/excelize/v2"
)

func exportChecklists(t *testing.T, f Format) ([]byte, map[string][]srm.Assignment) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(f, &buf, "Checklist", ChecklistColumns)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]srm.Assignment{}
	for _, m := range srm.ServiceModels {
		wl := testWorkload(m)
		as := testAssess(t, m)
		want[wl.Name] = as
		for _, a := range as {
			if err := w.Write(ChecklistRow(wl, "Azure chart", a)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), want
}

func read(t *testing.T, f Format, data []byte, opt ImportOptions) *Import {
	t.Helper()
	var im *Import
	var err error
	if f == XLSX {
		im, err = ReadXLSX(bytes.NewReader(data), opt)
	} else {
		im, err = ReadCSV(bytes.NewReader(data), opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestChecklistRoundTrip: a checklist exported as CSV or XLSX and read back
// gives the same workloads and statuses, formula-escaped cells included.
func TestChecklistRoundTrip(t *testing.T) {
	for _, f := range []Format{CSV, XLSX} {
		t.Run(string(f), func(t *testing.T) {
			data, want := exportChecklists(t, f)
			im := read(t, f, data, ImportOptions{Baselines: []string{"Azure chart"}})
			if !im.OK() {
				t.Fatalf("problems: %v", im.Problems)
			}
			if len(im.Workloads) != len(srm.ServiceModels) {
				t.Fatalf("%d workloads back, want %d", len(im.Workloads), len(srm.ServiceModels))
			}
			for _, iw := range im.Workloads {
				as := want[iw.Workload.Name]
				if as == nil || iw.Baseline != "Azure chart" || iw.Workload.Model != as[0].Model {
					t.Fatalf("workload %q (%s, %q) not as exported", iw.Workload.Name, iw.Workload.Model, iw.Baseline)
				}
				if len(iw.Statuses) != len(as) {
					t.Fatalf("%s: %d statuses, want %d", iw.Workload.Name, len(iw.Statuses), len(as))
				}
				for i, st := range iw.Statuses {
					a := as[i]
					if st.ControlID != fmt.Sprint(a.Control.ID) || st.Layer != a.Control.Layer || st.Control != a.Control.Title {
						t.Errorf("control back as %q %q %q, want %d %q %q", st.ControlID, st.Layer, st.Control, a.Control.ID, a.Control.Layer, a.Control.Title)
					}
					ws := a.Status
					ws.OwnerID = 0 // ids are not exported: the owner is matched by name
					if !reflect.DeepEqual(st.Status, ws) {
						t.Errorf("%s control %d status:\n got %+v\nwant %+v", iw.Workload.Name, a.Control.ID, st.Status, ws)
					}
					switch {
					case a.Override == nil && st.Override != nil:
						t.Errorf("an override appeared: %+v", st.Override)
					case a.Override != nil && (st.Override == nil || st.Override.Party != a.Override.Party || st.Override.Reason != a.Override.Reason):
						t.Errorf("override back as %+v, want %+v", st.Override, a.Override)
					}
				}
			}
		})
	}
}

// TestPortfolioRoundTrip: the portfolio export is an import of workloads.
func TestPortfolioRoundTrip(t *testing.T) {
	for _, f := range []Format{CSV, XLSX} {
		var buf bytes.Buffer
		w, _ := NewWriter(f, &buf, "Portfolio", PortfolioColumns)
		var want []srm.Workload
		for _, m := range srm.ServiceModels {
			wl := testWorkload(m)
			want = append(want, wl)
			_ = w.Write(PortfolioRow(srm.WorkloadSummary{Workload: wl, BaselineName: "Azure chart", Progress: srm.Progress{Done: 1, Total: 3}}))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		im := read(t, f, buf.Bytes(), ImportOptions{})
		if !im.OK() || len(im.Workloads) != len(want) {
			t.Fatalf("%s: %d workloads, problems %v", f, len(im.Workloads), im.Problems)
		}
		for i, iw := range im.Workloads {
			if iw.Workload.Name != want[i].Name || iw.Workload.Description != want[i].Description || iw.Workload.Model != want[i].Model ||
				iw.Baseline != "Azure chart" || iw.Row != i+2 || len(iw.Statuses) != 0 {
				t.Errorf("%s: workload %d back as %+v", f, i, iw)
			}
		}
	}
}

const header = "workload,model,baseline,layer,control id,control,owner,complete,completed by,completed at,note,evidence,not applicable,not applicable reason,override party,override reason,version\n"

// TestImportProblems: each kind of bad input is a problem with the row and
// the column, in words a person can act on.
func TestImportProblems(t *testing.T) {
	long := strings.Repeat("x", srm.MaxName+1)
	for _, tc := range []struct {
		name, body string
		row        int
		col, msg   string
	}{
		{"unknown model", "Pay,Cloudy,Azure chart,,,,,,,,,,,,,,\n", 2, "model", "On-premises, IaaS, PaaS or SaaS"},
		{"empty name", " ,IaaS,Azure chart,,,,,,,,,,,,,,\n", 2, "workload", "Enter a name"},
		{"name too long", long + ",IaaS,Azure chart,,,,,,,,,,,,,,\n", 2, "workload", "200 characters or fewer"},
		{"no baseline", "Pay,IaaS,,,,,,,,,,,,,,,\n", 2, "baseline", "baseline"},
		{"unknown baseline", "Pay,IaaS,Google chart,,,,,,,,,,,,,,\n", 2, "baseline", "no baseline called “Google chart”"},
		{"unknown party", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,,,,Amazon,because,\n", 2, "override party", "Customer, Shared or Azure"},
		{"override without reason", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,,,,Customer,,\n", 2, "override reason", "Say why"},
		{"unknown layer", "Pay,IaaS,Azure chart,Moon,1,Classify,,,,,,,,,,,\n", 2, "layer", "seven layers"},
		{"malformed date", "Pay,IaaS,Azure chart,Data,1,Classify,,yes,ana,30/11/2026,,,,,,,\n", 2, "completed at", "2026-12-03T09:30:00Z"},
		{"bad yes/no", "Pay,IaaS,Azure chart,Data,1,Classify,,maybe,,,,,,,,,\n", 2, "complete", "yes or no"},
		{"bad evidence", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,javascript:alert(1),,,,,\n", 2, "evidence", "http://"},
		{"not applicable without reason", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,,yes,,,,\n", 2, "not applicable reason", "Say why"},
		{"owner too long", "Pay,IaaS,Azure chart,Data,1,Classify," + long + ",,,,,,,,,,\n", 2, "owner", "200 characters"},
		{"bad version", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,,,,,,two\n", 2, "version", "whole number"},
		{"status without control", "Pay,IaaS,Azure chart,Data,,,Ana,yes,,,,,,,,,\n", 2, "control", "names no control"},
		{"duplicate control", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,,,,,,\nPay,IaaS,Azure chart,Data,1,Classify,,,,,,,,,,,\n", 3, "control", "already on row 2"},
		{"duplicate workload", "Pay,IaaS,Azure chart,,,,,,,,,,,,,,\npay,IaaS,Azure chart,,,,,,,,,,,,,,\n", 3, "workload", "already on row 2"},
		{"two models for one workload", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,,,,,,,\nPay,PaaS,Azure chart,Data,2,MFA,,,,,,,,,,,\n", 3, "model", "one model"},
		{"too many cells", "Pay,IaaS,Azure chart,,,,,,,,,,,,,,,surprise\n", 2, "", "header names 17 columns"},
		{"broken quotes", "Pay,IaaS,\"Azure chart,,,,,,,,,,,,,,\n", 2, "", "Check the quotes"},
		{"NUL in note", "Pay,IaaS,Azure chart,Data,1,Classify,,,,,a\x00b,,,,,,\n", 2, "note", "NUL"},
		{"invalid UTF-8", "Pay\xff,IaaS,Azure chart,,,,,,,,,,,,,,\n", 2, "workload", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := ReadCSV(strings.NewReader(header+tc.body), ImportOptions{Baselines: []string{"Azure chart"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range im.Problems {
				if p.Row == tc.row && p.Column == tc.col && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Errorf("want a problem at row %d, column %q, saying %q; got %v", tc.row, tc.col, tc.msg, im.Problems)
		})
	}
}

// TestImportHeaderProblems: a file without the columns an import needs, or
// with a column twice, or empty, is refused at row 1 before any data row.
func TestImportHeaderProblems(t *testing.T) {
	for _, tc := range []struct{ body, col, msg string }{
		{"name,model,baseline\nPay,IaaS,Azure chart\n", "workload", "no column “workload”"},
		{"workload,model,baseline,Model\nPay,IaaS,Azure chart,IaaS\n", "model", "both headed"},
		{"", "", "empty"},
	} {
		im, err := ReadCSV(strings.NewReader(tc.body), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Problems) == 0 || im.Problems[0].Column != tc.col || !strings.Contains(im.Problems[0].Message, tc.msg) || len(im.Workloads) != 0 {
			t.Errorf("%q: problems %v, workloads %d", tc.body, im.Problems, len(im.Workloads))
		}
	}
}

// TestImportLimits: a file over the size or row limit is refused with a
// clear message, and nothing of it is returned as workloads to apply.
func TestImportLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("workload,model,baseline\n")
	for i := range 50 {
		fmt.Fprintf(&b, "Workload %d,IaaS,Azure chart\n", i)
	}
	for _, tc := range []struct {
		opt ImportOptions
		msg string
	}{
		{ImportOptions{MaxRows: 10}, "more than 10 rows"},
		{ImportOptions{MaxBytes: 300}, "larger than 300 bytes"},
	} {
		for _, f := range []Format{CSV, XLSX} {
			data := []byte(b.String())
			if f == XLSX {
				data = csvToXLSX(t, b.String())
			}
			var im *Import
			var err error
			if f == XLSX {
				im, err = ReadXLSX(bytes.NewReader(data), tc.opt)
			} else {
				im, err = ReadCSV(bytes.NewReader(data), tc.opt)
			}
			if !errors.Is(err, ErrTooLarge) || !errors.Is(err, srm.ErrInvalid) {
				t.Errorf("%s %+v: err = %v, want ErrTooLarge", f, tc.opt, err)
				continue
			}
			if im.OK() || !strings.Contains(im.Problems[len(im.Problems)-1].Message, tc.msg) {
				t.Errorf("%s %+v: problems %v", f, tc.opt, im.Problems)
			}
		}
	}
	// Within the limits, the same file is fine.
	if im, err := ReadCSV(strings.NewReader(b.String()), ImportOptions{MaxRows: 50}); err != nil || !im.OK() || len(im.Workloads) != 50 {
		t.Errorf("50 rows with a limit of 50: %v, %v", err, im.Problems)
	}
}

// TestImportBOMAndBlankRows: Excel's byte order mark and blank rows are
// accepted; row numbers still count every row.
func TestImportBOMAndBlankRows(t *testing.T) {
	im, err := ReadCSV(strings.NewReader("\ufeffWorkload,Model,Baseline\n,,\nPay,On-premises,Azure chart\nShop,bogus,Azure chart\n"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Workloads) != 1 || im.Workloads[0].Row != 3 || im.Workloads[0].Workload.Model != srm.OnPrem {
		t.Errorf("workloads %+v", im.Workloads)
	}
	if len(im.Problems) != 1 || im.Problems[0].Row != 4 || im.Problems[0].Column != "model" {
		t.Errorf("problems %v", im.Problems)
	}
}

// csvToXLSX converts a small CSV to XLSX through the package's writer.
func csvToXLSX(t *testing.T, s string) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	var cols []Column
	for _, h := range strings.Split(lines[0], ",") {
		cols = append(cols, Column{Header: h})
	}
	var buf bytes.Buffer
	w, err := NewXLSXWriter(&buf, "import", cols)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[1:] {
		if err := w.Write(Texts(strings.Split(l, ",")...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadXLSXRefusesWhatIsNotAWorkbook: a CSV or garbage uploaded as
// XLSX is one problem, not an error page.
func TestReadXLSXRefusesWhatIsNotAWorkbook(t *testing.T) {
	for _, body := range []string{header, "PK\x03\x04 broken zip", ""} {
		im, err := ReadXLSX(strings.NewReader(body), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Problems) != 1 || !strings.Contains(im.Problems[0].Message, "not an XLSX workbook") || len(im.Workloads) != 0 {
			t.Errorf("%q: problems %v", body, im.Problems)
		}
	}
}

// FuzzReadCSV: whatever the file, the parser neither panics nor lets a
// workload through that srm's validators refuse, and every problem has a
// row within the file.
func FuzzReadCSV(f *testing.F) {
	data, _ := exportChecklists(&testing.T{}, CSV)
	f.Add(string(data))
	f.Add(header + "Pay,IaaS,Azure chart,Data,1,Classify,,maybe,,,,,,,,,\n")
	f.Add("workload,model,baseline\n\"a\"\"b\",saas,x\n")
	f.Fuzz(func(t *testing.T, body string) {
		im, err := ReadCSV(strings.NewReader(body), ImportOptions{MaxRows: 1000})
		if err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatal(err)
		}
		for _, p := range im.Problems {
			if p.Row < 0 || p.Row > im.Rows+2 || p.Message == "" {
				t.Fatalf("problem %+v (rows %d)", p, im.Rows)
			}
		}
		if !im.OK() {
			return
		}
		for _, w := range im.Workloads {
			w.Workload.BaselineID = 1
			if pr := w.Workload.Validate(); len(pr) > 0 {
				t.Fatalf("workload %q passed with problems %v", w.Workload.Name, pr)
			}
			for _, s := range w.Statuses {
				if pr := s.Status.Validate(); len(pr) > 0 {
					t.Fatalf("status passed with problems %v", pr)
				}
			}
		}
	})
}

// TestReadXLSXCountsRowsAsTheSheetShows: a sheet made by a person, with a
// blank row and a number typed as a number, reads with the row numbers the
// spreadsheet shows.
func TestReadXLSXCountsRowsAsTheSheetShows(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"Workload", "Model", "Baseline", "Control ID", "Version"})
	_ = f.SetSheetRow("Sheet1", "A3", &[]any{"Pay", "saas", "Azure chart", 12, 3})
	_ = f.SetSheetRow("Sheet1", "A5", &[]any{"Shop", "mainframe", "Azure chart"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	im, err := ReadXLSX(&buf, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Workloads) != 1 || im.Workloads[0].Row != 3 || len(im.Workloads[0].Statuses) != 1 ||
		im.Workloads[0].Statuses[0].ControlID != "12" || im.Workloads[0].Statuses[0].Status.Version != 3 {
		t.Errorf("workloads %+v", im.Workloads)
	}
	if len(im.Problems) != 1 || im.Problems[0].Row != 5 || im.Problems[0].Column != "model" {
		t.Errorf("problems %v", im.Problems)
	}
}

// TestImportSpellsTheBaselineAsSrmDoes: a baseline typed in another case
// is found, and given back as srm spells it.
func TestImportSpellsTheBaselineAsSrmDoes(t *testing.T) {
	im, err := ReadCSV(strings.NewReader("workload,model,baseline\nPay,iaas,AZURE CHART\n"), ImportOptions{Baselines: []string{"Azure chart", "Azure 2026 table"}})
	if err != nil || !im.OK() || im.Workloads[0].Baseline != "Azure chart" {
		t.Errorf("err %v, problems %v, workloads %+v", err, im.Problems, im.Workloads)
	}
}

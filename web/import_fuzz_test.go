package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

// FuzzImport sends any file to the import of workloads: on the API as CSV
// or XLSX, dry run or applied, and on the admin page as an upload. For any
// input: never a 5xx, nothing logged, an API refusal is an RFC 9457
// problem; a dry run writes nothing; an import that is not applied writes
// nothing either (all or nothing); and whatever is stored passes srm's
// validators.
func FuzzImport(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "Import fuzz target", srm.IaaS)
	c := s.customerControl(f, w)
	u := newUser(f, s.st, "import-fuzz@example.com", srm.RoleAdmin)
	_, token, err := s.st.CreateToken(storetest.Context(f), u.ID, "fuzz", true, srm.DefaultTokenLifetime)
	if err != nil {
		f.Fatal(err)
	}
	head := "workload,model,baseline,layer,control id,control,owner,complete,completed by,completed at,note,evidence,not applicable,not applicable reason,override party,override reason,version\n"
	cid := fmt.Sprint(c.ID)
	seeds := []string{
		"workload,model,baseline\nFuzz new,PaaS,Azure chart\n",
		"workload,description,model,baseline,done\nFuzz two,=1+1,SaaS,Azure chart,3\n",
		head + "Import fuzz target,IaaS,Azure chart,," + cid + ",,Fuzz team,yes,,,note,https://example.com/e,,,,,1\n",
		head + "Import fuzz target,IaaS,Azure chart,," + cid + ",,,,,,,,yes,Not ours,Shared,Contract,0\n",
		head + "Fuzz three,PaaS,Azure chart,,," + c.Title + ",Ana,yes,Ana,2026-12-03T09:30:00Z,,,,,,,\n",
		head + "Import fuzz target,SaaS,Azure chart,," + cid + ",,,,,,,,,,,,99\n",
		head + "Fuzz bad,Cloudy,Nowhere,Moon,x,,\x00,maybe,,yesterday,,javascript:alert(1),,,Amazon,,-1\n",
		"workload,workload,model\n", "", "\xef\xbb\xbfworkload,model,baseline\n\"a\"\"b,iaas,x\n", "PK\x03\x04garbage",
		"workload,model,baseline\n" + strings.Repeat("Same,IaaS,Azure chart\n", 3),
	}
	for i, b := range seeds {
		f.Add(uint8(i), []byte(b))
	}
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		before := s.importCounts(t)
		var rec *httptest.ResponseRecorder
		dryRun := mode%4 == 0 || mode%4 == 2
		switch mode % 4 {
		case 0, 1, 3:
			path := "/api/v1/workloads/import"
			if dryRun {
				path += "?dry_run=true"
			}
			contentType := "text/csv"
			if mode%4 == 3 {
				contentType, body = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", fuzzWorkbook(body)
			}
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", contentType)
			rec = httptest.NewRecorder()
			s.srv.ServeHTTP(rec, req)
			s.check(t, "POST "+path, rec, http.StatusOK, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("the answer is not a JSON object: %v", err)
			}
			if rec.Code >= 400 && (rec.Header().Get("Content-Type") != "application/problem+json" || v["status"] != float64(rec.Code)) {
				t.Fatalf("%d is not a problem: %s", rec.Code, snippet(rec.Body.String()))
			}
			if rec.Code == http.StatusOK && v["applied"] == dryRun {
				t.Fatalf("dry run %v, answered applied %v", dryRun, v["applied"])
			}
		case 2:
			var form bytes.Buffer
			mw := multipart.NewWriter(&form)
			fw, _ := mw.CreateFormFile("file", "fuzz.csv")
			_, _ = fw.Write(body)
			_ = mw.Close()
			req := httptest.NewRequest(http.MethodPost, "/workloads/import", &form)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			rec = httptest.NewRecorder()
			s.serve(rec, req)
			s.check(t, "POST /workloads/import", rec, http.StatusOK, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		}
		applied := !dryRun && rec.Code == http.StatusOK
		if after := s.importCounts(t); !applied && after != before {
			t.Fatalf("not applied (dry run %v, status %d), yet the counts went from %v to %v", dryRun, rec.Code, before, after)
		}
		s.everythingValid(t)
	})
}

// importCounts are the rows an import writes: workloads, statuses, owners,
// overrides.
func (s *fzServer) importCounts(t *testing.T) [4]int64 {
	t.Helper()
	return [4]int64{s.count(t, "workloads"), s.count(t, "statuses"), s.count(t, "owners"), s.count(t, "overrides")}
}

// fuzzWorkbook is body as a workbook: its CSV lines and cells (split on
// newlines and commas) in the first sheet, or body itself when it already
// looks like a zip.
func fuzzWorkbook(body []byte) []byte {
	if bytes.HasPrefix(body, []byte("PK")) {
		return body
	}
	f := excelize.NewFile()
	defer f.Close()
	for i, line := range strings.Split(string(body), "\n") {
		if i >= 50 {
			break
		}
		var cells []any
		for _, c := range strings.Split(line, ",") {
			cells = append(cells, c)
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		_ = f.SetSheetRow("Sheet1", cell, &cells)
	}
	var buf bytes.Buffer
	_ = f.Write(&buf)
	return buf.Bytes()
}

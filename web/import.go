package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// The import of workloads (issue 13), on a page for admins and on the API:
//
//	GET  /workloads/import            the form
//	POST /workloads/import            a multipart upload: the dry run, or with
//	                                  confirm=1 and the sha256 the dry run
//	                                  showed, the import (303 back to the page)
//	POST /api/v1/workloads/import     the file as the body (text/csv or XLSX);
//	                                  ?dry_run=true checks without writing
//
// The store checks and applies the file in one transaction
// (store.ImportWorkloads): all of it or nothing.

// The addresses of the import: the page's and the API's.
const (
	workloadImportPath = views.WorkloadImportURL
	apiImportPath      = "/api/v1/workloads/import"
)

// importMaxBytes is the largest import file srm reads.
const importMaxBytes = exchange.DefaultMaxBytes

// importMaxBody caps the body of an import: the file, and room for the
// form around it.
const importMaxBody = importMaxBytes + 1<<20

// maxProblems is how many problems of a file the page and the API list;
// they say how many more there are. A file broken on every row would
// otherwise make a page or an answer of tens of megabytes.
const maxProblems = 1000

// xlsxType is the media type of an XLSX workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// readImport parses an import file, CSV or XLSX by its first bytes (an
// XLSX workbook is a zip), with the limits and the baselines of st.
func readImport(r *http.Request, st *store.Store, data []byte, f exchange.Format) (*exchange.Import, error) {
	opt, err := st.ImportOptions(r.Context())
	if err != nil {
		return nil, err
	}
	opt.MaxBytes = importMaxBytes
	if f == exchange.XLSX {
		return exchange.ReadXLSX(bytes.NewReader(data), opt)
	}
	return exchange.ReadCSV(bytes.NewReader(data), opt)
}

// sniffFormat says whether data is an XLSX workbook (a zip) or else CSV.
func sniffFormat(data []byte) exchange.Format {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return exchange.XLSX
	}
	return exchange.CSV
}

// importView is the page with the form, and the limit in words.
func importView() views.WorkloadImportView {
	return views.WorkloadImportView{MaxBytes: sizeOf(importMaxBytes)}
}

// workloadImportPage handles "GET /workloads/import".
func workloadImportPage() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v := importView()
		q := r.URL.Query()
		if q.Has("created") || q.Has("statuses") {
			created, _ := strconv.Atoi(q.Get("created"))
			statuses, _ := strconv.Atoi(q.Get("statuses"))
			v.Done = &views.ImportDone{Created: max(created, 0), Statuses: max(statuses, 0)}
		}
		return render(w, r, http.StatusOK, views.WorkloadImportPage(v))
	}
}

// importRefused renders the page saying why a file cannot be read at all.
func importRefused(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	v := importView()
	v.Problem = msg
	return render(w, r, status, views.WorkloadImportPage(v))
}

// uploadImport handles "POST /workloads/import". Without confirm=1 it is a
// dry run: the page lists every problem of the file by row and column, or
// what importing it would do, and asks for the same file again to import
// it. srm keeps nothing in between: the confirm form carries the SHA-256
// of the file checked, a file that is not that one is checked again
// rather than imported, and the one imported is checked again in the
// import's transaction, so nothing the browser sends is taken on trust.
func uploadImport(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := r.ParseMultipartForm(uploadMemory); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return importRefused(w, r, http.StatusRequestEntityTooLarge,
					fmt.Sprintf("The file is larger than srm's limit of %s for an import. Split it into smaller files.", sizeOf(importMaxBytes)))
			}
			return parseForm(r)
		}
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return importRefused(w, r, http.StatusUnprocessableEntity, "Choose a CSV or XLSX file to import.")
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, importMaxBytes+1))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		digest := hex.EncodeToString(sum[:])
		confirm := r.PostFormValue("confirm") == "1"
		mismatch := confirm && r.PostFormValue("sha256") != digest
		dryRun := !confirm || mismatch

		im, err := readImport(r, st, data, sniffFormat(data))
		if errors.Is(err, exchange.ErrTooLarge) {
			return importRefused(w, r, http.StatusRequestEntityTooLarge, im.Problems[len(im.Problems)-1].Message)
		}
		if err != nil {
			return err
		}
		res, err := st.ImportWorkloads(r.Context(), im, dryRun)
		if err != nil && !errors.Is(err, store.ErrImportRefused) {
			return err
		}
		if res.Applied {
			return seeOther(w, r, fmt.Sprintf("%s?created=%d&statuses=%d", views.WorkloadImportURL, len(res.Created), res.Statuses))
		}
		p := &views.WorkloadImport{FileName: hdr.Filename, SHA256: digest, Mismatch: mismatch, Rows: im.Rows,
			Created: res.Created, Matched: res.Matched, Owners: res.Owners,
			Statuses: res.Statuses, Unchanged: res.Unchanged, Overrides: res.Overrides}
		shown := res.Problems[:min(len(res.Problems), maxProblems)]
		p.More = len(res.Problems) - len(shown)
		for _, x := range shown {
			p.Problems = append(p.Problems, views.ImportRowProblem{Row: x.Row, Column: x.Column, Message: x.Message})
		}
		v := importView()
		v.Preview = p
		status := http.StatusOK
		if len(p.Problems) > 0 {
			status = http.StatusUnprocessableEntity
		}
		return render(w, r, status, views.WorkloadImportPage(v))
	}
}

// importResult is the API's answer to an import: what it did or would do.
type importResult struct {
	DryRun    bool          `json:"dry_run"`
	Applied   bool          `json:"applied"`
	Rows      int           `json:"rows"`
	Created   []string      `json:"created"`
	Matched   []string      `json:"matched"`
	Owners    []string      `json:"owners"`
	Statuses  int           `json:"statuses"`
	Unchanged int           `json:"unchanged"`
	Overrides int           `json:"overrides"`
	Problems  []cellProblem `json:"problems"`
	// ProblemsOmitted counts the problems past the first maxProblems.
	ProblemsOmitted int `json:"problems_omitted,omitempty"`
}

// cellProblem is one problem of an import file, by row and column.
type cellProblem struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Detail string `json:"detail"`
}

// importProblems are the first maxProblems of ps, and how many more.
func importProblems(ps []exchange.Problem) ([]cellProblem, int) {
	shown := ps[:min(len(ps), maxProblems)]
	out := make([]cellProblem, 0, len(shown))
	for _, x := range shown {
		out = append(out, cellProblem{Row: x.Row, Column: x.Column, Detail: x.Message})
	}
	return out, len(ps) - len(shown)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// apiImport handles "POST /api/v1/workloads/import": the body is the
// file, text/csv or XLSX (415 otherwise; 413 past the limit). With
// ?dry_run=true the answer (200) says what the import would do, problems
// included, and nothing is written. Without, a file with problems is a
// 422 problem listing them by row and column, and nothing is written;
// else the import is applied, all of it, and the answer says what it did.
func apiImport(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var f exchange.Format
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case err != nil:
		case mt == "text/csv":
			f = exchange.CSV
		case mt == xlsxType:
			f = exchange.XLSX
		}
		if f == "" {
			return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Send CSV or XLSX",
				"The body must be the file: text/csv, or "+xlsxType+".")
		}
		dryRun := false
		if v := r.URL.Query().Get("dry_run"); v != "" {
			if dryRun, err = strconv.ParseBool(v); err != nil {
				p := newProblem(http.StatusBadRequest, "bad-request", "The request is malformed", "dry_run is true or false.")
				p.Errors = []fieldError{{Field: "dry_run", Pointer: "/dry_run", Detail: "Write true or false."}}
				return p
			}
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, importMaxBytes+1))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return newProblem(http.StatusRequestEntityTooLarge, "too-large", "The file is too large",
				fmt.Sprintf("The file is larger than %s, srm's limit for an import. Split it into smaller files.", sizeOf(importMaxBytes)))
		}
		if err != nil {
			return err
		}
		im, err := readImport(r, st, data, f)
		if errors.Is(err, exchange.ErrTooLarge) {
			return newProblem(http.StatusRequestEntityTooLarge, "too-large", "The file is too large", im.Problems[len(im.Problems)-1].Message)
		}
		if err != nil {
			return err
		}
		res, err := st.ImportWorkloads(r.Context(), im, dryRun)
		if errors.Is(err, store.ErrImportRefused) {
			p := newProblem(http.StatusUnprocessableEntity, "import-invalid", "The file has problems",
				"Nothing was imported. Fix each problem listed in problems, by row (the header is row 1) and column, and send the file again.")
			p.Problems, p.ProblemsOmitted = importProblems(res.Problems)
			return p
		}
		if err != nil {
			return err
		}
		out := importResult{
			DryRun: dryRun, Applied: res.Applied, Rows: im.Rows, Created: nonNil(res.Created), Matched: nonNil(res.Matched),
			Owners: nonNil(res.Owners), Statuses: res.Statuses, Unchanged: res.Unchanged, Overrides: res.Overrides,
		}
		out.Problems, out.ProblemsOmitted = importProblems(res.Problems)
		return ok(w, http.StatusOK, out)
	}
}

package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// maxUpload caps the body of a catalog upload: the largest catalog srm
// reads (framework.DefaultLimit, which the parser checks itself and says so
// in words) and room for the form around it.
const maxUpload = framework.DefaultLimit + 1<<20

// uploadMemory is how much of an upload is kept in memory; the rest waits
// in a temporary file that the server removes after the request.
const uploadMemory = 1 << 20

// bodyLimit is the most a request's body may carry: an upload of a
// catalog or of an import file may be large, every other form is small.
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && r.URL.Path == views.AdminFrameworksURL {
		return maxUpload
	}
	if r.Method == http.MethodPost && (r.URL.Path == views.WorkloadImportURL || r.URL.Path == apiImportPath) {
		return importMaxBody
	}
	return maxBody
}

// adminFrameworksView is the admin page of frameworks as stored now.
func adminFrameworksView(r *http.Request, st *store.Store) (views.AdminFrameworksView, error) {
	fs, err := st.Frameworks(r.Context())
	if err != nil {
		return views.AdminFrameworksView{}, err
	}
	return views.AdminFrameworksView{Frameworks: fs, Builtins: framework.Builtins()}, nil
}

// adminFrameworksPage handles "GET /admin/frameworks".
func adminFrameworksPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := adminFrameworksView(r, st)
		if err != nil {
			return err
		}
		if done := r.URL.Query().Get("imported"); done != "" {
			for _, f := range v.Frameworks {
				if f.Slug == done {
					v.Done = f.Name
				}
			}
		}
		return render(w, r, http.StatusOK, views.AdminFrameworksPage(v))
	}
}

// importProblem is what the page says of an import that failed on its
// input: a catalog that cannot be read, a reading that cannot read it, a
// slug that is not one. nil for any other error.
func importProblem(err error) *views.ImportProblem {
	var pe *framework.ParseError
	var re *framework.ReadingError
	switch {
	case errors.As(err, &pe):
		return &views.ImportProblem{Msg: pe.Msg, Path: pe.Path, Control: pe.Control, Line: pe.Line, Column: pe.Column, Problems: pe.Problems}
	case errors.As(err, &re):
		return &views.ImportProblem{Msg: re.Msg, Control: re.Control}
	case errors.Is(err, srm.ErrInvalid):
		// The store's own messages: "store: import: slug …: write it …: invalid input".
		msg := strings.TrimSuffix(err.Error(), ": "+srm.ErrInvalid.Error())
		msg = strings.TrimPrefix(msg, "store: import: ")
		return &views.ImportProblem{Msg: strings.ToUpper(msg[:1]) + msg[1:] + "."}
	}
	return nil
}

// preview is what the page shows of an import's result.
func preview(res store.ImportResult) *views.ImportPreview {
	return &views.ImportPreview{Name: res.Framework.Name, Slug: res.Framework.Slug, New: res.New, Controls: len(res.Changes.Added),
		Workloads: res.Workloads, Added: res.Changes.Added, Removed: res.Changes.Removed, Changed: res.Changes.Changed, Reread: res.Reread}
}

// importOutcome renders what an import did: its preview for a dry run, the
// list again after it is applied, the problem with the input otherwise.
func importOutcome(w http.ResponseWriter, r *http.Request, st *store.Store, res store.ImportResult, err error, p *views.ImportPreview, dryRun bool) error {
	if err != nil {
		problem := importProblem(err)
		if problem == nil {
			return err
		}
		v, verr := adminFrameworksView(r, st)
		if verr != nil {
			return verr
		}
		v.Problem = problem
		return render(w, r, http.StatusUnprocessableEntity, views.AdminFrameworksPage(v))
	}
	if !dryRun {
		return seeOther(w, r, views.AdminFrameworksURL+"?imported="+res.Framework.Slug)
	}
	v, err := adminFrameworksView(r, st)
	if err != nil {
		return err
	}
	v.Preview = p
	return render(w, r, http.StatusOK, views.AdminFrameworksPage(v))
}

// uploadFramework handles "POST /admin/frameworks": an OSCAL catalog sent
// as a file. Without confirm=1 it is a dry run that shows what the import
// would change; the preview's form asks for the same file again, with its
// SHA-256, and only that file is applied. srm keeps nothing in between.
func uploadFramework(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := r.ParseMultipartForm(uploadMemory); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return importOutcome(w, r, st, store.ImportResult{}, &framework.ParseError{Kind: framework.ErrTooBig,
					Msg: "The file is larger than srm's limit of 50 MB: srm reads catalogs up to that size."}, nil, true)
			}
			return parseForm(r)
		}
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return importOutcome(w, r, st, store.ImportResult{}, &framework.ParseError{Kind: framework.ErrNotJSON,
				Msg: "Choose a catalog file to import."}, nil, true)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		sum := hex.EncodeToString(h.Sum(nil))
		slug := strings.TrimSpace(r.PostFormValue("slug"))
		confirm := r.PostFormValue("confirm") == "1"
		mismatch := confirm && r.PostFormValue("sha256") != sum
		dryRun := !confirm || mismatch
		res, err := st.ImportFramework(r.Context(), f, store.ImportOptions{Slug: slug, Limit: framework.DefaultLimit, DryRun: dryRun})
		var p *views.ImportPreview
		if err == nil {
			p = preview(res)
			p.FileName, p.SHA256, p.SlugInput, p.Mismatch = hdr.Filename, sum, slug, mismatch
		}
		return importOutcome(w, r, st, res, err, p, dryRun)
	}
}

// importBuiltinFramework handles "POST /admin/frameworks/builtin": one of
// the frameworks srm ships, by slug; previewed first, applied with
// confirm=1.
func importBuiltinFramework(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		slug := r.PostFormValue("slug")
		dryRun := r.PostFormValue("confirm") != "1"
		res, err := st.ImportBuiltin(r.Context(), slug, dryRun)
		if errors.Is(err, srm.ErrNotFound) {
			return err
		}
		var p *views.ImportPreview
		if err == nil {
			p = preview(res)
			p.Builtin = slug
		}
		return importOutcome(w, r, st, res, err, p, dryRun)
	}
}

package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

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
		return &views.ImportProblem{Msg: re.Msg, Control: re.Control, NoReading: re.Control != ""}
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
		Workloads: res.Workloads, Added: res.Changes.Added, Removed: res.Changes.Removed, Changed: res.Changes.Changed, Reread: res.Reread,
		Unread: res.Unread}
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
		opt := store.ImportOptions{Slug: slug, Limit: framework.DefaultLimit, DryRun: dryRun}
		unread := r.PostFormValue("unread") == "1"
		if unread {
			// Families srm has no reading for are read as governance until
			// the admin reads each on the framework's page.
			opt.Fallback = unreadArea
		}
		res, err := st.ImportFramework(r.Context(), f, opt)
		var p *views.ImportPreview
		if err == nil {
			p = preview(res)
			p.FileName, p.SHA256, p.SlugInput, p.Mismatch, p.AllowUnread = hdr.Filename, sum, slug, mismatch, unread
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

// unreadArea is the area an upload's families that srm has no reading for
// are read as, when the admin asks for it, until they read each family:
// governance, which keeps the controls with the customer under every model,
// so nothing is taken off anyone's list by a guess.
const unreadArea srm.Area = "governance"

// frameworkPageData is the admin page of one imported framework: its
// families, how each is read, and the areas a family can be read as.
func frameworkPageData(r *http.Request, st *store.Store, slug string) (views.FrameworkView, error) {
	cat, err := st.Catalog(r.Context())
	if err != nil {
		return views.FrameworkView{}, err
	}
	f, ok := cat.FrameworkBySlug(slug)
	if !ok || f.Slug == srm.SRMFramework {
		return views.FrameworkView{}, fmt.Errorf("framework %q: %w", slug, srm.ErrNotFound)
	}
	rd, err := framework.NIST80053Reading()
	if err != nil {
		return views.FrameworkView{}, err
	}
	v := views.FrameworkView{Framework: f, Areas: readableAreas(rd, cat.Areas())}
	at := map[string]int{}
	for _, c := range cat.Controls() {
		if c.FrameworkID != f.ID {
			continue
		}
		i, ok := at[c.Family]
		if !ok {
			i = len(v.Families)
			at[c.Family] = i
			v.Families = append(v.Families, views.FamilyReading{Family: c.Family})
		}
		fr := &v.Families[i]
		fr.Controls++
		switch {
		case strings.HasPrefix(c.ReadingReason, store.FamilyReasonPrefix(c.Family)):
			fr.ByAdmin++
			fr.Area, fr.Reason = c.Area, strings.TrimPrefix(c.ReadingReason, store.FamilyReasonPrefix(c.Family))
		case c.ReadingReason != "":
			fr.ByControl++
		default:
			if fr.Default == "" {
				fr.Default = c.Reading
			}
			if strings.HasPrefix(c.Reading, "srm has no reading for family") {
				fr.Unread++
			}
		}
	}
	return v, nil
}

// readableAreas are the areas a family can be read as: those srm's reading
// declares (with their layer) that the baselines have.
func readableAreas(rd *framework.Reading, known []srm.AreaInfo) []framework.AreaDef {
	var out []framework.AreaDef
	for _, a := range rd.Areas {
		for _, k := range known {
			if k.Slug == a.Slug {
				out = append(out, a)
			}
		}
	}
	return out
}

// frameworkPage handles "GET /admin/frameworks/{slug}": a framework's
// families and how srm reads each, with a form to read a family.
func frameworkPage(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := frameworkPageData(r, st, chi.URLParam(r, "slug"))
		if err != nil {
			return err
		}
		if fam := r.URL.Query().Get("read"); fam != "" {
			for _, f := range v.Families {
				if f.Family == fam {
					v.Done = fam
				}
			}
		}
		return render(w, r, http.StatusOK, views.FrameworkPage(v))
	}
}

// readFamily handles "POST /admin/frameworks/{slug}/families": every
// control of one family read as an area, with a required reason, audited,
// and assessed again for every workload holding the framework.
func readFamily(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(r); err != nil {
			return err
		}
		slug := chi.URLParam(r, "slug")
		v, err := frameworkPageData(r, st, slug)
		if err != nil {
			return err
		}
		in := views.FamilyInput{Family: strings.TrimSpace(r.PostFormValue("family")), Area: srm.Area(r.PostFormValue("area")),
			Reason: strings.TrimSpace(r.PostFormValue("reason")), Problems: srm.Problems{}}
		known := false
		for _, f := range v.Families {
			known = known || f.Family == in.Family
		}
		if !known {
			return fmt.Errorf("family %q of %s: %w", in.Family, slug, srm.ErrNotFound)
		}
		var layer srm.Layer
		for _, a := range v.Areas {
			if a.Slug == in.Area {
				layer = a.Layer
			}
		}
		if layer == "" {
			in.Problems["area"] = "Choose one of the areas listed."
		}
		if in.Reason == "" {
			in.Problems["reason"] = "Say why srm should read this family so: the audit trail and every control of the family keep it."
		} else if msg := srm.CheckText(in.Reason, srm.MaxText); msg != "" {
			in.Problems["reason"] = msg
		}
		if len(in.Problems) > 0 {
			v.Input = &in
			return render(w, r, http.StatusUnprocessableEntity, views.FrameworkPage(v))
		}
		if _, err := st.SetFamilyReading(r.Context(), v.Framework.ID, in.Family, in.Area, layer, in.Reason); err != nil {
			return err
		}
		return seeOther(w, r, views.FrameworkURL(slug)+"?read="+url.QueryEscape(in.Family))
	}
}

package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// upload posts file (named name) and fields to /admin/frameworks as a
// browser sends a file: multipart, the anti-forgery token among the fields.
func (h *harness) upload(name string, file []byte, fields url.Values) *httptest.ResponseRecorder {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", h.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		h.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/frameworks", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	// The session by its cookie, and no X-CSRF-Token header: the token
	// must be read from the multipart form, as from a browser.
	req.Header.Set("Cookie", (&http.Cookie{Name: web.SessionCookie, Value: h.cookie}).String())
	return h.do(req)
}

// nistLike is framework/testdata/small.json with its families renamed AC
// and SC, which srm's reading of NIST SP 800-53 reads.
func nistLike(t *testing.T, version string) []byte {
	t.Helper()
	b, err := os.ReadFile("../framework/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("xx", "ac", "XX", "AC", "yy", "sc", "YY", "SC").Replace(string(b))
	return []byte(strings.Replace(s, `"version": "2.0"`, `"version": "`+version+`"`, 1))
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../framework/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func frameworkRows(doc *goquery.Document) map[string]string {
	out := map[string]string{}
	doc.Find(tid("frameworks")).Find("tbody tr").Each(func(_ int, s *goquery.Selection) {
		out[strings.TrimPrefix(s.AttrOr("data-testid", ""), "framework-")] = text(s.Find(tid("framework-controls")))
	})
	return out
}

func TestAdminImportsAnUploadedCatalogAfterAPreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/admin/frameworks")
	if rows := frameworkRows(doc); len(rows) != 1 || rows["srm"] == "" || rows["srm"] == "0" {
		t.Fatalf("the list before any import = %v, want srm's own catalog with its controls", rows)
	}
	if got := doc.Find(tid("upload-form")).AttrOr("enctype", ""); got != "multipart/form-data" {
		t.Errorf("the upload form's enctype is %q", got)
	}

	// Bad files: said in words, with where, and nothing imported.
	bad := []struct {
		name, file string
		body       []byte
		want       []string // in the problem's text
	}{
		{"not JSON", "not-json.json", readTestdata(t, "not-json.json"), []string{"Line 4"}},
		{"a duplicate id", "duplicate.json", readTestdata(t, "duplicate.json"), []string{"ac-2"}},
		{"an unresolved profile", "profile.json", readTestdata(t, "profile.json"), []string{"resolve"}},
		{"families srm's reading does not read", "small.json", readTestdata(t, "small.json"), []string{"XX"}},
		{"no file", "", nil, []string{"Choose a catalog file"}},
	}
	for _, b := range bad {
		rec := h.upload(b.file, b.body, nil)
		wantStatus(t, "upload "+b.name, rec, http.StatusUnprocessableEntity)
		problem := text(parse(t, rec).Find(tid("import-problem")))
		for _, w := range b.want {
			if !strings.Contains(strings.ToLower(problem), strings.ToLower(w)) {
				t.Errorf("upload %s: the page says %q, want it to mention %q", b.name, problem, w)
			}
		}
		if !strings.Contains(problem, "Nothing was imported.") {
			t.Errorf("upload %s: the page does not say nothing was imported: %q", b.name, problem)
		}
	}
	if rows := frameworkRows(h.page("/admin/frameworks")); len(rows) != 1 {
		t.Fatalf("after bad files the list = %v, want srm's only", rows)
	}

	// A good file: a preview first, which changes nothing.
	v1 := nistLike(t, "1.0")
	rec := h.upload("acme.json", v1, url.Values{"slug": {"acme"}})
	wantStatus(t, "preview", rec, http.StatusOK)
	doc = parse(t, rec)
	if got := text(doc.Find(tid("preview-summary"))); !strings.Contains(got, "4 controls to add, as acme") {
		t.Errorf("the preview says %q", got)
	}
	if rows := frameworkRows(doc); len(rows) != 1 {
		t.Fatalf("a preview imported something: %v", rows)
	}
	confirm := doc.Find(tid("confirm-form"))
	fields := url.Values{}
	confirm.Find(`input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		if n := s.AttrOr("name", ""); n != "csrf" {
			fields.Set(n, s.AttrOr("value", ""))
		}
	})
	if fields.Get("confirm") != "1" || fields.Get("slug") != "acme" || len(fields.Get("sha256")) != 64 {
		t.Fatalf("the confirm form carries %v", fields)
	}
	// Another file sent to apply the preview: not applied.
	rec = h.upload("other.json", nistLike(t, "9.9"), fields)
	wantStatus(t, "apply another file", rec, http.StatusOK)
	if parse(t, rec).Find(tid("import-mismatch")).Length() != 1 {
		t.Errorf("applying a file other than the one previewed does not say so")
	}
	if rows := frameworkRows(h.page("/admin/frameworks")); len(rows) != 1 {
		t.Fatalf("a file other than the one previewed was imported: %v", rows)
	}
	// The same file: imported, listed with its controls, audited as the admin.
	rec = h.upload("acme.json", v1, fields)
	wantRedirect(t, "apply", rec, "/admin/frameworks?imported=acme")
	doc = h.page("/admin/frameworks?imported=acme")
	if rows := frameworkRows(doc); rows["acme"] != "4" {
		t.Errorf("after the import the list = %v, want acme with 4 controls", rows)
	}
	if got := text(doc.Find(tid("import-done"))); !strings.Contains(got, "Imported") {
		t.Errorf("the page does not say the import was done: %q", got)
	}
	var actor string
	if err := h.pool.QueryRow(storetest.Context(t), `SELECT actor FROM audit WHERE object_type = 'framework' ORDER BY id DESC LIMIT 1`).Scan(&actor); err != nil {
		t.Fatal(err)
	}
	if actor != h.user.Email {
		t.Errorf("the import is audited as %q, want the admin %q", actor, h.user.Email)
	}

	// A newer version: what it adds, removes and changes, by id.
	v2 := strings.Replace(string(nistLike(t, "2.0")), `"title": "Boundary"`, `"title": "Boundary Protection"`, 1)
	doc = parse(t, h.upload("acme-2.json", []byte(v2), url.Values{"slug": {"acme"}}))
	if got := text(doc.Find(tid("preview-summary"))); !strings.Contains(got, "0 added, 0 removed, 1 changed") {
		t.Errorf("the newer version's preview says %q", got)
	}
	if got := text(doc.Find(tid("preview-changed"))); !strings.Contains(got, "AC-2") {
		t.Errorf("the changed controls listed: %q, want AC-2, the control renamed", got)
	}

	// Only admins.
	if rec := h.as(srm.RoleEditor).get("/admin/frameworks"); rec.Code != http.StatusForbidden {
		t.Errorf("GET /admin/frameworks as an editor = %d, want 403", rec.Code)
	}
}

func TestAdminImportsAFrameworkSrmShipsWithAButton(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/admin/frameworks")
	low := doc.Find(tid("builtin-nist-800-53-rev5-low")).Find("form")
	if low.Length() != 1 {
		t.Fatal("no button for NIST SP 800-53 rev5 Low")
	}
	rec := h.submit(low, nil)
	wantStatus(t, "preview Low", rec, http.StatusOK)
	doc = parse(t, rec)
	if got := text(doc.Find(tid("preview-summary"))); !strings.Contains(got, "149 controls to add") {
		t.Errorf("the preview of Low says %q, want 149 controls", got)
	}
	if _, ok := frameworkRows(doc)["nist-800-53-rev5-low"]; ok {
		t.Fatal("the preview imported Low")
	}
	wantRedirect(t, "import Low", h.submit(doc.Find(tid("confirm-form")), nil), "/admin/frameworks?imported=nist-800-53-rev5-low")
	if got := frameworkRows(h.page("/admin/frameworks"))["nist-800-53-rev5-low"]; got != "149" {
		t.Errorf("Low is listed with %q controls, want 149", got)
	}
}

// TestAdminReadsTheFamiliesOfACatalogSrmHasNoReadingFor: a catalog whose
// families srm's reading does not know is imported from the web when the
// admin asks for it (its controls read as governance, the customer's), and
// the admin then reads each family on the framework's page, with a
// required reason: audited, and the workloads holding it follow.
func TestAdminReadsTheFamiliesOfACatalogSrmHasNoReadingFor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	body := readTestdata(t, "small.json")

	// Asked to, the upload reads the unknown families as governance, and
	// the preview says which they are.
	rec := h.upload("small.json", body, url.Values{"slug": {"small"}, "unread": {"1"}})
	wantStatus(t, "preview with unread families", rec, http.StatusOK)
	doc := parse(t, rec)
	if got := text(doc.Find(tid("preview-unread"))); !strings.Contains(got, "XX") {
		t.Fatalf("the preview says %q, want it to name family XX, which srm has no reading for", got)
	}
	fields := url.Values{}
	doc.Find(tid("confirm-form")).Find(`input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		if n := s.AttrOr("name", ""); n != "csrf" {
			fields.Set(n, s.AttrOr("value", ""))
		}
	})
	wantRedirect(t, "apply", h.upload("small.json", body, fields), "/admin/frameworks?imported=small")
	cat, err := h.st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fw, ok := cat.FrameworkBySlug("small")
	if !ok {
		t.Fatal("small was not imported")
	}
	w := h.workload("Depot servers", srm.PaaS)
	if err := h.st.AttachFramework(ctx, w.ID, fw.ID); err != nil {
		t.Fatal(err)
	}
	const title = "Policy"
	if got := party(h.page(workloadPath(w.ID)+"?framework=small"), title); got != "Customer" {
		t.Fatalf("%s, unread, is carried by %q, want Customer (governance)", title, got)
	}

	// The framework's page, linked from the list, says the family is unread.
	if href := h.page("/admin/frameworks").Find(`[data-testid="framework-small"] `+tid("framework-link")).AttrOr("href", ""); href != "/admin/frameworks/small" {
		t.Errorf("the list links small to %q", href)
	}
	page := h.page("/admin/frameworks/small")
	fam := page.Find(tid("family-XX"))
	if got := text(fam.Find(tid("family-reading"))); !strings.Contains(got, "no reading") {
		t.Errorf("family XX reads %q, want it to say srm has no reading for it", got)
	}

	// A reason is required: nothing changes without one.
	auditBefore := controlAuditCount(t, h)
	form := fam.Find(tid("family-form"))
	rec = h.submit(form, url.Values{"area": {"physical-datacenter"}, "reason": {" "}})
	wantStatus(t, "read a family without a reason", rec, http.StatusUnprocessableEntity)
	if got := text(parse(t, rec).Find(tid("family-XX")).Find(tid("error-reason"))); got == "" {
		t.Error("a family read without a reason: no message at the reason")
	}
	if got := controlAuditCount(t, h) - auditBefore; got != 0 {
		t.Errorf("a rejected reading wrote %d audit rows", got)
	}

	// With a reason: read anew, audited per control, and the workload follows.
	const why = "Our XX controls are the hosting provider's facilities."
	rec = h.submit(form, url.Values{"area": {"physical-datacenter"}, "reason": {why}})
	wantRedirect(t, "read a family", rec, "/admin/frameworks/small?read=XX")
	if got := text(h.page("/admin/frameworks/small?read=XX").Find(tid("family-XX")).Find(tid("family-reading"))); !strings.Contains(got, why) || !strings.Contains(got, "Physical datacenter") {
		t.Errorf("family XX now reads %q, want the admin's area and reason", got)
	}
	if got := controlAuditCount(t, h) - auditBefore; got < 1 {
		t.Errorf("reading family XX wrote %d audit rows for its controls, want one per control", got)
	}
	doc = h.page(workloadPath(w.ID) + "?framework=small")
	if got := party(doc, title); got != "Azure" {
		t.Errorf("%s, read as physical datacenter under PaaS, is carried by %q, want Azure", title, got)
	}
	cid := h.controlID(title)
	if got := text(card(h.page(statusPath(w.ID, cid)), title).Find(tid("reason"))); !strings.Contains(got, why) {
		t.Errorf("the control's provenance reads %q, want the admin's reason", got)
	}
}

// controlAuditCount is how many audit rows concern controls.
func controlAuditCount(t *testing.T, h *harness) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM audit WHERE object_type = 'control'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

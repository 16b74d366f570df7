package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// harness is the real server on a fresh database, with the store behind it
// for setting up and checking what the server saved, and a signed-in
// session that every request carries (with its anti-forgery token on
// unsafe methods) unless the request sets its own.
type harness struct {
	t       testing.TB
	st      *store.Store
	pool    *pgxpool.Pool // the database behind st, for checks the store has no method for
	dbOwner *store.Store  // the same database as its owner, for what srm serve may not do (srm seed)
	srv     http.Handler
	user    srm.User
	cookie  string // the session cookie's value; "" when signed out
	csrf    string
	codes   []string // unused recovery codes of user, when a test keeps them
}

// testPassword is every test account's password.
const testPassword = "correct horse battery staple"

// newHarness builds the server exactly as main does, on the test's own
// database, connected as srm's least-privilege serving role (as srm serve
// runs), and signs in as an admin.
func newHarness(t *testing.T) *harness {
	t.Helper()
	pool, role := storetest.AppPool(t, nil)
	st := store.New(pool)
	h := &harness{t: t, st: st, pool: pool, dbOwner: store.New(role.Owner), srv: newServer(t, st, web.Config{})}
	h.signInAs(srm.RoleAdmin)
	return h
}

// storedStatuses is the customer's work on every control of a workload
// that has any, keyed by control id, as the workload page reads it; an
// unknown workload has none.
func storedStatuses(st *store.Store, ctx context.Context, workloadID int64) (map[int64]srm.Status, error) {
	ws, err := st.WorkloadState(ctx, workloadID)
	if errors.Is(err, srm.ErrNotFound) {
		return map[int64]srm.Status{}, nil
	}
	return ws.Statuses, err
}

// storedControl is the control with the given id as the catalog holds it,
// or an error wrapping srm.ErrNotFound.
func storedControl(st *store.Store, ctx context.Context, id int64) (srm.Control, error) {
	cat, err := st.Catalog(ctx)
	if err != nil {
		return srm.Control{}, err
	}
	if c, ok := cat.Control(id); ok {
		return c, nil
	}
	return srm.Control{}, fmt.Errorf("control %d: %w", id, srm.ErrNotFound)
}

// newServer builds the server on st with cfg, failing the test on error.
func newServer(t testing.TB, st *store.Store, cfg web.Config) http.Handler {
	t.Helper()
	srv, err := web.NewServer(t.Context(), slog.New(slog.DiscardHandler), st, cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return srv
}

// newLoggingServer is newServer logging to logger.
func newLoggingServer(t testing.TB, st *store.Store, logger *slog.Logger) http.Handler {
	t.Helper()
	srv, err := web.NewServer(t.Context(), logger, st, web.Config{})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return srv
}

// newUser adds a local account with testPassword and the given role.
func newUser(t testing.TB, st *store.Store, email string, role srm.Role) srm.User {
	t.Helper()
	hash, err := credential.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := srm.User{Email: email, Role: role}
	if err := st.CreateUser(storetest.Context(t), &u, hash); err != nil {
		t.Fatalf("CreateUser(%q) = %v", email, err)
	}
	return u
}

// signInAs makes a new account with role and signs h in as it.
func (h *harness) signInAs(role srm.Role) *harness {
	h.t.Helper()
	u := newUser(h.t, h.st, fmt.Sprintf("%s%d@example.com", role, userSeq.Add(1)), role)
	h.signIn(u.Email, testPassword)
	h.user = u
	return h
}

var userSeq atomic.Int64

// as returns a second harness on the same server and database, signed in
// as a new account with role.
func (h *harness) as(role srm.Role) *harness {
	h.t.Helper()
	o := &harness{t: h.t, st: h.st, pool: h.pool, srv: h.srv}
	return o.signInAs(role)
}

// signedOut returns a harness on the same server with no session.
func (h *harness) signedOut() *harness { return &harness{t: h.t, st: h.st, pool: h.pool, srv: h.srv} }

// signIn posts the sign-in form, requires success, and keeps the session
// and its anti-forgery token.
func (h *harness) signIn(email, password string) {
	h.t.Helper()
	h.cookie, h.csrf = "", ""
	rec := h.post("/signin", url.Values{"email": {email}, "password": {password}})
	if rec.Code != http.StatusSeeOther || h.cookie == "" {
		h.t.Fatalf("sign in as %s: status %d, cookie %q; body:\n%s", email, rec.Code, h.cookie, snippet(rec.Body.String()))
	}
	doc := h.page("/")
	h.csrf = doc.Find(`input[name="csrf"]`).First().AttrOr("value", "")
	if h.csrf == "" {
		h.t.Fatalf("sign in as %s: no anti-forgery token on the page", email)
	}
}

// do sends req through the server with h's session and returns the
// recorded answer, keeping any new session cookie.
func (h *harness) do(req *http.Request) *httptest.ResponseRecorder {
	h.t.Helper()
	if h.cookie != "" && req.Header.Get("Cookie") == "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: h.cookie})
		if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Header.Get("X-CSRF-Token") == "" {
			req.Header.Set("X-CSRF-Token", h.csrf)
		}
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == web.SessionCookie {
			h.cookie = c.Value
			if c.MaxAge < 0 {
				h.cookie = ""
			}
		}
	}
	return rec
}

// get sends a GET with the given headers (name, value, name, value…).
func (h *harness) get(path string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	setHeaders(req, headers)
	return h.do(req)
}

// post sends form as a url-encoded POST with the given headers.
func (h *harness) post(path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.postRaw(path, form.Encode(), headers...)
}

// postRaw sends body, already url-encoded, as a form POST.
func (h *harness) postRaw(path, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setHeaders(req, headers)
	return h.do(req)
}

func setHeaders(req *http.Request, kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
}

// page GETs path, requires 200 and returns the parsed HTML.
func (h *harness) page(path string, headers ...string) *goquery.Document {
	h.t.Helper()
	rec := h.get(path, headers...)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("GET %s: status = %d, want 200; body:\n%s", path, rec.Code, snippet(rec.Body.String()))
	}
	return parse(h.t, rec)
}

// parse reads the recorded body as HTML.
func parse(t testing.TB, rec *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// wantStatus fails the test unless rec has status want.
func wantStatus(t testing.TB, what string, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("%s: status = %d, want %d; body:\n%s", what, rec.Code, want, snippet(rec.Body.String()))
	}
}

// wantRedirect fails the test unless rec is a 303 to location.
func wantRedirect(t testing.TB, what string, rec *httptest.ResponseRecorder, location string) {
	t.Helper()
	wantStatus(t, what, rec, http.StatusSeeOther)
	if got := rec.Header().Get("Location"); got != location {
		t.Fatalf("%s: Location = %q, want %q", what, got, location)
	}
}

func snippet(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// tid is a selector for data-testid="id".
func tid(id string) string { return `[data-testid="` + id + `"]` }

// text is the trimmed text of sel, with runs of white space collapsed.
func text(sel *goquery.Selection) string { return strings.Join(strings.Fields(sel.Text()), " ") }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func workloadPath(id int64) string { return "/workloads/" + itoa(id) }

func statusPath(wid, cid int64) string { return workloadPath(wid) + "/controls/" + itoa(cid) }

// baselineID returns the id of the baseline with the given slug.
func (h *harness) baselineID(slug string) int64 {
	h.t.Helper()
	bs, err := h.st.Baselines(storetest.Context(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, b := range bs {
		if b.Slug == slug {
			return b.ID
		}
	}
	h.t.Fatalf("no baseline %q", slug)
	return 0
}

// controlID returns the id of the catalog control with the given title.
func (h *harness) controlID(title string) int64 {
	h.t.Helper()
	cs, err := h.st.Controls(storetest.Context(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Title == title {
			return c.ID
		}
	}
	h.t.Fatalf("no control %q in the catalog", title)
	return 0
}

// workload registers a workload through the store, judged by azure-chart.
func (h *harness) workload(name string, model srm.ServiceModel) srm.Workload {
	h.t.Helper()
	w := srm.Workload{Name: name, Model: model, BaselineID: h.baselineID("azure-chart")}
	if err := h.st.CreateWorkload(storetest.Context(h.t), &w); err != nil {
		h.t.Fatalf("CreateWorkload(%q) = %v", name, err)
	}
	return w
}

// owner adds an owner through the store.
func (h *harness) owner(name string) srm.Owner {
	h.t.Helper()
	o := srm.Owner{Name: name, Kind: srm.Team}
	if err := h.st.CreateOwner(storetest.Context(h.t), &o); err != nil {
		h.t.Fatalf("CreateOwner(%q) = %v", name, err)
	}
	return o
}

// stored returns the workload as the database holds it.
func (h *harness) stored(id int64) srm.Workload {
	h.t.Helper()
	w, err := h.st.Workload(storetest.Context(h.t), id)
	if err != nil {
		h.t.Fatalf("Workload(%d) = %v", id, err)
	}
	return w
}

// status returns the saved status of one control of a workload (zero when
// none was saved).
func (h *harness) status(wid, cid int64) srm.Status {
	h.t.Helper()
	ss, err := storedStatuses(h.st, storetest.Context(h.t), wid)
	if err != nil {
		h.t.Fatalf("Statuses(%d) = %v", wid, err)
	}
	return ss[cid]
}

// controlPage is the page of the control titled title of workload wid:
// its details and its full form.
func (h *harness) controlPage(wid int64, title string) *goquery.Document {
	h.t.Helper()
	return h.page(statusPath(wid, h.controlID(title)))
}

// saveRow is what a browser posts when a person changes the row of the
// control titled title in doc's checklist and the checklist's script saves
// it: the whole checklist form, the row's owner and completion set
// (complete "" unticks it), save=<control>.
func (h *harness) saveRow(doc *goquery.Document, title, owner string, complete bool) *httptest.ResponseRecorder {
	h.t.Helper()
	row := card(doc, title)
	form := doc.Find("form#ck")
	if row.Length() != 1 || form.Length() != 1 {
		h.t.Fatalf("saveRow %q: %d rows, %d checklist forms; want 1 of each", title, row.Length(), form.Length())
	}
	cid := strings.TrimPrefix(row.ChildrenFiltered("a").AttrOr("id", ""), "r")
	vals := formValues(form)
	vals.Set("o"+cid, owner)
	if complete {
		vals.Set("c"+cid, "on")
	} else {
		vals.Del("c" + cid)
	}
	vals.Set("save", cid)
	return h.post(form.AttrOr("action", ""), vals)
}

// rowTitle is the title of a checklist row, without its reference.
func rowTitle(row *goquery.Selection) string {
	a := row.ChildrenFiltered("a").First()
	return strings.TrimSpace(strings.TrimPrefix(text(a), text(a.ChildrenFiltered("span"))))
}

// card is the control titled title: its row on a workload page, or its
// card on the control's page.
func card(doc *goquery.Document, title string) *goquery.Selection {
	if c := doc.Find(tid("control-" + title)); c.Length() > 0 {
		return c
	}
	return doc.Find(".rows > li").FilterFunction(func(_ int, s *goquery.Selection) bool { return rowTitle(s) == title })
}

// rowIn is the checklist row of the control titled title within sel.
func rowIn(sel *goquery.Selection, title string) *goquery.Selection {
	return sel.Find(".rows > li").FilterFunction(func(_ int, s *goquery.Selection) bool { return rowTitle(s) == title })
}

// party is the party badge of a control card, as a person reads it.
func party(doc *goquery.Document, title string) string {
	return text(card(doc, title).Find(".party, .rows > li > b").First())
}

// progressText is the workload's progress line ("2 of 20 complete 10%").
func progressText(doc *goquery.Document) string {
	return text(doc.Find(tid("workload-progress-text")))
}

// progress reads a "3 of 20 complete" line; "nothing to do", or no line
// at all (a layer shown as inherited), is 0 of 0.
func progress(t testing.TB, line string) (done, total int) {
	t.Helper()
	if line == "" || strings.HasPrefix(line, "nothing to do") {
		return 0, 0
	}
	if _, err := fmt.Sscanf(line, "%d of %d complete", &done, &total); err != nil {
		t.Fatalf("progress line %q: %v", line, err)
	}
	return done, total
}

// hasTitle reports whether doc is a whole page: a <title> in its head. The
// rings' SVG carries <title> elements of its own, so a bare "title" would
// match fragments too.
func hasTitle(doc *goquery.Document) bool { return doc.Find("head > title").Length() > 0 }

// storeQueryAll selects every workload on one page.
func storeQueryAll() store.WorkloadQuery { return store.WorkloadQuery{PerPage: 1000} }

// formValues is what a browser submits for form: every named input (checked
// boxes and radios only), textarea and select, in document order.
func formValues(form *goquery.Selection) url.Values {
	vals := url.Values{}
	form.Find("input[name], textarea[name], select[name]").Each(func(_ int, s *goquery.Selection) {
		if _, disabled := s.Attr("disabled"); disabled {
			return
		}
		name := s.AttrOr("name", "")
		switch goquery.NodeName(s) {
		case "textarea":
			vals.Add(name, s.Text())
		case "select":
			opt := s.Find("option[selected]").First()
			if opt.Length() == 0 {
				opt = s.Find("option").First()
			}
			if opt.Length() == 1 {
				vals.Add(name, opt.AttrOr("value", text(opt)))
			}
		default:
			switch strings.ToLower(s.AttrOr("type", "text")) {
			case "checkbox", "radio":
				if _, checked := s.Attr("checked"); checked {
					vals.Add(name, s.AttrOr("value", "on"))
				}
			case "submit", "button", "image", "reset", "file":
			default:
				vals.Add(name, s.AttrOr("value", ""))
			}
		}
	})
	return vals
}

// fill is form's values with changes applied: a name with no values is
// left out, as an unticked box is.
func fill(form *goquery.Selection, changes url.Values) url.Values {
	vals := formValues(form)
	for k, v := range changes {
		if len(v) == 0 {
			vals.Del(k)
		} else {
			vals[k] = v
		}
	}
	return vals
}

// submit posts form, filled in with changes, to its action, as a browser
// does when the person presses its button.
func (h *harness) submit(form *goquery.Selection, changes url.Values, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	if form.Length() != 1 {
		h.t.Fatalf("submit: %d forms selected, want 1", form.Length())
	}
	action, ok := form.Attr("action")
	if !ok {
		// A control's details open in place are a group of fields htmx
		// posts where its Save button says.
		action, ok = form.Find(`button[hx-post]`).Attr("hx-post")
	}
	if !ok {
		h.t.Fatal("submit: the form has no action")
	}
	return h.post(action, fill(form, changes), headers...)
}

// version is the value of form's hidden version input: the version of what
// the form shows, which a save is conditional on.
func version(t testing.TB, form *goquery.Selection) string {
	t.Helper()
	in := form.Find(`input[type="hidden"][name="version"]`)
	if in.Length() != 1 {
		t.Fatalf("form %q: %d hidden version inputs, want 1", form.AttrOr("data-testid", ""), in.Length())
	}
	return in.AttrOr("value", "")
}

// editForm is the workload's edit form as the edit page serves it now.
func (h *harness) editForm(id int64) *goquery.Selection {
	h.t.Helper()
	return h.page(workloadPath(id) + "/edit").Find(tid("workload-form"))
}

// statusForm is the full status form of the control titled title, as the
// control's page serves it now.
func (h *harness) statusForm(wid int64, title string) *goquery.Selection {
	h.t.Helper()
	f := card(h.controlPage(wid, title), title).Find(tid("status-form"))
	if f.Length() != 1 {
		h.t.Fatalf("workload %d: no status form for %q", wid, title)
	}
	return f
}

// overrideForm is the override form of one control of a workload.
func (h *harness) overrideForm(wid, cid int64) *goquery.Selection {
	h.t.Helper()
	return h.page(statusPath(wid, cid) + "/override").Find(tid("override-form"))
}

// controlForm is the edit form of a custom control.
func (h *harness) controlForm(id int64) *goquery.Selection {
	h.t.Helper()
	return h.page("/controls/" + itoa(id) + "/edit").Find(tid("control-form"))
}

// remoteSession signs in over HTTP to the server at base as a new account
// with role, and returns what makes a request part of that session: its
// cookie and its anti-forgery token.
func remoteSession(t testing.TB, base string, st *store.Store, role srm.Role) func(*http.Request) {
	t.Helper()
	u := newUser(t, st, fmt.Sprintf("remote-%s%d@example.com", role, userSeq.Add(1)), role)
	cookie, csrf := remoteSignIn(t, base, u.Email)
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cookie})
		r.Header.Set("X-CSRF-Token", csrf)
	}
}

// remoteSignIn signs in over HTTP to the server at base as email, with
// testPassword, and returns the session cookie's value and the session's
// anti-forgery token.
func remoteSignIn(t testing.TB, base, email string) (cookie, csrf string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/signin", url.Values{"email": {email}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			cookie = c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == "" {
		t.Fatalf("sign in over HTTP as %s: %d, cookie %q", email, resp.StatusCode, cookie)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cookie})
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	csrf = doc.Find(`input[name="csrf"]`).First().AttrOr("value", "")
	if csrf == "" {
		t.Fatalf("no anti-forgery token on / for %s (status %d)", email, resp.StatusCode)
	}
	return cookie, csrf
}

package web_test

// Fuzz targets for the form decoders, through the real handler on a real
// database: one database per target, made once when the target starts (and
// once per fuzzing worker process under -fuzz). `go test` runs each on its
// seeds and on testdata/fuzz/<Target>/; `make fuzz` runs each for a while.
//
// The properties, for any input:
//   - no status of 500 or more, and no panic (a panic would escape
//     ServeHTTP here, or come back as chi's Recoverer's 500);
//   - invalid input is never stored: text with a NUL or invalid UTF-8 is a
//     422 and changes nothing; whatever is stored passes srm's validators;
//   - what is stored is the input as the form says (trimmed);
//   - valid input on the current version is stored.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// fzServer is the real server on a fuzz target's own database.
type fzServer struct {
	pool     *pgxpool.Pool
	st       *store.Store
	srv      http.Handler
	session  *harness // signed in as an admin; its cookie and token go on every request
	logs     *fzLog
	baseline srm.Baseline // the first baseline
	areas    []srm.AreaInfo
}

// fzLog keeps the server's log lines that matter: warnings and errors, and
// any line that mentions a panic.
type fzLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *fzLog) Write(p []byte) (int, error) {
	s := string(p)
	if strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") || strings.Contains(strings.ToLower(s), "panic") {
		l.mu.Lock()
		if len(l.lines) < 100 {
			l.lines = append(l.lines, s)
		}
		l.mu.Unlock()
	}
	return len(p), nil
}

// take returns the lines kept since the last call and forgets them.
func (l *fzLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

func newFzServer(f *testing.F) *fzServer {
	f.Helper()
	pool := storetest.Pool(f)
	st := store.New(pool)
	logs := &fzLog{}
	// No rate limit to speak of: a fuzzer sends thousands of requests a
	// minute with one token, which srm would otherwise answer with 429.
	srv, err := web.NewServer(f.Context(), slog.New(slog.NewTextHandler(logs, nil)), st, web.Config{APIRateLimit: 1 << 30})
	if err != nil {
		f.Fatalf("NewServer: %v", err)
	}
	s := &fzServer{pool: pool, st: st, logs: logs, srv: srv}
	s.session = (&harness{t: f, st: st, srv: s.srv}).signInAs(srm.RoleAdmin)
	ctx := context.Background()
	bs, err := st.Baselines(ctx)
	if err != nil || len(bs) == 0 {
		f.Fatalf("Baselines = %d, %v; want the shipped baselines", len(bs), err)
	}
	s.baseline = bs[0]
	if s.areas, err = st.Areas(ctx); err != nil || len(s.areas) == 0 {
		f.Fatalf("Areas = %d, %v", len(s.areas), err)
	}
	return s
}

// workload registers a workload through the store.
func (s *fzServer) workload(f *testing.F, name string, model srm.ServiceModel) srm.Workload {
	f.Helper()
	w := srm.Workload{Name: name, Model: model, BaselineID: s.baseline.ID}
	if err := s.st.CreateWorkload(storetest.Context(f), &w); err != nil {
		f.Fatalf("CreateWorkload(%q) = %v", name, err)
	}
	return w
}

// customerControl is a control that w's customer carries.
func (s *fzServer) customerControl(f *testing.F, w srm.Workload) srm.Control {
	f.Helper()
	ws, err := s.st.WorkloadState(context.Background(), w.ID)
	if err != nil {
		f.Fatal(err)
	}
	b, _ := ws.Catalog.Baseline(w.BaselineID)
	as, err := srm.Assess(b, w.Model, ws.Catalog.Controls(), ws.Overrides, ws.Statuses)
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range as {
		if a.Party == srm.Customer {
			return a.Control
		}
	}
	f.Fatalf("workload %q has no customer control", w.Name)
	return srm.Control{}
}

// serve sends req through the server as the signed-in admin.
func (s *fzServer) serve(rec *httptest.ResponseRecorder, req *http.Request) {
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: s.session.cookie})
	req.Header.Set("X-CSRF-Token", s.session.csrf)
	s.srv.ServeHTTP(rec, req)
}

// post sends form as a url-encoded POST through the server.
func (s *fzServer) post(t *testing.T, path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setHeaders(req, headers)
	rec := httptest.NewRecorder()
	s.serve(rec, req)
	return rec
}

// check fails unless rec's status is one of want (and so never a 5xx), and
// the server logged no panic, warning or error.
func (s *fzServer) check(t *testing.T, what string, rec *httptest.ResponseRecorder, want ...int) {
	t.Helper()
	if lines := s.logs.take(); len(lines) > 0 {
		t.Errorf("%s: the server logged:\n%s", what, strings.Join(lines, ""))
	}
	if rec.Code >= 500 || !slices.Contains(want, rec.Code) {
		t.Fatalf("%s: status %d, want one of %v; body:\n%s", what, rec.Code, want, snippet(rec.Body.String()))
	}
}

// sameLower reports whether PostgreSQL's lower() folds a and b alike: the
// rule of the unique indexes on names and titles.
func (s *fzServer) sameLower(t *testing.T, a, b string) bool {
	t.Helper()
	if !fzStorable(a) || !fzStorable(b) {
		return false
	}
	var same bool
	if err := s.pool.QueryRow(context.Background(), `SELECT lower($1::text) = lower($2::text)`, a, b).Scan(&same); err != nil {
		t.Fatal(err)
	}
	return same
}

// exists reports whether the query finds a row.
func (s *fzServer) exists(t *testing.T, query string, args ...any) bool {
	t.Helper()
	var found bool
	if err := s.pool.QueryRow(context.Background(), `SELECT EXISTS (`+query+`)`, args...).Scan(&found); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return found
}

func (s *fzServer) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// everythingValid fails unless everything stored passes srm's validators.
func (s *fzServer) everythingValid(t *testing.T) { t.Helper(); storedValid(t, s.pool, s.areas) }

// storedValid fails unless every workload, owner, custom control, status
// and override in the database passes srm's validators.
func storedValid(t *testing.T, pool *pgxpool.Pool, areas []srm.AreaInfo) {
	t.Helper()
	ctx := context.Background()
	each := func(query string, dest []any, check func() srm.Problems) {
		rows, err := pool.Query(ctx, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			if p := check(); len(p) > 0 {
				t.Errorf("stored and invalid (%s): %q", query, p)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	var w srm.Workload
	each(`SELECT name, description, model, baseline_id FROM workloads`, []any{&w.Name, &w.Description, &w.Model, &w.BaselineID},
		func() srm.Problems { return w.Validate() })
	var o srm.Owner
	each(`SELECT name, kind FROM owners`, []any{&o.Name, &o.Kind}, func() srm.Problems { return o.Validate() })
	var c srm.Control
	each(`SELECT title, description, customer_part, provider_part, layer, area FROM controls WHERE NOT builtin`,
		[]any{&c.Title, &c.Description, &c.CustomerPart, &c.ProviderPart, &c.Layer, &c.Area},
		func() srm.Problems { return c.Validate(areas) })
	var st srm.Status
	each(`SELECT note, evidence, not_applicable, na_reason FROM statuses`,
		[]any{&st.Note, &st.Evidence, &st.NotApplicable, &st.NAReason}, func() srm.Problems { return st.Validate() })
	var ov srm.Override
	each(`SELECT party, reason FROM overrides`, []any{&ov.Party, &ov.Reason}, func() srm.Problems { return ov.Validate() })
}

func fzStorable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// fzAnyUnstorable reports whether any of the values holds a NUL or invalid
// UTF-8.
func fzAnyUnstorable(values ...string) bool {
	return slices.ContainsFunc(values, func(v string) bool { return !fzStorable(v) })
}

// fzTexts are seeds for free-text fields.
var fzTexts = []string{
	"Customs declarations",
	"",
	"   ",
	"  trimmed  ",
	"\x00",
	"nul\x00inside",
	"\xff\xfe",
	"\xc3\x28",
	"\xed\xa0\x80",
	"\u202egnp.exe",
	"zero\u200bwidth\ufeff",
	"👩‍💻 émoji ünïcode 字",
	"<script>alert(1)</script>",
	`"><img src=x onerror=alert(1)>`,
	"'; DROP TABLE workloads; --",
	"%s%n%x%d",
	"{{7*7}}${7*7}",
	"../../etc/passwd",
	"a\r\nSet-Cookie: x=1",
	strings.Repeat("é", 200),
	strings.Repeat("é", 201),
	strings.Repeat("w", 4001),
}

func fzText(i int) string { return fzTexts[i%len(fzTexts)] }

func FuzzCreateWorkloadForm(f *testing.F) {
	s := newFzServer(f)
	b := strconv.FormatInt(s.baseline.ID, 10)
	s.workload(f, "Taken", srm.IaaS)
	models := []string{"onprem", "iaas", "paas", "saas", "", "IaaS", "cloud", "paas\x00"}
	for i := range fzTexts {
		f.Add(fzText(i), fzText(i+3), models[i%len(models)], b)
	}
	for _, bad := range []string{"", "0", "-1", "abc", "1e3", "99999999999999999999", "9223372036854775807", " 1", "+" + b, b + "\x00"} {
		f.Add("Baseline "+bad, "", "paas", bad)
	}
	f.Add("taken", "", "iaas", b) // a name taken, in another case
	f.Fuzz(func(t *testing.T, name, description, model, baseline string) {
		before := s.count(t, "workloads")
		want := srm.Workload{Name: strings.TrimSpace(name), Description: strings.TrimSpace(description), Model: srm.ServiceModel(model)}
		want.BaselineID, _ = strconv.ParseInt(baseline, 10, 64)
		valid := len(want.Validate()) == 0 && s.exists(t, `SELECT 1 FROM baselines WHERE id = $1`, want.BaselineID)
		taken := fzStorable(want.Name) && s.exists(t, `SELECT 1 FROM workloads WHERE lower(name) = lower($1)`, want.Name)

		rec := s.post(t, "/workloads", url.Values{"name": {name}, "description": {description}, "model": {model}, "baseline": {baseline}})
		s.check(t, "POST /workloads", rec, http.StatusSeeOther, http.StatusUnprocessableEntity)
		after := s.count(t, "workloads")
		if rec.Code != http.StatusSeeOther {
			if after != before {
				t.Fatalf("status %d, yet the workloads went from %d to %d", rec.Code, before, after)
			}
			if valid && !taken {
				t.Fatalf("valid workload %+v refused with %d:\n%s", want, rec.Code, snippet(rec.Body.String()))
			}
			return
		}
		if fzAnyUnstorable(name, description) || !valid || taken {
			t.Fatalf("stored workload %+v (valid %v, name taken %v)", want, valid, taken)
		}
		id, err := strconv.ParseInt(strings.TrimPrefix(rec.Header().Get("Location"), "/workloads/"), 10, 64)
		if err != nil {
			t.Fatalf("Location %q: %v", rec.Header().Get("Location"), err)
		}
		got, err := s.st.Workload(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.Description != want.Description || got.Model != want.Model || got.BaselineID != want.BaselineID {
			t.Fatalf("stored %+v, want %+v", got, want)
		}
	})
}

func FuzzEditWorkloadForm(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "Edited", srm.IaaS)
	b := strconv.FormatInt(s.baseline.ID, 10)
	for i := range fzTexts {
		f.Add(fzText(i), fzText(i+5), "iaas", b, "", true, "")
	}
	f.Add("Edited", "", "paas", b, "", true, "")  // a preview
	f.Add("Edited", "", "paas", b, "1", true, "") // a confirmed move
	f.Add("Edited", "", "saas", b, "yes", true, "")
	f.Add("Edited", "", "iaas", "0", "1", true, "")
	f.Add("Edited again", "", "iaas", b, "", false, "0")
	f.Add("Edited again", "", "iaas", b, "", false, "-1")
	f.Add("Edited again", "", "iaas", b, "", false, "9223372036854775807")
	f.Add("Edited again", "", "iaas", b, "", false, "1.0")
	f.Fuzz(func(t *testing.T, name, description, model, baseline, confirm string, current bool, version string) {
		ctx := context.Background()
		before, err := s.st.Workload(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if current {
			version = strconv.FormatInt(before.Version, 10)
		}
		want := srm.Workload{Name: strings.TrimSpace(name), Description: strings.TrimSpace(description), Model: srm.ServiceModel(model)}
		want.BaselineID, _ = strconv.ParseInt(baseline, 10, 64)
		v, _ := strconv.ParseInt(version, 10, 64)
		valid := len(want.Validate()) == 0 && s.exists(t, `SELECT 1 FROM baselines WHERE id = $1`, want.BaselineID)
		moving := want.Model != before.Model || want.BaselineID != before.BaselineID

		form := url.Values{"name": {name}, "description": {description}, "model": {model}, "baseline": {baseline}, "version": {version}, "confirm": {confirm}}
		rec := s.post(t, workloadPath(w.ID), form)
		if badVersion(version) {
			s.check(t, "POST "+workloadPath(w.ID), rec, http.StatusBadRequest)
			if got, err := s.st.Workload(ctx, w.ID); err != nil || got.Version != before.Version {
				t.Errorf("version %q was refused, yet the workload moved from version %d to %d (%v)", version, before.Version, got.Version, err)
			}
			return
		}
		s.check(t, "POST "+workloadPath(w.ID), rec, http.StatusOK, http.StatusSeeOther, http.StatusConflict, http.StatusUnprocessableEntity)
		got, err := s.st.Workload(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		changed := got.Version != before.Version
		sameAsWant := got.Name == want.Name && got.Description == want.Description && got.Model == want.Model && got.BaselineID == want.BaselineID
		switch {
		case fzAnyUnstorable(name, description) && (rec.Code != http.StatusUnprocessableEntity || changed):
			t.Fatalf("NUL or invalid UTF-8: status %d, stored changed %v; want 422 and nothing stored", rec.Code, changed)
		case changed && (rec.Code != http.StatusSeeOther || !valid || !sameAsWant || len(got.Validate()) > 0):
			t.Fatalf("stored %+v with status %d; input %+v valid %v", got, rec.Code, want, valid)
		case rec.Code == http.StatusSeeOther && !sameAsWant:
			t.Fatalf("303 but stored %+v, want %+v", got, want)
		case valid && v == before.Version && moving && confirm != "1" && (rec.Code != http.StatusOK || changed):
			t.Fatalf("unconfirmed move to %+v: status %d, changed %v; want the 200 preview and nothing stored", want, rec.Code, changed)
		case valid && v == before.Version && (!moving || confirm == "1") && rec.Code != http.StatusSeeOther:
			t.Fatalf("valid edit %+v on the current version: status %d, want 303; body:\n%s", want, rec.Code, snippet(rec.Body.String()))
		}
	})
}

func FuzzStatusForm(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "Status target", srm.OnPrem)
	c := s.customerControl(f, w)
	path := statusPath(w.ID, c.ID)
	evidence := []string{"", "https://wiki.example.com/x", "javascript:alert(1)", `https://x/"><script>alert(1)</script>`, "ftp://x", "https://\x00", "//x", "http://"}
	kinds := []string{"person", "team", "", "robot"}
	for i := range fzTexts {
		f.Add(fzText(i), kinds[i%4], strconv.Itoa(i%3), fzText(i+1), evidence[i%len(evidence)], strconv.Itoa((i/2)%2), fzText(i+2), true, "", i%5 == 0)
	}
	f.Add("", "", "1", "", "", "", "", true, "", false)                        // complete without an owner
	f.Add("Platform team", "team", "1", "", "", "1", "", true, "", false)      // not applicable without a reason
	f.Add("Platform team", "team", "1", "", "", "1", "Gone", false, "7", true) // a stale version
	f.Add("Platform team", "team", "on", "", "", "true", "", false, "-1", false)
	f.Fuzz(func(t *testing.T, owner, ownerKind, complete, note, evidence, notApplicable, naReason string, current bool, version string, htmx bool) {
		ctx := context.Background()
		before := s.status(t, w.ID, c.ID)
		if current {
			version = strconv.FormatInt(before.Version, 10)
		}
		v, _ := strconv.ParseInt(version, 10, 64)
		want := srm.Status{Complete: complete == "1", Note: strings.TrimSpace(note), Evidence: strings.TrimSpace(evidence),
			NotApplicable: notApplicable == "1", NAReason: strings.TrimSpace(naReason)}
		wantOwner := strings.TrimSpace(owner)
		kind := srm.Person
		if ownerKind == string(srm.Team) {
			kind = srm.Team
		}
		problems := want.Validate()
		if wantOwner != "" {
			for k, msg := range (srm.Owner{Name: wantOwner, Kind: kind}).Validate() {
				problems[k] = msg
			}
		}
		if want.Complete && wantOwner == "" {
			problems["complete"] = "needs an owner"
		}
		valid := len(problems) == 0

		form := url.Values{"owner": {owner}, "owner_kind": {ownerKind}, "complete": {complete}, "note": {note},
			"evidence": {evidence}, "not_applicable": {notApplicable}, "na_reason": {naReason}, "version": {version}}
		var headers []string
		ok := http.StatusSeeOther
		if htmx {
			headers, ok = []string{"HX-Request", "true"}, http.StatusOK
		}
		rec := s.post(t, path, form, headers...)
		if badVersion(version) {
			s.check(t, "POST "+path, rec, http.StatusBadRequest)
			if got := s.status(t, w.ID, c.ID); got.Version != before.Version {
				t.Errorf("version %q was refused, yet the status moved from version %d to %d", version, before.Version, got.Version)
			}
			return
		}
		s.check(t, "POST "+path, rec, ok, http.StatusConflict, http.StatusUnprocessableEntity)
		got := s.status(t, w.ID, c.ID)
		changed := got.Version != before.Version
		sameAsWant := got.Complete == want.Complete && got.Note == want.Note && got.Evidence == want.Evidence &&
			got.NotApplicable == want.NotApplicable && got.NAReason == want.NAReason &&
			(wantOwner == "" && got.OwnerID == 0 || wantOwner != "" && got.OwnerName != "" && s.sameLower(t, got.OwnerName, wantOwner))
		switch {
		case fzAnyUnstorable(owner, note, evidence, naReason) && (rec.Code != http.StatusUnprocessableEntity || changed):
			t.Fatalf("NUL or invalid UTF-8: status %d, stored changed %v; want 422 and nothing stored", rec.Code, changed)
		case changed && (rec.Code != ok || !valid || !sameAsWant || len(got.Validate()) > 0):
			t.Fatalf("stored %+v with status %d; input %+v owner %q, problems %q", got, rec.Code, want, wantOwner, problems)
		case rec.Code == ok && !sameAsWant:
			t.Fatalf("status %d but stored %+v, want %+v owner %q", rec.Code, got, want, wantOwner)
		case valid && v == before.Version && (rec.Code != ok || !changed):
			t.Fatalf("valid status %+v owner %q on the current version: status %d, changed %v; body:\n%s",
				want, wantOwner, rec.Code, changed, snippet(rec.Body.String()))
		case !valid && rec.Code != http.StatusUnprocessableEntity:
			t.Fatalf("invalid status (%q): status %d, want 422", problems, rec.Code)
		}
		if _, err := s.st.WorkloadState(ctx, w.ID); err != nil {
			t.Fatalf("the workload no longer loads: %v", err)
		}
	})
}

// status is the saved status of one control of a workload.
func (s *fzServer) status(t *testing.T, wid, cid int64) srm.Status {
	t.Helper()
	ws, err := s.st.WorkloadState(context.Background(), wid)
	if errors.Is(err, srm.ErrNotFound) {
		return srm.Status{} // an unknown workload has none
	}
	if err != nil {
		t.Fatal(err)
	}
	return ws.Statuses[cid]
}

func FuzzOverrideForm(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "Override target", srm.PaaS)
	c := s.customerControl(f, w)
	path := statusPath(w.ID, c.ID) + "/override"
	parties := []string{"customer", "shared", "provider", "", "Azure", "Customer", "provider\x00"}
	for i := range fzTexts {
		f.Add(parties[i%len(parties)], fzText(i), true, "")
	}
	f.Add("shared", "Stale.", false, "0")
	f.Add("shared", "Stale.", false, "-5")
	f.Add("shared", "Stale.", false, "18446744073709551616")
	f.Fuzz(func(t *testing.T, party, reason string, current bool, version string) {
		before := s.override(t, w.ID, c.ID)
		if current {
			version = strconv.FormatInt(before.Version, 10)
		}
		v, _ := strconv.ParseInt(version, 10, 64)
		want := srm.Override{Party: srm.Party(party), Reason: strings.TrimSpace(reason)}
		valid := len(want.Validate()) == 0

		rec := s.post(t, path, url.Values{"party": {party}, "reason": {reason}, "version": {version}})
		if badVersion(version) {
			s.check(t, "POST "+path, rec, http.StatusBadRequest)
			if got := s.override(t, w.ID, c.ID); got.Version != before.Version {
				t.Errorf("version %q was refused, yet the override moved from version %d to %d", version, before.Version, got.Version)
			}
			return
		}
		s.check(t, "POST "+path, rec, http.StatusSeeOther, http.StatusConflict, http.StatusUnprocessableEntity)
		got := s.override(t, w.ID, c.ID)
		changed := got.Version != before.Version || got.Party != before.Party || got.Reason != before.Reason
		sameAsWant := got.Party == want.Party && got.Reason == want.Reason
		switch {
		case fzAnyUnstorable(reason) && (rec.Code != http.StatusUnprocessableEntity || changed):
			t.Fatalf("NUL or invalid UTF-8: status %d, stored changed %v; want 422 and nothing stored", rec.Code, changed)
		case changed && (rec.Code != http.StatusSeeOther || !valid || !sameAsWant || len(got.Validate()) > 0):
			t.Fatalf("stored %+v with status %d; input %+v valid %v", got, rec.Code, want, valid)
		case rec.Code == http.StatusSeeOther && !sameAsWant:
			t.Fatalf("303 but stored %+v, want %+v", got, want)
		case valid && v == before.Version && rec.Code != http.StatusSeeOther:
			t.Fatalf("valid override %+v on the current version: status %d; body:\n%s", want, rec.Code, snippet(rec.Body.String()))
		case !valid && rec.Code != http.StatusUnprocessableEntity:
			t.Fatalf("invalid override %+v: status %d, want 422", want, rec.Code)
		}
	})
}

// override is the override of one control of a workload (zero: none).
func (s *fzServer) override(t *testing.T, wid, cid int64) srm.Override {
	t.Helper()
	overrides, err := s.st.Overrides(context.Background(), wid)
	if err != nil {
		t.Fatal(err)
	}
	return overrides[cid]
}

func FuzzOwnerForm(f *testing.F) {
	s := newFzServer(f)
	kinds := []string{"team", "person", "", "Team", "robot", "team\x00"}
	for i := range fzTexts {
		f.Add(fzText(i), kinds[i%len(kinds)])
	}
	f.Add("PLATFORM", "team")
	f.Add("platform", "team")
	f.Fuzz(func(t *testing.T, name, kind string) {
		before := s.count(t, "owners")
		want := srm.Owner{Name: strings.TrimSpace(name), Kind: srm.OwnerKind(kind)}
		valid := len(want.Validate()) == 0
		taken := fzStorable(want.Name) && s.exists(t, `SELECT 1 FROM owners WHERE lower(name) = lower($1)`, want.Name)

		rec := s.post(t, "/owners", url.Values{"owner_name": {name}, "owner_kind": {kind}})
		s.check(t, "POST /owners", rec, http.StatusSeeOther, http.StatusUnprocessableEntity)
		after := s.count(t, "owners")
		switch {
		case rec.Code != http.StatusSeeOther && after != before:
			t.Fatalf("status %d, yet the owners went from %d to %d", rec.Code, before, after)
		case rec.Code == http.StatusSeeOther && (fzAnyUnstorable(name) || !valid || taken || after != before+1):
			t.Fatalf("stored owner %+v (valid %v, taken %v; %d → %d owners)", want, valid, taken, before, after)
		case rec.Code == http.StatusSeeOther && !s.exists(t, `SELECT 1 FROM owners WHERE name = $1 AND kind = $2`, want.Name, string(want.Kind)):
			t.Fatalf("303, but no owner %+v is stored", want)
		case valid && !taken && rec.Code != http.StatusSeeOther:
			t.Fatalf("valid owner %+v refused with %d", want, rec.Code)
		}
	})
}

func FuzzControlForm(f *testing.F) {
	s := newFzServer(f)
	custom := srm.Control{Layer: srm.Data, Area: s.areas[len(s.areas)-1].Slug, Title: "Fuzzed control"}
	if err := s.st.CreateControl(storetest.Context(f), &custom); err != nil {
		f.Fatal(err)
	}
	area := func(i int) string { return string(s.areas[i%len(s.areas)].Slug) }
	for i := range fzTexts {
		layer := string(srm.Layers[i%len(srm.Layers)])
		f.Add(fzText(i), layer, area(i), fzText(i+1), fzText(i+2), fzText(i+3), i%2 == 0, true)
	}
	for _, bad := range []string{"", "Data", "data ", "kernel", "data\x00"} {
		f.Add("Bad layer "+bad, bad, area(0), "", "", "", false, true)
		f.Add("Bad area "+bad, "data", bad, "", "", "", true, true)
	}
	f.Add("Stale", "data", area(1), "", "", "", true, false)
	f.Fuzz(func(t *testing.T, title, layer, area, description, customerPart, providerPart string, edit, current bool) {
		ctx := context.Background()
		before, err := storedControl(s.st, ctx, custom.ID)
		if err != nil {
			t.Fatal(err)
		}
		count := s.count(t, "controls")
		want := srm.Control{Title: strings.TrimSpace(title), Layer: srm.Layer(layer), Area: srm.Area(area),
			Description: strings.TrimSpace(description), CustomerPart: strings.TrimSpace(customerPart), ProviderPart: strings.TrimSpace(providerPart)}
		valid := len(want.Validate(s.areas)) == 0
		id := int64(0)
		path := "/controls"
		form := url.Values{"title": {title}, "layer": {layer}, "area": {area}, "description": {description},
			"customer_part": {customerPart}, "provider_part": {providerPart}}
		if edit {
			id, path = custom.ID, fmt.Sprintf("/controls/%d", custom.ID)
			version := before.Version
			if !current {
				version--
			}
			form.Set("version", strconv.FormatInt(version, 10))
		}
		taken := fzStorable(want.Title) && fzStorable(layer) && s.exists(t, `SELECT 1 FROM controls WHERE layer = $1 AND lower(title) = lower($2) AND id <> $3`, layer, want.Title, id)

		rec := s.post(t, path, form)
		s.check(t, "POST "+path, rec, http.StatusSeeOther, http.StatusConflict, http.StatusUnprocessableEntity)
		got, err := storedControl(s.st, ctx, custom.ID)
		if err != nil {
			t.Fatal(err)
		}
		changed := got.Version != before.Version || s.count(t, "controls") != count
		sameAsWant := func(c srm.Control) bool {
			return c.Title == want.Title && c.Layer == want.Layer && c.Area == want.Area && c.Description == want.Description &&
				c.CustomerPart == want.CustomerPart && c.ProviderPart == want.ProviderPart
		}
		switch {
		case fzAnyUnstorable(title, description, customerPart, providerPart) && (rec.Code != http.StatusUnprocessableEntity || changed):
			t.Fatalf("NUL or invalid UTF-8: status %d, stored changed %v; want 422 and nothing stored", rec.Code, changed)
		case changed && (rec.Code != http.StatusSeeOther || !valid || taken):
			t.Fatalf("stored %+v with status %d (valid %v, title taken %v)", want, rec.Code, valid, taken)
		case rec.Code == http.StatusSeeOther && edit && !sameAsWant(got):
			t.Fatalf("303 but stored %+v, want %+v", got, want)
		case rec.Code == http.StatusSeeOther && !edit && !s.exists(t, `SELECT 1 FROM controls WHERE NOT builtin AND title = $1 AND layer = $2 AND area = $3 AND description = $4 AND customer_part = $5 AND provider_part = $6`,
			want.Title, layer, area, want.Description, want.CustomerPart, want.ProviderPart):
			t.Fatalf("303, but no control %+v is stored", want)
		case valid && !taken && current && rec.Code != http.StatusSeeOther:
			t.Fatalf("valid control %+v refused with %d; body:\n%s", want, rec.Code, snippet(rec.Body.String()))
		}
	})
}

// fzPostPaths are the forms FuzzFormBody posts to, given a workload, a
// control its customer carries and a custom control.
func fzPostPaths(wid, cid, custom int64) []string {
	return []string{
		"/workloads",
		workloadPath(wid),
		statusPath(wid, cid),
		statusPath(wid, cid) + "/override",
		"/owners",
		"/controls",
		fmt.Sprintf("/controls/%d", custom),
	}
}

// FuzzFormBody posts raw bodies of any content type to every form: the
// form parser, not just the fields, sees hostile input.
func FuzzFormBody(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "Raw target", srm.OnPrem)
	c := s.customerControl(f, w)
	custom := srm.Control{Layer: srm.Data, Area: s.areas[0].Slug, Title: "Raw control"}
	if err := s.st.CreateControl(storetest.Context(f), &custom); err != nil {
		f.Fatal(err)
	}
	paths := fzPostPaths(w.ID, c.ID, custom.ID)
	form := "application/x-www-form-urlencoded"
	bodies := []string{
		"",
		"name=Raw+workload&model=iaas&baseline=1",
		"name=%00&model=iaas&baseline=1",
		"name=%ff%fe&model=iaas&baseline=1",
		"name=%zz",
		"name=a%",
		"=&&=&==&;;",
		"note=x;evidence=y",
		"owner=Raw+team&owner_kind=team&complete=1&note=%3Cscript%3E&version=0",
		"party=shared&reason=Raw&version=0",
		"owner_name=Raw&owner_kind=person",
		"title=Raw&layer=data&area=information-data&version=1",
		"name=" + strings.Repeat("a", 5000),
		strings.Repeat("a=1&", 2000),
		"\x00\x01\x02",
		"name=\xff",
	}
	types := []string{form, form + "; charset=utf-8", form + "; charset=utf-16", "multipart/form-data; boundary=x", "multipart/form-data",
		"application/json", "text/plain", "", "a/b/c;;", "application/x-www-form-urlencoded; charset=\"", "APPLICATION/X-WWW-FORM-URLENCODED"}
	for i, b := range bodies {
		f.Add(uint8(i), types[i%len(types)], []byte(b))
	}
	for i, ct := range types {
		f.Add(uint8(i), ct, []byte("--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMultipart\r\n--x--\r\n"))
	}
	f.Fuzz(func(t *testing.T, target uint8, contentType string, body []byte) {
		path := paths[int(target)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		s.serve(rec, req)
		s.check(t, "POST "+path, rec, http.StatusOK, http.StatusSeeOther, http.StatusBadRequest, http.StatusNotFound,
			http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		s.everythingValid(t)
	})
}

// FuzzRequest sends any method, path and query: malformed ids, garbage
// query strings and paths that lead nowhere must never be a 5xx.
func FuzzRequest(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "Request target", srm.IaaS)
	o := srm.Owner{Name: "Request owner", Kind: srm.Team}
	if err := s.st.CreateOwner(storetest.Context(f), &o); err != nil {
		f.Fatal(err)
	}
	wp := workloadPath(w.ID)
	op := "/owners/" + itoa(o.ID)
	paths := []string{"/", wp, wp + "/edit", wp + "/delete", wp + "/controls/1/override", op, "/owners", "/controls", "/controls/new",
		"/matrix", "/matrix/compare", "/workloads/new", "/healthz", "/readyz", "/static/css/app.css", "/favicon.ico"}
	for i, p := range paths {
		f.Add(uint8(i%3), p, "", false)
	}
	ids := []string{"0", "-1", "abc", "1.5", "1e3", "0x10", "+1", " 1", "1 ", "01", "９", "9223372036854775807", "9223372036854775808",
		"99999999999999999999999", "%00", "1%00", "..", "%2e%2e", "", "1/", "1;x", "１"}
	for i, id := range ids {
		for _, p := range []string{"/workloads/%s", "/workloads/%s/edit", "/workloads/%s/controls/1", "/workloads/1/controls/%s/override", "/owners/%s", "/controls/%s/edit"} {
			f.Add(uint8(i%2), fmt.Sprintf(p, id), "", i%4 == 0)
		}
	}
	// Page numbers big enough to overflow the offset are left to
	// TestHugePageNumberIsNotAServerError, which names the bug.
	queries := []string{"page=99999999999", "page=-9223372036854775808", "page=-1", "page=0", "page=1e9", "page=%zz",
		"sort=progress_desc&page=2", "model=paas&sort=%00", "model=%ff", ";;;&&&===", "a=" + strings.Repeat("b", 10000), "baseline=nope",
		"baseline=azure-chart", "from=x&to=y", "from=&to=", "%", "page=" + strings.Repeat("9", 400)}
	for _, q := range queries {
		for _, p := range []string{"/", op, "/matrix", "/matrix/compare"} {
			f.Add(uint8(0), p, q, false)
		}
	}
	for _, p := range []string{"/static/../go.mod", "/static/", "/static/css/", "/static//etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "//", "/\x00", "/workloads//", "/workloads/1/controls/", "*", ""} {
		f.Add(uint8(0), p, "", false)
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch,
		http.MethodOptions, http.MethodTrace, http.MethodConnect, "get", "PROPFIND", "FOO"}
	f.Fuzz(func(t *testing.T, method uint8, path, query string, htmx bool) {
		m := methods[int(method)%len(methods)]
		if m == http.MethodPost && strings.HasSuffix(path, "/delete") {
			m = http.MethodGet // keep the targets for the next inputs
		}
		req := &http.Request{
			Method:     m,
			URL:        &url.URL{Path: path, RawQuery: query},
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     http.Header{},
			Body:       http.NoBody,
			Host:       "example.com",
			RemoteAddr: "192.0.2.1:1234",
			RequestURI: path,
		}
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		s.serve(rec, req)
		s.check(t, m+" "+path+"?"+query, rec, http.StatusOK, http.StatusMovedPermanently, http.StatusSeeOther, http.StatusBadRequest,
			http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusConflict, http.StatusUnprocessableEntity)
	})
}

// badVersion reports whether a form's version is one srm refuses with 400:
// present, but not a whole number from 0 up.
func badVersion(v string) bool {
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err != nil || n < 0
}

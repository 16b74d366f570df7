package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// userForm is the edit form of an account as its admin page serves it now.
func (h *harness) userForm(id int64) *goquery.Selection {
	h.t.Helper()
	f := h.page("/admin/users/" + itoa(id)).Find(tid("user-form"))
	if f.Length() != 1 {
		h.t.Fatalf("GET /admin/users/%d: no user-form", id)
	}
	return f
}

// storedUser returns the account as the database holds it.
func (h *harness) storedUser(id int64) srm.User {
	h.t.Helper()
	u, err := h.st.User(storetest.Context(h.t), id)
	if err != nil {
		h.t.Fatalf("User(%d) = %v", id, err)
	}
	return u
}

// wantSignedOut fails the test unless h's session is over: a page request
// is sent to sign in.
func wantSignedOut(t *testing.T, what string, h *harness) {
	t.Helper()
	rec := h.get("/")
	wantStatus(t, what+": GET /", rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/signin") {
		t.Fatalf("%s: GET / redirected to %q, want /signin", what, loc)
	}
}

func TestUserAddCreatesALocalAccountThatCanSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const pw = "a long and private first password"
	rec := h.post("/admin/users", url.Values{
		"email": {"  Ana.Lima@Example.com "}, "name": {" Ana Lima "}, "role": {"editor"}, "password": {pw},
	})
	wantStatus(t, "POST /admin/users", rec, http.StatusSeeOther)
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, "/admin/users/") || !strings.HasSuffix(loc, "?done=added") {
		t.Fatalf("POST /admin/users: Location = %q, want the new account's page", loc)
	}
	doc := h.page(loc)
	if got := text(doc.Find(tid("user-heading"))); got != "Ana Lima" {
		t.Errorf("user page heading = %q, want %q", got, "Ana Lima")
	}
	if doc.Find(tid("notice")).Length() != 1 {
		t.Error("user page after adding: no notice")
	}

	row := h.page("/admin/users").Find(tid("user-ana.lima@example.com"))
	if row.Length() != 1 {
		t.Fatal("GET /admin/users: the new account (email lowercased) is not listed")
	}
	for field, want := range map[string]string{
		"user-name": "Ana Lima", "user-role": "editor", "user-method": "Password", "user-mfa": "no",
		"user-state": "Active", "user-last-signin": "Never", "user-sessions": "0",
	} {
		if got := text(row.Find(tid(field))); got != want {
			t.Errorf("users list, %s = %q, want %q", field, got, want)
		}
	}

	ana := h.signedOut()
	ana.signIn("ana.lima@example.com", pw)
	if got := text(ana.page("/").Find(tid("account"))); !strings.Contains(got, "Ana Lima") || !strings.Contains(got, "editor") {
		t.Errorf("Ana's menu = %q, want her name and role editor", got)
	}
	row = h.page("/admin/users").Find(tid("user-ana.lima@example.com"))
	if got := text(row.Find(tid("user-sessions"))); got != "1" {
		t.Errorf("users list after Ana signed in: sessions = %q, want 1", got)
	}
	if got := text(row.Find(tid("user-last-signin"))); got == "Never" {
		t.Errorf("users list after Ana signed in: last sign-in = %q", got)
	}
}

func TestUserAddRejectsBadInputAndKeepsAllButThePassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	newUser(t, h.st, "taken@example.com", srm.RoleViewer)
	const pw = "a long and private first password"
	tests := []struct {
		name        string
		email, role string
		password    string
		field       string
	}{
		{"short password", "new1@example.com", "viewer", "too short", "password"},
		{"password too long", "new2@example.com", "viewer", strings.Repeat("p", srm.MaxPassword+1), "password"},
		{"bad email", "not an address", "viewer", pw, "email"},
		{"no email", "", "viewer", pw, "email"},
		{"bad role", "new3@example.com", "owner", pw, "role"},
		{"duplicate email, other case", "Taken@Example.com", "editor", pw, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.post("/admin/users", url.Values{"email": {tt.email}, "name": {"Kept Name"}, "role": {tt.role}, "password": {tt.password}})
			wantStatus(t, "POST /admin/users", rec, http.StatusUnprocessableEntity)
			doc := parse(t, rec)
			form := doc.Find(tid("add-user-form"))
			if form.Find(tid("error-"+tt.field)).Length() != 1 {
				t.Errorf("no problem shown for %s", tt.field)
			}
			if got := form.Find(`input[name="email"]`).AttrOr("value", ""); got != strings.TrimSpace(tt.email) {
				t.Errorf("email kept as %q, want %q", got, tt.email)
			}
			if got := form.Find(`input[name="name"]`).AttrOr("value", ""); got != "Kept Name" {
				t.Errorf("name kept as %q, want %q", got, "Kept Name")
			}
			if got := form.Find(`input[name="role"][checked]`).AttrOr("value", ""); srm.Role(tt.role).Valid() && got != tt.role {
				t.Errorf("role kept as %q, want %q", got, tt.role)
			}
			if v, ok := form.Find(`input[name="password"]`).Attr("value"); ok && v != "" {
				t.Errorf("the password came back in the form: %q", v)
			}
			if strings.Contains(rec.Body.String(), tt.password) && tt.password != "" {
				t.Error("the password appears in the page")
			}
		})
	}
	users, err := h.st.UserSummaries(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 {
		t.Errorf("accounts after rejected adds = %d, want 2 (the admin and taken@)", len(users))
	}
}

func TestUserRoleChangeTakesEffectOnTheirNextRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ed := h.as(srm.RoleEditor)
	wantStatus(t, "editor GET /admin/users", ed.get("/admin/users"), http.StatusForbidden)

	form := h.userForm(ed.user.ID)
	if form.Find(tid("self-hint")).Length() != 0 {
		t.Error("another account's page says it is your own")
	}
	wantRedirect(t, "promote to admin", h.submit(form, url.Values{"role": {"admin"}}), "/admin/users/"+itoa(ed.user.ID)+"?done=saved")
	if got := h.storedUser(ed.user.ID).Role; got != srm.RoleAdmin {
		t.Fatalf("stored role = %s, want admin", got)
	}

	wantSignedOut(t, "after the role change", ed)
	ed.signIn(ed.user.Email, testPassword)
	wantStatus(t, "promoted editor GET /admin/users", ed.get("/admin/users"), http.StatusOK)

	// Demoted again, to viewer: the new admin loses admin pages and editing.
	wantRedirect(t, "demote to viewer", h.submit(h.userForm(ed.user.ID), url.Values{"role": {"viewer"}}), "/admin/users/"+itoa(ed.user.ID)+"?done=saved")
	wantSignedOut(t, "after the demotion", ed)
	ed.signIn(ed.user.Email, testPassword)
	wantStatus(t, "viewer GET /admin/users", ed.get("/admin/users"), http.StatusForbidden)
	if h := ed.page("/").Find(tid("account")); !strings.Contains(text(h), "viewer") {
		t.Errorf("menu after demotion = %q, want role viewer", text(h))
	}
}

func TestUserNameChangeKeepsTheirSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.as(srm.RoleViewer)
	wantRedirect(t, "rename", h.submit(h.userForm(v.user.ID), url.Values{"name": {"Vera Viewer"}}), "/admin/users/"+itoa(v.user.ID)+"?done=saved")
	wantStatus(t, "viewer after a rename", v.get("/"), http.StatusOK)
	if got := h.storedUser(v.user.ID).Name; got != "Vera Viewer" {
		t.Errorf("stored name = %q", got)
	}
}

func TestUserDisableSignsThemOutAndRefusesSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.as(srm.RoleViewer)
	wantRedirect(t, "disable", h.submit(h.userForm(v.user.ID), url.Values{"disabled": {"1"}}), "/admin/users/"+itoa(v.user.ID)+"?done=saved")
	wantSignedOut(t, "after disabling", v)

	rec := v.post("/signin", url.Values{"email": {v.user.Email}, "password": {testPassword}})
	// Refused exactly as a wrong password is (issue 10): the answer must not
	// tell whether the password was right.
	wantStatus(t, "disabled account signs in", rec, http.StatusUnprocessableEntity)
	if msg := text(parse(t, rec).Find(tid("form-error"))); msg != "That email and password do not match an account." {
		t.Errorf("disabled account's sign-in says %q", msg)
	}
	wantSignedOut(t, "after a refused sign-in", v)
	if got := text(h.page("/admin/users").Find(tid("user-" + v.user.Email)).Find(tid("user-state"))); got != "Disabled" {
		t.Errorf("users list state = %q, want Disabled", got)
	}

	// Enabled again, they can sign in.
	wantRedirect(t, "enable", h.submit(h.userForm(v.user.ID), url.Values{"disabled": nil}), "/admin/users/"+itoa(v.user.ID)+"?done=saved")
	v.signIn(v.user.Email, testPassword)
}

func TestUserRevokeSignsThemOutEverywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ed := h.as(srm.RoleEditor)
	laptop := ed.signedOut()
	laptop.signIn(ed.user.Email, testPassword)

	doc := h.page("/admin/users/" + itoa(ed.user.ID))
	if got := text(doc.Find(tid("session-count"))); got != "2 live sessions." {
		t.Errorf("session count = %q, want 2 live sessions.", got)
	}
	wantRedirect(t, "revoke", h.submit(doc.Find(tid("revoke-form")), nil), "/admin/users/"+itoa(ed.user.ID)+"?done=revoked")
	wantSignedOut(t, "first session after revoking", ed)
	wantSignedOut(t, "second session after revoking", laptop)
	if got := text(h.page("/admin/users/" + itoa(ed.user.ID)).Find(tid("session-count"))); got != "Not signed in anywhere." {
		t.Errorf("session count after revoking = %q", got)
	}
	ed.signIn(ed.user.Email, testPassword) // not disabled: they may sign in again
	wantStatus(t, "admin still signed in", h.get("/admin/users"), http.StatusOK)
}

func TestUserRevokeOwnSessionsSignsTheAdminOutAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/admin/users/" + itoa(h.user.ID))
	wantRedirect(t, "revoke own", h.submit(doc.Find(tid("revoke-form")), nil), "/signin?out=1")
	if h.cookie != "" {
		t.Error("the session cookie was not cleared")
	}
	if n := count(t, h, fmt.Sprintf(`SELECT count(*) FROM sessions WHERE user_id = %d`, h.user.ID)); n != 0 {
		t.Errorf("%d sessions of the admin left, want 0", n)
	}
}

func TestUserLastAdminCannotBeDemotedOrDisabled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	form := h.userForm(h.user.ID)
	if form.Find(tid("only-admin")).Length() != 1 || form.Find(tid("self-hint")).Length() != 1 {
		t.Error("own page as the only admin: no only-admin or self hint")
	}
	for _, tt := range []struct {
		name   string
		change url.Values
		field  string
	}{
		{"demote", url.Values{"role": {"editor"}}, "role"},
		{"disable", url.Values{"disabled": {"1"}}, "disabled"},
	} {
		rec := h.submit(form, tt.change)
		wantStatus(t, tt.name+" the last admin", rec, http.StatusUnprocessableEntity)
		if msg := text(parse(t, rec).Find(tid("error-" + tt.field))); !strings.Contains(msg, "only active admin") {
			t.Errorf("%s the last admin: problem = %q", tt.name, msg)
		}
		if u := h.storedUser(h.user.ID); u.Role != srm.RoleAdmin || u.Disabled {
			t.Fatalf("%s the last admin: stored %s disabled=%v", tt.name, u.Role, u.Disabled)
		}
		wantStatus(t, tt.name+": still signed in", h.get("/admin/users"), http.StatusOK)
	}

	// With a second active admin, an admin may step down: their session ends.
	other := h.as(srm.RoleAdmin)
	wantRedirect(t, "step down", h.submit(h.userForm(h.user.ID), url.Values{"role": {"editor"}}), "/signin?out=1")
	wantSignedOut(t, "after stepping down", h)
	if got := h.storedUser(h.user.ID).Role; got != srm.RoleEditor {
		t.Errorf("stored role = %s, want editor", got)
	}
	// Now the other is the last one, and cannot disable themself either.
	wantStatus(t, "disable the new last admin", other.submit(other.userForm(other.user.ID), url.Values{"disabled": {"1"}}), http.StatusUnprocessableEntity)
	// A disabled admin does not count as one.
	disabled := newUser(t, h.st, "dormant@example.com", srm.RoleAdmin)
	wantRedirect(t, "disable the dormant admin", other.submit(other.userForm(disabled.ID), url.Values{"disabled": {"1"}}),
		"/admin/users/"+itoa(disabled.ID)+"?done=saved")
	wantStatus(t, "demote the last active admin", other.submit(other.userForm(other.user.ID), url.Values{"role": {"viewer"}}), http.StatusUnprocessableEntity)
}

func TestUserAdminsDemotingEachOtherAtOnceLeaveOneAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	second := newUser(t, h.st, "second@example.com", srm.RoleAdmin)
	for round := range 5 {
		a, b := h.storedUser(h.user.ID), h.storedUser(second.ID)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []srm.User{a, b} {
			wg.Go(func() {
				u.Role = srm.RoleEditor
				_, errs[i] = h.st.UpdateUser(storetest.Context(t), u)
			})
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, store.ErrLastAdmin):
				refused++
			case err != nil:
				t.Fatalf("round %d: UpdateUser = %v", round, err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d of two simultaneous demotions refused, want exactly 1", round, refused)
		}
		// Promote both back for the next round.
		for _, id := range []int64{a.ID, b.ID} {
			u := h.storedUser(id)
			u.Role = srm.RoleAdmin
			if _, err := h.st.UpdateUser(storetest.Context(t), u); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestUserStaleEditIsAConflictShowingWhatIsStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := newUser(t, h.st, "vic@example.com", srm.RoleViewer)
	form := h.userForm(v.ID)

	// Someone else renames Vic in between.
	u := h.storedUser(v.ID)
	u.Name = "Victoria"
	if _, err := h.st.UpdateUser(storetest.Context(t), u); err != nil {
		t.Fatal(err)
	}

	rec := h.submit(form, url.Values{"name": {"Vic"}, "role": {"editor"}})
	wantStatus(t, "stale save", rec, http.StatusConflict)
	doc := parse(t, rec)
	if got := text(doc.Find(tid("conflict"))); !strings.Contains(got, "Victoria") || !strings.Contains(got, "viewer") {
		t.Errorf("conflict = %q, want the stored name and role", got)
	}
	again := doc.Find(tid("user-form"))
	if got := again.Find(`input[name="name"]`).AttrOr("value", ""); got != "Vic" {
		t.Errorf("409 form name = %q, want the input kept", got)
	}
	if got := h.storedUser(v.ID); got.Name != "Victoria" || got.Role != srm.RoleViewer {
		t.Fatalf("stale save changed the account: %+v", got)
	}
	// Saving the 409 form again deliberately replaces theirs.
	wantRedirect(t, "save again", h.submit(again, nil), "/admin/users/"+itoa(v.ID)+"?done=saved")
	if got := h.storedUser(v.ID); got.Name != "Vic" || got.Role != srm.RoleEditor {
		t.Errorf("after saving again: %s %s, want Vic editor", got.Name, got.Role)
	}
	// A double click of the same save counts as saved.
	wantRedirect(t, "repeat", h.submit(again, nil), "/admin/users/"+itoa(v.ID)+"?done=saved")
}

func TestUserEditRejectsBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := newUser(t, h.st, "val@example.com", srm.RoleViewer)
	form := h.userForm(v.ID)
	rec := h.submit(form, url.Values{"role": {"root"}, "name": {"Val"}})
	wantStatus(t, "bad role", rec, http.StatusUnprocessableEntity)
	if parse(t, rec).Find(tid("error-role")).Length() != 1 {
		t.Error("bad role: no problem shown")
	}
	wantStatus(t, "unknown account", h.post("/admin/users/999999", url.Values{"name": {"x"}, "role": {"viewer"}, "version": {"1"}}), http.StatusNotFound)
	wantStatus(t, "unknown account page", h.get("/admin/users/999999"), http.StatusNotFound)
	wantStatus(t, "malformed id", h.get("/admin/users/abc"), http.StatusBadRequest)
}

func TestMyControlsShowTheLinkedOwnersQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.owner("Platform team")
	other := h.owner("Network team")
	w := h.workload("Depot servers", srm.IaaS)
	patching := h.controlID("Patching of systems")
	wantRedirect(t, "assign patching", h.post(statusPath(w.ID, patching), url.Values{"owner": {o.Name}}),
		workloadPath(w.ID)+"#r"+itoa(patching))

	ed := h.as(srm.RoleEditor)
	doc := ed.page("/my")
	if doc.Find(tid("not-linked")).Length() != 1 || doc.Find(tid("queue-open")).Length() != 0 {
		t.Fatal("GET /my unlinked: want the explanation and no queue")
	}
	if got := doc.Find(`header nav a[aria-current]`).Text(); got != "My controls" {
		t.Errorf("current menu item = %q, want My controls", got)
	}

	page := h.page("/admin/users/" + itoa(ed.user.ID))
	link := page.Find(tid("owner-link-form"))
	wantRedirect(t, "link", h.submit(link, url.Values{"owner_id": {itoa(o.ID)}}), "/admin/users/"+itoa(ed.user.ID)+"?done=linked")
	doc = ed.page("/my")
	if doc.Find(tid("queue-open")).Find(tid("queue-item-Patching of systems")).Length() != 1 {
		t.Errorf("GET /my linked: Patching of systems not in the open queue:\n%s", snippet(doc.Text()))
	}
	if !strings.Contains(text(doc.Find("h1")), "Platform team") {
		t.Errorf("GET /my h1 = %q", text(doc.Find("h1")))
	}
	if got := text(h.page("/admin/users").Find(tid("user-" + ed.user.Email)).Find(tid("user-owner"))); got != "Platform team" {
		t.Errorf("users list owner = %q", got)
	}

	// Another account cannot take an owner that is already linked.
	vw := h.as(srm.RoleViewer)
	rec := h.post("/admin/users/"+itoa(vw.user.ID)+"/owner", url.Values{"owner_id": {itoa(o.ID)}})
	wantStatus(t, "link a taken owner", rec, http.StatusUnprocessableEntity)
	if parse(t, rec).Find(tid("error-owner_id")).Length() != 1 {
		t.Error("link a taken owner: no problem shown")
	}
	if opt := h.page("/admin/users/" + itoa(vw.user.ID)).Find(`option[value="` + itoa(o.ID) + `"]`); opt.AttrOr("disabled", "x") == "x" {
		t.Error("an owner linked to another account is offered")
	}
	wantStatus(t, "link an unknown owner", h.post("/admin/users/"+itoa(vw.user.ID)+"/owner", url.Values{"owner_id": {"999999"}}), http.StatusUnprocessableEntity)
	wantStatus(t, "link with junk", h.post("/admin/users/"+itoa(vw.user.ID)+"/owner", url.Values{"owner_id": {"x"}}), http.StatusUnprocessableEntity)

	// Moving the link replaces the old one.
	wantRedirect(t, "relink", h.post("/admin/users/"+itoa(ed.user.ID)+"/owner", url.Values{"owner_id": {itoa(other.ID)}}),
		"/admin/users/"+itoa(ed.user.ID)+"?done=linked")
	if got, err := h.st.OwnerOfUser(storetest.Context(t), ed.user.ID); err != nil || got.ID != other.ID {
		t.Errorf("OwnerOfUser after relinking = %+v, %v; want Network team", got, err)
	}
	if doc := ed.page("/my"); doc.Find(tid("queue-item-Patching of systems")).Length() != 0 {
		t.Error("GET /my after relinking still lists Platform team's control")
	}

	// 0 unlinks.
	wantRedirect(t, "unlink", h.post("/admin/users/"+itoa(ed.user.ID)+"/owner", url.Values{"owner_id": {"0"}}),
		"/admin/users/"+itoa(ed.user.ID)+"?done=linked")
	if ed.page("/my").Find(tid("not-linked")).Length() != 1 {
		t.Error("GET /my after unlinking: no explanation")
	}
}

func TestMyControlsPagesLikeAnOwnersQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.owner("Everything team")
	controls, err := h.st.Controls(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	// Enough held controls for two pages.
	for i := 0; i*len(controls) < 110; i++ {
		w := h.workload("Workload "+itoa(int64(i)), srm.OnPrem)
		for _, c := range controls {
			if err := h.st.SaveStatus(storetest.Context(t), w.ID, c.ID, srm.Status{OwnerID: o.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := h.st.LinkUserOwner(storetest.Context(t), h.user.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	doc := h.page("/my")
	pager := doc.Find(tid("pager"))
	if next := pager.Find(`a[rel="next"]`).AttrOr("href", ""); next != "/my?page=2" {
		t.Fatalf("GET /my: next page link = %q, want /my?page=2", next)
	}
	doc = h.page("/my?page=2")
	if prev := doc.Find(tid("pager")).Find(`a[rel="prev"]`).AttrOr("href", ""); prev != "/my?page=1" {
		t.Errorf("GET /my?page=2: previous page link = %q", prev)
	}
}

func TestSettingsRequireMFASignsOutThoseWithoutAnAuthenticator(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.as(srm.RoleViewer)
	// A second admin who has an authenticator keeps their session.
	keeper := h.as(srm.RoleAdmin)
	// (Enrolled in their own session: enrolling ends every other one.)
	keeper.enrolTOTP()

	settings := h.page("/admin/users").Find(tid("settings-form"))
	if _, on := settings.Find(`input[name="require_mfa"]`).Attr("checked"); on {
		t.Fatal("require MFA is on in a fresh database")
	}
	hint := text(settings.Find(tid("require-mfa-hint")))
	for _, want := range []string{"signs out", "enrol", "You have no authenticator yet"} {
		if !strings.Contains(hint, want) {
			t.Errorf("settings hint %q does not say %q", hint, want)
		}
	}
	// The admin turning it on has no authenticator: signed out at once.
	wantRedirect(t, "turn on", h.submit(settings, url.Values{"require_mfa": {"1"}}), "/signin?out=1")
	if on, err := h.st.MFARequired(storetest.Context(t)); err != nil || !on {
		t.Fatalf("MFARequired() = %v, %v; want true", on, err)
	}
	wantSignedOut(t, "admin without MFA", h)
	wantSignedOut(t, "viewer without MFA", v)

	settings = keeper.page("/admin/users").Find(tid("settings-form"))
	if _, on := settings.Find(`input[name="require_mfa"]`).Attr("checked"); !on {
		t.Error("require MFA shown off after turning it on")
	}
	wantRedirect(t, "turn off", keeper.submit(settings, url.Values{"require_mfa": nil}), "/admin/users?done=settings#settings")
	if on, err := h.st.MFARequired(storetest.Context(t)); err != nil || on {
		t.Fatalf("MFARequired() = %v, %v; want false", on, err)
	}
	if keeper.page("/admin/users?done=settings").Find(tid("notice")).Length() != 1 {
		t.Error("no notice after saving settings")
	}
}

func TestAdminRoutesAreForbiddenToEditorsAndViewers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	target := newUser(t, h.st, "target@example.com", srm.RoleViewer)
	o := h.owner("Platform team")
	user := "/admin/users/" + itoa(target.ID)
	routes := []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/admin/users", nil},
		{"POST", "/admin/users", url.Values{"email": {"sneaky@example.com"}, "role": {"admin"}, "password": {"a long and private password"}}},
		{"GET", user, nil},
		{"POST", user, url.Values{"name": {"x"}, "role": {"admin"}, "version": {itoa(target.Version)}}},
		{"POST", user + "/revoke", url.Values{}},
		{"POST", user + "/owner", url.Values{"owner_id": {itoa(o.ID)}}},
		{"POST", "/admin/settings", url.Values{"require_mfa": {"1"}}},
	}
	for _, role := range []srm.Role{srm.RoleViewer, srm.RoleEditor} {
		as := h.as(role)
		for _, rt := range routes {
			send := func() *httptest.ResponseRecorder { return as.get(rt.path) }
			if rt.method == "POST" {
				send = func() *httptest.ResponseRecorder { return as.post(rt.path, rt.form) }
			}
			rec := send()
			if got := rec.Code; got != http.StatusForbidden {
				t.Errorf("%s %s %s = %d, want 403", role, rt.method, rt.path, got)
			}
		}
	}
	if u := h.storedUser(target.ID); u.Role != srm.RoleViewer || u.Name != "" {
		t.Errorf("target changed: %+v", u)
	}
	if on, _ := h.st.MFARequired(storetest.Context(t)); on {
		t.Error("require MFA turned on by a non-admin")
	}
	if _, err := h.st.OwnerOfUser(storetest.Context(t), target.ID); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("target linked to an owner by a non-admin: %v", err)
	}
	if _, err := h.st.UserForSignIn(storetest.Context(t), "sneaky@example.com"); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("account added by a non-admin: %v", err)
	}
}

func TestUserPagesQueriesDoNotGrowWithTheAccounts(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	h := &harness{t: t, st: st, srv: newServer(t, st, web.Config{})}
	h.signInAs(srm.RoleAdmin)
	o := h.owner("Platform team")
	if err := st.LinkUserOwner(storetest.Context(t), h.user.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/admin/users", "/admin/users/" + itoa(h.user.ID), "/my"}
	measure := func() map[string]int64 {
		n := map[string]int64{}
		for _, p := range pages {
			h.page(p) // warm up
			counter.Reset()
			h.page(p)
			n[p] = counter.Count()
		}
		return n
	}
	few := measure()
	for i := range 30 {
		u := newUser(t, st, "many"+itoa(int64(i))+"@example.com", srm.RoleViewer)
		if i%3 == 0 {
			h.signedOut().signIn(u.Email, testPassword)
		}
		h.owner("Owner " + itoa(int64(i)))
	}
	many := measure()
	for _, p := range pages {
		if many[p] != few[p] || few[p] > 4 {
			t.Errorf("GET %s: %d statements with 1 account, %d with 31; want the same, at most 4", p, few[p], many[p])
		}
	}

	doc := h.page("/admin/users")
	if n := doc.Find(tid("users") + " tbody tr").Length(); n != 31 {
		t.Errorf("users listed = %d, want 31", n)
	}
	if got := text(doc.Find(tid("user-many0@example.com")).Find(tid("user-sessions"))); got != "1" {
		t.Errorf("sessions of many0 = %q, want 1", got)
	}
	if got := text(doc.Find(tid("user-many1@example.com")).Find(tid("user-sessions"))); got != "0" {
		t.Errorf("sessions of many1 = %q, want 0", got)
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/credential"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/views"
	"github.com/srmhq/srm/web"
)

const (
	inertChromium = "/usr/bin/chromium"
	inertBudget   = 90 * time.Second // the whole test, browser start included
	inertWait     = 15 * time.Second // one wait or one page load
)

// inertJS is what every payload tries to run: it sets a sentinel, renames
// the page and opens an alert, so any one of the three gives it away.
const inertJS = "window.__pwned=1;document.title='PWNED';alert('pwned')"

// inertPayloads are the markup a person could type into a text field. Each
// marks what it would inject with data-pwned, so an element that made it
// into the DOM is found even if its script never ran.
var inertPayloads = []string{
	`<script data-pwned>` + inertJS + `</script>`,
	`"><img src=x data-pwned onerror="` + inertJS + `">`,
	`'><svg data-pwned onload="` + inertJS + `">`,
	`</textarea></title></p><script data-pwned>` + inertJS + `</script>`,
	`<iframe data-pwned srcdoc="<script>parent.__pwned=1</script>"></iframe>`,
	`<div data-pwned hx-get="/owners" hx-trigger="load" hx-on::after-request="` + inertJS + `">x</div>`,
	`<a data-pwned href="javascript:` + inertJS + `">x</a>`,
}

// inertAll is every payload in one text.
var inertAll = strings.Join(inertPayloads, " ")

// TestStoredPayloadsRenderInert stores script and HTML payloads in every
// text field srm keeps, then loads every page that shows them in a real
// Chromium, with the Content-Security-Policy bypassed so that only
// escaping stands between a payload and the page. No page may run a
// payload: the sentinel stays unset, the title stays, no alert opens and
// no element a payload carries reaches the DOM. A canary page that embeds
// the payloads raw proves the detector sees a payload that does run.
func TestStoredPayloadsRenderInert(t *testing.T) {
	if _, err := os.Stat(inertChromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (%v); CI must install Debian's chromium", inertChromium, err)
		}
		t.Skipf("%s is missing (%v); apt-get install -y chromium to run the browser test", inertChromium, err)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(storetest.Context(t), inertBudget)
	defer cancel()

	st := store.New(storetest.Pool(t))
	f := inertFixtures(t, ctx, st)
	app := newServer(t, st, web.Config{})
	csp := func() string {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Header().Get("Content-Security-Policy")
	}()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__canary" { // a page that does not escape: the detector must fire here
			w.Header().Set("Content-Security-Policy", csp)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><title>Canary</title><p>%s</p>", inertAll)
			return
		}
		app.ServeHTTP(w, r)
	}))
	defer srv.Close()

	bctx, cancelBrowser := startBrowser(t, ctx)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", inertChromium, err)
	}
	if _, err := chromedp.Call(bctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("bypass the Content-Security-Policy: %v", err)
	}

	// Every dialog is recorded, then dismissed so the page goes on.
	var (
		dialogMu sync.Mutex
		dialogs  []string
	)
	dialogEvents := chromedp.Events(bctx, page.JavascriptDialogOpening)
	dialogsDone := make(chan struct{})
	go func() {
		defer close(dialogsDone)
		for ev, err := range dialogEvents {
			if err != nil {
				return
			}
			dialogMu.Lock()
			dialogs = append(dialogs, fmt.Sprintf("%s %q on %s", ev.Type, ev.Message, ev.URL))
			dialogMu.Unlock()
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	takeDialogs := func() []string {
		dialogMu.Lock()
		defer dialogMu.Unlock()
		d := dialogs
		dialogs = nil
		return d
	}
	defer func() {
		cancelBrowser()
		<-dialogsDone
	}()

	// Signed in as an admin whose name is a payload, linked to the fixture's
	// owner, with another payload-named account for the admin pages.
	hash, err := credential.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := srm.User{Email: "inert-admin@example.com", Name: "Admin " + inertPayloads[0], Role: srm.RoleAdmin}
	other := srm.User{Email: "inert-other@example.com", Name: "Other " + inertAll, Role: srm.RoleViewer}
	for _, u := range []*srm.User{&admin, &other} {
		if err := st.CreateUser(ctx, u, hash); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.LinkUserOwner(ctx, admin.ID, f.owner.ID); err != nil {
		t.Fatal(err)
	}
	cookie, _ := remoteSignIn(t, srv.URL, admin.Email)
	yes := true
	if _, err := chromedp.Call(bctx, network.SetCookie, network.SetCookieParams{Name: web.SessionCookie, Value: cookie,
		URL: srv.URL, Secure: &yes, HTTPOnly: &yes, SameSite: network.CookieSameSiteLax}); err != nil {
		t.Fatalf("give the browser the session: %v", err)
	}

	tab := &inertTab{t: t, ctx: bctx, base: srv.URL, dialogs: takeDialogs}

	// The canary: the same payloads, not escaped, must be caught.
	tab.open("/__canary", http.StatusOK)
	if s, d := tab.state(), takeDialogs(); s.Pwned == nil || s.Title != "PWNED" || s.Injected == 0 || len(d) == 0 {
		t.Fatalf("the canary page, which runs the payloads, was not caught (state %+v, dialogs %q): the test is blind", s, d)
	}
	tab.reset()

	wp, wp2 := workloadPath(f.workload.ID), workloadPath(f.inherited.ID)
	pages := []string{
		"/", "/?sort=progress", "/?model=iaas",
		wp, wp + "/edit", wp + "/delete",
		wp + "/controls/" + itoa(f.custom.ID) + "/override", wp + "/controls/" + itoa(f.naControl) + "/override",
		wp2, wp2 + "/edit", wp2 + "/controls/" + itoa(f.custom.ID) + "/override",
		"/owners", "/owners/" + itoa(f.owner.ID),
		"/controls", "/controls/" + itoa(f.custom.ID) + "/edit", "/controls/" + itoa(f.custom2.ID) + "/edit",
		"/matrix", "/matrix?baseline=" + f.baselines[len(f.baselines)-1].Slug, "/matrix/compare",
		"/audit", wp + "/history", "/admin/users", "/admin/users/" + itoa(other.ID), "/account", "/my",
	}
	for _, p := range pages {
		tab.open(p, http.StatusOK)
		tab.checkInert(p)
	}

	// The preview of a model change shows the names and the kept work.
	tab.open(wp+"/edit", http.StatusOK)
	tab.do("pick PaaS", chromedp.Click(chromedp.CSS(`input[name="model"][value="paas"]`)))
	tab.submit(tid("save-workload"), http.StatusOK)
	tab.checkInert("the PaaS preview of " + wp)

	// A rejected form shows the person's input again.
	tab.open(wp+"/edit", http.StatusOK)
	tab.do("type a payload and too long a description",
		chromedp.SetValue(chromedp.CSS(`#name`), "Renamed "+inertPayloads[0]),
		chromedp.SetValue(chromedp.CSS(`#description`), inertAll+strings.Repeat("x", srm.MaxText)))
	tab.submit(tid("save-workload"), http.StatusUnprocessableEntity)
	tab.checkInert("the rejected edit of " + wp)

	// htmx swaps a rejected status form in place: a swap runs scripts that
	// are in the markup it receives, so it must receive none.
	tab.open(wp, http.StatusOK)
	tab.waitFor("htmx to load", `typeof window.htmx === "object"`)
	card := "li:has(> #" + views.ControlAnchor(f.custom.ID) + ")" // the control's row
	tab.do("open the control's details in place", chromedp.Click(chromedp.CSS(card+` > a`)))
	tab.waitFor("the details to open in place", `!!document.querySelector(`+jsString(card+` textarea[name="note"]`)+`)`)
	tab.checkInert("the details of a control opened in place on " + wp)
	tab.do("type payloads and a javascript: evidence link, then save",
		chromedp.SetValue(chromedp.CSS(card+` textarea[name="note"]`), "Changed "+inertAll),
		chromedp.SetValue(chromedp.CSS(card+` input[name="evidence"]`), "javascript:"+inertJS),
		chromedp.Click(chromedp.CSS(card+` `+tid("status-form")+` `+tid("save"))))
	tab.waitFor("the rejected form to be swapped in", `!!document.querySelector(`+jsString(card+` .form-error`)+`)`)
	tab.checkInert("the htmx swap of a rejected status on " + wp)
	t.Logf("%d pages checked with %d payloads stored in every text field; none ran", tab.checked, len(inertPayloads))
}

// inertFixture is what TestStoredPayloadsRenderInert stores.
type inertFixture struct {
	baselines          []srm.Baseline
	workload           srm.Workload // IaaS: customer and shared work with payloads
	inherited          srm.Workload // SaaS: the custom control is Azure's, earlier work kept
	owner              srm.Owner
	custom, custom2    srm.Control
	naControl, builtin int64
}

// inertFixtures stores a payload in every text field srm keeps: workload
// name and description, owner name, custom control title, description and
// parts, status note, evidence and not-applicable reason, override reason,
// and the completed-by stamp (the owner's name).
func inertFixtures(t *testing.T, ctx context.Context, st *store.Store) inertFixture {
	t.Helper()
	var f inertFixture
	var err error
	if f.baselines, err = st.Baselines(ctx); err != nil || len(f.baselines) == 0 {
		t.Fatalf("Baselines = %v, %v", f.baselines, err)
	}
	areas, err := st.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, p srm.Problems) {
		t.Helper()
		if len(p) > 0 {
			t.Fatalf("the %s payload is not valid input, so it could not be stored: %q", what, p)
		}
	}
	workload := func(name string, model srm.ServiceModel) srm.Workload {
		w := srm.Workload{Name: name, Description: inertAll, Model: model, BaselineID: f.baselines[0].ID}
		check("workload", w.Validate())
		if err := st.CreateWorkload(ctx, &w); err != nil {
			t.Fatalf("CreateWorkload: %v", err)
		}
		return w
	}
	f.workload = workload("Inert "+inertPayloads[1], srm.IaaS)
	f.inherited = workload("Inert "+inertPayloads[0], srm.SaaS)

	f.owner = srm.Owner{Name: "Owner " + inertPayloads[1], Kind: srm.Team}
	check("owner", f.owner.Validate())
	if err := st.CreateOwner(ctx, &f.owner); err != nil {
		t.Fatal(err)
	}
	control := func(title string, layer srm.Layer) srm.Control {
		c := srm.Control{Layer: layer, Area: areas[0].Slug, Title: title, Description: inertAll,
			CustomerPart: "Customer " + inertAll, ProviderPart: "Azure " + inertAll}
		check("control", c.Validate(areas))
		if err := st.CreateControl(ctx, &c); err != nil {
			t.Fatalf("CreateControl: %v", err)
		}
		return c
	}
	f.custom = control(inertPayloads[3], srm.Data)
	f.custom2 = control(inertPayloads[5], srm.Application)

	// The custom control is shared for the IaaS workload (both parts show)
	// and Azure's for the SaaS one (the inherited line shows the provider
	// part and the kept owner); both overrides carry a payload as reason.
	override := func(w srm.Workload, cid int64, p srm.Party) {
		o := srm.Override{WorkloadID: w.ID, ControlID: cid, Party: p, Reason: "Because " + inertAll}
		check("override", o.Validate())
		if err := st.SetOverride(ctx, o); err != nil {
			t.Fatalf("SetOverride: %v", err)
		}
	}
	override(f.workload, f.custom.ID, srm.Shared)
	override(f.inherited, f.custom.ID, srm.Provider)

	status := func(w srm.Workload, cid int64, s srm.Status) {
		s.OwnerID = f.owner.ID
		check("status", s.Validate())
		if _, err := st.RecordStatus(ctx, w.ID, cid, s, srm.Owner{}); err != nil {
			t.Fatalf("RecordStatus: %v", err)
		}
	}
	evidence := `https://x/"><script data-pwned>` + inertJS + `</script>`
	done := srm.Status{Complete: true, Note: "Note " + inertAll, Evidence: evidence}
	status(f.workload, f.custom.ID, done)
	status(f.workload, f.custom2.ID, done)
	status(f.inherited, f.custom.ID, done)

	// A built-in control the IaaS workload's customer carries does not
	// apply, for a reason full of payloads.
	ws, err := st.WorkloadState(ctx, f.workload.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ws.Catalog.Baseline(f.workload.BaselineID)
	as, err := srm.Assess(b, f.workload.Model, ws.Catalog.Controls(), ws.Overrides, ws.Statuses)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Control.Builtin && a.Party == srm.Customer {
			if f.naControl == 0 {
				f.naControl = a.Control.ID
			} else if f.builtin == 0 {
				f.builtin = a.Control.ID
			}
		}
	}
	status(f.workload, f.naControl, srm.Status{NotApplicable: true, NAReason: "Reason " + inertAll, Note: inertPayloads[2]})
	status(f.workload, f.builtin, srm.Status{Evidence: evidence})
	return f
}

// inertTab is the browser tab of TestStoredPayloadsRenderInert.
type inertTab struct {
	t       *testing.T
	ctx     context.Context
	base    string
	dialogs func() []string // the dialogs opened since the last call
	checked int             // pages checked
}

// inertState is what a payload that ran or got into the DOM would change.
type inertState struct {
	Pwned    *float64 `json:"pwned"`    // window.__pwned
	Title    string   `json:"title"`    // document.title
	Injected int      `json:"injected"` // elements with data-pwned
	Rendered bool     `json:"rendered"` // the payloads' text is on the page
}

const inertStateJS = `({
	pwned: window.__pwned ?? null,
	title: document.title,
	injected: document.querySelectorAll("[data-pwned]").length,
	rendered: document.documentElement.outerHTML.includes("data-pwned"),
})`

func (b *inertTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, inertWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open loads path and requires its status.
func (b *inertTab) open(path string, want int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, inertWait)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	if resp == nil || int(resp.Status) != want {
		b.t.Fatalf("open %s: status %v, want %d", path, inertStatus(resp), want)
	}
}

// submit clicks sel, waits for the page it loads and requires its status.
func (b *inertTab) submit(sel string, want int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, inertWait)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	if resp == nil || int(resp.Status) != want {
		b.t.Fatalf("click %s: page status %v, want %d", sel, inertStatus(resp), want)
	}
}

// waitFor polls the JavaScript condition until it holds.
func (b *inertTab) waitFor(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, inertWait)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(inertWait)))
	if err != nil {
		b.t.Fatalf("wait for %s: %v", what, err)
	}
}

func (b *inertTab) state() inertState {
	b.t.Helper()
	// Give what a page starts on load (an image's error, htmx's load
	// triggers) the time to happen.
	b.do("let the page settle", chromedp.Sleep(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(b.ctx, inertWait)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[inertState](inertStateJS))
	if err != nil {
		b.t.Fatalf("read the page's state: %v", err)
	}
	return s
}

// reset clears what the canary did.
func (b *inertTab) reset() {
	b.t.Helper()
	b.open("/healthz", http.StatusOK)
	b.dialogs()
}

// checkInert fails unless the page shows the payloads as text and none ran.
func (b *inertTab) checkInert(what string) {
	b.t.Helper()
	b.checked++
	s := b.state()
	var bad []string
	if s.Pwned != nil {
		bad = append(bad, fmt.Sprintf("a payload's script ran (window.__pwned = %v)", *s.Pwned))
	}
	if s.Title == "PWNED" {
		bad = append(bad, "a payload's script renamed the page")
	}
	if s.Injected > 0 {
		bad = append(bad, fmt.Sprintf("%d elements of the payloads are in the DOM", s.Injected))
	}
	if d := b.dialogs(); len(d) > 0 {
		bad = append(bad, "dialogs opened: "+strings.Join(d, "; "))
	}
	if len(bad) > 0 {
		b.t.Errorf("%s is not inert: %s", what, strings.Join(bad, "; "))
	}
	if !s.Rendered {
		b.t.Errorf("%s does not show the stored payloads at all, so it proves nothing", what)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029 || r == '<':
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

func inertStatus(resp *network.Response) string {
	if resp == nil {
		return "none"
	}
	return fmt.Sprintf("%d %s", resp.Status, resp.URL)
}

package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// axeSource is axe-core, vendored as test data (see testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is one rule a page breaks, as axe reports it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeRun runs axe on the page against WCAG 2.0, 2.1 and 2.2 A and AA and
// returns what it finds.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}, resultTypes: ["violations"]})
	.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, failureSummary: n.failureSummary}))}))))`

// TestEveryPageIsAccessible loads every page of srm in a real Chromium at
// a desktop width and a phone width, runs axe-core on it, and fails on any
// serious or critical violation of WCAG 2.2 A or AA. Moderate and minor
// findings are logged.
func TestEveryPageIsAccessible(t *testing.T) {
	if _, err := os.Stat(browserChromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (%v); CI must install Debian's chromium", browserChromium, err)
		}
		t.Skipf("%s is missing (%v); apt-get install -y chromium to run the accessibility check", browserChromium, err)
	}
	ctx, cancel := context.WithTimeout(storetest.Context(t), 4*time.Minute)
	defer cancel()

	st := store.New(storetest.Pool(t))
	if added, err := fixture.Demo(ctx, st); err != nil || !added {
		t.Fatalf("fixture.Demo = %v, %v; want true, nil on a fresh database", added, err)
	}
	admin := newUser(t, st, "a11y@example.com", srm.RoleAdmin)
	other := newUser(t, st, "viewer@example.com", srm.RoleViewer)
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) == 0 {
		t.Fatalf("Owners = %d, %v; want the demo's", len(owners), err)
	}
	if err := st.LinkUserOwner(ctx, admin.ID, owners[0].ID); err != nil {
		t.Fatal(err)
	}
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 10})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("Workloads = %v; want the demo's", err)
	}
	wl := list.Items[0].Workload
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	custom := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Quarterly access review"}
	if err := st.CreateControl(ctx, &custom); err != nil {
		t.Fatal(err)
	}
	// A second framework, held by the workload: the menus and the progress
	// per framework show.
	low, err := st.ImportBuiltin(ctx, "nist-800-53-rev5-low", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AttachFramework(ctx, wl.ID, low.Framework.ID); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(t, st, web.Config{}))
	defer srv.Close()

	bctx, _ := startBrowser(t, ctx)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", browserChromium, err)
	}
	// axe is put into each page through the DevTools protocol, which the
	// pages' Content-Security-Policy would otherwise refuse to run.
	if _, err := chromedp.Call(bctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("bypass the Content-Security-Policy: %v", err)
	}
	j := &browserJourney{t: t, ctx: bctx, base: srv.URL, dir: shotDir(t), name: "a11y"}

	wp := workloadPath(wl.ID)
	cp := statusPath(wl.ID, controls[len(controls)-1].ID)
	signedIn := []string{
		"/", "/?model=paas&sort=-progress",
		wp, wp + "?state=open&owner=none", wp + "?owner=mine", wp + "?q=zzzz-no-such-control",
		cp, cp + "/override",
		wp + "/edit", wp + "/delete", wp + "/history", "/workloads/new", "/workloads/import",
		"/matrix", "/matrix/compare", "/owners", "/owners/" + itoa(owners[0].ID), "/my",
		"/controls", "/controls/new", "/controls/" + itoa(custom.ID) + "/edit",
		"/audit", "/admin/users", "/admin/users/" + itoa(other.ID), "/account", "/account/mfa",
		"/?framework=nist-800-53-rev5-low", wp + "?framework=nist-800-53-rev5-low&state=open", wp + "/frameworks", "/admin/frameworks",
		"/admin/frameworks/nist-800-53-rev5-low", wp + "?done=complete&n=1&skip=" + itoa(custom.ID) + "o",
	}
	widths := []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}}
	checked := 0
	for _, w := range widths {
		var opts []chromedp.EmulateViewportOption
		if w.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		j.do("set the viewport to "+w.name, chromedp.EmulateViewport(w.width, w.height, opts...))
		j.name = "a11y-" + w.name

		// Signed out: the sign-in page.
		j.do("sign out", chromedp.Navigate(srv.URL+"/signin"))
		checkAxe(j, w.name, "/signin")
		checked++
		j.signIn(admin.Email, testPassword)

		for _, p := range signedIn {
			j.open(p)
			checkAxe(j, w.name, p)
			checked++
		}
		// The checklist with a control's details open in place.
		j.open(wp)
		j.waitFor("htmx to load", `typeof window.htmx === "object"`, `typeof window.htmx`)
		j.do("open a control's details in place", chromedp.Click(chromedp.CSS(`.rows > li > a`)))
		j.waitFor("the details to open", `!!document.querySelector('[data-testid="control-details"]')`, `document.title`)
		checkAxe(j, w.name, wp+" with details open")
		checked++
		j.shot("a11y-" + w.name + "-checklist")
		j.clickToPage(j.testID("signout"), http.StatusOK)
	}
	t.Logf("%d pages checked with axe-core", checked)
}

// checkAxe runs axe on the page in j's tab and fails on serious or critical
// violations, naming the rule and the elements.
func checkAxe(j *browserJourney, width, path string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object" || (function(){`+axeSource+`; return true})()`)); err != nil {
		// Evaluate of a large script may report no value; check it loaded.
		j.t.Logf("%s %s: loading axe: %v", width, path, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		j.t.Fatalf("%s %s: axe.run: %v", width, path, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		j.t.Fatalf("%s %s: axe's answer %q: %v", width, path, raw, err)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target))
		}
		msg := fmt.Sprintf("%s at %s: %s (%s) %s on %s", path, width, v.ID, v.Impact, v.Help, strings.Join(where, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			j.t.Errorf("%s", msg)
			if len(v.Nodes) > 0 {
				j.t.Logf("  first: %s", v.Nodes[0].Summary)
			}
		} else {
			j.t.Logf("minor: %s", msg)
		}
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/views"
	"github.com/srmhq/srm/web"
)

// checklistFixture is the demo portfolio with one IaaS workload to work
// through, served, and a browser signed in as an admin.
type checklistFixture struct {
	st       *store.Store
	wl       srm.Workload
	controls map[string]int64 // id by title
	owners   []srm.Owner
	j        *browserJourney
}

func newChecklistFixture(t *testing.T, noScript bool) *checklistFixture {
	t.Helper()
	if _, err := os.Stat(browserChromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (%v); CI must install Debian's chromium", browserChromium, err)
		}
		t.Skipf("%s is missing (%v); apt-get install -y chromium to run the checklist in a browser", browserChromium, err)
	}
	ctx, cancel := context.WithTimeout(storetest.Context(t), browserBudget)
	t.Cleanup(cancel)
	st := store.New(storetest.Pool(t))
	if added, err := fixture.Demo(ctx, st); err != nil || !added {
		t.Fatalf("fixture.Demo = %v, %v; want true, nil on a fresh database", added, err)
	}
	admin := newUser(t, st, "checklist@example.com", srm.RoleAdmin)
	f := &checklistFixture{st: st, controls: map[string]int64{}}
	// A workload of its own, so the demo's work does not decide what the
	// filters show.
	f.wl = srm.Workload{Name: "Customs declarations", Model: srm.IaaS}
	bs, err := st.Baselines(ctx)
	if err != nil || len(bs) == 0 {
		t.Fatalf("Baselines = %v", err)
	}
	f.wl.BaselineID = bs[0].ID
	if err := st.CreateWorkload(ctx, &f.wl); err != nil {
		t.Fatal(err)
	}
	cs, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		f.controls[c.Title] = c.ID
	}
	if f.owners, err = st.Owners(ctx); err != nil || len(f.owners) < 2 {
		t.Fatalf("Owners = %d, %v; want the demo's", len(f.owners), err)
	}
	srv := httptest.NewServer(newServer(t, st, web.Config{}))
	t.Cleanup(srv.Close)
	bctx, _ := startBrowser(t, ctx)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", browserChromium, err)
	}
	f.j = &browserJourney{t: t, ctx: bctx, base: srv.URL, dir: shotDir(t)}
	f.j.open("/signin")
	f.j.signIn(admin.Email, testPassword)
	if noScript {
		if _, err := chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disable JavaScript: %v", err)
		}
	}
	return f
}

// rows are the titles of the checklist's rows in the tab, in order.
func (f *checklistFixture) rows() []string {
	return browserEval[[]string](f.j, "the checklist rows",
		`Array.from(document.querySelectorAll('.rows > li')).map(r => { const a = r.querySelector(':scope > a'); return a.textContent.slice(a.firstElementChild.textContent.length).trim() })`)
}

// row is the CSS selector of the row of the control titled title.
func (f *checklistFixture) row(title string) string {
	return "li:has(> #" + views.ControlAnchor(f.controls[title]) + ")"
}

// field is the CSS selector of a field of that row in the checklist's
// form: "o" its owner, "c" its Complete box, "s" its bulk selection.
func (f *checklistFixture) field(title, kind string) string {
	return f.row(title) + ` > input[name="` + kind + itoa(f.controls[title]) + `"], ` + f.row(title) + ` > label > input[name="` + kind + itoa(f.controls[title]) + `"]`
}

func (f *checklistFixture) status(title string) srm.Status {
	f.j.t.Helper()
	ss, err := storedStatuses(f.st, f.j.t.Context(), f.wl.ID)
	if err != nil {
		f.j.t.Fatal(err)
	}
	return ss[f.controls[title]]
}

// TestChecklistInTheBrowserWithJavaScript works through a filtered
// checklist as a person with a mouse and keyboard does: filter by layer
// and text (the address follows), take a control and tick it complete in
// place, then assign two ticked rows to an owner at once.
func TestChecklistInTheBrowserWithJavaScript(t *testing.T) {
	f := newChecklistFixture(t, false)
	j := f.j
	const control = "Patching of systems"
	wp := workloadPath(f.wl.ID)
	owner := f.owners[0].Name

	j.step("checklist-filter", func() {
		j.open(wp)
		j.waitFor("htmx to load", `typeof window.htmx === "object"`, `typeof window.htmx`)
		j.markPage()
		j.do("choose the compute layer", chromedp.SetValue(chromedp.CSS(`#f-layer`), "compute"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-layer').dispatchEvent(new Event('change', {bubbles: true}))`))
		j.waitFor("the address to carry the filter", `location.search.includes("layer=compute")`, `location.search`)
		j.waitFor("only compute rows", `!document.querySelector('details.layer:not([data-testid="layer-compute"])')`,
			`Array.from(document.querySelectorAll('details.layer')).map(d => d.dataset.testid)`)
		if !j.samePage() {
			t.Error("the filter reloaded the page; htmx should swap the body")
		}
		j.do("type in the search", chromedp.SendKeys(chromedp.CSS(`#f-q`), "patch"))
		j.waitFor("the search to narrow the list", `location.search.includes("q=patch")`, `location.search`)
		j.waitFor("one row", `document.querySelectorAll('.rows > li').length === 1`, `document.querySelectorAll('.rows > li').length`)
		if got := f.rows(); !slices.Equal(got, []string{control}) {
			t.Errorf("compute + “patch” shows %q, want only %q", got, control)
		}
		if got := j.text(j.testID("shown-count")); got != "1" {
			t.Errorf("the count reads %q, want 1", got)
		}
	})

	j.step("checklist-complete-in-place", func() {
		row := f.row(control)
		j.markPage()
		before := j.text(j.testID("workload-progress-text"))
		// Keyboard only: type the owner, Tab away (the change saves it),
		// then Space on the Complete box.
		j.do("type the owner and leave the field", chromedp.SendKeys(chromedp.CSS(f.field(control, "o")), owner+"\t"))
		j.waitFor("the owner to be saved", fmt.Sprintf(`document.querySelector(%s)?.value === %s`, j.js(f.field(control, "o")), j.js(owner)),
			fmt.Sprintf(`document.querySelector(%s)?.value`, j.js(f.field(control, "o"))))
		for i := 0; f.status(control).OwnerName != owner; i++ {
			if i == 100 {
				t.Fatalf("the owner was not saved within 5 s of leaving the field")
			}
			time.Sleep(50 * time.Millisecond)
		}
		j.waitFor("the swap to settle", `!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')`, `document.querySelectorAll('.htmx-request').length`)
		j.do("focus the Complete box and press Space", chromedp.Focus(chromedp.CSS(f.field(control, "c"))), chromedp.KeyEvent(" "))
		j.waitFor("progress to move", fmt.Sprintf(`document.querySelector('[data-testid="workload-progress-text"]').textContent.replace(/\s+/g, " ").trim() !== %s && !!document.querySelector(%s)`,
			j.js(before), j.js(row+` > small`)), `document.querySelector('[data-testid="workload-progress-text"]').textContent`)
		if !j.samePage() {
			t.Error("ticking Complete reloaded the page; htmx should swap it in place")
		}
		if got := browserEval[string](j, "the focused element", `(document.activeElement?.getAttribute("aria-labelledby") ?? "").split(" ").map(id => document.getElementById(id)?.textContent.replace(/\s+/g, " ").trim()).join(" ")`); got != "Complete #"+itoa(f.controls[control])+" "+control {
			t.Errorf("after the swap the focus is on %q, want the Complete box of %s", got, control)
		}
		if got := j.text(row + ` > small`); !strings.HasPrefix(got, "on ") {
			t.Errorf("the stamp reads %q, want the day it was completed (by its owner, not named again)", got)
		}
		if s := f.status(control); !s.Complete || s.OwnerName != owner {
			t.Errorf("stored status = %+v, want complete by %s", s, owner)
		}
	})

	j.step("checklist-bulk-assign", func() {
		j.open(wp + "?layer=compute&owner=none")
		j.waitFor("htmx to load", `typeof window.htmx === "object"`, `typeof window.htmx`)
		rows := f.rows()
		if len(rows) < 2 || slices.Contains(rows, control) {
			t.Fatalf("unassigned compute rows = %q, want two or more without %q", rows, control)
		}
		picked := rows[:2]
		j.markPage()
		for _, title := range picked {
			j.do("tick "+title, chromedp.Click(chromedp.CSS(f.field(title, "s"))))
		}
		other := f.owners[1]
		j.do("choose the owner", chromedp.SetValue(chromedp.CSS(`#bulk-owner`), other.Name))
		j.shot("checklist-bulk-ticked")
		j.do("assign", chromedp.Click(chromedp.CSS(j.testID("bulk-assign"))))
		j.waitFor("the notice", `!!document.querySelector('[data-testid="bulk-notice"]')`, `document.body.innerText.slice(0, 200)`)
		if got := j.text(j.testID("bulk-notice")); !strings.Contains(got, "2 controls changed") {
			t.Errorf("the notice reads %q, want 2 controls changed", got)
		}
		if !j.samePage() {
			t.Error("the bulk action reloaded the page; htmx should swap it in place")
		}
		for _, title := range picked {
			if s := f.status(title); s.OwnerID != other.ID {
				t.Errorf("%q owner = %q, want %q", title, s.OwnerName, other.Name)
			}
		}
		if got := f.rows(); slices.Contains(got, picked[0]) || slices.Contains(got, picked[1]) {
			t.Errorf("the unassigned filter still shows %q after assigning them", picked)
		}
	})

	// What a person sees, at a desktop and at a phone width: the checklist
	// with a control's details open in place.
	j.step("checklist-looks", func() {
		for _, w := range []struct {
			name string
			w, h int64
		}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
			j.do("set the viewport", chromedp.EmulateViewport(w.w, w.h))
			j.open(wp + "?layer=compute")
			j.waitFor("htmx to load", `typeof window.htmx === "object"`, `typeof window.htmx`)
			j.do("scroll to the checklist", chromedp.ScrollIntoView(chromedp.CSS(`#checklist-h`)))
			j.viewShot("checklist-" + w.name + "-filtered")
			j.do("open the details of "+control, chromedp.Click(chromedp.CSS(f.row(control)+` > a`)))
			j.waitFor("the details", `!!document.querySelector('[data-testid="control-details"]')`, `document.title`)
			j.do("scroll to the row", chromedp.ScrollIntoView(chromedp.CSS(f.row(control))))
			j.viewShot("checklist-" + w.name + "-details")
			// Close, with the keyboard: the details go and the focus is
			// back on the row's title.
			j.do("focus Close and press Enter", chromedp.Focus(chromedp.CSS(j.testID("close-details"))), chromedp.KeyEvent("\r"))
			j.waitFor("the details to close", `!document.querySelector('[data-testid="control-details"]')`, `document.querySelectorAll('[data-testid="control-details"]').length`)
			if got := browserEval[string](j, "the focused element", `document.activeElement?.closest(".rows > li") ? document.activeElement.id + " " + document.activeElement.tagName : ""`); got != views.ControlAnchor(f.controls[control])+" A" {
				t.Errorf("after Close the focus is on %q, want the title link of %s's row", got, control)
			}
		}
	})
}

// viewShot saves what the tab shows now (the viewport, not the whole page)
// as name.png in the screenshot folder, for a person to look at.
func (j *browserJourney) viewShot(name string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		j.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(j.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		j.t.Logf("screenshot %s: %v", path, err)
	}
}

// TestChecklistInTheBrowserWithoutJavaScript does the same with scripts
// off: every filter, save and bulk action is a plain form that comes back
// to the same filtered address.
func TestChecklistInTheBrowserWithoutJavaScript(t *testing.T) {
	f := newChecklistFixture(t, true)
	j := f.j
	const control = "Endpoint protection"
	wp := workloadPath(f.wl.ID)
	owner := f.owners[0].Name
	filtered := wp + "?layer=compute&state=open"

	j.step("noscript-filter", func() {
		j.open(wp)
		if got := browserEval[string](j, "htmx", `typeof window.htmx`); got != "undefined" {
			t.Fatalf("htmx is %q with scripts off; the test would not test the plain forms", got)
		}
		j.do("choose the compute layer and open controls",
			chromedp.SetValue(chromedp.CSS(`#f-layer`), "compute"), chromedp.SetValue(chromedp.CSS(`#f-state`), "open"))
		j.clickToPage(j.testID("filter-apply"), http.StatusOK)
		// A plain GET form sends its empty fields too: the same filter.
		if got := browserEval[string](j, "the address", `location.pathname + location.search`); got != filtered &&
			got != wp+"?q=&layer=compute&party=&state=open&owner=" {
			t.Errorf("the filter submitted to %q, want %q", got, filtered)
		}
		if rows := f.rows(); !slices.Contains(rows, control) || slices.Contains(rows, "Single sign-on and multi-factor authentication") {
			t.Errorf("compute + open shows %q, want %q and no identity control", rows, control)
		}
	})

	j.step("noscript-row-save", func() {
		j.do("type the owner and tick Complete",
			chromedp.SendKeys(chromedp.CSS(f.field(control, "o")), owner),
			chromedp.Click(chromedp.CSS(f.field(control, "c"))))
		j.clickToPage(j.testID("save-changes-compute"), http.StatusOK) // the row's section's Save changes
		want := filtered + "#" + views.ControlAnchor(f.controls[control])
		if got := browserEval[string](j, "the address", `location.pathname + location.search + location.hash`); got != want {
			t.Errorf("after saving the browser is at %q, want back at %q", got, want)
		}
		if s := f.status(control); !s.Complete || s.OwnerName != owner {
			t.Errorf("stored status = %+v, want complete by %s", s, owner)
		}
	})

	j.step("noscript-control-page", func() {
		j.clickToPage(f.row("Patching of systems")+` > a`, http.StatusOK)
		if got := browserEval[string](j, "the back link", `document.querySelector('[data-testid="back-to-checklist"]')?.getAttribute("href") ?? ""`); got != filtered+"#r"+itoa(f.controls["Patching of systems"]) {
			t.Errorf("the control's page links back to %q, want the filtered checklist at the row", got)
		}
		if got := j.text("main h1"); !strings.Contains(got, "Patching of systems") {
			t.Errorf("the control's page at %q is headed %q", browserEval[string](j, "the address", `location.href`), got)
		}
		if got := j.text(j.testID("reason")); !strings.Contains(got, "IaaS") {
			t.Errorf("the control's page says why %q, want the chart's reason", got)
		}
		j.do("open the note and write in it", chromedp.Click(chromedp.CSS(j.testID("status-form")+` summary`)), chromedp.SendKeys(chromedp.CSS(`textarea[name="note"]`), "Monthly, second Tuesday."))
		j.clickToPage(j.testID("status-form")+` `+j.testID("save"), http.StatusOK)
		if got := browserEval[string](j, "the address", `location.pathname + location.search`); got != filtered {
			t.Errorf("after saving the control's page the browser is at %q, want back at %q", got, filtered)
		}
		if s := f.status("Patching of systems"); s.Note != "Monthly, second Tuesday." {
			t.Errorf("stored note = %q", s.Note)
		}
	})

	j.step("noscript-bulk", func() {
		rows := f.rows()
		var picked []string
		for _, r := range rows {
			if r != control && len(picked) < 2 {
				picked = append(picked, r)
			}
		}
		for _, title := range picked {
			j.do("tick "+title, chromedp.Click(chromedp.CSS(f.field(title, "s"))))
		}
		other := f.owners[1]
		j.do("choose the owner", chromedp.SetValue(chromedp.CSS(`#bulk-owner`), other.Name))
		j.clickToPage(j.testID("bulk-assign"), http.StatusOK)
		// Back at the filtered checklist, whose address also says what the
		// action did, so the page after the redirect says it.
		if got := browserEval[string](j, "the address", `location.pathname + location.search`); !strings.HasPrefix(got, filtered+"&") {
			t.Errorf("after the bulk action the browser is at %q, want back at %q", got, filtered)
		}
		if got := j.text(j.testID("bulk-notice")); !strings.Contains(got, "Assigned to "+other.Name) || !strings.Contains(got, "2 controls changed") {
			t.Errorf("after the redirect the notice reads %q, want 2 controls assigned to %s", got, other.Name)
		}
		for _, title := range picked {
			if s := f.status(title); s.OwnerID != other.ID {
				t.Errorf("%q owner = %q, want %q", title, s.OwnerName, other.Name)
			}
		}
	})
}

package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/views"
	"github.com/srmhq/srm/web"
)

const (
	browserChromium = "/usr/bin/chromium"
	browserBudget   = 90 * time.Second // the whole journey, browser start included
	browserWait     = 15 * time.Second // one wait or one page load
	browserShotDir  = "../artifacts/browser"
)

// browserProgress reads a progress line such as "3 of 20 complete 15%".
var browserProgress = regexp.MustCompile(`(\d+) of (\d+) complete`)

// TestBrowserJourney drives a real headless Chromium through what a person
// does with srm: look at the portfolio, register a workload, give a control
// an owner, complete it, move the workload to PaaS and back, read the
// matrix and the baseline comparison, and trip the form's validation. Each
// step asserts what the person would see and leaves a full-page screenshot
// in artifacts/browser.
func TestBrowserJourney(t *testing.T) {
	if _, err := os.Stat(browserChromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (%v); CI must install Debian's chromium", browserChromium, err)
		}
		t.Skipf("%s is missing (%v); apt-get install -y chromium to run the browser journey", browserChromium, err)
	}

	ctx, cancel := context.WithTimeout(storetest.Context(t), browserBudget)
	defer cancel()

	st := store.New(storetest.Pool(t))
	if added, err := fixture.Demo(ctx, st); err != nil || !added {
		t.Fatalf("fixture.Demo = %v, %v; want true, nil on a fresh database", added, err)
	}
	admin := newUser(t, st, "journey@example.com", srm.RoleAdmin)
	srv := httptest.NewServer(newServer(t, st, web.Config{}))
	defer srv.Close()

	dir := shotDir(t)

	bctx, cancelBrowser := startBrowser(t, ctx)

	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // start the browser with the journey's deadline only
		t.Fatalf("start %s: %v", browserChromium, err)
	}
	t.Logf("browser started in %v", time.Since(start).Round(time.Millisecond))

	// Collect what the pages write to the console: script errors are bugs a
	// person would hit, and warnings explain a failed wait.
	var (
		consoleMu sync.Mutex
		console   []chromedp.ConsoleMessage
	)
	messages := chromedp.Console(bctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, m)
			consoleMu.Unlock()
		}
	}()
	defer func() {
		cancelBrowser()
		<-consoleDone
		consoleMu.Lock()
		defer consoleMu.Unlock()
		seen := map[string]int{}
		var order []string
		for _, m := range console {
			if m.IsException() {
				t.Errorf("uncaught exception in the page: %s (%s:%d)", m, m.URL, m.Line+1)
			}
			line := fmt.Sprintf("%s (%s:%d)", m, strings.TrimPrefix(m.URL, srv.URL), m.Line+1)
			if seen[line] == 0 {
				order = append(order, line)
			}
			seen[line]++
		}
		for _, line := range order {
			t.Logf("browser console, %d×, %s", seen[line], line)
		}
		t.Logf("screenshots in %s", dir)
	}()

	j := &browserJourney{t: t, ctx: bctx, base: srv.URL, dir: dir}
	const (
		name    = "Customs declarations"
		desc    = "Electronic customs filings for every cross-border shipment."
		control = "Patching of systems"
		owner   = "Compute guild"
	)
	var cid int64 // the control's id, which names its row and fields
	cs, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Title == control {
			cid = c.ID
		}
	}
	card := "li:has(> #" + views.ControlAnchor(cid) + ")" // the control's row
	ownerField, completeBox := card+` > input[name="o`+itoa(cid)+`"]`, card+` > label > input[name="c`+itoa(cid)+`"]`
	var total int // N: the new workload's customer controls under IaaS

	j.step("sign-in", func() {
		j.open("/")
		if u := browserEval[string](j, "the address", `location.pathname + location.search`); u != "/signin?next=%2F" {
			t.Errorf("signed out, / landed on %q, want the sign-in page", u)
		}
		j.shot("sign-in-page")
		j.signIn(admin.Email, testPassword)
		if p := browserEval[string](j, "the path", `location.pathname`); p != "/" {
			t.Fatalf("after signing in the browser is at %q, want /", p)
		}
	})

	var secret string
	j.step("enrol-authenticator", func() {
		j.open("/account/mfa")
		secret = strings.ReplaceAll(j.text(j.testID("secret")), " ", "")
		if len(secret) < 16 {
			t.Fatalf("the enrolment page shows the key %q", secret)
		}
		if ok := browserEval[string](j, "the QR code", `String(document.querySelector('[data-testid="qr"]').naturalWidth > 0)`); ok != "true" {
			t.Error("the QR code image did not load")
		}
		code, err := totp.GenerateCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		j.do("type the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
		j.clickToPage(j.testID("confirm"), http.StatusOK)
		if n := browserEval[string](j, "the recovery codes", `String(document.querySelectorAll('[data-testid="recovery-codes"] li').length)`); n != "10" {
			t.Errorf("the enrolment shows %s recovery codes, want 10", n)
		}
	})

	j.step("sign-in-with-code", func() {
		j.clickToPage(j.testID("signout"), http.StatusOK)
		j.signIn(admin.Email, testPassword)
		if p := browserEval[string](j, "the path", `location.pathname`); p != "/signin/code" {
			t.Fatalf("after the password the browser is at %q, want /signin/code", p)
		}
		j.shot("code-page")
		// The enrolment spent the current time step: use the next one,
		// which srm accepts as clock drift.
		code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		j.do("type the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
		j.clickToPage(j.testID("verify"), http.StatusOK)
		if p := browserEval[string](j, "the path", `location.pathname`); p != "/" {
			t.Fatalf("after the code the browser is at %q, want /", p)
		}
	})

	j.step("portfolio", func() {
		j.open("/")
		demo := []string{
			"Depot servers", "Office suite", "Shipment tracker web app",
			"Truck telemetry ingestion", "Warehouse management system",
		}
		got := browserEval[[]string](j, "the workload list", `Array.from(document.querySelectorAll('[data-testid="workloads"] tbody tr[data-testid^="workload-"] th a')).map(a => a.textContent.trim())`)
		if !slices.Equal(got, demo) {
			t.Errorf("portfolio lists %q, want the five demo workloads %q", got, demo)
		}
		if p := j.text(j.testID("portfolio-progress-text")); !browserProgress.MatchString(p) {
			t.Errorf("portfolio progress reads %q, want “N of M complete”", p)
		}
		if c := j.text(`#workloads-heading .count`); c != "5" {
			t.Errorf("workload count reads %q, want 5", c)
		}
	})

	j.step("new-workload", func() {
		j.clickToPage(j.testID("new-workload"), http.StatusOK)
		j.do("fill the new workload form",
			chromedp.SendKeys(chromedp.CSS(`#name`), name),
			chromedp.SendKeys(chromedp.CSS(`#description`), desc),
			chromedp.Click(chromedp.CSS(`input[name="model"][value="iaas"]`)),
		)
		chart := browserEval[string](j, "the Azure chart option", `(Array.from(document.querySelectorAll('#baseline option')).find(o => o.textContent.trim().startsWith('Azure chart')) || {value: ''}).value`)
		if chart == "" {
			t.Fatalf("the baseline list has no “Azure chart” option")
		}
		j.do("choose the Azure chart baseline", chromedp.SetValue(chromedp.CSS(`#baseline`), chart))
		j.shot("new-workload-form")
		j.clickToPage(j.testID("save-workload"), http.StatusOK)

		if got := j.text(j.testID("workload-name")); got != name {
			t.Fatalf("after creating, the page shows workload %q, want %q", got, name)
		}
		if got := j.text(j.testID("workload-model")); got != "IaaS" {
			t.Errorf("model reads %q, want IaaS", got)
		}
		if got := j.text(`.page-head .meta a`); got != "Azure chart" {
			t.Errorf("baseline reads %q, want Azure chart", got)
		}
		done, n := j.progress(j.testID("workload-progress-text"))
		if done != 0 || n == 0 {
			t.Fatalf("a new workload's progress reads %d of %d, want 0 of N with N > 0", done, n)
		}
		total = n
		t.Logf("%s under IaaS has %d controls to do", name, total)
		if got := j.text(card + ` > b`); got != "Customer" {
			t.Errorf("%q is carried by %q under IaaS, want Customer", control, got)
		}
		j.waitFor("htmx to load", `typeof window.htmx === "object"`, `typeof window.htmx`)
	})

	j.step("owner-assigned", func() {
		j.markPage()
		j.do("type a new owner and leave the field, which saves the row",
			chromedp.SendKeys(chromedp.CSS(ownerField), owner+kb.Tab),
		)
		sel := ownerField
		// The datalist of known owners gains the new one only once the server saved it.
		j.waitFor("the owner field to show "+owner+" and the owner list to know it",
			fmt.Sprintf(`document.querySelector(%s)?.value === %s && [...document.querySelectorAll("#owners option")].some(o => o.value === %s)`,
				j.js(sel), j.js(owner), j.js(owner)),
			fmt.Sprintf(`document.querySelector(%s)?.value`, j.js(sel)))
		if !j.samePage() {
			t.Logf("the owner was saved by a full page load, not by htmx in place")
		}
		if got := j.text(card + ` .form-error`); got != "" {
			t.Errorf("saving the owner shows an error: %q", got)
		}
		if got := j.text(j.testID("workload-progress-text")); !strings.HasPrefix(got, fmt.Sprintf("0 of %d complete", total)) {
			t.Errorf("after assigning an owner, progress reads %q, want 0 of %d complete", got, total)
		}
	})

	j.step("control-completed", func() {
		j.markPage()
		j.do("tick Complete", chromedp.Click(chromedp.CSS(completeBox)))
		want := fmt.Sprintf("1 of %d complete", total)
		j.waitFor("workload progress to read "+want,
			fmt.Sprintf(`document.querySelector(%s)?.textContent.replace(/\s+/g, " ").trim().startsWith(%s)`, j.js(j.testID("workload-progress-text")), j.js(want)),
			fmt.Sprintf(`document.querySelector(%s)?.textContent.replace(/\s+/g, " ").trim()`, j.js(j.testID("workload-progress-text"))))
		if !j.samePage() {
			t.Errorf("ticking Complete reloaded the page; htmx should swap #workload-body in place")
		}
		if got := j.text(j.testID("layer-progress-compute-text")); !strings.HasPrefix(got, "1 of ") || !strings.Contains(got, " complete") {
			t.Errorf("compute layer progress reads %q, want “1 of … complete”", got)
		}
		if got := j.text(card + ` > small`); !strings.HasPrefix(got, "on ") {
			t.Errorf("completed stamp reads %q, want the day it was completed (by its owner, who is not named again)", got)
		}
		if !browserEval[bool](j, "the Complete checkbox", fmt.Sprintf(`!!document.querySelector(%s)?.checked`, j.js(completeBox))) {
			t.Errorf("the Complete checkbox of %q is not ticked after saving", control)
		}
		if !browserEval[bool](j, "the row's class", fmt.Sprintf(`!!document.querySelector(%s)?.classList.contains("done")`, j.js(card))) {
			t.Errorf("the row of %q is not shown as done", control)
		}
	})

	j.step("change-to-paas", func() {
		j.changeModel("paas", "PaaS")
		if got := j.text(j.testID("to-provider")); !strings.Contains(got, control) {
			t.Errorf("the preview's “Moves to Azure” reads %q, want it to list %q", got, control)
		}
		if got := j.text(j.testID("move-" + control)); !strings.Contains(got, owner) {
			t.Errorf("the preview's move of %q reads %q, want it to say the work by %s is kept", control, got, owner)
		}
		j.shot("paas-preview")
		j.clickToPage(j.testID("confirm-change"), http.StatusOK)

		if got := j.text(j.testID("workload-model")); got != "PaaS" {
			t.Errorf("after confirming, model reads %q, want PaaS", got)
		}
		if got := j.text(card + ` > b`); got != "Azure" {
			t.Errorf("%q is carried by %q under PaaS, want Azure (inherited)", control, got)
		}
		if got := j.text(card + ` ` + j.testID("inherited")); !strings.Contains(got, owner) {
			t.Errorf("the inherited line of %q reads %q, want it to mention the kept work of %s", control, got, owner)
		}
		done, n := j.progress(j.testID("workload-progress-text"))
		if done != 0 || n == total {
			t.Errorf("under PaaS progress reads %d of %d, want 0 done of a total other than %d", done, n, total)
		}
	})

	j.step("change-back-to-iaas", func() {
		j.changeModel("iaas", "IaaS")
		if got := j.text(j.testID("to-customer")); !strings.Contains(got, control) {
			t.Errorf("the preview's “Comes back to you” reads %q, want it to list %q", got, control)
		}
		j.shot("iaas-preview")
		j.clickToPage(j.testID("confirm-change"), http.StatusOK)

		if got := j.text(j.testID("workload-model")); got != "IaaS" {
			t.Errorf("after confirming, model reads %q, want IaaS", got)
		}
		if got := j.text(card + ` > b`); got != "Customer" {
			t.Errorf("%q is carried by %q under IaaS again, want Customer", control, got)
		}
		if !browserEval[bool](j, "the row's class", fmt.Sprintf(`!!document.querySelector(%s)?.classList.contains("done")`, j.js(card))) {
			t.Errorf("%q is not shown as done after coming back, want its work kept", control)
		}
		if !browserEval[bool](j, "the Complete checkbox", fmt.Sprintf(`!!document.querySelector(%s)?.checked`, j.js(completeBox))) {
			t.Errorf("the Complete checkbox of %q is not ticked after coming back", control)
		}
		if got := browserEval[string](j, "the owner field", fmt.Sprintf(`document.querySelector(%s)?.value ?? ""`, j.js(ownerField))); got != owner {
			t.Errorf("%q is owned by %q after coming back, want %s", control, got, owner)
		}
		if got := j.text(j.testID("workload-progress-text")); !strings.HasPrefix(got, fmt.Sprintf("1 of %d complete", total)) {
			t.Errorf("back under IaaS progress reads %q, want 1 of %d complete", got, total)
		}
	})

	j.step("matrix-and-compare", func() {
		j.open("/matrix")
		j.waitFor("the matrix table", `!!document.querySelector('[data-testid="matrix"]')`, `document.title`)
		cells := browserEval[[]string](j, "the matrix row", fmt.Sprintf(
			`Array.from(document.querySelectorAll(%s)).map(td => td.dataset.model + "=" + td.textContent.trim())`,
			j.js(j.testID("matrix-"+control)+` td.cell`)))
		want := []string{"onprem=Customer", "iaas=Customer", "paas=Azure", "saas=Azure"}
		if !slices.Equal(cells, want) {
			t.Errorf("matrix row %q reads %q, want %q", control, cells, want)
		}
		j.shot("matrix")

		j.clickToPage(j.testID("compare-link"), http.StatusOK)
		devices := j.testID("diff-devices")
		if got := j.text(devices + ` h2`); !strings.Contains(got, "devices") {
			t.Errorf("the compare page shows no devices difference (heading %q)", got)
		}
		if got := j.text(j.testID("diff-devices-saas")); got != "Shared" {
			t.Errorf("devices under SaaS in the new baseline reads %q, want Shared", got)
		}
		if !browserEval[bool](j, "the changed cell", fmt.Sprintf(`!!document.querySelector(%s)?.classList.contains("changed")`, j.js(j.testID("diff-devices-saas")))) {
			t.Errorf("the devices SaaS cell is not highlighted as changed")
		}
	})

	j.step("validation", func() {
		j.open("/workloads/new")
		const typed = "Kept after a failed submit."
		j.do("type only a description", chromedp.SendKeys(chromedp.CSS(`#description`), typed))
		j.clickToPage(j.testID("save-workload"), http.StatusUnprocessableEntity)
		got := browserEval[string](j, "the name error", `document.getElementById("name")?.closest(".field")?.querySelector('[data-testid="error-name"]')?.textContent.trim() ?? ""`)
		if got == "" {
			t.Errorf("no error message next to the empty name field")
		} else {
			t.Logf("name error: %q", got)
		}
		if v := browserEval[string](j, "the description", `document.getElementById("description")?.value ?? ""`); v != typed {
			t.Errorf("the description reads %q after the failed submit, want %q kept", v, typed)
		}
		if !browserEval[bool](j, "aria-invalid", `document.getElementById("name")?.getAttribute("aria-invalid") !== null`) {
			t.Errorf("the name field is not marked aria-invalid")
		}
		if got := j.text(j.testID("form-error")); got == "" {
			t.Errorf("no summary error above the form")
		}
	})

	t.Logf("journey took %v (browser included)", time.Since(start).Round(time.Millisecond))
}

// browserJourney is one tab of the browser and what the journey has done.
type browserJourney struct {
	t    *testing.T
	ctx  context.Context // the tab; its deadline is the journey's
	base string          // the server's URL
	dir  string          // screenshot folder
	n    int             // number of the current step
	name string          // name of the current step
}

// step runs one step of the journey and saves a full-page screenshot after
// it, also when it fails.
func (j *browserJourney) step(name string, f func()) {
	j.n++
	j.name = name
	start := time.Now()
	defer func() {
		j.shot("")
		j.t.Logf("step %02d %s: %v", j.n, name, time.Since(start).Round(time.Millisecond))
	}()
	f()
}

// shot saves a full-page PNG as NN-name.png, NN being the step's number
// and name the step's name unless given. It never stops the test: a missing
// screenshot must not hide the failure that came before it.
func (j *browserJourney) shot(name string) {
	j.t.Helper()
	if name == "" {
		name = j.name
	}
	name = fmt.Sprintf("%02d-%s", j.n, name)
	if j.t.Failed() {
		name += "-after-failure"
	}
	path := filepath.Join(j.dir, name+".png")
	ctx, cancel := context.WithTimeout(j.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		j.t.Logf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		j.t.Logf("screenshot %s: %v", path, err)
		return
	}
	j.t.Logf("screenshot %s", path)
}

// do runs actions in the tab, each wait bounded, and fails the test on an
// error.
func (j *browserJourney) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		j.t.Fatalf("step %02d %s: %s: %v", j.n, j.name, what, err)
	}
}

// open loads path and requires a 200.
func (j *browserJourney) open(path string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, browserWait)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(j.base+path))
	if err != nil {
		j.t.Fatalf("step %02d %s: open %s: %v", j.n, j.name, path, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		j.t.Fatalf("step %02d %s: open %s: status %v, want 200", j.n, j.name, path, browserStatus(resp))
	}
}

// signIn fills the sign-in form on the current page and submits it.
func (j *browserJourney) signIn(email, password string) {
	j.t.Helper()
	j.do("fill the sign-in form",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password))
	j.clickToPage(j.testID("signin"), http.StatusOK)
}

// clickToPage clicks sel, waits for the page that the click loads and
// requires its status (after redirects) to be want.
func (j *browserJourney) clickToPage(sel string, want int) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, browserWait)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		j.t.Fatalf("step %02d %s: click %s and wait for the page: %v", j.n, j.name, sel, err)
	}
	if resp == nil || int(resp.Status) != want {
		j.t.Fatalf("step %02d %s: click %s: page status %v, want %d", j.n, j.name, sel, browserStatus(resp), want)
	}
}

func browserStatus(resp *network.Response) string {
	if resp == nil {
		return "none"
	}
	return strconv.FormatInt(resp.Status, 10) + " " + resp.URL
}

// changeModel opens the edit form from the workload page, picks model and
// submits, landing on the preview of what moves.
func (j *browserJourney) changeModel(model, label string) {
	j.t.Helper()
	j.clickToPage(j.testID("edit-workload"), http.StatusOK)
	j.do("pick "+label, chromedp.Click(chromedp.CSS(`input[name="model"][value="`+model+`"]`)))
	j.clickToPage(j.testID("save-workload"), http.StatusOK)
	if got := j.text(j.testID("change-summary")); !strings.Contains(got, "to "+label) {
		j.t.Fatalf("step %02d %s: no preview of the change to %s (summary %q)", j.n, j.name, label, got)
	}
}

// waitFor polls the JavaScript condition until it holds. On a timeout it
// fails and reports what the expression got evaluates to. A navigation
// while polling (a form posted without htmx) restarts the poll.
func (j *browserJourney) waitFor(what, cond, got string) {
	j.t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		ctx, cancel := context.WithDeadline(j.ctx, deadline)
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond,
			chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		if err == nil {
			return
		}
		if errors.Is(err, chromedp.ErrPollingTimeout) || time.Now().After(deadline) || j.ctx.Err() != nil {
			now := browserEval[*string](j, "state after the wait", `JSON.stringify(`+got+`) ?? "undefined"`)
			state := "?"
			if now != nil {
				state = *now
			}
			j.t.Fatalf("step %02d %s: waited %v for %s: %v; it is %s", j.n, j.name, browserWait, what, err, state)
		}
		j.t.Logf("step %02d %s: wait for %s restarts after: %v", j.n, j.name, what, err)
	}
}

// markPage tags the current document, so samePage can tell an in-place
// swap from a page load.
func (j *browserJourney) markPage() {
	j.t.Helper()
	browserEval[bool](j, "mark the page", `(window.__srmJourney = true)`)
}

func (j *browserJourney) samePage() bool {
	j.t.Helper()
	return browserEval[bool](j, "check the page mark", `window.__srmJourney === true`)
}

// text is the text of the first element matching sel with white space
// collapsed, or "" when there is none.
func (j *browserJourney) text(sel string) string {
	j.t.Helper()
	return browserEval[string](j, "text of "+sel,
		fmt.Sprintf(`document.querySelector(%s)?.textContent.replace(/\s+/g, " ").trim() ?? ""`, j.js(sel)))
}

// progress reads "D of T complete" from the element sel.
func (j *browserJourney) progress(sel string) (done, total int) {
	j.t.Helper()
	s := j.text(sel)
	m := browserProgress.FindStringSubmatch(s)
	if m == nil {
		j.t.Fatalf("step %02d %s: %s reads %q, want “D of T complete”", j.n, j.name, sel, s)
	}
	done, _ = strconv.Atoi(m[1])
	total, _ = strconv.Atoi(m[2])
	return done, total
}

// testID is a CSS selector for data-testid="id".
func (j *browserJourney) testID(id string) string {
	return `[data-testid=` + j.js(id) + `]`
}

// js quotes s as a JavaScript (and CSS) string literal.
func (j *browserJourney) js(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		j.t.Fatal(err)
	}
	return string(b)
}

// browserEval evaluates expr in the page and decodes its value as T.
func browserEval[T any](j *browserJourney, what, expr string) T {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		j.t.Fatalf("step %02d %s: read %s: %v", j.n, j.name, what, err)
	}
	return v
}

// startBrowser starts a headless Chromium under ctx with the flags this
// machine needs (root, no network beyond loopback) and a fresh profile,
// and returns a context for it and the function that closes it early. The
// browser exits when the test ends at the latest, before its TempDir is
// removed.
func startBrowser(t *testing.T, ctx context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserChromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc) // runs after cancelBrowser: waits for the browser to exit
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	return bctx, cancelBrowser
}

// shotDir is the folder screenshots go to, made if need be.
func shotDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(browserShotDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}

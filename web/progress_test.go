package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

// checkPortfolioAgrees holds the portfolio's progress (a summary the
// database keeps) to what each workload page computes from the chart: per
// workload, in total and per layer.
func checkPortfolioAgrees(t *testing.T, h *harness, step string, ws ...srm.Workload) {
	t.Helper()
	portfolio := h.page("/")
	var sumDone, sumTotal int
	layerDone, layerTotal := map[srm.Layer]int{}, map[srm.Layer]int{}
	for _, w := range ws {
		doc := h.page(workloadPath(w.ID))
		done, total := progress(t, progressText(doc))
		sumDone, sumTotal = sumDone+done, sumTotal+total
		row := text(portfolio.Find(tid("progress-" + itoa(w.ID) + "-text")))
		if d, tot := progress(t, row); d != done || tot != total {
			t.Errorf("%s: portfolio row of %s = %d of %d; its page says %d of %d", step, w.Name, d, tot, done, total)
		}
		for _, l := range srm.Layers {
			d, tot := progress(t, text(doc.Find(tid("workload-layer-"+string(l))).Find(".progress-text")))
			layerDone[l], layerTotal[l] = layerDone[l]+d, layerTotal[l]+tot
		}
	}
	d, tot := progress(t, text(portfolio.Find(tid("portfolio-progress-text"))))
	if d != sumDone || tot != sumTotal {
		t.Errorf("%s: portfolio progress = %d of %d; the workload pages add up to %d of %d", step, d, tot, sumDone, sumTotal)
	}
	for _, l := range srm.Layers {
		d, tot := progress(t, text(portfolio.Find(tid("portfolio-layer-"+string(l))).Find(".progress-text")))
		if d != layerDone[l] || tot != layerTotal[l] {
			t.Errorf("%s: portfolio layer %s = %d of %d; the workload pages add up to %d of %d", step, l, d, tot, layerDone[l], layerTotal[l])
		}
	}
}

func TestPortfolioProgressFollowsEveryChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	chart := itoa(h.baselineID("azure-chart"))
	create := func(name, model string) srm.Workload {
		t.Helper()
		rec := h.post("/workloads", url.Values{"name": {name}, "model": {model}, "baseline": {chart}})
		wantStatus(t, "POST /workloads "+name, rec, http.StatusSeeOther)
		page, err := h.st.Workloads(storetest.Context(t), storeQueryAll())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if it.Name == name {
				return it.Workload
			}
		}
		t.Fatalf("workload %q not stored", name)
		return srm.Workload{}
	}
	a, b, c := create("Depot servers", "iaas"), create("Shipment tracker", "paas"), create("Office suite", "saas")
	all := []srm.Workload{a, b, c}
	checkPortfolioAgrees(t, h, "new workloads", all...)

	patching, disks := h.controlID("Patching of systems"), h.controlID("Data on virtual machine disks")
	h.post(statusPath(a.ID, patching), url.Values{"owner": {"Platform team"}, "complete": {"1"}})
	checkPortfolioAgrees(t, h, "one control complete", all...)

	h.post(statusPath(a.ID, disks), url.Values{"not_applicable": {"1"}, "na_reason": {"No disks."}})
	checkPortfolioAgrees(t, h, "one control not applicable", all...)

	h.post(statusPath(b.ID, patching)+"/override", url.Values{"party": {"customer"}, "reason": {"Own image."}})
	checkPortfolioAgrees(t, h, "override to customer", all...)
	h.post(statusPath(b.ID, patching), url.Values{"owner": {"platform TEAM"}, "complete": {"1"}})
	checkPortfolioAgrees(t, h, "overridden control complete", all...)

	form := url.Values{"name": {c.Name}, "model": {"onprem"}, "baseline": {chart}, "confirm": {"1"}, "version": {version(t, h.editForm(c.ID))}}
	wantRedirect(t, "SaaS → on-premises", h.post(workloadPath(c.ID), form), workloadPath(c.ID))
	checkPortfolioAgrees(t, h, "model change", all...)

	form = url.Values{"name": {a.Name}, "model": {"paas"}, "baseline": {itoa(h.baselineID("azure-2026"))}, "confirm": {"1"},
		"version": {version(t, h.editForm(a.ID))}}
	wantRedirect(t, "IaaS → PaaS on the 2026 table", h.post(workloadPath(a.ID), form), workloadPath(a.ID))
	checkPortfolioAgrees(t, h, "model and baseline change", all...)

	rec := h.post("/controls", url.Values{"title": {"Backups restored every quarter"}, "layer": {"data"}, "area": {"information-and-data"}})
	wantRedirect(t, "POST /controls", rec, "/controls")
	checkPortfolioAgrees(t, h, "custom control added", all...)

	custom := h.controlID("Backups restored every quarter")
	h.post(statusPath(b.ID, custom), url.Values{"owner": {"Platform team"}, "complete": {"1"}})
	checkPortfolioAgrees(t, h, "custom control complete", all...)

	rec = h.post("/controls/"+itoa(custom), url.Values{"title": {"Backups restored"}, "layer": {"compute"}, "area": {"operating-system"},
		"version": {version(t, h.controlForm(custom))}})
	wantRedirect(t, "move the custom control to the OS row", rec, "/controls")
	checkPortfolioAgrees(t, h, "custom control moved to another layer and area", all...)

	wantRedirect(t, "delete the custom control", h.post("/controls/"+itoa(custom)+"/delete", nil), "/controls")
	checkPortfolioAgrees(t, h, "custom control deleted", all...)

	wantRedirect(t, "remove the override", h.post(statusPath(b.ID, patching)+"/override/delete", nil), workloadPath(b.ID)+"#r"+itoa(patching))
	checkPortfolioAgrees(t, h, "override removed", all...)

	wantRedirect(t, "delete a workload", h.post(workloadPath(c.ID)+"/delete", nil), "/")
	checkPortfolioAgrees(t, h, "workload deleted", a, b)
}

// TestConcurrentStatusSavesOnOneWorkload saves every customer control of
// one workload at once, as a team ticking boxes together would. Each save
// must succeed and the portfolio must count every one.
//
// Known failure (migration 000003): inserting a status takes FOR KEY SHARE
// on the workload row (the foreign key), and the statuses_progress trigger
// then runs refresh_progress, which takes FOR UPDATE on that same row. Two
// saves on one workload each hold KEY SHARE and wait for the other's to get
// FOR UPDATE: PostgreSQL reports a deadlock (40P01) and the request is a
// 500. FOR NO KEY UPDATE in refresh_progress (both branches) still
// serialises refreshes of a workload but does not conflict with KEY SHARE.
func TestConcurrentStatusSavesOnOneWorkload(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")

	doc := h.page(workloadPath(w.ID))
	var cids []int64
	for _, c := range mustControls(t, h) {
		if card(doc, c.Title).Find(`input[name="o`+itoa(c.ID)+`"]`).Length() == 1 {
			cids = append(cids, c.ID)
		}
	}
	if len(cids) < 10 {
		t.Fatalf("only %d customer controls under IaaS", len(cids))
	}

	// The same server as main builds, but keeping what it logs, so a failure
	// says why.
	var logs syncBuffer
	srv := newLoggingServer(t, h.st, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError})))
	codes := make([]int, len(cids))
	bodies := make([]string, len(cids))
	var wg sync.WaitGroup
	for i, cid := range cids {
		wg.Go(func() {
			rec := (&harness{t: t, st: h.st, srv: srv, cookie: h.cookie, csrf: h.csrf}).post(statusPath(w.ID, cid), url.Values{"owner": {o.Name}, "complete": {"1"}})
			codes[i], bodies[i] = rec.Code, rec.Body.String()
		})
	}
	wg.Wait()
	failed := 0
	for i, code := range codes {
		if code != http.StatusSeeOther {
			failed++
			if failed <= 3 {
				t.Errorf("concurrent POST %s: status = %d, want 303: %s", statusPath(w.ID, cids[i]), code, text(parseString(t, bodies[i]).Find("h1")))
			}
		}
	}
	if failed > 0 {
		first := "(nothing)"
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "level=ERROR") {
				first = line
				break
			}
		}
		t.Errorf("%d of %d concurrent status saves on one workload failed; the server logged first:\n%s", failed, len(cids), first)
	}

	doc = h.page(workloadPath(w.ID))
	done, total := progress(t, progressText(doc))
	if done != len(cids)-failed || total != len(cids) {
		t.Errorf("workload page after concurrent saves = %d of %d, want %d of %d", done, total, len(cids)-failed, len(cids))
	}
	checkPortfolioAgrees(t, h, "after concurrent saves", w)
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func parseString(t *testing.T, html string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func mustControls(t *testing.T, h *harness) []srm.Control {
	t.Helper()
	cs, err := h.st.Controls(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

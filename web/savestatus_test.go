package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/views"
)

// storedFacts are the engine's facts about one control of a workload as
// the assignments table holds them, which the portfolio and owners' sums
// add up.
func storedFacts(t *testing.T, h *harness, wid, cid int64) (party string, counted, done bool) {
	t.Helper()
	err := h.pool.QueryRow(storetest.Context(t), `SELECT party, counted, done FROM assignments WHERE workload_id = $1 AND control_id = $2`,
		wid, cid).Scan(&party, &counted, &done)
	if err != nil {
		t.Fatalf("assignment of control %d, workload %d: %v", cid, wid, err)
	}
	return party, counted, done
}

// A status Azure carries is refused as it always was, 409 with the error
// page, by every form that posts to the control and from any version:
// nothing is saved and no owner it names is created. The status stored
// while an override made it the customer's stays as it was.
func TestSavingAControlAzureCarriesChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Shipment tracker", srm.PaaS)
	patching := h.controlID("Patching of systems")
	path := statusPath(w.ID, patching)
	o := h.owner("Platform team")

	// The workload carried it for a while, and recorded work on it.
	wantRedirect(t, "override to customer", h.post(path+"/override", url.Values{"party": {"customer"}, "reason": {"Own image."}}),
		workloadPath(w.ID)+"#"+views.ControlAnchor(patching))
	wantRedirect(t, "note while the customer's", h.post(path, url.Values{"owner": {o.Name}, "note": {"Our image."}}),
		workloadPath(w.ID)+"#"+views.ControlAnchor(patching))
	wantRedirect(t, "back to Azure", h.post(path+"/override/delete", nil), workloadPath(w.ID)+"#"+views.ControlAnchor(patching))
	before := h.status(w.ID, patching)
	if before.Version == 0 || before.Note != "Our image." {
		t.Fatalf("status before = %+v, want the note saved", before)
	}

	ver := itoa(before.Version)
	tests := []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"complete, no JavaScript", url.Values{"owner": {"Someone new"}, "complete": {"1"}, "version": {ver}}, nil},
		{"complete, htmx", url.Values{"owner": {"Someone new"}, "complete": {"1"}, "version": {ver}}, []string{"HX-Request", "true"}},
		{"checklist row", url.Values{"part": {"row"}, "owner": {"Someone new"}, "complete": {"1"}, "version": {ver}}, nil},
		{"from an old version", url.Values{"owner": {"Someone new"}, "note": {"x"}, "version": {itoa(before.Version - 1)}}, nil},
		{"rejected input as well", url.Values{"complete": {"1"}, "version": {ver}}, nil},
	}
	for _, tt := range tests {
		rec := h.post(path, tt.form, tt.headers...)
		wantStatus(t, "POST status of an Azure control ("+tt.name+")", rec, http.StatusConflict)
		doc := parse(t, rec)
		if !hasTitle(doc) || !strings.Contains(text(doc.Find(tid("error"))), "Someone got there first") {
			t.Errorf("%s: answer is not the conflict error page: %q", tt.name, snippet(rec.Body.String()))
		}
		if got := h.status(w.ID, patching); got != before {
			t.Errorf("%s: status changed to %+v, want %+v", tt.name, got, before)
		}
	}
	owners, err := h.st.Owners(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 {
		t.Errorf("owners = %+v, want only %s: a refused save creates none", owners, o.Name)
	}
	if party, counted, done := storedFacts(t, h, w.ID, patching); party != string(srm.Provider) || counted || done {
		t.Errorf("stored assignment = %s counted %v done %v, want provider, neither", party, counted, done)
	}
}

// A control of a framework the workload is not held to is no control of
// its checklist: 404, and nothing is saved.
func TestSavingAControlOutsideTheWorkloadsFrameworksIsNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	w := h.workload("Depot servers", srm.OnPrem) // held to srm's catalog only
	if _, err := h.dbOwner.ImportBuiltin(ctx, "nist-800-53-rev5-low", false); err != nil {
		t.Fatal(err)
	}
	var ac2 int64
	cat, err := h.st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat.Controls() {
		if c.Ref == "AC-2" {
			ac2 = c.ID
		}
	}
	if ac2 == 0 {
		t.Fatal("no AC-2 imported")
	}
	for _, form := range []url.Values{
		{"owner": {"Platform team"}, "complete": {"1"}},
		{"part": {"row"}, "owner": {"Platform team"}, "complete": {"1"}},
		{"complete": {"1"}}, // rejected input: still 404 first
	} {
		wantStatus(t, "POST status of a control outside the workload's frameworks", h.post(statusPath(w.ID, ac2), form), http.StatusNotFound)
	}
	if got := h.status(w.ID, ac2); got != (srm.Status{}) {
		t.Errorf("status saved for a control the workload is not held to: %+v", got)
	}
	if owners, _ := h.st.Owners(ctx); len(owners) != 0 {
		t.Errorf("owners = %+v, want none", owners)
	}
}

// A checklist row changes the owner and completion only: what it posts
// besides is ignored, and the note, evidence and not-applicable mark and
// reason stay as stored. Ticking Complete on a row marked not applicable
// records the tick, and the control still does not count: the progress and
// the stored facts stay as they were.
func TestChecklistRowSaveKeepsTheDetails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	patching, disks := h.controlID("Patching of systems"), h.controlID("Data on virtual machine disks")
	back := workloadPath(w.ID) + "?layer=compute"

	wantRedirect(t, "details first", h.post(statusPath(w.ID, patching), url.Values{
		"note": {"Second Tuesday."}, "evidence": {"https://wiki.example.com/patching"}}), workloadPath(w.ID)+"#"+views.ControlAnchor(patching))
	first := h.status(w.ID, patching)
	rec := h.post(statusPath(w.ID, patching), url.Values{"part": {"row"}, "owner": {o.Name}, "complete": {"1"},
		"note": {"overwritten?"}, "evidence": {"javascript:alert(1)"}, "not_applicable": {"1"},
		"version": {itoa(first.Version)}, "back": {"layer=compute"}})
	wantRedirect(t, "row save", rec, back+"#"+views.ControlAnchor(patching))
	got := h.status(w.ID, patching)
	if !got.Complete || got.OwnerID != o.ID || got.Note != "Second Tuesday." || got.Evidence != "https://wiki.example.com/patching" ||
		got.NotApplicable || got.NAReason != "" || got.Version != first.Version+1 {
		t.Errorf("after the row save: %+v, want complete by %s with the note and evidence kept", got, o.Name)
	}
	if _, counted, done := storedFacts(t, h, w.ID, patching); !counted || !done {
		t.Errorf("stored facts of the completed control: counted %v done %v, want both", counted, done)
	}

	wantRedirect(t, "not applicable", h.post(statusPath(w.ID, disks), url.Values{
		"not_applicable": {"1"}, "na_reason": {"No disks of ours."}, "note": {"Checked in March."}}), workloadPath(w.ID)+"#"+views.ControlAnchor(disks))
	na := h.status(w.ID, disks)
	doneBefore, totalBefore := progress(t, progressText(h.page(workloadPath(w.ID))))
	for _, headers := range [][]string{nil, {"HX-Request", "true"}} {
		rec := h.post(statusPath(w.ID, disks), url.Values{"part": {"row"}, "owner": {o.Name}, "complete": {"1"},
			"version": {itoa(na.Version)}}, headers...)
		if headers == nil {
			wantRedirect(t, "row ticks a control not applicable", rec, workloadPath(w.ID)+"#"+views.ControlAnchor(disks))
		} else {
			wantStatus(t, "row ticks it again with htmx (a repeat)", rec, http.StatusOK)
		}
		got = h.status(w.ID, disks)
		if !got.Complete || !got.NotApplicable || got.NAReason != "No disks of ours." || got.Note != "Checked in March." || got.Version != na.Version+1 {
			t.Errorf("after the row tick: %+v, want complete, still not applicable with its reason and note", got)
		}
		if _, counted, done := storedFacts(t, h, w.ID, disks); counted || done {
			t.Errorf("stored facts of a control not applicable: counted %v done %v, want neither", counted, done)
		}
		if d, tot := progress(t, progressText(h.page(workloadPath(w.ID)))); d != doneBefore || tot != totalBefore {
			t.Errorf("progress = %d of %d, want %d of %d as before", d, tot, doneBefore, totalBefore)
		}
	}
	if p, _, _ := h.st.PortfolioProgress(storetest.Context(t)); sumDone(p) != doneBefore {
		t.Errorf("portfolio done = %d, want %d: the control not applicable does not count", sumDone(p), doneBefore)
	}
}

func sumDone(p []srm.LayerProgress) int {
	n := 0
	for _, l := range p {
		n += l.Progress.Done
	}
	return n
}

package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

func TestSaveStatusAssignsOwnerAndRedirectsToTheControl(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	patching := h.controlID("Patching of systems")
	o := h.owner("Platform team")

	rec := h.post(statusPath(w.ID, patching), url.Values{
		"owner":    {o.Name},
		"note":     {"  Monthly window, second Tuesday.  "},
		"evidence": {"https://wiki.example.com/patching"},
	})
	wantRedirect(t, "POST status", rec, workloadPath(w.ID)+"#r"+itoa(patching))

	st := h.status(w.ID, patching)
	if st.OwnerID != o.ID || st.Complete || st.Note != "Monthly window, second Tuesday." || st.Evidence != "https://wiki.example.com/patching" {
		t.Errorf("saved status = %+v, want owner %d, not complete, the trimmed note and the evidence", st, o.ID)
	}
	if got := card(h.page(workloadPath(w.ID)), "Patching of systems").Find(`input[name="o`+itoa(patching)+`"]`).AttrOr("value", ""); got != o.Name {
		t.Errorf("owner shown in the checklist = %q, want %q", got, o.Name)
	}
	c := card(h.controlPage(w.ID, "Patching of systems"), "Patching of systems")
	if got := c.Find(`input[name="owner"]`).AttrOr("value", ""); got != o.Name {
		t.Errorf("owner shown on the control's page = %q, want %q", got, o.Name)
	}
	if got := c.Find(`textarea[name="note"]`).Text(); got != "Monthly window, second Tuesday." {
		t.Errorf("note on the page = %q", got)
	}
	if got := c.Find(`a[href="https://wiki.example.com/patching"]`).Length(); got != 1 {
		t.Errorf("evidence links on the page = %d, want 1", got)
	}
}

func TestSaveStatusCompletesAndStampsTheOwner(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	patching := h.controlID("Patching of systems")
	before, total := progress(t, progressText(h.page(workloadPath(w.ID))))
	if before != 0 || total == 0 {
		t.Fatalf("new workload progress = %d of %d, want 0 of some", before, total)
	}

	rec := h.post(statusPath(w.ID, patching), url.Values{"owner": {"Platform team"}, "owner_kind": {"team"}, "complete": {"1"}})
	wantRedirect(t, "POST complete with a new owner", rec, workloadPath(w.ID)+"#r"+itoa(patching))

	doc := h.page(workloadPath(w.ID))
	c := card(doc, "Patching of systems")
	if !c.HasClass("done") || c.Find(`input[name="c`+itoa(patching)+`"]:checked`).Length() != 1 {
		t.Error("completed control: its row is not shown as done, with Complete ticked")
	}
	// Completed by the owner the row shows: the stamp gives the day only.
	if got := text(c.Find("small")); !strings.HasPrefix(got, "on ") {
		t.Errorf("completed stamp = %q, want %q…", got, "on ")
	}
	if done, tot := progress(t, progressText(doc)); done != 1 || tot != total {
		t.Errorf("progress = %d of %d, want 1 of %d", done, tot, total)
	}
}

func TestSaveStatusInlineOwnerIsReusedIgnoringCase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	patching, endpoint := h.controlID("Patching of systems"), h.controlID("Endpoint protection")

	h.post(statusPath(w.ID, patching), url.Values{"owner": {"Platform team"}, "owner_kind": {"team"}})
	rec := h.post(statusPath(w.ID, endpoint), url.Values{"owner": {"  PLATFORM TEAM "}})
	wantRedirect(t, "POST with an existing owner typed in capitals", rec, workloadPath(w.ID)+"#r"+itoa(endpoint))

	owners, err := h.st.Owners(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || owners[0].Name != "Platform team" || owners[0].Kind != srm.Team {
		t.Fatalf("owners = %+v, want only the team Platform team", owners)
	}
	if a, b := h.status(w.ID, patching).OwnerID, h.status(w.ID, endpoint).OwnerID; a != owners[0].ID || b != owners[0].ID {
		t.Errorf("owners of the two controls = %d, %d; want both %d", a, b, owners[0].ID)
	}
}

func TestSaveStatusWithHtmxAnswersTheBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	patching := h.controlID("Patching of systems")
	_, total := progress(t, progressText(h.page(workloadPath(w.ID))))

	rec := h.post(statusPath(w.ID, patching), url.Values{"owner": {o.Name}, "complete": {"1"}}, "HX-Request", "true")
	wantStatus(t, "htmx POST status", rec, http.StatusOK)
	doc := parse(t, rec)
	if hasTitle(doc) {
		t.Error("htmx POST status: answered a whole page, want the workload body")
	}
	if doc.Find("#workload-body").Length() != 1 {
		t.Error("htmx POST status: no #workload-body")
	}
	want := "1 of " + itoa(int64(total)) + " complete"
	if got := progressText(doc); !strings.HasPrefix(got, want) {
		t.Errorf("progress in the fragment = %q, want %q…", got, want)
	}
}

func TestSaveStatusRejectsBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	patching := h.controlID("Patching of systems")

	tests := []struct {
		name  string
		form  url.Values
		field string
		htmx  bool
	}{
		{"complete without an owner", url.Values{"complete": {"1"}, "note": {"kept note"}}, "complete", false},
		{"complete without an owner, htmx", url.Values{"complete": {"1"}, "note": {"kept note"}}, "complete", true},
		{"javascript evidence", url.Values{"evidence": {"javascript:alert(1)"}, "note": {"kept note"}}, "evidence", false},
		{"evidence without a host", url.Values{"evidence": {"https://"}, "note": {"kept note"}}, "evidence", false},
		{"not applicable without a reason", url.Values{"not_applicable": {"1"}, "note": {"kept note"}}, "na_reason", false},
		{"owner name too long", url.Values{"owner": {strings.Repeat("o", 201)}, "note": {"kept note"}}, "owner_name", false},
		{"invalid UTF-8 note", url.Values{"note": {"bad \xff note"}}, "note", false},
		{"NUL in a new owner", url.Values{"owner": {"a\x00b"}, "note": {"kept note"}}, "owner_name", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.htmx {
				headers = []string{"HX-Request", "true"}
			}
			rec := h.post(statusPath(w.ID, patching), tt.form, headers...)
			wantStatus(t, "POST status ("+tt.name+")", rec, http.StatusUnprocessableEntity)
			doc := parse(t, rec)
			if hasTitle(doc) == tt.htmx {
				t.Errorf("whole page = %v, want %v", hasTitle(doc), !tt.htmx)
			}
			c := card(doc, "Patching of systems")
			if c.Find(tid("error-"+tt.field)).Length() != 1 {
				t.Errorf("no error-%s on the control; errors shown: %q", tt.field, text(doc.Find(".field-error")))
			}
			if tt.field != "note" {
				if got := c.Find(`textarea[name="note"]`).Text(); got != "kept note" {
					t.Errorf("note kept = %q, want %q", got, "kept note")
				}
			}
			if got := h.status(w.ID, patching); got != (srm.Status{}) {
				t.Errorf("status saved despite the rejection: %+v", got)
			}
		})
	}
	owners, err := h.st.Owners(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 0 {
		t.Errorf("owners after rejected posts = %+v, want none", owners)
	}
}

func TestSaveStatusEvidenceJavascriptIsNeverLinked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	rec := h.post(statusPath(w.ID, h.controlID("Patching of systems")), url.Values{"evidence": {"javascript:alert(1)"}})
	wantStatus(t, "POST javascript evidence", rec, http.StatusUnprocessableEntity)
	if n := parse(t, rec).Find(`a[href^="javascript"]`).Length(); n != 0 {
		t.Errorf("javascript: links on the rejected page = %d, want 0", n)
	}
}

func TestNotApplicableLeavesTheCount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	disks := h.controlID("Data on virtual machine disks")
	_, before := progress(t, progressText(h.page(workloadPath(w.ID))))

	rec := h.post(statusPath(w.ID, disks), url.Values{"not_applicable": {"1"}, "na_reason": {"No disks of ours."}})
	wantRedirect(t, "POST not applicable", rec, workloadPath(w.ID)+"#r"+itoa(disks))

	doc := h.page(workloadPath(w.ID))
	if _, after := progress(t, progressText(doc)); after != before-1 {
		t.Errorf("progress total = %d, want %d (one less)", after, before-1)
	}
	if got := text(card(doc, "Data on virtual machine disks").Find(tid("na-flag"))); got != "Not applicable" {
		t.Errorf("the checklist row reads %q, want Not applicable", got)
	}
	c := card(h.controlPage(w.ID, "Data on virtual machine disks"), "Data on virtual machine disks")
	if !strings.Contains(text(c.Find(".badges")), "Not applicable") {
		t.Errorf("badges = %q, want Not applicable", text(c.Find(".badges")))
	}
	if got := c.Find(`input[name="na_reason"]`).AttrOr("value", ""); got != "No disks of ours." {
		t.Errorf("na_reason on the page = %q", got)
	}
}

func TestSaveStatusOfAnAzureControlConflicts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Shipment tracker", srm.PaaS)
	patching := h.controlID("Patching of systems")
	o := h.owner("Platform team")

	rec := h.post(statusPath(w.ID, patching), url.Values{"owner": {o.Name}, "complete": {"1"}})
	wantStatus(t, "POST status of an Azure control", rec, http.StatusConflict)
	if !hasTitle(parse(t, rec)) {
		t.Error("409: not a whole page")
	}
	if got := h.status(w.ID, patching); got != (srm.Status{}) {
		t.Errorf("status saved for an Azure control: %+v", got)
	}

	wantStatus(t, "POST status of an unknown control", h.post(statusPath(w.ID, 99999), url.Values{}), http.StatusNotFound)
	wantStatus(t, "POST status of an unknown workload", h.post(statusPath(99999, patching), url.Values{}), http.StatusNotFound)
	wantStatus(t, "POST status with a malformed control id", h.post(workloadPath(w.ID)+"/controls/abc", url.Values{}), http.StatusBadRequest)
}

func TestOverrideDepartsFromTheBaselineAndBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Shipment tracker", srm.PaaS)
	patching := h.controlID("Patching of systems")
	path := statusPath(w.ID, patching) + "/override"

	doc := h.page(path)
	if doc.Find(tid("override-form")).Length() != 1 {
		t.Fatal("GET override: no override-form")
	}
	if got := doc.Find(`input[name="party"][checked]`).AttrOr("value", ""); got != "provider" {
		t.Errorf("override form starts at %q, want provider (the baseline)", got)
	}
	if doc.Find(tid("remove-override")).Length() != 0 {
		t.Error("override form offers to remove an override there is none of")
	}

	rec := h.post(path, url.Values{"party": {"customer"}, "reason": {"   "}})
	wantStatus(t, "POST override without a reason", rec, http.StatusUnprocessableEntity)
	doc = parse(t, rec)
	if doc.Find(tid("error-reason")).Length() != 1 {
		t.Error("override without a reason: no error-reason")
	}
	if got := doc.Find(`input[name="party"][checked]`).AttrOr("value", ""); got != "customer" {
		t.Errorf("rejected override: party kept = %q, want customer", got)
	}

	rec = h.post(path, url.Values{"party": {"azure"}, "reason": {"Because."}})
	wantStatus(t, "POST override with an unknown party", rec, http.StatusUnprocessableEntity)
	if parse(t, rec).Find(tid("error-party")).Length() != 1 {
		t.Error("override with an unknown party: no error-party")
	}
	if os, _ := h.st.Overrides(storetest.Context(t), w.ID); len(os) != 0 {
		t.Fatalf("overrides after rejected posts = %+v, want none", os)
	}

	reason := "We run our own VM image inside the platform."
	wantRedirect(t, "POST override", h.post(path, url.Values{"party": {"customer"}, "reason": {reason}}),
		workloadPath(w.ID)+"#r"+itoa(patching))
	doc = h.page(workloadPath(w.ID))
	c := card(doc, "Patching of systems")
	if c.Find(tid("overridden")).Length() != 1 {
		t.Error("overridden control: no overridden flag")
	}
	if got := party(doc, "Patching of systems"); got != "Customer" {
		t.Errorf("overridden party = %q, want Customer", got)
	}
	if c.Find(`input[name="o`+itoa(patching)+`"]`).Length() != 1 {
		t.Error("overridden to Customer: no owner field in its checklist row")
	}
	details := card(h.controlPage(w.ID, "Patching of systems"), "Patching of systems")
	if got := text(details.Find(tid("reason"))); !strings.Contains(got, reason) || !strings.Contains(got, "Azure") {
		t.Errorf("reason = %q, want the override's reason and what the chart says", got)
	}
	if details.Find(tid("status-form")).Length() != 1 {
		t.Error("overridden to Customer: no status form")
	}
	if doc.Find(tid("overridden")).Length() != 1 {
		t.Errorf("overridden flags on the page = %d, want 1", doc.Find(tid("overridden")).Length())
	}

	doc = h.page(path)
	if got := doc.Find(`textarea[name="reason"]`).Text(); got != reason {
		t.Errorf("override form reason = %q, want the saved one", got)
	}
	if doc.Find(tid("remove-override")).Length() != 1 {
		t.Fatal("override form: no remove-override")
	}
	wantRedirect(t, "POST override/delete", h.post(path+"/delete", nil), workloadPath(w.ID)+"#r"+itoa(patching))
	doc = h.page(workloadPath(w.ID))
	if card(doc, "Patching of systems").Find(tid("overridden")).Length() != 0 {
		t.Error("removed override: still flagged overridden")
	}
	if got := party(doc, "Patching of systems"); got != "Azure" {
		t.Errorf("party after removing the override = %q, want Azure", got)
	}

	wantStatus(t, "GET override of an unknown control", h.get(statusPath(w.ID, 99999)+"/override"), http.StatusNotFound)
}

func TestCustomControlAppearsOnEveryWorkload(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	iaas := h.workload("Depot servers", srm.IaaS)
	saas := h.workload("Office suite", srm.SaaS)
	title := "Backups restored every quarter"

	if h.page("/controls/new").Find(tid("control-form")).Length() != 1 {
		t.Fatal("GET /controls/new: no control-form")
	}
	rec := h.post("/controls", url.Values{
		"title": {title}, "layer": {"data"}, "area": {"information-and-data"},
		"description": {"A restore is tried, not assumed."}, "customer_part": {"Restore one backup a quarter."},
	})
	wantRedirect(t, "POST /controls", rec, "/controls")

	doc := h.page("/controls")
	row := doc.Find(tid("catalog-data")).Find(tid("catalog-control-" + title))
	if row.Length() != 1 {
		t.Fatal("catalog: the custom control is not listed under data")
	}
	if !strings.Contains(text(row), "custom") || row.Find(`a[href$="/edit"]`).Length() != 1 {
		t.Errorf("catalog row = %q, want a custom flag and an edit link", text(row))
	}

	for _, w := range []srm.Workload{iaas, saas} {
		doc := h.page(workloadPath(w.ID))
		c := rowIn(doc.Find(tid("layer-data")), title)
		if c.Length() != 1 {
			t.Errorf("workload %s: custom control not in layer-data", w.Name)
			continue
		}
		if got := party(doc, title); got != "Customer" {
			t.Errorf("workload %s: custom control party = %q, want Customer", w.Name, got)
		}
	}

	// Edit and delete the custom control.
	id := h.controlID(title)
	editPath := "/controls/" + itoa(id) + "/edit"
	editForm := h.page(editPath).Find(tid("control-form"))
	if got := editForm.Find(`input[name="title"]`).AttrOr("value", ""); got != title {
		t.Errorf("edit form title = %q, want %q", got, title)
	}
	wantRedirect(t, "POST edit control", h.post("/controls/"+itoa(id), url.Values{
		"title": {title + " and yearly"}, "layer": {"data"}, "area": {"information-and-data"},
		"version": {version(t, editForm)},
	}), "/controls")
	if c, err := storedControl(h.st, storetest.Context(t), id); err != nil || c.Title != title+" and yearly" {
		t.Errorf("Control(%d) = %+v, %v; want the new title", id, c, err)
	}
	wantRedirect(t, "POST delete control", h.post("/controls/"+itoa(id)+"/delete", nil), "/controls")
	if card(h.page(workloadPath(iaas.ID)), title+" and yearly").Length() != 0 {
		t.Error("deleted control still on the workload page")
	}
}

func TestCreateControlRejectsBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.post("/controls", url.Values{"title": {"Backups restored every quarter"}, "layer": {"data"}, "area": {"information-and-data"}})
	wantRedirect(t, "POST /controls", rec, "/controls")

	tests := []struct {
		name, title, layer, area, field string
	}{
		{"duplicate title in the layer, ignoring case", "BACKUPS restored every quarter", "data", "information-and-data", "title"},
		{"duplicate of a built-in control", "Patching of systems", "compute", "operating-system", "title"},
		{"blank title", "  ", "data", "information-and-data", "title"},
		{"unknown layer", "Kernel lockdown", "kernel", "operating-system", "layer"},
		{"no layer", "Kernel lockdown", "", "operating-system", "layer"},
		{"unknown area", "Kernel lockdown", "compute", "kernels", "area"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.post("/controls", url.Values{"title": {tt.title}, "layer": {tt.layer}, "area": {tt.area}, "description": {"kept"}})
			wantStatus(t, "POST /controls ("+tt.name+")", rec, http.StatusUnprocessableEntity)
			doc := parse(t, rec)
			if doc.Find(tid("error-"+tt.field)).Length() != 1 {
				t.Errorf("no error-%s; errors shown: %q", tt.field, text(doc.Find(".field-error")))
			}
			if got := doc.Find(`textarea[name="description"]`).Text(); got != "kept" {
				t.Errorf("description kept = %q, want %q", got, "kept")
			}
		})
	}
	// The store still works after the unique violations.
	cs, err := h.st.Controls(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 26 {
		t.Errorf("catalog after rejected creates = %d controls, want 26", len(cs))
	}
}

func TestBuiltinControlsAreNotEditable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := itoa(h.controlID("Patching of systems"))
	form := url.Values{"title": {"Patching, sometimes"}, "layer": {"compute"}, "area": {"operating-system"}}

	wantStatus(t, "GET built-in edit", h.get("/controls/"+id+"/edit"), http.StatusNotFound)
	wantStatus(t, "POST built-in edit", h.post("/controls/"+id, form), http.StatusNotFound)
	wantStatus(t, "POST built-in delete", h.post("/controls/"+id+"/delete", nil), http.StatusNotFound)
	wantStatus(t, "GET unknown control edit", h.get("/controls/99999/edit"), http.StatusNotFound)
	if c, err := storedControl(h.st, storetest.Context(t), h.controlID("Patching of systems")); err != nil || c.Title != "Patching of systems" {
		t.Errorf("built-in control after the attempts = %+v, %v", c, err)
	}
}

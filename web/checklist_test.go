package web_test

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// rowTitles are the titles of the checklist rows on a workload page, in
// order.
func rowTitles(doc *goquery.Document) []string {
	var out []string
	doc.Find(`.rows > li`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, rowTitle(s))
	})
	return out
}

// accessibleName is the name of el by its aria-labelledby, aria-label or
// label, as assistive technology computes it for these simple cases.
func accessibleName(doc *goquery.Document, el *goquery.Selection) string {
	if ids, ok := el.Attr("aria-labelledby"); ok {
		var parts []string
		for _, id := range strings.Fields(ids) {
			parts = append(parts, text(doc.Find("#"+id)))
		}
		return strings.Join(parts, " ")
	}
	if l, ok := el.Attr("aria-label"); ok {
		return l
	}
	return text(doc.Find(`label[for="` + el.AttrOr("id", "") + `"]`))
}

// bulkValues is what a browser submits with the checklist's form of doc
// (its bulk actions, and the rows' fields, ticked boxes only) with changes
// applied.
func bulkValues(doc *goquery.Document, changes url.Values) url.Values {
	vals := formValues(doc.Find("form#ck"))
	for k, v := range changes {
		vals[k] = v
	}
	return vals
}

func TestChecklistFiltersCombineAndLiveInTheAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	platform := h.owner("Platform team")
	ops := h.owner("Ops team")
	if err := h.dbOwner.LinkUserOwner(storetest.Context(t), h.user.ID, ops.ID); err != nil {
		t.Fatal(err)
	}
	patching, endpoint, sso := h.controlID("Patching of systems"), h.controlID("Endpoint protection"), h.controlID("Single sign-on and multi-factor authentication")
	wantRedirect(t, "complete patching", h.post(statusPath(w.ID, patching), url.Values{"owner": {platform.Name}, "complete": {"1"}}),
		workloadPath(w.ID)+"#r"+itoa(patching))
	wantRedirect(t, "own endpoint protection", h.post(statusPath(w.ID, endpoint), url.Values{"owner": {platform.Name}}),
		workloadPath(w.ID)+"#r"+itoa(endpoint))
	wantRedirect(t, "own sso", h.post(statusPath(w.ID, sso), url.Values{"owner": {ops.Name}}),
		workloadPath(w.ID)+"#r"+itoa(sso))

	all := rowTitles(h.page(workloadPath(w.ID)))
	if len(all) != len(mustControls(t, h)) {
		t.Fatalf("unfiltered checklist has %d rows, want every control (%d)", len(all), len(mustControls(t, h)))
	}
	tests := []struct {
		name  string
		query string
		want  []string // nil: check with check instead
		check func(t *testing.T, got []string)
	}{
		{"complete", "state=complete", []string{"Patching of systems"}, nil},
		{"owner and open", "owner=" + itoa(platform.ID) + "&state=open", []string{"Endpoint protection"}, nil},
		{"owner and layer", "owner=" + itoa(platform.ID) + "&layer=compute", []string{"Endpoint protection", "Patching of systems"}, nil},
		{"mine", "owner=mine", []string{"Single sign-on and multi-factor authentication"}, nil},
		{"text in the title, any case", "q=PATCH", []string{"Patching of systems"}, nil},
		{"the control's number", "q=%23" + itoa(sso), []string{"Single sign-on and multi-factor authentication"}, nil},
		{"nothing matches", "q=no-such-control&layer=data", []string{}, nil},
		{"unassigned and layer", "owner=none&layer=compute", nil, func(t *testing.T, got []string) {
			if len(got) == 0 || slices.Contains(got, "Patching of systems") || slices.Contains(got, "Endpoint protection") {
				t.Errorf("unassigned compute controls = %q, want some, without the two Platform team owns", got)
			}
		}},
		{"Azure's", "party=provider", nil, func(t *testing.T, got []string) {
			if len(got) == 0 || slices.Contains(got, "Patching of systems") {
				t.Errorf("controls Azure carries under IaaS = %q, want some, without Patching of systems", got)
			}
		}},
		{"unknown values are ignored", "layer=nowhere&state=sideways&owner=x", all, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := h.page(workloadPath(w.ID) + "?" + tt.query)
			got := rowTitles(doc)
			if tt.check != nil {
				tt.check(t, got)
			} else if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("?%s shows %q, want %q", tt.query, got, tt.want)
			}
			if got := text(doc.Find(tid("shown-count"))); got != itoa(int64(len(got))) && got != itoa(int64(len(rowTitles(doc)))) {
				t.Errorf("?%s: count reads %q, want %d", tt.query, got, len(rowTitles(doc)))
			}
			// The filter form shows the filter, so the next change keeps it.
			form := doc.Find(tid("filter-form"))
			if form.AttrOr("method", "") != "get" {
				t.Errorf("the filter form's method is %q, want get (the filter lives in the address)", form.AttrOr("method", ""))
			}
			q, _ := url.ParseQuery(tt.query)
			if l := q.Get("layer"); l == "compute" {
				if got := form.Find(`select[name="layer"] option[selected]`).AttrOr("value", ""); got != l {
					t.Errorf("?%s: the layer menu shows %q, want %q", tt.query, got, l)
				}
			}
		})
	}

	// With htmx the filter swaps the body only.
	rec := h.get(workloadPath(w.ID)+"?state=complete", "HX-Request", "true")
	wantStatus(t, "GET filtered with htmx", rec, http.StatusOK)
	doc := parse(t, rec)
	if hasTitle(doc) || doc.Find("#workload-body").Length() != 1 || !slices.Equal(rowTitles(doc), []string{"Patching of systems"}) {
		t.Errorf("htmx filter: whole page = %v, rows %q; want the body with Patching of systems only", hasTitle(doc), rowTitles(doc))
	}
}

func TestChecklistRowSavesWithoutJavaScriptAndReturnsToTheFilteredList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	const title = "Patching of systems"
	patching := h.controlID(title)
	wantRedirect(t, "note first", h.post(statusPath(w.ID, patching), url.Values{"note": {"Second Tuesday."}}),
		workloadPath(w.ID)+"#r"+itoa(patching))

	doc := h.page(workloadPath(w.ID) + "?layer=compute&state=open")
	row := card(doc, title)
	if row.Length() != 1 {
		t.Fatalf("no row for %q in the filtered checklist", title)
	}
	// The page has one form for every row, not a form per row.
	if n := doc.Find("form").Length(); n > 3 {
		t.Errorf("the checklist page has %d forms, want the filter, the checklist's one form and sign-out", n)
	}
	if n := row.Find("form").Length(); n != 0 {
		t.Errorf("the row has %d forms of its own, want none", n)
	}
	if row.Closest("form#ck").Length() != 1 {
		t.Error("the row's fields are not in the checklist's form")
	}
	// Each field is named by its control, as a screen reader reads it.
	n := itoa(patching)
	for sel, want := range map[string]string{
		`input[type="checkbox"][name="c` + n + `"]`: "Complete #" + n + " " + title,
		`input[name="o` + n + `"]`:                  "Owner of #" + n + " " + title,
		`input[name="s` + n + `"]`:                  "Select #" + n + " " + title,
	} {
		if got := accessibleName(doc, row.Find(sel)); got != want {
			t.Errorf("%s is named %q, want %q", sel, got, want)
		}
	}
	rec := h.saveRow(doc, title, o.Name, true)
	wantRedirect(t, "row save without JavaScript", rec, workloadPath(w.ID)+"?layer=compute&state=open#r"+n)
	got := h.status(w.ID, patching)
	if !got.Complete || got.OwnerID != o.ID || got.Note != "Second Tuesday." {
		t.Errorf("status after the row save = %+v, want complete by %s with the note kept", got, o.Name)
	}

	// A row save from a stale page: the row says so and keeps the input.
	rec = h.saveRow(doc, title, "Ops team", false)
	wantStatus(t, "stale row save", rec, http.StatusConflict)
	doc = parse(t, rec)
	row = card(doc, title)
	if row.Find(tid("conflict")).Length() != 1 || !strings.Contains(text(row.Find(tid("conflict"))), o.Name) {
		t.Errorf("stale row save: conflict box %q, want one in the row naming %s", text(row.Find(tid("conflict"))), o.Name)
	}
	if got := row.Find(`input[name="o`+n+`"]`).AttrOr("value", ""); got != "Ops team" {
		t.Errorf("stale row save: owner field = %q, want mine kept", got)
	}
}

func TestBulkActionMeetingAVersionConflictSavesTheRestAndNamesWhatItLeft(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	doc := h.page(workloadPath(w.ID) + "?layer=compute")
	rows := rowTitles(doc)
	if len(rows) < 3 {
		t.Fatalf("compute rows = %q, want at least 3", rows)
	}
	// Someone else saves the first compute control after the page was read.
	first := h.controlID(rows[0])
	wantRedirect(t, "their save", h.as(srm.RoleEditor).post(statusPath(w.ID, first), url.Values{"note": {"Theirs."}}),
		workloadPath(w.ID)+"#r"+itoa(first))
	auditBefore := workloadAuditCount(t, h, w.ID)

	// Assign every shown row to the Platform team.
	vals := bulkValues(doc, url.Values{"scope": {"shown"}, "action": {"owner"}, "owner_id": {itoa(o.ID)}})
	// Without JavaScript: post, redirect, get. The page after the redirect
	// says what was done and what was not.
	rec := h.post(workloadPath(w.ID)+"/bulk", vals)
	wantStatus(t, "bulk assign with a conflict", rec, http.StatusSeeOther)
	to := rec.Header().Get("Location")
	if !strings.HasPrefix(to, workloadPath(w.ID)+"?layer=compute&") {
		t.Errorf("the bulk action redirects to %q, want the checklist filtered as it was", to)
	}
	res := h.page(to)
	notice := res.Find(tid("bulk-notice"))
	if got := text(notice); !strings.Contains(got, "Assigned to "+o.Name) {
		t.Errorf("the notice reads %q, want it to say what was assigned to whom", got)
	}
	if got := text(notice.Find(tid("bulk-stale"))); !strings.Contains(got, rows[0]) {
		t.Errorf("the notice's not-changed list reads %q, want it to name %q", got, rows[0])
	}
	if got := text(notice); !strings.Contains(got, itoa(int64(len(rows)-1))+" controls changed") {
		t.Errorf("the notice reads %q, want %d controls changed", got, len(rows)-1)
	}
	for i, title := range rows {
		got := h.status(w.ID, h.controlID(title))
		if i == 0 {
			if got.OwnerID != 0 || got.Note != "Theirs." {
				t.Errorf("%q = %+v, want their save untouched", title, got)
			}
			continue
		}
		if got.OwnerID != o.ID {
			t.Errorf("%q owner = %d, want %d (the bulk action kept the rest)", title, got.OwnerID, o.ID)
		}
	}
	if got := workloadAuditCount(t, h, w.ID) - auditBefore; got != len(rows)-1 {
		t.Errorf("audit rows written by the bulk action = %d, want %d: one per control changed", got, len(rows)-1)
	}

	// Mark the ticked ones complete; one has no owner and is left alone.
	doc = h.page(workloadPath(w.ID) + "?layer=compute")
	vals = bulkValues(doc, url.Values{"action": {"complete"}, "select": {itoa(first), itoa(h.controlID(rows[1]))}})
	rec = h.post(workloadPath(w.ID)+"/bulk", vals, "HX-Request", "true")
	wantStatus(t, "bulk complete with htmx", rec, http.StatusOK)
	res = parse(t, rec)
	if hasTitle(res) || res.Find("#workload-body").Length() != 1 {
		t.Error("bulk action with htmx: want the body to swap in")
	}
	if got := text(res.Find(tid("bulk-skipped"))); !strings.Contains(got, rows[0]) || !strings.Contains(got, "no owner") {
		t.Errorf("skipped list reads %q, want %q named as having no owner", got, rows[0])
	}
	if !h.status(w.ID, h.controlID(rows[1])).Complete || h.status(w.ID, first).Complete {
		t.Errorf("after bulk complete: %q complete = %v, %q complete = %v; want true, false", rows[1],
			h.status(w.ID, h.controlID(rows[1])).Complete, rows[0], h.status(w.ID, first).Complete)
	}

	// Not applicable needs its reason; without JavaScript a clean bulk
	// action returns to the filtered checklist.
	doc = h.page(workloadPath(w.ID) + "?layer=compute&owner=none")
	rec = h.post(workloadPath(w.ID)+"/bulk", bulkValues(doc, url.Values{"scope": {"shown"}, "action": {"na"}, "bulk_reason": {" "}}))
	wantStatus(t, "bulk not applicable without a reason", rec, http.StatusUnprocessableEntity)
	if h.status(w.ID, first).NotApplicable {
		t.Error("not applicable was saved without a reason")
	}
	rec = h.post(workloadPath(w.ID)+"/bulk", bulkValues(doc, url.Values{"scope": {"shown"}, "action": {"na"}, "bulk_reason": {"No VMs here."}}))
	wantStatus(t, "bulk not applicable", rec, http.StatusSeeOther)
	if to := rec.Header().Get("Location"); !strings.HasPrefix(to, workloadPath(w.ID)+"?layer=compute&owner=none&") {
		t.Errorf("bulk not applicable redirects to %q, want the checklist filtered as it was", to)
	} else if got := text(h.page(to).Find(tid("bulk-notice"))); !strings.Contains(got, "Marked not applicable") {
		t.Errorf("after the redirect the notice reads %q, want it to say what was marked", got)
	}
	if got := h.status(w.ID, first); !got.NotApplicable || got.NAReason != "No VMs here." || got.Note != "Theirs." {
		t.Errorf("%q after bulk not applicable = %+v, want not applicable with the reason, their note kept", rows[0], got)
	}
}

// TestBulkOutcomeInTheAddressIsChecked: the page after a bulk action
// without JavaScript says what was done from its address; an address made
// up by hand can only make it say less, never name controls or owners of
// another workload, nor claim more changes than the workload has.
func TestBulkOutcomeInTheAddressIsChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	patching := h.controlID("Patching of systems")
	for _, tt := range []struct {
		query string
		want  string // in the notice; "" for no notice
		not   string
	}{
		{"done=owner&to=" + itoa(o.ID) + "&n=2&stale=" + itoa(patching), "Assigned to Platform team: 2 controls changed", ""},
		{"done=owner&to=99999&n=1", "Owner assigned: 1 control changed", "99999"},
		{"done=complete&n=1&skip=" + itoa(patching) + "o", "no owner yet", ""},
		{"done=complete&n=1&stale=99999,abc&skip=99998o", "Marked complete: 1 control changed", "99999"},
		{"done=drop-tables&n=1", "", ""},
		{"done=complete&n=100000", "", ""},
		{"done=complete&n=-1", "", ""},
	} {
		doc := h.page(workloadPath(w.ID) + "?" + tt.query)
		got := text(doc.Find(tid("bulk-notice")))
		switch {
		case tt.want == "" && got != "":
			t.Errorf("?%s: the page says %q, want no notice", tt.query, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("?%s: the notice reads %q, want %q", tt.query, got, tt.want)
		case tt.not != "" && strings.Contains(got, tt.not):
			t.Errorf("?%s: the notice reads %q, which names %q", tt.query, got, tt.not)
		}
	}
}

// workloadAuditCount is how many audit rows concern workload wid.
func workloadAuditCount(t *testing.T, h *harness, wid int64) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM audit WHERE workload_id = $1`, wid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChecklistOfModeratePlusSRMIsUnder150KB: the workload page with NIST
// SP 800-53 Moderate and srm's own catalog (312 controls), no filter, as an
// editor sees it (every row's owner and completion fields), is under the
// issue's budget of 150 KB of HTML: on a fresh workload, and filled as a
// workload in use is (every counted control with an owner, about half
// complete with who and when, some not applicable, some notes).
func TestChecklistOfModeratePlusSRMIsUnder150KB(t *testing.T) {
	t.Parallel()
	for _, filled := range []bool{false, true} {
		name := "empty"
		if filled {
			name = "filled"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checklistUnder150KB(t, filled)
		})
	}
}

func checklistUnder150KB(t *testing.T, filled bool) {
	h := newHarness(t)
	ctx := storetest.Context(t)
	w := h.workload("Depot servers", srm.PaaS)
	mod, err := h.st.ImportBuiltin(ctx, "nist-800-53-rev5-moderate", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.AttachFramework(ctx, w.ID, mod.Framework.ID); err != nil {
		t.Fatal(err)
	}
	owners := []srm.Owner{h.owner("Platform team"), h.owner("Ops team")}
	if filled {
		for _, n := range []string{"Alexandra Montgomery-Whitfield", "Bartholomew Okonkwo-Delacroix", "Chen Xiaoling",
			"Identity and access management team", "Security operations centre", "Maria José Fernández García"} {
			owners = append(owners, h.owner(n))
		}
		doc := h.page(workloadPath(w.ID))
		var changes []store.StatusChange
		doc.Find(`.rows > li input[name^="o"]`).Each(func(i int, s *goquery.Selection) {
			cid, err := strconv.ParseInt(strings.TrimPrefix(s.AttrOr("name", ""), "o"), 10, 64)
			if err != nil {
				t.Fatalf("owner field %q: %v", s.AttrOr("name", ""), err)
			}
			st := srm.Status{OwnerID: owners[i%len(owners)].ID}
			switch {
			case i%10 == 9:
				st.NotApplicable, st.NAReason = true, "The provider's managed service covers this."
			case i%2 == 0:
				st.Complete = true
			}
			if i%7 == 0 {
				st.Note = "Reviewed with the platform team; evidence in the quarterly audit folder."
			}
			changes = append(changes, store.StatusChange{ControlID: cid, Status: st})
		})
		if len(changes) < 200 {
			t.Fatalf("%d counted rows to fill, want the customer's rows", len(changes))
		}
		if _, stale, err := h.st.RecordStatuses(ctx, w.ID, changes); err != nil || len(stale) > 0 {
			t.Fatalf("RecordStatuses: %d stale, %v", len(stale), err)
		}
	}
	rec := h.as(srm.RoleEditor).get(workloadPath(w.ID))
	wantStatus(t, "GET the checklist", rec, http.StatusOK)
	body := rec.Body.Bytes()
	doc := parse(t, rec)
	rows := rowTitles(doc)
	if len(rows) != 312 {
		t.Fatalf("the checklist shows %d rows, want 312 (287 of Moderate and 25 of srm's own)", len(rows))
	}
	if n := doc.Find(`.rows > li input[name^="o"]`).Length(); n < 200 {
		t.Fatalf("%d rows have an owner field, want the editor's fields on the customer's rows", n)
	}
	if filled {
		if n := doc.Find(".rows > li > small").Length(); n < 100 {
			t.Fatalf("%d rows say who completed them, want about half of the customer's rows", n)
		}
		if n := doc.Find(tid("na-flag")).Length(); n < 20 {
			t.Fatalf("%d rows say not applicable, want about a tenth of the customer's rows", n)
		}
	}
	if p := os.Getenv("SRM_DUMP"); p != "" {
		if filled {
			p += ".filled"
		}
		_ = os.WriteFile(p, body, 0o644)
	}
	// The budget: 150 KB, for a fresh workload and for one filled
	// as in use (owners with long names on every counted row, half of them
	// completed).
	budget := 150 << 10
	t.Logf("workload page with %d controls: %d bytes (%.0f per row)", len(rows), len(body), float64(len(body))/float64(len(rows)))
	if len(body) >= budget {
		t.Errorf("the workload page with %d controls is %d bytes, want under %d", len(rows), len(body), budget)
	}
}

// TestChecklistSaveChangesSavesEveryChangedRowAndNamesWhatItLeft: the
// checklist's Save changes without JavaScript saves every row a person
// changed, new owners included (one owner for two spellings of a name),
// each from the version the page showed; a row someone else saved since
// is left as they saved it and named after the redirect. Each saved row
// writes its own audit row, with the person who saved it.
func TestChecklistSaveChangesSavesEveryChangedRowAndNamesWhatItLeft(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	doc := h.page(workloadPath(w.ID) + "?layer=compute")
	rows := rowTitles(doc)
	if len(rows) < 4 {
		t.Fatalf("compute rows = %q, want at least 4", rows)
	}
	first := h.controlID(rows[0])
	wantRedirect(t, "their save", h.as(srm.RoleEditor).post(statusPath(w.ID, first), url.Values{"note": {"Theirs."}}),
		workloadPath(w.ID)+"#r"+itoa(first))
	auditBefore := workloadAuditCount(t, h, w.ID)
	var lastAudit int64
	if err := h.pool.QueryRow(t.Context(), `SELECT max(id) FROM audit`).Scan(&lastAudit); err != nil {
		t.Fatal(err)
	}

	form := doc.Find("form#ck")
	vals := formValues(form)
	vals.Del("save")
	set := func(title, owner string, complete bool) {
		n := itoa(h.controlID(title))
		vals.Set("o"+n, owner)
		if complete {
			vals.Set("c"+n, "on")
		} else {
			vals.Del("c" + n)
		}
	}
	set(rows[0], "Mine", true)
	set(rows[1], o.Name, true)
	set(rows[2], "Night shift", false)
	set(rows[3], "night SHIFT", true)
	rec := h.post(form.AttrOr("action", ""), vals)
	wantStatus(t, "save changes with a row saved meanwhile", rec, http.StatusSeeOther)
	res := h.page(rec.Header().Get("Location"))
	notice := res.Find(tid("bulk-notice"))
	if got := text(notice.Find(tid("bulk-stale"))); !strings.Contains(got, rows[0]) {
		t.Errorf("the notice's not-changed list reads %q, want it to name %q", got, rows[0])
	}
	if got := text(notice); !strings.Contains(got, "3 controls changed") {
		t.Errorf("the notice reads %q, want 3 controls changed", got)
	}
	if got := h.status(w.ID, first); got.OwnerID != 0 || got.Complete || got.Note != "Theirs." {
		t.Errorf("%q = %+v, want their save untouched", rows[0], got)
	}
	if got := h.status(w.ID, h.controlID(rows[1])); got.OwnerID != o.ID || !got.Complete {
		t.Errorf("%q = %+v, want complete by %s", rows[1], got, o.Name)
	}
	night, night2 := h.status(w.ID, h.controlID(rows[2])), h.status(w.ID, h.controlID(rows[3]))
	if night.OwnerID == 0 || night.OwnerID != night2.OwnerID || night.Complete || !night2.Complete {
		t.Errorf("%q = %+v and %q = %+v, want both held by one new owner, the second complete", rows[2], night, rows[3], night2)
	}
	var owners int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM owners WHERE lower(name) = 'night shift'`).Scan(&owners); err != nil || owners != 1 {
		t.Errorf("owners named night shift = %d (%v), want 1", owners, err)
	}
	if got := workloadAuditCount(t, h, w.ID) - auditBefore; got != 3 {
		t.Errorf("audit rows written by the save = %d, want 3: one per control changed", got)
	}
	var named int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM audit WHERE workload_id = $1 AND id > $2
		AND object_type = 'status' AND actor_id IS NOT NULL AND actor <> ''`, w.ID, lastAudit).Scan(&named); err != nil || named != 3 {
		t.Errorf("status audit rows naming who saved = %d (%v), want 3", named, err)
	}
}

// TestBulkAssignTakesTheOwnerByName: the checklist's bulk "Assign owner"
// is a field that takes an owner's name as listed, in any case, like a
// row's owner field; a name no owner has changes nothing and says so, with
// the name kept for the person to correct.
func TestBulkAssignTakesTheOwnerByName(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	o := h.owner("Platform team")
	doc := h.page(workloadPath(w.ID) + "?layer=compute")
	rows := rowTitles(doc)
	if len(rows) < 2 {
		t.Fatalf("compute rows = %q, want at least 2", rows)
	}
	if doc.Find(`#bulk-owner[list="owners"]`).Length() != 1 || doc.Find(`#bulk-owner option`).Length() != 0 {
		t.Error("the bulk owner is not a field with the owners list")
	}
	first, second := h.controlID(rows[0]), h.controlID(rows[1])
	picked := url.Values{"scope": {"selected"}, "action": {"owner"}, "s" + itoa(first): {"on"}, "s" + itoa(second): {"on"}}

	unknown := bulkValues(doc, picked)
	unknown.Set("bulk_owner", "Platfrom team")
	rec := h.post(workloadPath(w.ID)+"/bulk", unknown)
	wantStatus(t, "bulk assign to a name no owner has", rec, http.StatusUnprocessableEntity)
	if got := text(parse(t, rec).Find(tid("bulk-problem"))); !strings.Contains(got, "No owner is called “Platfrom team”") {
		t.Errorf("the problem reads %q, want it to name what was typed", got)
	}
	if got := h.status(w.ID, first); got.OwnerID != 0 {
		t.Errorf("%q owner after the refused action = %q, want nobody", rows[0], got.OwnerName)
	}

	vals := bulkValues(doc, picked)
	vals.Set("bulk_owner", "  PLATFORM team ")
	rec = h.post(workloadPath(w.ID)+"/bulk", vals)
	wantStatus(t, "bulk assign by name", rec, http.StatusSeeOther)
	for _, cid := range []int64{first, second} {
		if got := h.status(w.ID, cid); got.OwnerID != o.ID {
			t.Errorf("control %d owner = %q, want %s", cid, got.OwnerName, o.Name)
		}
	}
	if got := text(h.page(rec.Header().Get("Location")).Find(tid("bulk-notice"))); !strings.Contains(got, "Assigned to Platform team: 2 controls changed") {
		t.Errorf("the notice reads %q, want 2 controls assigned to Platform team", got)
	}
}

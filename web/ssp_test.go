package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

const moderate = "nist-800-53-rev5-moderate"

// sspFixture is a workload of each service model held to srm's catalog
// and NIST SP 800-53 rev5 Moderate, with the customer's work on a few
// Moderate controls: owners (a person and a team), a completed control
// with a note and evidence, a not-applicable one with its reason, and an
// override.
type sspFixture struct {
	workloads map[srm.ServiceModel]srm.Workload
	framework srm.Framework
	refs      map[string]int64 // control id by ref ("AC-2") in Moderate
}

func newSSPFixture(t *testing.T, h *harness) sspFixture {
	t.Helper()
	ctx := storetest.Context(t)
	res, err := h.st.ImportBuiltin(ctx, moderate, false)
	if err != nil {
		t.Fatal(err)
	}
	fx := sspFixture{workloads: map[srm.ServiceModel]srm.Workload{}, framework: res.Framework, refs: map[string]int64{}}
	cat, err := h.st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cat.ControlsOf([]int64{res.Framework.ID}) {
		fx.refs[c.Ref] = c.ID
	}
	team := h.owner("Platform team")
	ana := srm.Owner{Name: "Ana Lima", Kind: srm.Person}
	if err := h.st.CreateOwner(ctx, &ana); err != nil {
		t.Fatal(err)
	}
	for _, m := range srm.ServiceModels {
		w := h.workload("Payroll "+m.Label(), m)
		if err := h.st.AttachFramework(ctx, w.ID, res.Framework.ID); err != nil {
			t.Fatal(err)
		}
		save := func(ref string, s srm.Status) {
			t.Helper()
			if err := h.st.SaveStatus(ctx, w.ID, fx.refs[ref], s); err != nil {
				t.Fatalf("status of %s: %v", ref, err)
			}
		}
		save("AC-2", srm.Status{OwnerID: ana.ID, Complete: true, Note: "Reviewed quarterly.\n=1+1", Evidence: "https://wiki.example/ac-2?x=1&y=2"})
		save("IA-2(1)", srm.Status{OwnerID: team.ID, Note: "MFA rollout in progress"})
		save("SI-2", srm.Status{OwnerID: team.ID, NotApplicable: true, NAReason: "No operating system of ours: containers only."})
		save("PE-3", srm.Status{OwnerID: ana.ID})
		if m == srm.PaaS {
			if err := h.st.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: fx.refs["SC-7"], Party: srm.Customer, Reason: "We run our own firewall."}); err != nil {
				t.Fatal(err)
			}
		}
		fx.workloads[m] = w
	}
	return fx
}

// wantSSP checks that body is an OSCAL SSP that follows the official OSCAL
// 1.1.2 JSON schema and, read back, says what the store says of workload
// wid under framework f: the same owners as parties (people as persons,
// teams as organizations) and, for every control, the same party, state,
// owner, note, evidence and not-applicable reason.
func wantSSP(t *testing.T, h *harness, wid int64, f srm.Framework, body []byte) *exchange.SSPSummary {
	t.Helper()
	if err := exchange.ValidateSSP(body); err != nil {
		t.Fatalf("the SSP does not validate against the OSCAL schema: %v", err)
	}
	got, err := exchange.ReadSSP(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.Context(t)
	ws, err := h.st.WorkloadState(ctx, wid)
	if err != nil {
		t.Fatal(err)
	}
	if got.System != ws.Workload.Name || got.Model != ws.Workload.Model {
		t.Errorf("system %q model %q, want %q %q", got.System, got.Model, ws.Workload.Name, ws.Workload.Model)
	}
	_, as, err := ws.Catalog.Assess(ws.Workload.BaselineID, []int64{f.ID}, ws.Workload.Model, ws.Overrides, ws.Statuses)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Controls) != len(as) {
		t.Fatalf("%d controls in the SSP, the workload has %d in %s", len(got.Controls), len(as), f.Name)
	}
	kinds := map[string]srm.OwnerKind{}
	for _, o := range ws.Owners {
		kinds[o.Name] = o.Kind
	}
	byLabel := map[string]exchange.SSPControl{}
	for _, c := range got.Controls {
		byLabel[c.Label] = c
	}
	wantParties := map[string]string{}
	for _, a := range as {
		label := a.Control.Ref
		if label == "" {
			label = fmt.Sprint(a.Control.ID)
		}
		c, ok := byLabel[label]
		if !ok {
			t.Errorf("control %s is not in the SSP", label)
			continue
		}
		s := a.Status
		want := exchange.SSPControl{ControlID: c.ControlID, Label: label, Party: a.Party, State: exchange.ImplementationState(a),
			StateRemarks: c.StateRemarks, Owner: s.OwnerName, Note: s.Note, Evidence: s.Evidence, Provided: c.Provided, Customer: c.Customer}
		if c != want {
			t.Errorf("control %s:\n got %+v\nwant %+v", label, c, want)
		}
		if s.NotApplicable && c.StateRemarks != s.NAReason {
			t.Errorf("control %s: not-applicable reason %q, want %q", label, c.StateRemarks, s.NAReason)
		}
		if s.OwnerName != "" {
			typ := "organization"
			if kinds[s.OwnerName] == srm.Person {
				typ = "person"
			}
			wantParties[s.OwnerName] = typ
		}
	}
	gotParties := map[string]string{}
	for _, p := range got.Parties {
		gotParties[p.Name] = p.Type
	}
	if fmt.Sprint(gotParties) != fmt.Sprint(wantParties) {
		t.Errorf("parties %v, want the owners %v", gotParties, wantParties)
	}
	return got
}

// A workload of each service model, held to NIST SP 800-53 rev5 Moderate,
// downloads from its page as an OSCAL system security plan that validates
// against the official OSCAL schema and reads back as the same parties and
// statuses the store holds; control ids are NIST's OSCAL ids, and the
// provider's side is an Azure component except on premises.
func TestWorkloadSSPDownload(t *testing.T) {
	h := newHarness(t)
	fx := newSSPFixture(t, h)
	viewer := h.as(srm.RoleViewer)
	profile := framework.Builtins()[1].Profile
	for _, m := range srm.ServiceModels {
		t.Run(string(m), func(t *testing.T) {
			w := fx.workloads[m]
			page := viewer.page(workloadPath(w.ID))
			link := page.Find(tid("ssp-" + moderate))
			href, _ := link.Attr("href")
			if href != workloadPath(w.ID)+"/ssp.json?framework="+moderate || !strings.Contains(text(link), "OSCAL SSP") {
				t.Fatalf("the workload page's SSP link: href %q, text %q", href, text(link))
			}
			rec := viewer.get(href)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", href, rec.Code, snippet(rec.Body.String()))
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			cd := rec.Header().Get("Content-Disposition")
			prefix := fmt.Sprintf(`attachment; filename="srm-ssp-%d-payroll-%s-%s-`, w.ID, strings.ToLower(strings.ReplaceAll(m.Label(), " ", "-")), moderate)
			if !strings.HasPrefix(cd, prefix) || !strings.HasSuffix(cd, `.json"`) {
				t.Errorf("Content-Disposition %q, want %s….json", cd, prefix)
			}
			got := wantSSP(t, h, w.ID, fx.framework, rec.Body.Bytes())
			if got.Profile != profile {
				t.Errorf("import-profile %q, want NIST's Moderate profile %q", got.Profile, profile)
			}
			if len(got.Controls) != 287 || got.Controls[0].ControlID != "ac-1" {
				t.Errorf("%d controls, the first %q; want Moderate's 287 from ac-1", len(got.Controls), got.Controls[0].ControlID)
			}
			ids := map[string]exchange.SSPControl{}
			for _, c := range got.Controls {
				ids[c.ControlID] = c
			}
			if c := ids["ia-2.1"]; c.Label != "IA-2(1)" || c.Note != "MFA rollout in progress" || c.Owner != "Platform team" || c.State != exchange.StatePlanned {
				t.Errorf("ia-2.1: %+v", c)
			}
			if c := ids["si-2"]; c.State != exchange.StateNotApplicable || c.StateRemarks != "No operating system of ours: containers only." {
				t.Errorf("si-2: %+v", c)
			}
			if c := ids["ac-2"]; c.State != exchange.StateImplemented || c.Evidence != "https://wiki.example/ac-2?x=1&y=2" || c.Owner != "Ana Lima" {
				t.Errorf("ac-2: %+v", c)
			}
			hasAzure := bytes.Contains(rec.Body.Bytes(), []byte(`"title": "Microsoft Azure (`))
			if hasAzure == (m == srm.OnPrem) {
				t.Errorf("Azure component present: %v, for %s", hasAzure, m)
			}
			if m == srm.IaaS {
				// The datacenter is Azure's under IaaS: inherited, nothing left.
				if c := ids["pe-3"]; c.Party != srm.Provider || c.State != exchange.StateImplemented || c.Provided == "" || c.Customer != "" {
					t.Errorf("pe-3 under IaaS: %+v", c)
				}
			}
			if m == srm.PaaS {
				if c := ids["sc-7"]; c.Party != srm.Customer || c.Provided != "" {
					t.Errorf("sc-7, overridden to the customer: %+v", c)
				}
				if !bytes.Contains(rec.Body.Bytes(), []byte("We run our own firewall.")) {
					t.Error("the override's reason is not in the SSP")
				}
			}
		})
	}

	w := fx.workloads[srm.PaaS]
	// Without ?framework=: the workload's framework other than srm's own.
	rec := viewer.get(workloadPath(w.ID) + "/ssp.json")
	wantStatus(t, "SSP without a framework", rec, http.StatusOK)
	if got := wantSSP(t, h, w.ID, fx.framework, rec.Body.Bytes()); got.Profile != profile {
		t.Errorf("default SSP imports %q, want Moderate", got.Profile)
	}
	// srm's own catalog: its controls as srm-<id>, the catalog in the back matter.
	cat, err := h.st.Catalog(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	own, _ := cat.FrameworkBySlug(srm.SRMFramework)
	rec = viewer.get(workloadPath(w.ID) + "/ssp.json?framework=srm")
	wantStatus(t, "SSP of srm's catalog", rec, http.StatusOK)
	got := wantSSP(t, h, w.ID, own, rec.Body.Bytes())
	if !strings.HasPrefix(got.Profile, "#") || !strings.HasPrefix(got.Controls[0].ControlID, "srm-") {
		t.Errorf("srm's catalog: profile %q, first control %q", got.Profile, got.Controls[0].ControlID)
	}
	// The same data exports the same document.
	if again := viewer.get(workloadPath(w.ID) + "/ssp.json?framework=srm"); !bytes.Equal(again.Body.Bytes(), rec.Body.Bytes()) {
		t.Error("exporting the same workload twice gave two different documents")
	}

	wantStatus(t, "a framework the workload does not hold", viewer.get(workloadPath(w.ID)+"/ssp.json?framework=nist-800-53-rev5-high"), http.StatusNotFound)
	wantStatus(t, "an unknown workload", viewer.get(workloadPath(w.ID+1000)+"/ssp.json"), http.StatusNotFound)
	out := h.signedOut().get(workloadPath(w.ID) + "/ssp.json")
	if out.Code != http.StatusSeeOther || !strings.HasPrefix(out.Header().Get("Location"), "/signin") {
		t.Errorf("signed out: status %d, Location %q; want a redirect to sign in", out.Code, out.Header().Get("Location"))
	}
}

// The API gives the same SSP as the page's download, described by the
// OpenAPI document, to any role's token (read-only included); 401 without
// a valid token, 404 for an unknown workload or a framework it does not
// hold, 400 for an id that is not one.
func TestAPIWorkloadSSP(t *testing.T) {
	h := newHarness(t)
	fx := newSSPFixture(t, h)
	c, _ := h.apiToken(srm.RoleViewer, false)
	for _, m := range srm.ServiceModels {
		w := fx.workloads[m]
		res := c.get(wpath(w.ID)+"/ssp?framework="+moderate).want("SSP", http.StatusOK, "")
		wantSSP(t, h, w.ID, fx.framework, res.Body.Bytes())
		if page := h.get(workloadPath(w.ID) + "/ssp.json?framework=" + moderate); !bytes.Equal(page.Body.Bytes(), res.Body.Bytes()) {
			t.Errorf("%s: the API's SSP differs from the page's download", m)
		}
	}
	w := fx.workloads[srm.SaaS]
	def := c.get(wpath(w.ID)+"/ssp").want("SSP without a framework", http.StatusOK, "")
	if got := wantSSP(t, h, w.ID, fx.framework, def.Body.Bytes()); got.Profile != framework.Builtins()[1].Profile {
		t.Errorf("the SSP without a framework imports %q, want NIST Moderate's profile", got.Profile)
	}
	c.get(wpath(w.ID)+"/ssp?framework=nope").want("unknown framework", http.StatusNotFound, "not-found")
	c.get(wpath(w.ID+1000)+"/ssp").want("unknown workload", http.StatusNotFound, "not-found")
	c.get(wpath("abc")+"/ssp").want("not an id", http.StatusBadRequest, "")
	apiClient{h: h}.get(wpath(w.ID)+"/ssp").want("no token", http.StatusUnauthorized, "unauthorized")
	apiClient{h: h, token: "srm_notatoken"}.get(wpath(w.ID)+"/ssp").want("bad token", http.StatusUnauthorized, "unauthorized")
}

// The SSP is read from the store in a fixed number of round trips, within
// every request's budget, whatever the number of controls: srm's catalog
// (25 controls) and NIST Moderate (287) cost the same.
func TestSSPStaysWithinTheQueryBudget(t *testing.T) {
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{})}
	ctx := storetest.Context(t)
	res, err := st.ImportBuiltin(ctx, moderate, false)
	if err != nil {
		t.Fatal(err)
	}
	w := h.workload("Budget", srm.PaaS)
	if err := st.AttachFramework(ctx, w.ID, res.Framework.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := h.apiToken(srm.RoleViewer, false)
	count := func(slug string) int64 {
		c.get(wpath(w.ID)+"/ssp?framework="+slug).want("SSP", http.StatusOK, "") // warm the caches
		counter.Reset()
		c.get(wpath(w.ID)+"/ssp?framework="+slug).want("SSP", http.StatusOK, "")
		return counter.Count()
	}
	small, large := count("srm"), count(moderate)
	if small != large || large > queryBudget {
		t.Errorf("SSP of 25 controls: %d round trips, of 287: %d; want the same, at most %d", small, large, queryBudget)
	}
	t.Logf("SSP of 25 controls: %d round trips, of 287: %d (the token's check included)", small, large)
}

package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

const nistModerate = "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"

func sspInput(t testing.TB, m srm.ServiceModel, fw bool) SSPInput {
	as := testAssess(t, m)
	in := SSPInput{Workload: testWorkload(m), Baseline: "Azure chart", BaselineSourceURL: "https://learn.microsoft.com/en-us/azure/security/fundamentals/shared-responsibility",
		LastModified: completedAt, Owners: []srm.Owner{{ID: 9, Name: "Ana Lima", Kind: srm.Person}, {ID: 7, Name: "Data team", Kind: srm.Team}}}
	if fw {
		in.Requirements = testFramework(as)
		in.Profile = Profile{Href: nistModerate, Title: "NIST SP 800-53 rev5 Moderate"}
	} else {
		for _, a := range as {
			in.Requirements = append(in.Requirements, Requirement{Assignment: a})
		}
	}
	return in
}

// TestSSPValidForEachModel: the SSP of a workload of each service model,
// with srm's own controls and with a framework's, validates against the
// official OSCAL 1.1.2 schema, and exporting again gives the same bytes.
func TestSSPValidForEachModel(t *testing.T) {
	for _, m := range srm.ServiceModels {
		for _, fw := range []bool{false, true} {
			name := string(m) + "/srm-catalog"
			if fw {
				name = string(m) + "/framework"
			}
			t.Run(name, func(t *testing.T) {
				var a, b bytes.Buffer
				if err := WriteSSP(&a, sspInput(t, m, fw)); err != nil {
					t.Fatal(err)
				}
				if err := ValidateSSP(a.Bytes()); err != nil {
					t.Fatalf("not schema-valid: %v\n%s", err, a.String())
				}
				if err := WriteSSP(&b, sspInput(t, m, fw)); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Error("exporting the same workload twice gave two different documents (UUIDs are not stable)")
				}
				hasAzure := strings.Contains(a.String(), `"title": "Microsoft Azure (`)
				if hasAzure == (m == srm.OnPrem) {
					t.Errorf("model %s: Azure component present = %v", m, hasAzure)
				}
			})
		}
	}
}

// TestValidateSSPRejects: the validator is not a rubber stamp.
func TestValidateSSPRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSSP(&buf, sspInput(t, srm.IaaS, true)); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ssp := doc["system-security-plan"].(map[string]any)
	ssp["uuid"] = "not-a-uuid"
	delete(ssp["system-characteristics"].(map[string]any), "system-name")
	bad, _ := json.Marshal(doc)
	err := ValidateSSP(bad)
	if !errors.Is(err, ErrSchema) || !errors.Is(err, srm.ErrInvalid) {
		t.Fatalf("a broken SSP: err = %v, want ErrSchema", err)
	}
	for _, want := range []string{"/system-security-plan/uuid", "system-name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// TestSSPRoundTrip: reading an exported SSP gives back the owners as
// parties, and per control its party, state, owner, note, evidence,
// not-applicable reason and what each side does.
func TestSSPRoundTrip(t *testing.T) {
	for _, m := range srm.ServiceModels {
		t.Run(string(m), func(t *testing.T) {
			in := sspInput(t, m, true)
			var buf bytes.Buffer
			if err := WriteSSP(&buf, in); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSSP(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if got.System != in.Workload.Name || got.Model != m || got.Profile != nistModerate || !got.LastModified.Equal(completedAt) {
				t.Errorf("system %q model %q profile %q modified %v", got.System, got.Model, got.Profile, got.LastModified)
			}
			var parties []string
			for _, p := range got.Parties {
				parties = append(parties, p.Name+"/"+p.Type)
			}
			if want := "Data team/organization,@SUM(A1)/organization,Ana Lima/person"; strings.Join(parties, ",") != want {
				t.Errorf("parties = %v, want %s", parties, want)
			}
			if len(got.Controls) != len(in.Requirements) {
				t.Fatalf("%d controls back, %d exported", len(got.Controls), len(in.Requirements))
			}
			for i, r := range in.Requirements {
				a, c := r.Assignment, got.Controls[i]
				prov, cust := r.Parts()
				want := SSPControl{ControlID: r.Framework.OSCALID, Label: r.Framework.ID, Party: a.Party, State: ImplementationState(a),
					Owner: a.Status.OwnerName, Note: a.Status.Note, Evidence: a.Status.Evidence, Provided: prov, Customer: cust}
				if m == srm.OnPrem {
					want.Provided = ""
				}
				c.StateRemarks = ""
				if c != want {
					t.Errorf("control %s:\n got %+v\nwant %+v", r.Framework.ID, c, want)
				}
				if a.Status.NotApplicable && got.Controls[i].StateRemarks != a.Status.NAReason {
					t.Errorf("control %s: not-applicable reason %q, want %q", r.Framework.ID, got.Controls[i].StateRemarks, a.Status.NAReason)
				}
			}
		})
	}
}

// TestSSPSharedResponsibility: a shared control is exported as OSCAL
// describes shared responsibility: Azure's component provides and leaves a
// responsibility, the workload's component inherits and satisfies it.
func TestSSPSharedResponsibility(t *testing.T) {
	ssp, err := BuildSSP(sspInput(t, srm.PaaS, true))
	if err != nil {
		t.Fatal(err)
	}
	var shared, inherited bool
	for _, ir := range ssp.ControlImplementation.ImplementedRequirements {
		bcs := deref(ir.ByComponents)
		switch ir.ControlId {
		case "ia-2.1": // directory: shared under PaaS
			shared = true
			if len(bcs) != 2 || bcs[1].Export == nil {
				t.Fatalf("shared control: by-components %+v", bcs)
			}
			prov := deref(bcs[1].Export.Provided)
			resp := deref(bcs[1].Export.Responsibilities)
			inh := deref(bcs[0].Inherited)
			sat := deref(bcs[0].Satisfied)
			if len(prov) != 1 || len(resp) != 1 || len(inh) != 1 || len(sat) != 1 {
				t.Fatalf("shared control: provided %d responsibilities %d inherited %d satisfied %d", len(prov), len(resp), len(inh), len(sat))
			}
			if resp[0].ProvidedUuid != prov[0].UUID || inh[0].ProvidedUuid != prov[0].UUID || sat[0].ResponsibilityUuid != resp[0].UUID {
				t.Error("the inherited and satisfied entries do not point at what Azure provides and leaves")
			}
			if prov[0].Description != "Runs the directory service." || resp[0].Description != "Turn on MFA for every account." {
				t.Errorf("provided %q, responsibility %q", prov[0].Description, resp[0].Description)
			}
		case "pe-3": // datacenter: Azure's alone
			inherited = true
			if len(bcs) != 2 || bcs[1].Export == nil || bcs[1].Export.Responsibilities != nil || bcs[0].Satisfied != nil || len(deref(bcs[0].Inherited)) != 1 {
				t.Errorf("inherited control: by-components %+v", bcs)
			}
			if bcs[0].ImplementationStatus.State != StateImplemented {
				t.Errorf("inherited control: state %q", bcs[0].ImplementationStatus.State)
			}
		case "si-2": // overridden to the customer, and not applicable
			if len(bcs) != 1 || !strings.Contains(bcs[0].Remarks, "we run our own VMs") || bcs[0].ImplementationStatus.State != StateNotApplicable {
				t.Errorf("overridden control: %+v", bcs)
			}
		}
	}
	if !shared || !inherited {
		t.Error("the fixture lost its shared or inherited control")
	}
}

// TestSSPOfNISTHigh: an SSP answering every control of NIST SP 800-53 rev5
// High (370, enhancements included, with ids like "ac-2.1") validates, and
// every control comes back.
func TestSSPOfNISTHigh(t *testing.T) {
	if testing.Short() {
		t.Skip("parses NIST High")
	}
	b := framework.Builtins()
	cat, err := b[len(b)-1].Catalog()
	if err != nil {
		t.Fatal(err)
	}
	as := testAssess(t, srm.IaaS)
	in := sspInput(t, srm.IaaS, true)
	in.Profile = Profile{Href: "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_HIGH-baseline_profile.json", Title: b[len(b)-1].Name}
	in.Requirements = nil
	for i := range cat.Controls {
		in.Requirements = append(in.Requirements, Requirement{Assignment: as[i%len(as)], Framework: &cat.Controls[i]})
	}
	var buf bytes.Buffer
	if err := WriteSSP(&buf, in); err != nil {
		t.Fatal(err)
	}
	if err := ValidateSSP(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSSP(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Controls) != 370 || got.Controls[1].ControlID != cat.Controls[1].OSCALID || got.Controls[1].Label != cat.Controls[1].ID {
		t.Errorf("%d controls back; the second %+v", len(got.Controls), got.Controls[1])
	}
	if impactOf(in) != "high" {
		t.Errorf("impact %q for %q", impactOf(in), in.Profile.Title)
	}
}

// TestSSPResponsibleParties: the metadata says who holds each role (Azure
// the provider's, every owner the control owner's), and what Azure
// provides names Azure as its responsible party.
func TestSSPResponsibleParties(t *testing.T) {
	ssp, err := BuildSSP(sspInput(t, srm.PaaS, true))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range deref(ssp.Metadata.Parties) {
		names[p.UUID] = p.Name
	}
	holders := map[string][]string{}
	for _, rp := range deref(ssp.Metadata.ResponsibleParties) {
		for _, u := range rp.PartyUuids {
			holders[rp.RoleId] = append(holders[rp.RoleId], names[u])
		}
	}
	if got := strings.Join(holders[RoleProvider], ","); got != ProviderName {
		t.Errorf("cloud-service-provider: %q", got)
	}
	if got := strings.Join(holders[RoleControlOwner], ","); got != "Data team,@SUM(A1),Ana Lima" {
		t.Errorf("control-owner: %q", got)
	}
	provided := 0
	for _, ir := range ssp.ControlImplementation.ImplementedRequirements {
		for _, bc := range deref(ir.ByComponents) {
			if bc.Export == nil {
				continue
			}
			for _, p := range deref(bc.Export.Provided) {
				provided++
				rr := deref(p.ResponsibleRoles)
				if len(rr) != 1 || rr[0].RoleId != RoleProvider || len(deref(rr[0].PartyUuids)) != 1 || names[deref(rr[0].PartyUuids)[0]] != ProviderName {
					t.Errorf("%s: provided by %+v, want Azure", ir.ControlId, rr)
				}
			}
		}
	}
	if provided == 0 {
		t.Error("nothing provided by Azure under PaaS")
	}
}

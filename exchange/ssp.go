package exchange

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	oscal "github.com/defenseunicorns/go-oscal/src/types/oscal-1-1-2"
	"github.com/google/uuid"
	"github.com/srmhq/srm"
)

// OSCALVersion is the version of OSCAL the exported documents follow.
const OSCALVersion = "1.1.2"

// Namespace is the namespace of the props srm adds to OSCAL documents
// (the service model, the party that carries a control, the chart's party).
const Namespace = "https://github.com/srmhq/srm/ns/oscal"

// Roles and component kinds of the exported SSP.
const (
	RoleControlOwner = "control-owner"          // the owner of a control, as srm assigns them
	RoleProvider     = "cloud-service-provider" // Azure
	ProviderName     = "Microsoft Azure"
)

// uuidSpace is the namespace of every UUID srm derives for OSCAL: version
// 5 UUIDs of names like "workload/12/control/ac-2", so that exporting the
// same workload again gives the same UUIDs.
var uuidSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/srmhq/srm/oscal"))

func stableUUID(parts ...string) string {
	return uuid.NewSHA1(uuidSpace, []byte(strings.Join(parts, "/"))).String()
}

// Profile is the framework a workload's SSP answers: the profile (or
// catalog) its controls come from.
type Profile struct {
	// Href is where the profile is, e.g. NIST's Moderate baseline profile.
	// Empty for srm's own catalog, or a framework whose profile has no
	// address srm knows: the SSP then points at a resource in its back
	// matter that names the catalog (Title, Description, and a link to
	// Source when set).
	Href        string
	Title       string
	Description string // "": srm's own catalog's description
	Source      string // where the catalog was published, for the resource's link
}

// SSPInput is what the SSP of one workload is built from.
type SSPInput struct {
	Workload srm.Workload
	Baseline string // the name of its responsibility baseline
	// BaselineSourceURL is where the baseline's chart was published (the
	// Azure component links to it); optional.
	BaselineSourceURL string
	Profile           Profile
	// Impact is the FIPS 199 level of the system: "low", "moderate" or
	// "high"; empty: read from the profile's title, else "moderate".
	Impact       string
	Requirements []Requirement
	// Owners are the owners srm knows, to tell people from teams; an owner
	// named by a status but missing here is exported as an organization.
	Owners []srm.Owner
	// LastModified is metadata.last-modified (use the latest change of the
	// workload and its statuses); zero: now. Version is metadata.version;
	// empty: the workload's version.
	LastModified time.Time
	Version      string
}

// OSCAL implementation states.
const (
	StateImplemented   = "implemented"
	StatePlanned       = "planned"
	StateNotApplicable = "not-applicable"
)

// ImplementationState is the OSCAL state of a control for the customer:
// not-applicable when marked so, implemented when complete or carried by
// Azure alone (inherited), planned otherwise.
func ImplementationState(a srm.Assignment) string {
	switch {
	case a.Status.NotApplicable:
		return StateNotApplicable
	case a.Party == srm.Provider, a.Status.Complete:
		return StateImplemented
	}
	return StatePlanned
}

// token is OSCAL's token datatype, which a control-id must be.
var token = regexp.MustCompile(`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`)

// OSCALControlID is the control-id of r in the SSP: the framework's OSCAL
// id ("ac-2.1"), or "srm-" and srm's id for srm's own catalog (and for a
// framework control whose id is not an OSCAL token).
func (r Requirement) OSCALControlID() string {
	if r.Framework != nil && token.MatchString(r.Framework.OSCALID) {
		return r.Framework.OSCALID
	}
	return "srm-" + strconv.FormatInt(r.Assignment.Control.ID, 10)
}

// oneLine makes s fit OSCAL's plain strings: one line, no surrounding
// space, not empty.
func oneLine(s, fallback string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return fallback
	}
	return s
}

func text(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}

func prop(name, value string) oscal.Property {
	return oscal.Property{Name: name, Ns: Namespace, Value: oneLine(value, "none")}
}

func impactOf(in SSPInput) string {
	if l := strings.ToLower(strings.TrimSpace(in.Impact)); l == "low" || l == "moderate" || l == "high" {
		return l
	}
	t := strings.ToLower(in.Profile.Title)
	for _, l := range []string{"high", "moderate", "low"} {
		if strings.Contains(t, l) {
			return l
		}
	}
	return "moderate"
}

// providerNeeded reports whether the workload leans on Azure at all: not
// for an on-premises workload whose every control stays with the customer.
func providerNeeded(in SSPInput) bool {
	if in.Workload.Model != srm.OnPrem {
		return true
	}
	for _, r := range in.Requirements {
		if r.Assignment.Party != srm.Customer {
			return true
		}
	}
	return false
}

// BuildSSP builds the OSCAL 1.1.2 system security plan of one workload:
// the workload as the system ("this system" component); Azure under the
// workload's service model as a leveraged, external component (not for an
// on-premises workload that leaves Azure nothing); and an implemented
// requirement per control. What Azure provides is its component's export
// (provided, and the responsibilities it leaves to the customer); the
// workload's component inherits what is provided and satisfies the
// responsibilities. Owners are parties with the control-owner role; the
// customer's status is the implementation status (not-applicable with its
// reason in remarks); the note is the requirement's remarks and the
// evidence a link. UUIDs are derived from the workload's and the
// controls' ids, so the same data exports the same document.
func BuildSSP(in SSPInput) (*oscal.SystemSecurityPlan, error) {
	w := in.Workload
	if !w.Model.Valid() {
		return nil, fmt.Errorf("ssp of workload %d: service model %q: %w", w.ID, w.Model, srm.ErrInvalid)
	}
	wid := "workload/" + strconv.FormatInt(w.ID, 10)
	modified := in.LastModified
	if modified.IsZero() {
		modified = time.Now()
	}
	modified = modified.UTC()
	version := in.Version
	if version == "" {
		version = strconv.FormatInt(w.Version, 10)
	}
	name := oneLine(w.Name, "Workload "+strconv.FormatInt(w.ID, 10))
	level := "fips-199-" + impactOf(in)

	// Parties: Azure, then every owner in order of first appearance.
	azure := stableUUID("party", "azure")
	parties := []oscal.Party{{UUID: azure, Type: "organization", Name: ProviderName,
		Links: links(in.BaselineSourceURL, "reference", "Shared responsibility in the cloud")}}
	kinds := map[string]srm.OwnerKind{}
	for _, o := range in.Owners {
		kinds[strings.ToLower(o.Name)] = o.Kind
	}
	ownerParty := map[string]string{} // lower-cased name → party uuid
	for _, r := range in.Requirements {
		n := strings.TrimSpace(r.Assignment.Status.OwnerName)
		key := strings.ToLower(n)
		if n == "" || ownerParty[key] != "" {
			continue
		}
		id := stableUUID("party", "owner", key)
		ownerParty[key] = id
		typ := "organization"
		if kinds[key] == srm.Person {
			typ = "person"
		}
		parties = append(parties, oscal.Party{UUID: id, Type: typ, Name: oneLine(n, "owner")})
	}

	// Who holds each role: Azure the provider's, the owners (if any) the
	// control owner's.
	responsible := []oscal.ResponsibleParty{{RoleId: RoleProvider, PartyUuids: []string{azure}}}
	if len(parties) > 1 {
		owners := make([]string, 0, len(parties)-1)
		for _, p := range parties[1:] {
			owners = append(owners, p.UUID)
		}
		responsible = append(responsible, oscal.ResponsibleParty{RoleId: RoleControlOwner, PartyUuids: owners})
	}

	thisUUID := stableUUID(wid, "component", "this-system")
	azureUUID := stableUUID(wid, "component", "azure", string(w.Model))
	withAzure := providerNeeded(in)
	components := []oscal.SystemComponent{{
		UUID: thisUUID, Type: "this-system", Title: name,
		Description: text(w.Description, name+", a "+w.Model.Label()+" workload."),
		Props:       &[]oscal.Property{prop("service-model", string(w.Model))},
		Status:      oscal.SystemComponentStatus{State: "operational"},
	}}
	if withAzure {
		components = append(components, oscal.SystemComponent{
			UUID: azureUUID, Type: "system", Title: ProviderName + " (" + w.Model.Label() + ")",
			Description: "The cloud provider this workload runs on, as a leveraged system: under the " + w.Model.Label() +
				" service model it carries some controls alone and shares others, as the baseline “" + in.Baseline + "” says.",
			Purpose: "Provides the infrastructure and platform the workload runs on.",
			Props: &[]oscal.Property{
				{Name: "implementation-point", Value: "external"},
				prop("provider", "azure"),
				prop("service-model", string(w.Model)),
				prop("baseline", oneLine(in.Baseline, "none")),
			},
			Links:            links(in.BaselineSourceURL, "reference", "The responsibility chart"),
			Status:           oscal.SystemComponentStatus{State: "operational"},
			ResponsibleRoles: &[]oscal.ResponsibleRole{{RoleId: RoleProvider, PartyUuids: &[]string{azure}}},
		})
	}

	reqs := make([]oscal.ImplementedRequirement, 0, len(in.Requirements))
	seen := map[string]bool{}
	for _, r := range in.Requirements {
		ir, err := implemented(r, wid, thisUUID, azureUUID, azure, withAzure, ownerParty)
		if err != nil {
			return nil, err
		}
		if seen[ir.ControlId] {
			return nil, fmt.Errorf("ssp of workload %d: control %s listed twice: %w", w.ID, ir.ControlId, srm.ErrInvalid)
		}
		seen[ir.ControlId] = true
		reqs = append(reqs, ir)
	}

	var back *oscal.BackMatter
	href := uriRef(in.Profile.Href)
	if href == "" {
		title := oneLine(in.Profile.Title, "srm's control catalog")
		res := stableUUID("resource", "catalog", title)
		href = "#" + res
		r := oscal.Resource{UUID: res, Title: title, Description: text(in.Profile.Description,
			"The controls srm ships and those its administrators added; each control's id here is srm's own, prefixed with “srm-”.")}
		if src := uriRef(in.Profile.Source); src != "" {
			r.Rlinks = &[]oscal.ResourceLink{{Href: src}}
		}
		back = &oscal.BackMatter{Resources: &[]oscal.Resource{r}}
	}

	ssp := &oscal.SystemSecurityPlan{
		UUID: stableUUID(wid, "ssp", version, modified.Format(time.RFC3339Nano)),
		Metadata: oscal.Metadata{
			Title:        "System security plan: " + name,
			LastModified: modified,
			Version:      oneLine(version, "1"),
			OscalVersion: OSCALVersion,
			Roles: &[]oscal.Role{
				{ID: RoleControlOwner, Title: "Control owner", Description: "Answers for the customer's part of a control of this system."},
				{ID: RoleProvider, Title: "Cloud service provider", Description: "Carries the provider's part of the controls: Microsoft Azure."},
			},
			Parties:            &parties,
			ResponsibleParties: &responsible,
			Props:              &[]oscal.Property{prop("generator", "srm")},
			Remarks:            "Exported by srm from its assessment of the workload under the baseline “" + in.Baseline + "”.",
		},
		ImportProfile: oscal.ImportProfile{Href: href, Remarks: oneLine(in.Profile.Title, "")},
		SystemCharacteristics: oscal.SystemCharacteristics{
			SystemIds:                []oscal.SystemId{{IdentifierType: "https://ietf.org/rfc/rfc4122", ID: stableUUID(wid, "system")}},
			SystemName:               name,
			Description:              text(w.Description, name+", a "+w.Model.Label()+" workload."),
			SecuritySensitivityLevel: level,
			Props:                    cloudProps(w.Model),
			SystemInformation: oscal.SystemInformation{InformationTypes: []oscal.InformationType{{
				UUID:                  stableUUID(wid, "information-type"),
				Title:                 "Information processed by " + name,
				Description:           "The information the workload stores and processes. srm does not categorize it; the impact levels are those of the framework's baseline.",
				ConfidentialityImpact: &oscal.Impact{Base: level},
				IntegrityImpact:       &oscal.Impact{Base: level},
				AvailabilityImpact:    &oscal.Impact{Base: level},
			}}},
			SecurityImpactLevel: &oscal.SecurityImpactLevel{
				SecurityObjectiveConfidentiality: level, SecurityObjectiveIntegrity: level, SecurityObjectiveAvailability: level,
			},
			Status: oscal.Status{State: "operational"},
			AuthorizationBoundary: oscal.AuthorizationBoundary{
				Description: "The workload “" + name + "” as its team runs it (" + w.Model.Label() + "). " + boundaryNote(w.Model),
			},
		},
		SystemImplementation: oscal.SystemImplementation{
			Users: []oscal.SystemUser{{UUID: stableUUID(wid, "user", RoleControlOwner), Title: "Control owners",
				Description: "The people and teams srm names as owners of the workload's controls.", RoleIds: &[]string{RoleControlOwner}}},
			Components: components,
		},
		ControlImplementation: oscal.ControlImplementation{
			Description:             "How " + name + " meets each control: what Azure provides under the " + w.Model.Label() + " model, what is left to the customer, and the customer's progress.",
			ImplementedRequirements: reqs,
		},
		BackMatter: back,
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("ssp of workload %d: no controls (OSCAL requires at least one implemented requirement): %w", w.ID, srm.ErrInvalid)
	}
	return ssp, nil
}

func boundaryNote(m srm.ServiceModel) string {
	switch m {
	case srm.OnPrem:
		return "It runs in the customer's own premises; the customer carries every layer, down to the building."
	case srm.IaaS:
		return "Azure's datacenters, physical hosts and physical network are outside the boundary and inherited from Azure."
	case srm.PaaS:
		return "Azure also runs the operating system and platform; those are inherited from Azure, some network and identity work is shared."
	}
	return "Azure runs almost everything; the customer keeps its data, accounts, devices and the service's configuration."
}

func cloudProps(m srm.ServiceModel) *[]oscal.Property {
	ps := []oscal.Property{prop("service-model", string(m))}
	if m != srm.OnPrem {
		ps = append(ps, oscal.Property{Name: "cloud-service-model", Value: string(m)},
			oscal.Property{Name: "cloud-deployment-model", Value: "public-cloud"})
	}
	return &ps
}

// uriRef is s as a URI reference OSCAL accepts: trimmed, and with what
// the URI syntax does not allow (spaces, non-ASCII letters) escaped; "" when
// s is empty or not a URL at all.
func uriRef(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.String()
}

func links(href, rel, textv string) *[]oscal.Link {
	href = uriRef(href)
	if href == "" {
		return nil
	}
	return &[]oscal.Link{{Href: href, Rel: rel, Text: textv}}
}

// implemented builds the implemented requirement of one control.
func implemented(r Requirement, wid, thisUUID, azureUUID, azureParty string, withAzure bool, ownerParty map[string]string) (oscal.ImplementedRequirement, error) {
	a := r.Assignment
	cid := r.OSCALControlID()
	base := wid + "/control/" + cid
	ir := oscal.ImplementedRequirement{
		UUID:      stableUUID(base),
		ControlId: cid,
		Remarks:   a.Status.Note,
	}
	if !a.Party.Valid() {
		return ir, fmt.Errorf("ssp: control %s: party %q: %w", cid, a.Party, srm.ErrInvalid)
	}
	props := []oscal.Property{
		prop("control-label", r.ControlID()),
		prop("party", string(a.Party)),
		prop("chart-party", string(a.ChartParty)),
		prop("layer", string(a.Control.Layer)),
	}
	ir.Props = &props
	var roles *[]oscal.ResponsibleRole
	if p := ownerParty[strings.ToLower(strings.TrimSpace(a.Status.OwnerName))]; p != "" {
		roles = &[]oscal.ResponsibleRole{{RoleId: RoleControlOwner, PartyUuids: &[]string{p}}}
		ir.ResponsibleRoles = roles
	}
	if ev := uriRef(a.Status.Evidence); ev != "" {
		ir.Links = &[]oscal.Link{{Href: ev, Rel: "reference", Text: "Evidence"}}
	}

	provider, customer := r.Parts()
	state := ImplementationState(a)
	status := &oscal.ImplementationStatus{State: state}
	switch {
	case state == StateNotApplicable:
		status.Remarks = text(a.Status.NAReason, "Not applicable.")
	case a.Party == srm.Provider:
		status.Remarks = "Inherited from " + ProviderName + "."
	case a.Status.Complete:
		done := "Complete"
		if a.Status.CompletedBy != "" {
			done += ", by " + a.Status.CompletedBy
		}
		if !a.Status.CompletedAt.IsZero() {
			done += ", on " + a.Status.CompletedAt.UTC().Format(time.RFC3339)
		}
		status.Remarks = done + "."
	}
	this := oscal.ByComponent{
		UUID:                 stableUUID(base, "this-system"),
		ComponentUuid:        thisUUID,
		Description:          text(customer, "Nothing is left to the customer: the control is inherited from "+ProviderName+"."),
		ImplementationStatus: status,
		ResponsibleRoles:     roles,
	}
	if a.Override != nil {
		this.Remarks = "Overridden from " + a.ChartParty.Label() + " to " + a.Party.Label() + " for this workload: " + a.Override.Reason
	}
	bys := []oscal.ByComponent{}
	if withAzure && a.Party != srm.Customer {
		provided := oscal.ProvidedControlImplementation{
			UUID:             stableUUID(base, "provided"),
			Description:      text(provider, ProviderName+" carries its part of this control."),
			ResponsibleRoles: &[]oscal.ResponsibleRole{{RoleId: RoleProvider, PartyUuids: &[]string{azureParty}}},
		}
		export := &oscal.Export{Provided: &[]oscal.ProvidedControlImplementation{provided}}
		this.Inherited = &[]oscal.InheritedControlImplementation{{
			UUID: stableUUID(base, "inherited"), ProvidedUuid: provided.UUID, Description: provided.Description,
		}}
		if a.Party == srm.Shared {
			resp := oscal.ControlImplementationResponsibility{
				UUID:         stableUUID(base, "responsibility"),
				ProvidedUuid: provided.UUID,
				Description:  text(customer, "The customer carries its part of this control."),
			}
			export.Responsibilities = &[]oscal.ControlImplementationResponsibility{resp}
			this.Satisfied = &[]oscal.SatisfiedControlImplementationResponsibility{{
				UUID: stableUUID(base, "satisfied"), ResponsibilityUuid: resp.UUID, Description: resp.Description,
				ResponsibleRoles: roles,
			}}
		}
		bys = append(bys, oscal.ByComponent{
			UUID:          stableUUID(base, "azure"),
			ComponentUuid: azureUUID,
			Description:   text(provider, ProviderName+" carries its part of this control."),
			Export:        export,
		})
	}
	bys = append([]oscal.ByComponent{this}, bys...)
	ir.ByComponents = &bys
	return ir, nil
}

// WriteSSP writes the SSP of in as an OSCAL JSON document
// ({"system-security-plan": …}), indented.
func WriteSSP(w io.Writer, in SSPInput) error {
	ssp, err := BuildSSP(in)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(oscal.OscalModels{SystemSecurityPlan: ssp})
}

// MaxSSPBytes is the largest SSP ReadSSP reads.
const MaxSSPBytes = 50 << 20

// SSPSummary is what ReadSSP gives back from an SSP srm exported.
type SSPSummary struct {
	Title        string
	System       string
	Model        srm.ServiceModel
	Profile      string
	LastModified time.Time
	// Parties are the owners (not Azure), in the document's order.
	Parties  []SSPParty
	Controls []SSPControl
}

// SSPParty is an owner named in an SSP.
type SSPParty struct {
	UUID, Name, Type string
}

// SSPControl is one implemented requirement, read back.
type SSPControl struct {
	ControlID string // OSCAL id
	Label     string // as people write it
	Party     srm.Party
	State     string // implemented, planned, not-applicable
	// StateRemarks holds the not-applicable reason (or who completed it).
	StateRemarks string
	Owner        string
	Note         string
	Evidence     string
	Provided     string // what Azure provides ("" when nothing)
	Customer     string // what the customer must do
}

// ReadSSP reads an OSCAL system security plan in JSON (such as WriteSSP
// writes): its owners and, per control, its party, state, owner, note and
// evidence. It does not check the schema (ValidateSSP does).
func ReadSSP(r io.Reader) (*SSPSummary, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSSPBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the SSP: %w", err)
	}
	if len(data) > MaxSSPBytes {
		return nil, fmt.Errorf("the SSP is larger than %d MB: %w", MaxSSPBytes>>20, srm.ErrInvalid)
	}
	var doc oscal.OscalModels
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the SSP is not OSCAL JSON (%v): %w", err, srm.ErrInvalid)
	}
	s := doc.SystemSecurityPlan
	if s == nil {
		return nil, fmt.Errorf("the document holds no system-security-plan: %w", srm.ErrInvalid)
	}
	out := &SSPSummary{Title: s.Metadata.Title, System: s.SystemCharacteristics.SystemName, Profile: s.ImportProfile.Href,
		LastModified: s.Metadata.LastModified}
	out.Model = srm.ServiceModel(propValue(s.SystemCharacteristics.Props, "service-model"))
	names := map[string]string{}
	provider := map[string]bool{} // Azure's parties: not owners
	for _, rp := range deref(s.Metadata.ResponsibleParties) {
		if rp.RoleId == RoleProvider {
			for _, u := range rp.PartyUuids {
				provider[u] = true
			}
		}
	}
	for _, p := range deref(s.Metadata.Parties) {
		names[p.UUID] = p.Name
		if !provider[p.UUID] {
			out.Parties = append(out.Parties, SSPParty{UUID: p.UUID, Name: p.Name, Type: p.Type})
		}
	}
	this := ""
	for _, c := range s.SystemImplementation.Components {
		if c.Type == "this-system" {
			this = c.UUID
		}
	}
	for _, ir := range s.ControlImplementation.ImplementedRequirements {
		c := SSPControl{ControlID: ir.ControlId, Note: ir.Remarks,
			Label: propValue(ir.Props, "control-label"), Party: srm.Party(propValue(ir.Props, "party"))}
		for _, rr := range deref(ir.ResponsibleRoles) {
			if rr.RoleId == RoleControlOwner {
				for _, u := range deref(rr.PartyUuids) {
					c.Owner = names[u]
				}
			}
		}
		for _, l := range deref(ir.Links) {
			if l.Text == "Evidence" {
				c.Evidence = l.Href
			}
		}
		for _, bc := range deref(ir.ByComponents) {
			if bc.ComponentUuid == this {
				if bc.ImplementationStatus != nil {
					c.State, c.StateRemarks = bc.ImplementationStatus.State, bc.ImplementationStatus.Remarks
				}
				if len(deref(bc.Inherited)) == 0 || len(deref(bc.Satisfied)) > 0 {
					c.Customer = bc.Description
				}
				continue
			}
			if bc.Export != nil {
				for _, p := range deref(bc.Export.Provided) {
					c.Provided = p.Description
				}
			}
		}
		if c.Party == srm.Provider {
			c.Customer = ""
		}
		out.Controls = append(out.Controls, c)
	}
	return out, nil
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

func propValue(ps *[]oscal.Property, name string) string {
	for _, p := range deref(ps) {
		if p.Name == name && p.Ns == Namespace {
			return p.Value
		}
	}
	return ""
}

// ValidateSSP checks an OSCAL JSON document against the official OSCAL
// 1.1.2 JSON schema that go-oscal ships. The error lists up to five
// violations by JSON pointer.
func ValidateSSP(data []byte) error {
	// Decode to a map first: go-oscal, given bytes, parses them as YAML.
	var doc map[string]any
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &doc); err != nil {
		return fmt.Errorf("the document is not JSON (%v): %w", err, srm.ErrInvalid)
	}
	return validateOSCAL(doc)
}

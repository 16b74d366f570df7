// Package srm is the domain of the shared-responsibility matrix: service
// models, the seven defense-in-depth layers, responsibility areas, baselines,
// controls and workloads, and the rules that decide who secures what.
//
// It imports only the standard library. Every other package imports it:
// store persists its types, views renders them, web wires them to HTTP.
package srm

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Store and web wrap them; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid input")
	ErrConflict = errors.New("conflict")
	// ErrStale means a save was based on a version someone else has since
	// changed. It is a kind of ErrConflict.
	ErrStale = fmt.Errorf("changed by someone else since it was read: %w", ErrConflict)
	// ErrUnavailable means the database could not be reached or went away
	// mid-request (refused, reset, shutting down, timed out), as opposed to
	// a problem with the request itself: try again later.
	ErrUnavailable = errors.New("database unavailable")
)

// Party is who carries a control: the customer, the provider, or both.
type Party string

// The three parties of the responsibility chart.
const (
	Customer Party = "customer"
	Shared   Party = "shared"
	Provider Party = "provider"
)

// Parties lists the parties from most to least work for the customer.
var Parties = []Party{Customer, Shared, Provider}

// Valid reports whether p is one of the three parties.
func (p Party) Valid() bool { return p == Customer || p == Shared || p == Provider }

// Label is the word a person reads for p. The provider is Azure: the
// baselines srm ships are Microsoft's.
func (p Party) Label() string {
	switch p {
	case Customer:
		return "Customer"
	case Shared:
		return "Shared"
	case Provider:
		return "Azure"
	}
	return string(p)
}

// Counted reports whether controls carried by p are on the customer's to-do
// list and so count towards progress.
func (p Party) Counted() bool { return p == Customer || p == Shared }

// ServiceModel is how a workload is hosted.
type ServiceModel string

// The four service models, from most to least customer work.
const (
	OnPrem ServiceModel = "onprem"
	IaaS   ServiceModel = "iaas"
	PaaS   ServiceModel = "paas"
	SaaS   ServiceModel = "saas"
)

// ServiceModels lists the models in the order of the chart's columns.
var ServiceModels = []ServiceModel{OnPrem, IaaS, PaaS, SaaS}

// Valid reports whether m is one of the four service models.
func (m ServiceModel) Valid() bool {
	for _, v := range ServiceModels {
		if m == v {
			return true
		}
	}
	return false
}

// Label is the name a person reads for m.
func (m ServiceModel) Label() string {
	switch m {
	case OnPrem:
		return "On-premises"
	case IaaS:
		return "IaaS"
	case PaaS:
		return "PaaS"
	case SaaS:
		return "SaaS"
	}
	return string(m)
}

// Layer is one ring of defense in depth.
type Layer string

// The seven layers, from the outside in.
const (
	Physical    Layer = "physical"
	Identity    Layer = "identity"
	Perimeter   Layer = "perimeter"
	Network     Layer = "network"
	Compute     Layer = "compute"
	Application Layer = "application"
	Data        Layer = "data"
)

// Layers lists the seven layers from the outermost ring to the data.
var Layers = []Layer{Physical, Identity, Perimeter, Network, Compute, Application, Data}

// Valid reports whether l is one of the seven layers.
func (l Layer) Valid() bool { return l.Index() >= 0 }

// Index is l's position from the outside (0 = physical), or -1.
func (l Layer) Index() int {
	for i, v := range Layers {
		if l == v {
			return i
		}
	}
	return -1
}

// Label is the name a person reads for l.
func (l Layer) Label() string {
	switch l {
	case Physical:
		return "Physical"
	case Identity:
		return "Identity & access"
	case Perimeter:
		return "Perimeter"
	case Network:
		return "Network"
	case Compute:
		return "Compute"
	case Application:
		return "Application"
	case Data:
		return "Data"
	}
	return string(l)
}

// Summary says in a few words what the layer defends.
func (l Layer) Summary() string {
	switch l {
	case Physical:
		return "Buildings, hosts and the wires between them."
	case Identity:
		return "Who may do what, and the record of what they did."
	case Perimeter:
		return "The edge where the network meets the internet."
	case Network:
		return "Traffic between resources, and what may reach them."
	case Compute:
		return "The machines and devices that run and reach the code."
	case Application:
		return "The code itself and the secrets it uses."
	case Data:
		return "What attackers are after, wherever it is kept."
	}
	return ""
}

// Area is a responsibility area: a row of a provider's chart. Areas are
// slugs; each baseline gives every area a row label and four cells.
type Area string

// Control is one security control of the catalog. It sits in one layer and
// one responsibility area; the area decides who carries it.
type Control struct {
	ID          int64
	Layer       Layer
	Area        Area
	Title       string
	Description string
	// CustomerPart and ProviderPart say what each party does when the
	// control is shared.
	CustomerPart string
	ProviderPart string
	Builtin      bool
	Version      int64 // saves of a custom control are conditional on it

	// FrameworkID is the framework the control belongs to: srm's own
	// catalog, or one imported from OSCAL (see Framework).
	FrameworkID int64
	// The fields below are set for a control of an imported framework. Its
	// Description is the control's statement.
	Ref      string // the id as people write it: "AC-2", "AC-2(1)"
	OSCALID  string // the id in the OSCAL catalog: "ac-2", "ac-2.1"
	Family   string // "AC"
	Parent   string // the Ref of the control an enhancement belongs to
	Guidance string
	// Reading says why srm reads the control as its area by default: "srm
	// reads family SC as Network controls". ReadingReason is set when an
	// admin changed the reading: Area and Layer are then theirs, and
	// DefaultArea and DefaultLayer srm's.
	Reading       string
	ReadingReason string
	DefaultArea   Area
	DefaultLayer  Layer
}

// Name is how a person refers to c: "SC-7 Boundary Protection" for a
// framework control, the title for one of srm's own.
func (c Control) Name() string {
	if c.Ref == "" {
		return c.Title
	}
	return c.Ref + " " + c.Title
}

// ReadDifferently reports whether an admin departs from srm's default
// reading of the control.
func (c Control) ReadDifferently() bool { return c.ReadingReason != "" }

// Limits on text people type. They keep pages readable and the database sane.
const (
	MaxName  = 200
	MaxTitle = 200
	MaxText  = 4000
	MaxURL   = 2000
)

// Validate reports what is wrong with c, field by field.
func (c Control) Validate(areas []AreaInfo) Problems {
	p := Problems{}
	p.text("title", c.Title, MaxTitle, true, "Enter a title.")
	p.text("description", c.Description, MaxText, false, "")
	p.text("customer_part", c.CustomerPart, MaxText, false, "")
	p.text("provider_part", c.ProviderPart, MaxText, false, "")
	if !c.Layer.Valid() {
		p["layer"] = "Choose one of the seven layers."
	}
	known := false
	for _, a := range areas {
		known = known || a.Slug == c.Area
	}
	if !known {
		p["area"] = "Choose the responsibility area that decides who carries this control."
	}
	return p
}

// AreaInfo names an area independently of any baseline.
type AreaInfo struct {
	Slug Area
	Name string
	// ProviderPart and CustomerPart say what each party does in the area in
	// general. They describe a control that has no parts of its own (a
	// framework control): see Assignment.Parts.
	ProviderPart string
	CustomerPart string
}

// Workload is something a team runs and must secure: an application, a set
// of virtual machines, a SaaS subscription.
type Workload struct {
	ID          int64
	Name        string
	Description string
	Model       ServiceModel
	BaselineID  int64
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Frameworks are the ids of the frameworks the workload is held to.
	// Creating a workload without any attaches the default ones (srm's own
	// catalog).
	Frameworks []int64
}

// Validate reports what is wrong with w, field by field. It does not know
// which baselines exist; the store reports an unknown baseline.
func (w Workload) Validate() Problems {
	p := Problems{}
	p.text("name", w.Name, MaxName, true, "Enter a name.")
	p.text("description", w.Description, MaxText, false, "")
	if !w.Model.Valid() {
		p["model"] = "Choose on-premises, IaaS, PaaS or SaaS."
	}
	if w.BaselineID <= 0 {
		p["baseline"] = "Choose a baseline."
	}
	return p
}

// OwnerKind says whether an owner is one person or a team.
type OwnerKind string

// The two kinds of owner.
const (
	Person OwnerKind = "person"
	Team   OwnerKind = "team"
)

// Owner is a person or team that answers for controls.
type Owner struct {
	ID     int64
	Name   string
	Kind   OwnerKind
	UserID int64 // the account linked to this owner; 0 for none
}

// Validate reports what is wrong with o, field by field.
func (o Owner) Validate() Problems {
	p := Problems{}
	p.text("owner_name", o.Name, MaxName, true, "Enter the owner's name.")
	if o.Kind != Person && o.Kind != Team {
		p["owner_kind"] = "Choose person or team."
	}
	return p
}

// Status is the customer's work on one control of one workload. It is kept
// even when the control moves to the provider, so moving back restores it.
type Status struct {
	OwnerID       int64 // 0: nobody yet
	OwnerName     string
	Complete      bool
	CompletedBy   string
	CompletedAt   time.Time
	Note          string
	Evidence      string
	NotApplicable bool
	NAReason      string
	Version       int64
	UpdatedAt     time.Time
}

// Validate reports what is wrong with s, field by field.
func (s Status) Validate() Problems {
	p := Problems{}
	p.text("note", s.Note, MaxText, false, "")
	p.text("na_reason", s.NAReason, MaxText, false, "")
	if s.NotApplicable && strings.TrimSpace(s.NAReason) == "" {
		p["na_reason"] = "Say why this control does not apply to the workload."
	}
	if msg := checkEvidence(s.Evidence); msg != "" {
		p["evidence"] = msg
	}
	return p
}

func checkEvidence(raw string) string {
	if raw == "" {
		return ""
	}
	if msg := textProblem(raw, MaxURL); msg != "" {
		return msg
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "Enter a web address that starts with http:// or https://."
	}
	return ""
}

// Override departs from the baseline for one control of one workload: a PaaS
// workload that brings its own firewall carries the perimeter itself.
type Override struct {
	WorkloadID int64
	ControlID  int64
	Party      Party
	Reason     string
	CreatedAt  time.Time
	Version    int64 // 0: no override yet; saves are conditional on it
}

// Validate reports what is wrong with o, field by field.
func (o Override) Validate() Problems {
	p := Problems{}
	if !o.Party.Valid() {
		p["party"] = "Choose customer, shared or Azure."
	}
	p.text("reason", o.Reason, MaxText, true, "Say why this workload departs from the baseline.")
	return p
}

// Problems maps form field names to messages a person can act on. An empty
// Problems means the input is valid.
type Problems map[string]string

// text records a problem with field when value is missing (and required),
// too long, or holds characters that cannot be stored.
func (p Problems) text(field, value string, max int, required bool, missing string) {
	if required && strings.TrimSpace(value) == "" {
		p[field] = missing
		return
	}
	if msg := textProblem(value, max); msg != "" {
		p[field] = msg
	}
}

// textProblem says what is wrong with free text, or "" when nothing is.
func textProblem(value string, max int) string {
	switch {
	case !utf8.ValidString(value):
		return "This text is not valid UTF-8; paste it again as plain text."
	case strings.ContainsRune(value, 0):
		return "This text contains a NUL character, which srm cannot store; remove it."
	case utf8.RuneCountInString(value) > max:
		return "Keep this to " + strconv.Itoa(max) + " characters or fewer (it has " + strconv.Itoa(utf8.RuneCountInString(value)) + ")."
	}
	return ""
}

// CheckText reports what is wrong with free text of at most max characters,
// or "" when nothing is: the rule every validator applies to each text field.
func CheckText(value string, max int) string { return textProblem(value, max) }

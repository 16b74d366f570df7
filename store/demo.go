package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// demoWorkload is one workload of the demo portfolio and the work done on it.
type demoWorkload struct {
	name, description string
	model             srm.ServiceModel
	baseline          string
	owners            map[string]string // control title → owner name
	complete          []string          // control titles completed
	notApplicable     map[string]string // control title → reason
	override          *demoOverride
}

type demoOverride struct {
	control string
	party   srm.Party
	reason  string
}

var demoOwners = []srm.Owner{
	{Name: "Platform team", Kind: srm.Team},
	{Name: "Security operations", Kind: srm.Team},
	{Name: "Network team", Kind: srm.Team},
	{Name: "Priya Raman", Kind: srm.Person},
	{Name: "Tomás Ortega", Kind: srm.Person},
}

// The shipping company of the domain brief: one workload per service model
// at least, some work owned and done.
var demoPortfolio = []demoWorkload{
	{
		name: "Truck telemetry ingestion", model: srm.PaaS, baseline: "azure-chart",
		description: "Event Hubs pipeline receiving GPS and engine data from the fleet.",
		owners: map[string]string{
			"Access to infrastructure and change control":            "Platform team",
			"Single sign-on and multi-factor authentication":         "Security operations",
			"Audit of events and changes":                            "Security operations",
			"Limit communication between resources":                  "Network team",
			"Deny by default":                                        "Network team",
			"Secrets kept in a secure store":                         "Priya Raman",
			"Applications free of known vulnerabilities":             "Priya Raman",
			"Data in cloud storage":                                  "Platform team",
			"Regulatory confidentiality, integrity and availability": "Security operations",
		},
		complete: []string{"Single sign-on and multi-factor authentication", "Deny by default",
			"Secrets kept in a secure store", "Data in cloud storage"},
		notApplicable: map[string]string{
			"Data on virtual machine disks": "A managed event pipeline: no virtual machines of ours.",
			"Data in SaaS applications":     "No SaaS application holds this data.",
		},
	},
	{
		name: "Shipment tracker web app", model: srm.PaaS, baseline: "azure-chart",
		description: "Customer-facing web app and mobile API on App Service with a Cosmos DB back end.",
		owners: map[string]string{
			"Single sign-on and multi-factor authentication": "Security operations",
			"Perimeter firewall with detection and alerts":   "Network team",
			"DDoS protection": "Network team",
			"Applications free of known vulnerabilities": "Tomás Ortega",
			"Security as a design requirement":           "Tomás Ortega",
			"Data in databases":                          "Platform team",
		},
		complete: []string{"Single sign-on and multi-factor authentication", "DDoS protection", "Data in databases"},
		override: &demoOverride{control: "Perimeter firewall with detection and alerts", party: srm.Customer,
			reason: "We run our own web application firewall appliance in front of the app; Azure's edge filtering is not used."},
	},
	{
		name: "Depot servers", model: srm.IaaS, baseline: "azure-chart",
		description: "Virtual machines that replaced the physical servers in the depots.",
		owners: map[string]string{
			"Secure access to virtual machines":           "Platform team",
			"Endpoint protection":                         "Security operations",
			"Patching of systems":                         "Platform team",
			"Data on virtual machine disks":               "Platform team",
			"Secure connectivity to on-premises networks": "Network team",
		},
		complete: []string{"Secure access to virtual machines", "Patching of systems", "Secure connectivity to on-premises networks"},
	},
	{
		name: "Office suite", model: srm.SaaS, baseline: "azure-2026",
		description: "Mail, documents and chat for every employee.",
		owners: map[string]string{
			"Single sign-on and multi-factor authentication": "Security operations",
			"Data in SaaS applications":                      "Priya Raman",
			"Secure configuration of the service":            "Priya Raman",
		},
		complete: []string{"Single sign-on and multi-factor authentication"},
		notApplicable: map[string]string{
			"Data on virtual machine disks": "A SaaS mail and office service has no virtual machines of ours.",
			"Data in databases":             "We hold no databases of our own in this service.",
		},
	},
	{
		name: "Warehouse management system", model: srm.OnPrem, baseline: "azure-chart",
		description: "Still running on servers in the central warehouse.",
		owners: map[string]string{
			"Physical security of buildings and datacenters": "Tomás Ortega",
			"Protection of physical hosts":                   "Tomás Ortega",
			"Patching of systems":                            "Platform team",
		},
		complete: []string{"Physical security of buildings and datacenters"},
	},
}

// SeedDemo fills an empty database with the demo portfolio: workloads of
// every service model with some controls owned and complete. It reports
// whether it added anything; a database with workloads is left alone.
func (s *Store) SeedDemo(ctx context.Context) (bool, error) {
	var added bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		added, err = s.on(tx).seedDemo(ctx)
		return err
	})
	return added, err
}

func (s *Store) seedDemo(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM workloads`).Scan(&n); err != nil {
		return false, fmt.Errorf("store: seed demo: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	bs, err := s.Baselines(ctx)
	if err != nil {
		return false, err
	}
	controls, err := s.Controls(ctx)
	if err != nil {
		return false, err
	}
	byTitle := map[string]int64{}
	for _, c := range controls {
		byTitle[c.Title] = c.ID
	}
	lookup := func(title string) (int64, error) {
		id, ok := byTitle[title]
		if !ok {
			return 0, fmt.Errorf("store: seed demo: no control %q in the catalog", title)
		}
		return id, nil
	}
	owners := map[string]int64{}
	for _, o := range demoOwners {
		got, err := s.EnsureOwner(ctx, o)
		if err != nil {
			return false, err
		}
		owners[o.Name] = got.ID
	}
	for _, d := range demoPortfolio {
		w := srm.Workload{Name: d.name, Description: d.description, Model: d.model}
		for _, b := range bs {
			if b.Slug == d.baseline {
				w.BaselineID = b.ID
			}
		}
		if err := s.CreateWorkload(ctx, &w); err != nil {
			return false, err
		}
		done := map[string]bool{}
		for _, t := range d.complete {
			done[t] = true
		}
		for title, owner := range d.owners {
			cid, err := lookup(title)
			if err != nil {
				return false, err
			}
			st := srm.Status{OwnerID: owners[owner], Complete: done[title]}
			if err := s.SaveStatus(ctx, w.ID, cid, st); err != nil {
				return false, err
			}
		}
		for title, reason := range d.notApplicable {
			cid, err := lookup(title)
			if err != nil {
				return false, err
			}
			if err := s.SaveStatus(ctx, w.ID, cid, srm.Status{NotApplicable: true, NAReason: reason}); err != nil {
				return false, err
			}
		}
		if o := d.override; o != nil {
			cid, err := lookup(o.control)
			if err != nil {
				return false, err
			}
			if err := s.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: cid, Party: o.party, Reason: o.reason}); err != nil {
				return false, err
			}
		}
	}
	// Spread completion times over the past weeks so the page looks lived in.
	if _, err := s.exec(ctx, `
		UPDATE statuses SET completed_at = now() - (control_id % 20) * interval '1 day' - interval '3 hours'
		FROM actor WHERE complete`); err != nil {
		return false, fmt.Errorf("store: seed demo: %w", err)
	}
	return true, nil
}

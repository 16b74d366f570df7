package srm_test

import (
	"fmt"
	"testing"

	"github.com/srmhq/srm"
)

// benchCatalog is a baseline with one area per model pattern and n controls
// spread over the layers, with statuses on every other control.
func benchCatalog(n int) (srm.Baseline, []srm.Control, map[int64]srm.Status, map[int64]srm.Override) {
	b := srm.Baseline{Name: "Bench", Rows: []srm.Row{
		{Area: "data", Label: "Data", InSource: true, Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Customer, srm.PaaS: srm.Customer, srm.SaaS: srm.Customer}},
		{Area: "net", Label: "Network", InSource: true, Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Customer, srm.PaaS: srm.Shared, srm.SaaS: srm.Provider}},
		{Area: "host", Label: "Hosts", InSource: true, Cells: map[srm.ServiceModel]srm.Party{srm.OnPrem: srm.Customer, srm.IaaS: srm.Provider, srm.PaaS: srm.Provider, srm.SaaS: srm.Provider}},
	}}
	areas := []srm.Area{"data", "net", "host"}
	controls := make([]srm.Control, n)
	statuses := map[int64]srm.Status{}
	overrides := map[int64]srm.Override{}
	for i := range controls {
		id := int64(i + 1)
		controls[i] = srm.Control{ID: id, Layer: srm.Layers[i%len(srm.Layers)], Area: areas[i%len(areas)], Title: fmt.Sprint("control ", i)}
		if i%2 == 0 {
			statuses[id] = srm.Status{OwnerID: 1, OwnerName: "Team", Complete: i%4 == 0}
		}
		if i%10 == 0 {
			overrides[id] = srm.Override{ControlID: id, Party: srm.Customer, Reason: "own appliance"}
		}
	}
	return b, controls, statuses, overrides
}

func BenchmarkAssess(b *testing.B) {
	for _, n := range []int{25, 500} {
		b.Run(fmt.Sprint(n, " controls"), func(b *testing.B) {
			base, controls, statuses, overrides := benchCatalog(n)
			b.ReportAllocs()
			for b.Loop() {
				as, err := srm.Assess(base, srm.PaaS, controls, overrides, statuses)
				if err != nil {
					b.Fatal(err)
				}
				_ = srm.TallyByLayer(as)
			}
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	base, controls, statuses, overrides := benchCatalog(500)
	before, _ := srm.Assess(base, srm.IaaS, controls, overrides, statuses)
	after, _ := srm.Assess(base, srm.PaaS, controls, overrides, statuses)
	b.ReportAllocs()
	for b.Loop() {
		if len(srm.Diff(before, after)) == 0 {
			b.Fatal("no moves")
		}
	}
}

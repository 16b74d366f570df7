package store_test

import (
	"testing"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// Every area of both Azure baselines carries a general split of work
// (migration 000017), and the catalog hands it to every baseline row, so
// a framework control of any area can be described by its area.
func TestEveryAreaHasParts(t *testing.T) {
	t.Parallel()
	st := store.New(openPool(t))
	cat, err := st.Catalog(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cat.Areas() {
		if a.ProviderPart == "" || a.CustomerPart == "" {
			t.Errorf("area %s: provider part %q, customer part %q", a.Slug, a.ProviderPart, a.CustomerPart)
		}
	}
	bs := cat.Baselines()
	if len(bs) < 2 {
		t.Fatalf("%d baselines, want both Azure ones", len(bs))
	}
	for _, b := range bs {
		for _, r := range b.Rows {
			if r.ProviderPart == "" || r.CustomerPart == "" {
				t.Errorf("%s, row %s: no general split of work", b.Slug, r.Label)
			}
		}
	}
}

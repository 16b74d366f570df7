package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestImportStatementsDoNotGrowWithRows: importing ten workloads with five
// statuses each takes about as many statements as importing one with one:
// the rows go in multi-row statements, never one round trip each.
func TestImportStatementsDoNotGrowWithRows(t *testing.T) {
	t.Parallel()
	count := func(rows int) int64 {
		pool, counter := storetest.CountingPool(t)
		st := store.New(pool)
		ctx := store.WithActor(context.Background(), store.Actor{Name: "importer@example.com"})
		cs, err := st.Controls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("workload,model,baseline,control id,control,owner,complete,note\n")
		for w := range rows {
			for k := range rows / 2 {
				c := cs[k]
				b.WriteString("W" + itoa(int64(w)) + ",IaaS,Azure chart," + itoa(c.ID) + "," + c.Title + ",Owner " + itoa(int64(k)) + ",yes,n\n")
			}
		}
		opt, err := st.ImportOptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		im, err := exchange.ReadCSV(strings.NewReader(b.String()), opt)
		if err != nil || !im.OK() {
			t.Fatalf("parse: %v %v", err, im.Problems)
		}
		counter.Reset()
		res, err := st.ImportWorkloads(ctx, im, false)
		if err != nil || !res.Applied || len(res.Created) != rows {
			t.Fatalf("import of %d = %+v, %v", rows, res, err)
		}
		return counter.Statements()
	}
	small, large := count(2), count(10)
	t.Logf("statements: %d for 2 workloads × 1 status, %d for 10 × 5", small, large)
	if large > small+10 {
		t.Errorf("import statements grow with the rows: %d for 2 workloads, %d for 10", small, large)
	}
}

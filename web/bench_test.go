//go:build srmbench

package web_test

import (
	"net/http"
	"testing"

	"github.com/srmhq/srm"
)

// TestBenchWorkloadRouteExistsOnlyForBenchmarks: the binary `make bench`
// measures (-tags srmbench) has the unrendered workload page, behind a
// session like the real page, and the ceiling, behind nothing.
// Run: go test -tags srmbench -run Bench ./web/
func TestBenchWorkloadRouteExistsOnlyForBenchmarks(t *testing.T) {
	t.Parallel()
	bench := newHarness(t)
	w := bench.workload("Depot servers", srm.IaaS)
	path := "/_bench/workload/" + itoa(w.ID)
	bench.signInAs(srm.RoleViewer)
	rec := bench.get(path)
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET %s in the benchmark build, signed in = %d %q, want 200 ok", path, rec.Code, rec.Body.String())
	}
	if rec := bench.get("/_bench/workload/999999"); rec.Code != http.StatusNotFound {
		t.Errorf("GET an unknown workload in the benchmark build = %d, want 404", rec.Code)
	}
	if rec := bench.signedOut().get(path); rec.Code != http.StatusSeeOther {
		t.Errorf("GET %s in the benchmark build, signed out = %d, want 303 to sign in", path, rec.Code)
	}
	if rec := bench.signedOut().get("/_bench/ceiling"); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("GET /_bench/ceiling in the benchmark build = %d %q, want 200 ok", rec.Code, rec.Body.String())
	}
}

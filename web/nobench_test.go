//go:build !srmbench

package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/srmhq/srm"
)

// TestNormalBuildServesNoBenchmarkEndpoints: the benchmark endpoints are
// built only into the binary `make bench` measures (-tags srmbench). A
// normal build treats their addresses like any unknown one: sign in first,
// then 404.
func TestNormalBuildServesNoBenchmarkEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	viewer := h.as(srm.RoleViewer)
	for _, path := range []string{"/_bench/workload/" + itoa(w.ID), "/_bench/ceiling"} {
		if rec := h.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s signed in as an admin = %d, want 404", path, rec.Code)
		}
		if rec := viewer.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s signed in as a viewer = %d, want 404", path, rec.Code)
		}
		wantRedirect(t, "GET "+path+" signed out", h.signedOut().get(path), "/signin?next="+url.QueryEscape(path))
	}
}

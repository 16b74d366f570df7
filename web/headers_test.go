package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/srmhq/srm"
)

// TestHeadAnswersAsGetWithoutTheBody: a HEAD request gets what the GET of
// the same address gets (status and every header, Content-Length
// included) and no body, signed in or not.
func TestHeadAnswersAsGetWithoutTheBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Payroll", srm.PaaS)
	out := h.signedOut()
	cases := []struct {
		name   string
		as     *harness
		path   string
		status int
	}{
		{"portfolio, signed in", h, "/", http.StatusOK},
		{"a workload, signed in", h, workloadPath(w.ID), http.StatusOK},
		{"account page, signed in", h, "/account", http.StatusOK},
		{"sign-in page, signed out", out, "/signin", http.StatusOK},
		{"a page that needs signing in, signed out", out, "/owners", http.StatusSeeOther},
		{"a static file", out, "/static/css/app.css", http.StatusOK},
		{"health check", out, "/healthz", http.StatusOK},
	}
	for _, c := range cases {
		get := c.as.get(c.path)
		head := c.as.do(httptest.NewRequest(http.MethodHead, c.path, nil))
		if get.Code != c.status {
			t.Errorf("%s: GET %s = %d, want %d", c.name, c.path, get.Code, c.status)
		}
		if head.Code != get.Code {
			t.Errorf("%s: HEAD %s = %d, GET = %d: want the same", c.name, c.path, head.Code, get.Code)
		}
		if head.Body.Len() != 0 {
			t.Errorf("%s: HEAD %s sent a body of %d bytes, want none", c.name, c.path, head.Body.Len())
		}
		if c.status == http.StatusOK && get.Body.Len() == 0 {
			t.Errorf("%s: GET %s sent no body", c.name, c.path)
		}
		for k, gv := range get.Header() {
			if k == "Set-Cookie" || k == "Date" {
				continue
			}
			if hv := head.Header().Values(k); strings.Join(hv, ", ") != strings.Join(gv, ", ") {
				t.Errorf("%s: HEAD %s header %s = %q, GET has %q", c.name, c.path, k, hv, gv)
			}
		}
		for k := range head.Header() {
			if _, ok := get.Header()[k]; !ok && k != "Set-Cookie" {
				t.Errorf("%s: HEAD %s has header %s that GET lacks", c.name, c.path, k)
			}
		}
	}

	// Through a real HTTP server, as a client sees it.
	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	resp, err := http.Head(srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := out.get("/signin").Header().Get("Content-Length")
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Length") != want {
		t.Errorf("HEAD /signin over HTTP = %d, %d bytes of body, Content-Length %q; want 200, none, %q",
			resp.StatusCode, len(body), resp.Header.Get("Content-Length"), want)
	}
}

// TestEveryResponseTurnsOffUnusedBrowserFeaturesAndIsolatesItsWindow: the
// Permissions-Policy and Cross-Origin-Opener-Policy headers are on every
// kind of answer, signed in or out, pages, redirects, errors and files.
func TestEveryResponseTurnsOffUnusedBrowserFeaturesAndIsolatesItsWindow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	out := h.signedOut()
	cases := []struct {
		name string
		rec  *httptest.ResponseRecorder
	}{
		{"sign-in page", out.get("/signin")},
		{"redirect to sign in", out.get("/owners")},
		{"portfolio", h.get("/")},
		{"not found, signed in", h.get("/no/such/page")},
		{"forbidden", h.as(srm.RoleViewer).get("/admin/users")},
		{"a form post", h.post("/owners", nil)},
		{"a static file", out.get("/static/css/app.css")},
		{"health check", out.get("/healthz")},
		{"HEAD of a page", h.do(httptest.NewRequest(http.MethodHead, "/", nil))},
	}
	directive := regexp.MustCompile(`^[a-z][a-z-]*=\(\)$`)
	for _, c := range cases {
		hd := c.rec.Header()
		if got := hd.Get("Cross-Origin-Opener-Policy"); got != "same-origin" {
			t.Errorf("%s (%d): Cross-Origin-Opener-Policy = %q, want same-origin", c.name, c.rec.Code, got)
		}
		pp := hd.Get("Permissions-Policy")
		off := map[string]bool{}
		for _, d := range strings.Split(pp, ",") {
			d = strings.TrimSpace(d)
			if !directive.MatchString(d) {
				t.Errorf("%s: Permissions-Policy directive %q is not feature=()", c.name, d)
			}
			off[strings.TrimSuffix(d, "=()")] = true
		}
		for _, f := range []string{"camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"} {
			if !off[f] {
				t.Errorf("%s (%d): Permissions-Policy %q does not turn off %s", c.name, c.rec.Code, pp, f)
			}
		}
		if off["interest-cohort"] {
			t.Errorf("%s: Permissions-Policy names interest-cohort, which browsers no longer recognise", c.name)
		}
	}
}

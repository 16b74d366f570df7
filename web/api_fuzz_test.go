package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

// FuzzAPIBody sends any body, of any content type, to every write of the
// API with an admin's read-write token. For any input: never a 5xx, no
// warning or error logged, every refusal an RFC 9457 problem that is
// JSON, and what is stored passes srm's validators.
func FuzzAPIBody(f *testing.F) {
	s := newFzServer(f)
	w := s.workload(f, "API fuzz target", srm.OnPrem)
	c := s.customerControl(f, w)
	u := newUser(f, s.st, "api-fuzz@example.com", srm.RoleAdmin)
	_, token, err := s.st.CreateToken(storetest.Context(f), u.ID, "fuzz", true, srm.DefaultTokenLifetime)
	if err != nil {
		f.Fatal(err)
	}
	targets := []struct{ method, path string }{
		{"POST", "/api/v1/workloads"},
		{"PUT", fmt.Sprint("/api/v1/workloads/", w.ID)},
		{"PUT", fmt.Sprint("/api/v1/workloads/", w.ID, "/controls/", c.ID)},
	}
	bodies := []string{
		``, `{}`, `[]`, `null`, `"x"`, `{"name":`, `{"name":"x"}{}`, "{\n\"name\": \"a\",\n\"model\" \"paas\"}",
		`{"name":"Fuzz workload","model":"iaas","baseline_id":1}`,
		`{"name":"API fuzz target","model":"iaas","baseline_id":1,"version":1}`,
		`{"name":"\u0000","model":"iaas","baseline_id":1,"version":1}`,
		`{"name":"\ud800","model":"iaas","baseline_id":1}`,
		`{"version":0,"owner":"Fuzz team","owner_kind":"team","complete":true,"note":"<script>","evidence":"javascript:alert(1)"}`,
		`{"version":0,"not_applicable":true}`,
		`{"version":-1}`, `{"version":1e400}`, `{"version":"1"}`, `{"baseline_id":9223372036854775808}`,
		`{"frameworks":[0,-1,99999]}`, `{"owner_kind":"robot","owner":"x"}`, `{"unknown":1}`,
		"{\"note\":\"" + strings.Repeat("x", 5000) + "\",\"version\":0}",
		"\xff\xfe{}", "\x00",
	}
	types := []string{"application/json", "application/json; charset=utf-8", "text/plain", "", "application/problem+json", "APPLICATION/JSON", "application/json; charset=\""}
	for i, b := range bodies {
		f.Add(uint8(i), types[i%len(types)], []byte(b), "")
		f.Add(uint8(i+1), "application/json", []byte(b), `"1"`)
	}
	f.Fuzz(func(t *testing.T, target uint8, contentType string, body []byte, ifMatch string) {
		tg := targets[int(target)%len(targets)]
		req := httptest.NewRequest(tg.method, tg.path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if ifMatch != "" && !strings.ContainsAny(ifMatch, "\r\n\x00") {
			req.Header.Set("If-Match", ifMatch)
		}
		rec := httptest.NewRecorder()
		s.srv.ServeHTTP(rec, req)
		s.check(t, tg.method+" "+tg.path, rec, http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusNotFound,
			http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: the answer is not a JSON object: %v", tg.method, tg.path, err)
		}
		if rec.Code >= 400 && (rec.Header().Get("Content-Type") != "application/problem+json" || v["status"] != float64(rec.Code) ||
			!strings.HasPrefix(fmt.Sprint(v["type"]), "urn:srm:problem:")) {
			t.Fatalf("%s %s: %d is not a problem: %s", tg.method, tg.path, rec.Code, snippet(rec.Body.String()))
		}
		s.everythingValid(t)
	})
}

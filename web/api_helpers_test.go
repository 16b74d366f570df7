package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

// Every request the API tests make goes through apiClient.do, which
// checks it and its answer against the OpenAPI document
// (api_openapi.json) with kin-openapi's openapi3filter: the answer must be
// one the document describes for the operation and status, body and
// headers included; a request the document refuses must be refused by the
// server too (4xx); a request to an address the document lacks must get a
// 404 or 405 problem. So the document cannot drift from the code.

var (
	apiDocOnce   sync.Once
	apiDoc       *openapi3.T
	apiDocRouter routers.Router
	apiDocErr    error
)

// openAPI loads and validates the document once per test binary.
func openAPI(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	apiDocOnce.Do(func() {
		// The import's XLSX body is a file, as application/octet-stream is.
		openapi3filter.RegisterBodyDecoder("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", openapi3filter.FileBodyDecoder)
		raw, err := os.ReadFile("api_openapi.json")
		if err != nil {
			apiDocErr = err
			return
		}
		loader := openapi3.NewLoader()
		if apiDoc, apiDocErr = loader.LoadFromData(raw); apiDocErr != nil {
			return
		}
		if apiDocErr = apiDoc.Validate(context.Background()); apiDocErr != nil {
			return
		}
		apiDocRouter, apiDocErr = legacy.NewRouter(apiDoc)
	})
	if apiDocErr != nil {
		t.Fatalf("the OpenAPI document: %v", apiDocErr)
	}
	return apiDoc, apiDocRouter
}

// apiClient calls the API of h's server with a token ("" for none).
type apiClient struct {
	h     *harness
	token string
}

// apiResp is an answer of the API.
type apiResp struct {
	*httptest.ResponseRecorder
	t testing.TB
}

// json decodes the body into a map.
func (r apiResp) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		r.t.Fatalf("answer is not a JSON object: %v\n%s", err, snippet(r.Body.String()))
	}
	return m
}

// decode decodes the body into v.
func (r apiResp) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), v); err != nil {
		r.t.Fatalf("decode the answer: %v\n%s", err, snippet(r.Body.String()))
	}
}

// problemType is the type of a problem answer, without the URN's prefix.
func (r apiResp) problemType() string {
	r.t.Helper()
	if ct := r.Header().Get("Content-Type"); ct != "application/problem+json" {
		r.t.Fatalf("Content-Type = %q, want application/problem+json; body:\n%s", ct, snippet(r.Body.String()))
	}
	typ, _ := r.json()["type"].(string)
	return strings.TrimPrefix(typ, "urn:srm:problem:")
}

// want fails unless the answer has status and, for a problem, kind.
func (r apiResp) want(what string, status int, kind string) apiResp {
	r.t.Helper()
	if r.Code != status {
		r.t.Fatalf("%s: status = %d, want %d; body:\n%s", what, r.Code, status, snippet(r.Body.String()))
	}
	if kind != "" {
		if got := r.problemType(); got != kind {
			r.t.Fatalf("%s: problem type %q, want %q; body:\n%s", what, got, kind, snippet(r.Body.String()))
		}
	}
	return r
}

// do sends method path with body (a string is sent as it is, anything
// else as JSON, nil as no body) and headers (name, value, …), checking
// both against the OpenAPI document.
func (c apiClient) do(method, path string, body any, headers ...string) apiResp {
	t := c.h.t
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	build := func() *http.Request {
		var req *http.Request
		if raw == nil {
			req = httptest.NewRequest(method, path, nil)
		} else {
			req = httptest.NewRequest(method, path, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		setHeaders(req, headers)
		return req
	}
	doc, router := openAPI(t)
	req := build()
	route, params, routeErr := router.FindRoute(req)
	var reqErr error
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
				return nil
			}
			return errors.New("no bearer token")
		},
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if routeErr == nil {
		reqErr = openapi3filter.ValidateRequest(t.Context(), in)
	}

	served := build()
	rec := httptest.NewRecorder()
	c.h.srv.ServeHTTP(rec, served)
	res := apiResp{rec, t}

	if routeErr != nil {
		// Not an operation of the document: the server must agree.
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s is not in the OpenAPI document (%v), but the server answered %d", method, path, routeErr, rec.Code)
		}
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
		}
		if err := doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s %s: the answer is not a Problem of the document: %v", method, path, err)
		}
		res.problemType()
		return res
	}
	if reqErr != nil && rec.Code < 400 {
		t.Errorf("%s %s: the OpenAPI document refuses this request (%v), but the server answered %d", method, path, reqErr, rec.Code)
	}
	if err := openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: opts,
	}); err != nil {
		t.Errorf("%s %s: the answer (%d) does not match the OpenAPI document: %v\n%s", method, path, rec.Code, err, snippet(rec.Body.String()))
	}
	if rec.Code >= 400 {
		res.problemType()
	}
	return res
}

func (c apiClient) get(path string, headers ...string) apiResp {
	c.h.t.Helper()
	return c.do(http.MethodGet, path, nil, headers...)
}

// apiToken makes an account with role and a token of it (read-write when
// write), and returns a client with that token.
func (h *harness) apiToken(role srm.Role, write bool) (apiClient, srm.User) {
	h.t.Helper()
	u := newUser(h.t, h.st, string(role)+"-api"+itoa(userSeq.Add(1))+"@example.com", role)
	_, secret, err := h.st.CreateToken(storetest.Context(h.t), u.ID, "test token", write, 24*time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return apiClient{h: h, token: secret}, u
}

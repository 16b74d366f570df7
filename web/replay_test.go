package web_test

// TestReplayHostileRequests sends over 10,000 malformed requests to srm
// on a real TCP server: the strings of testdata/naughty.txt (SQL, format
// strings, Unicode edge cases, right-to-left and zero-width characters, NUL
// bytes, invalid UTF-8, very long text, CRLF, path traversal) taking turns
// in the fields of every form and in ids and query strings, HTML and
// script payloads in every text field of every form, forms of 10,000
// fields, bodies over the 1 MiB limit, import uploads of files carrying
// those strings in every cell, broken files and uploads over the import's
// limit, bad methods, bad content types,
// malformed ids, garbage query strings and raw protocol garbage. No answer
// may be a 5xx, the server may log no panic, oversized bodies must get 413,
// and everything stored must pass srm's validators.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

const (
	replayWorkers = 4
	replayMin     = 10_000
	replayBudget  = 3 * time.Minute // a guard against a hang: the replay takes about 27 s with -race on an idle 2-core machine (imports included); a machine loaded by other builds has needed over 2 minutes
	maxBodyBytes  = 1 << 20         // web's limit on request bodies
)

var (
	naughtyCode = regexp.MustCompile(`\{\{(?:U\+([0-9A-Fa-f]{4,6})|0x([0-9A-Fa-f]{2}))\}\}`)
	naughtyRep  = regexp.MustCompile(`\{\{rep (\d+) (.+?)\}\}`)
)

// loadNaughty reads testdata/naughty.txt and expands its tokens (see the
// file's header).
func loadNaughty(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("testdata/naughty.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := naughtyCode.ReplaceAllStringFunc(line, func(tok string) string {
			m := naughtyCode.FindStringSubmatch(tok)
			if m[1] != "" {
				r, _ := strconv.ParseUint(m[1], 16, 32)
				return string(rune(r))
			}
			b, _ := strconv.ParseUint(m[2], 16, 8)
			return string([]byte{byte(b)})
		})
		s = naughtyRep.ReplaceAllStringFunc(s, func(tok string) string {
			m := naughtyRep.FindStringSubmatch(tok)
			n, _ := strconv.Atoi(m[1])
			return strings.Repeat(m[2], n)
		})
		if strings.Contains(strings.ToLower(s), "panic") {
			t.Fatalf("naughty entry %q mentions panic: the replay greps the logs for that word", line)
		}
		out = append(out, s)
	}
	if len(out) < 300 {
		t.Fatalf("testdata/naughty.txt has %d entries, want several hundred", len(out))
	}
	return out
}

// replayLog keeps everything the server logs: its slog lines and the
// http.Server's own error log.
type replayLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *replayLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *replayLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// replayReq is one request of the replay.
type replayReq struct {
	what   string // how the failure report groups it
	method string
	path   string // escaped path, sent as is
	query  string // raw query, sent as is
	header http.Header
	form   func() url.Values // built when sent, so versions are current
	body   func() io.Reader  // a raw body, when there is no form
	chunk  bool              // hide the length: send the body chunked
	want   int               // 0: anything below 500
}

// replayTargets are the records the replay's forms aim at.
type replayTargets struct {
	st       *store.Store
	baseline int64
	areas    []srm.AreaInfo
	edits    []srm.Workload // workloads the edit forms change (IaaS, never moved)
	control  int64          // a control their customer carries
	owner    int64
	custom   int64 // a custom control the edit form changes
	// For the import's uploads: the baseline's name and the control's title.
	baselineName, controlTitle string
}

func (rt *replayTargets) workloadVersion(id int64) string {
	w, err := rt.st.Workload(context.Background(), id)
	if err != nil {
		return "0"
	}
	return strconv.FormatInt(w.Version, 10)
}

func (rt *replayTargets) statusVersion(wid int64) string {
	ss, err := storedStatuses(rt.st, context.Background(), wid)
	if err != nil {
		return "0"
	}
	return strconv.FormatInt(ss[rt.control].Version, 10)
}

func (rt *replayTargets) overrideVersion(wid int64) string {
	ovs, err := rt.st.Overrides(context.Background(), wid)
	if err != nil {
		return "0"
	}
	return strconv.FormatInt(ovs[rt.control].Version, 10)
}

func (rt *replayTargets) controlVersion() string {
	c, err := storedControl(rt.st, context.Background(), rt.custom)
	if err != nil {
		return "0"
	}
	return strconv.FormatInt(c.Version, 10)
}

// forms is, for every form srm has, its path, a valid submission and the
// names of its fields. i picks the workload an edit aims at.
func (rt *replayTargets) forms(i int) []replayForm {
	w := rt.edits[i%len(rt.edits)]
	b := strconv.FormatInt(rt.baseline, 10)
	area := string(rt.areas[i%len(rt.areas)].Slug)
	return []replayForm{
		{"workload create", "/workloads", func() url.Values {
			return url.Values{"name": {fmt.Sprintf("Replay %d", i)}, "description": {"d"}, "model": {"paas"}, "baseline": {b}}
		}, []string{"name", "description", "model", "baseline"}},
		{"workload edit", workloadPath(w.ID), func() url.Values {
			return url.Values{"name": {w.Name}, "description": {"d"}, "model": {"iaas"}, "baseline": {b}, "version": {rt.workloadVersion(w.ID)}}
		}, []string{"name", "description", "model", "baseline", "version", "confirm"}},
		{"status", statusPath(w.ID, rt.control), func() url.Values {
			return url.Values{"owner": {"Replay team"}, "owner_kind": {"team"}, "note": {"n"}, "evidence": {"https://example.com/e"},
				"version": {rt.statusVersion(w.ID)}}
		}, []string{"owner", "owner_kind", "complete", "note", "evidence", "not_applicable", "na_reason", "version"}},
		{"override", statusPath(w.ID, rt.control) + "/override", func() url.Values {
			return url.Values{"party": {"shared"}, "reason": {"r"}, "version": {rt.overrideVersion(w.ID)}}
		}, []string{"party", "reason", "version"}},
		{"owner", "/owners", func() url.Values {
			return url.Values{"owner_name": {fmt.Sprintf("Replay owner %d", i)}, "owner_kind": {"person"}}
		}, []string{"owner_name", "owner_kind"}},
		{"control create", "/controls", func() url.Values {
			// Each new control recomputes every workload's progress: only
			// one submission in 50 is otherwise valid, so few are created.
			a := area
			if i%50 != 0 {
				a = "no-such-area"
			}
			return url.Values{"title": {fmt.Sprintf("Replay control %d", i)}, "layer": {"data"}, "area": {a}}
		}, []string{"title", "layer", "area", "description", "customer_part", "provider_part"}},
		{"control edit", fmt.Sprintf("/controls/%d", rt.custom), func() url.Values {
			// A saved control moves the catalog's version, and every
			// request then reloads the catalog: only one submission in ten
			// is on the current version, the rest end in a 409 (or a 422).
			version := "1"
			if i%10 == 0 {
				version = rt.controlVersion()
			}
			return url.Values{"title": {"Replay custom"}, "layer": {"data"}, "area": {string(rt.areas[0].Slug)}, "version": {version}}
		}, []string{"title", "layer", "area", "description", "customer_part", "provider_part", "version"}},
	}
}

// replayForm is one of srm's forms.
type replayForm struct {
	name   string
	path   string
	valid  func() url.Values
	fields []string
}

// replayRequests builds the replay.
func replayRequests(rt *replayTargets, naughty []string) []replayReq {
	var reqs []replayReq
	add := func(r replayReq) { reqs = append(reqs, r) }
	htmx := http.Header{"Hx-Request": {"true"}}
	wp := workloadPath(rt.edits[0].ID)
	op := "/owners/" + itoa(rt.owner)

	// Every naughty string in three text fields and one choice of the
	// forms (in turn, so each field gets its share), in ids and in query
	// strings. Every other string with markup or a script goes into every
	// text field of every form, and into an evidence link that is valid.
	type field struct {
		form  int
		name  string
		setup func(url.Values) // adjusts the rest of the form, or nil
	}
	na := func(v url.Values) { v.Set("not_applicable", "1") }
	texts := []field{
		{0, "name", nil}, {0, "description", nil}, {1, "name", nil}, {1, "description", nil},
		{2, "owner", nil}, {2, "note", nil}, {2, "evidence", nil}, {2, "na_reason", na},
		{3, "reason", nil}, {4, "owner_name", nil},
		{5, "title", nil}, {5, "description", nil}, {5, "customer_part", nil}, {5, "provider_part", nil},
		{6, "title", nil}, {6, "description", nil}, {6, "customer_part", nil}, {6, "provider_part", nil},
	}
	choices := []field{
		{0, "model", nil}, {0, "baseline", nil}, {1, "model", nil}, {1, "baseline", nil}, {1, "version", nil}, {1, "confirm", nil},
		{2, "owner_kind", nil}, {2, "complete", nil}, {2, "not_applicable", nil}, {2, "version", nil},
		{3, "party", nil}, {3, "version", nil}, {4, "owner_kind", nil},
		{5, "layer", nil}, {5, "area", nil}, {6, "layer", nil}, {6, "area", nil}, {6, "version", nil},
	}
	post := func(i int, f field, value string, header http.Header) {
		form := rt.forms(i)[f.form]
		add(replayReq{what: "POST " + form.name + " " + f.name, method: http.MethodPost, path: form.path, header: header,
			form: func() url.Values {
				v := form.valid()
				if f.setup != nil {
					f.setup(v)
				}
				v.Set(f.name, value)
				return v
			}})
	}
	markup := regexp.MustCompile(`(?i)<|javascript:|on[a-z]+=|hx-|\{\{`)
	marked := 0
	for i, s := range naughty {
		var header http.Header
		if i%4 == 0 {
			header = htmx
		}
		if markup.MatchString(s) && marked%2 == 0 {
			for _, f := range texts {
				post(i, f, s, header)
			}
			// A payload inside a valid evidence link reaches the database.
			post(i, field{2, "evidence", nil}, "https://x/"+s, header)
		} else {
			for k := range 3 {
				post(i, texts[(i*3+k)%len(texts)], s, header)
			}
		}
		if markup.MatchString(s) {
			marked++
		}
		post(i, choices[i%len(choices)], s, header)

		e := url.PathEscape(s)
		ids := []string{"/workloads/" + e, "/workloads/" + e + "/edit", "/workloads/" + e + "/delete",
			wp + "/controls/" + e + "/override", "/owners/" + e, "/controls/" + e + "/edit", "/" + e, "/static/" + e}
		for k := range 5 {
			add(replayReq{what: "GET malformed id", method: http.MethodGet, path: ids[(i*5+k)%len(ids)]})
		}
		if i%2 == 0 {
			add(replayReq{what: "POST malformed workload id", method: http.MethodPost, path: "/workloads/" + e + "/controls/" + itoa(rt.control),
				form: rt.forms(i)[2].valid})
		} else {
			add(replayReq{what: "POST malformed control id", method: http.MethodPost, path: "/controls/" + e, form: rt.forms(i)[6].valid})
		}
		q := url.QueryEscape(s)
		queries := []replayReq{
			{what: "GET portfolio query", path: "/", query: "model=" + q + "&sort=" + q + "&page=" + q},
			{what: "GET matrix query", path: "/matrix", query: "baseline=" + q},
			{what: "GET compare query", path: "/matrix/compare", query: "from=" + q + "&to=" + q},
			{what: "GET queue query", path: op, query: "page=" + q},
			{what: "GET workload query", path: wp, query: q + "=" + q, header: htmx},
		}
		r := queries[i%len(queries)]
		r.method = http.MethodGet
		add(r)
	}

	forms := rt.forms(0)
	// NUL bytes and invalid UTF-8 in field names too, and every field at once.
	for _, f := range forms {
		for _, bad := range []string{"\x00", "a\x00b", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\u202e", "<script>alert(1)</script>"} {
			add(replayReq{what: "POST " + f.name + " bad field name", method: http.MethodPost, path: f.path, form: func() url.Values {
				v := f.valid()
				v.Set(bad, bad)
				return v
			}})
			add(replayReq{what: "POST " + f.name + " every field bad", method: http.MethodPost, path: f.path, form: func() url.Values {
				v := f.valid()
				for _, field := range f.fields {
					v.Set(field, bad)
				}
				return v
			}})
		}
	}

	// Forms of 10,000 fields (Go's parser accepts at most 10,000), of
	// 10,001, and one field given 10,000 times.
	for _, f := range forms {
		for _, n := range []int{10_000 - 10, 10_001} {
			add(replayReq{what: fmt.Sprintf("POST %s with %d fields", f.name, n), method: http.MethodPost, path: f.path, body: func() io.Reader {
				var sb strings.Builder
				sb.WriteString(f.valid().Encode())
				for j := len(f.valid()); j < n; j++ {
					fmt.Fprintf(&sb, "&f%d=%d", j, j)
				}
				return strings.NewReader(sb.String())
			}})
		}
		add(replayReq{what: "POST " + f.name + " one field 10,000 times", method: http.MethodPost, path: f.path, body: func() io.Reader {
			return strings.NewReader(f.valid().Encode() + strings.Repeat("&"+f.fields[0]+"=x", 9_990))
		}})
	}

	// Bodies over the limit: 413, with and without a Content-Length; a
	// body of exactly the limit is no 413.
	for _, f := range forms {
		for _, chunk := range []bool{false, true} {
			for _, n := range []int{maxBodyBytes + 1, maxBodyBytes + 64<<10, 3 * maxBodyBytes} {
				add(replayReq{what: "POST " + f.name + " over 1 MiB", method: http.MethodPost, path: f.path, chunk: chunk,
					want: http.StatusRequestEntityTooLarge, body: func() io.Reader {
						return strings.NewReader(replaySized(f.valid(), n))
					}})
			}
		}
		add(replayReq{what: "POST " + f.name + " exactly 1 MiB", method: http.MethodPost, path: f.path, body: func() io.Reader {
			return strings.NewReader(replaySized(f.valid(), maxBodyBytes))
		}})
	}

	// Bad methods on every route.
	routes := []string{"/", "/workloads", "/workloads/new", wp, wp + "/edit", wp + "/delete", statusPath(rt.edits[0].ID, rt.control),
		statusPath(rt.edits[0].ID, rt.control) + "/override", "/matrix", "/matrix/compare", "/owners", op, "/controls", "/controls/new",
		fmt.Sprintf("/controls/%d", rt.custom), "/healthz", "/readyz", "/static/css/app.css", "/favicon.ico", "/nowhere"}
	for _, p := range routes {
		for _, m := range []string{http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions,
			http.MethodTrace, "PROPFIND", "MKCOL", "FOO", "get", "Post"} {
			add(replayReq{what: m + " route", method: m, path: p})
		}
	}

	// Bad content types on every form.
	types := []string{"", "text/plain", "application/json", "application/xml", "multipart/form-data", "multipart/form-data; boundary=x",
		"application/x-www-form-urlencoded; charset=utf-16", "application/x-www-form-urlencoded; charset=\"", "a/b/c;;", ";", "*/*",
		"APPLICATION/X-WWW-FORM-URLENCODED", "text/html; charset=<script>"}
	for _, f := range forms {
		for _, ct := range types {
			for _, body := range []string{f.valid().Encode(), `{"name":"x"}`, "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--x--\r\n", "\x00\xff"} {
				add(replayReq{what: "POST " + f.name + " content type", method: http.MethodPost, path: f.path,
					header: http.Header{"Content-Type": {ct}}, body: func() io.Reader { return strings.NewReader(body) }})
			}
		}
		// Posted from another site: refused before any handler runs.
		add(replayReq{what: "POST " + f.name + " cross-site", method: http.MethodPost, path: f.path, form: f.valid,
			header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, want: http.StatusForbidden})
	}

	// Malformed ids.
	ids := []string{"0", "-1", "00", "+1", "1.0", "1e3", "0x1", "%20", "%00", "1%00", "%2e%2e", "..", "１", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "999999999999999999999999", "1;2", "1,2", "[1]", "null", "NaN", "%ff", "%c0%af"}
	for _, id := range ids {
		for _, p := range []string{"/workloads/%s", "/workloads/%s/edit", "/workloads/%s/delete", "/workloads/%s/controls/1/override",
			"/workloads/1/controls/%s/override", "/owners/%s", "/controls/%s/edit"} {
			add(replayReq{what: "GET malformed id", method: http.MethodGet, path: fmt.Sprintf(p, id)})
		}
		for _, p := range []string{"/workloads/%s", "/workloads/%s/controls/1", "/workloads/1/controls/%s", "/controls/%s",
			"/workloads/%s/controls/1/override", "/workloads/1/controls/%s/override/delete", "/controls/%s/delete"} {
			add(replayReq{what: "POST malformed id", method: http.MethodPost, path: fmt.Sprintf(p, id), form: forms[2].valid})
		}
	}

	// Import uploads (/workloads/import): each naughty string in each cell
	// of a file in turn, checked and, for one in five, imported (the
	// confirm form's hash sent back); files that are not CSV, workbooks
	// that are not zips, broken multipart bodies, and bodies over the
	// import's limit, which must get 413.
	importCols := []string{"workload", "description", "model", "baseline", "layer", "control", "owner", "complete", "completed at",
		"note", "evidence", "not applicable", "not applicable reason", "override party", "override reason", "version"}
	importRow := func(i int) []string {
		return []string{fmt.Sprintf("Replay import %d", i), "d", "IaaS", rt.baselineName, "", rt.controlTitle, "Replay team", "yes", "",
			"n", "https://example.com/e", "no", "", "", "", ""}
	}
	for i, s := range naughty {
		row := importRow(i)
		row[i%len(row)] = s
		var file bytes.Buffer
		if i%3 == 2 { // raw, unquoted: the naughty string may break the CSV itself
			file.WriteString(strings.Join(importCols, ",") + "\n" + strings.Join(row, ",") + "\n")
		} else {
			cw := csv.NewWriter(&file)
			_ = cw.Write(importCols)
			_ = cw.Write(row)
			cw.Flush()
		}
		fields := url.Values{}
		if i%5 == 0 {
			sum := sha256.Sum256(file.Bytes())
			fields = url.Values{"confirm": {"1"}, "sha256": {hex.EncodeToString(sum[:])}}
		}
		body, ct := replayMultipart(file.Bytes(), "replay.csv", fields)
		add(replayReq{what: "POST import upload", method: http.MethodPost, path: "/workloads/import",
			header: http.Header{"Content-Type": {ct}}, body: func() io.Reader { return strings.NewReader(body) }})
	}
	for _, file := range []string{"", "\x00\xff", "PK\x03\x04", "PK\x03\x04" + strings.Repeat("\x00", 4096), "{\"workload\":1}",
		"workload,model,baseline\n" + strings.Repeat("\"", 1000), strings.Repeat("workload,", 5000) + "\n",
		"workload,model,baseline\n" + strings.Repeat("x,y,z\n", 20_000)} {
		body, ct := replayMultipart([]byte(file), "replay.xlsx", nil)
		add(replayReq{what: "POST import odd file", method: http.MethodPost, path: "/workloads/import",
			header: http.Header{"Content-Type": {ct}}, body: func() io.Reader { return strings.NewReader(body) }})
	}
	for _, body := range []string{"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nworkload", "--x--", "", "garbage"} {
		add(replayReq{what: "POST import broken multipart", method: http.MethodPost, path: "/workloads/import",
			header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, body: func() io.Reader { return strings.NewReader(body) }})
	}
	for _, chunk := range []bool{false, true} {
		big, ct := replayMultipart(bytes.Repeat([]byte("a,b,c\n"), importBodyLimit/6+1), "big.csv", nil)
		add(replayReq{what: "POST import over its limit", method: http.MethodPost, path: "/workloads/import", chunk: chunk,
			want: http.StatusRequestEntityTooLarge, header: http.Header{"Content-Type": {ct}},
			body: func() io.Reader { return strings.NewReader(big) }})
	}

	// Garbage query strings, sent unescaped.
	garbage := []string{"%", "%%", "%zz", "%0", "a=%", "=", "==", "&", "&&&", ";", ";;;", "a;b=c", "?", "??", "#", "a=1&a=2&a=3",
		"page", "page=", "page=1&page=2", "sort=progress&sort=name", "model=paas%00", "model=%ff%fe", "page=%2d1", "x=" + strings.Repeat("y", 8000),
		strings.Repeat("a=1&", 2000), "a=<script>alert(1)</script>", "a=\"'><img>", "a[]=1&a[b]=2", "__proto__=1"}
	for _, g := range garbage {
		for _, p := range []string{"/", "/matrix", "/matrix/compare", op, wp, "/owners", "/controls", "/workloads/new", "/healthz"} {
			add(replayReq{what: "GET garbage query", method: http.MethodGet, path: p, query: g})
		}
	}
	return reqs
}

// importBodyLimit is web's limit on the body of an import upload: the
// file's 10 MiB and 1 MiB for the form around it.
const importBodyLimit = 11 << 20

// replayMultipart is file (named name) and fields as a multipart form
// body, and its content type.
func replayMultipart(file []byte, name string, fields url.Values) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(file)
	_ = mw.Close()
	return b.String(), mw.FormDataContentType()
}

// replaySized is form encoded and padded to exactly n bytes.
func replaySized(form url.Values, n int) string {
	s := form.Encode() + "&pad="
	if len(s) < n {
		s += strings.Repeat("x", n-len(s))
	}
	return s
}

func TestReplayHostileRequests(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx, cancel := context.WithTimeout(storetest.Context(t), replayBudget)
	defer cancel()

	pool := storetest.Pool(t)
	st := store.New(pool)
	logs := &replayLog{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	ts := httptest.NewUnstartedServer(newLoggingServer(t, st, logger))
	// As cmd/srm's serve configures it.
	ts.Config.ReadHeaderTimeout = 5 * time.Second
	ts.Config.ReadTimeout = 30 * time.Second
	ts.Config.WriteTimeout = 30 * time.Second
	ts.Config.IdleTimeout = 2 * time.Minute
	ts.Config.ErrorLog = log.New(logs, "http.Server: ", 0)
	ts.Start()
	defer ts.Close()

	// Every request is made signed in as an admin, so it reaches the
	// handlers rather than stopping at the sign-in check.
	session := remoteSession(t, ts.URL, st, srm.RoleAdmin)
	probe, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
	session(probe)
	creds := "Cookie: " + probe.Header.Get("Cookie") + "\r\nX-CSRF-Token: " + probe.Header.Get("X-CSRF-Token") + "\r\n"

	rt := &replayTargets{st: st}
	bs, err := st.Baselines(ctx)
	if err != nil || len(bs) == 0 {
		t.Fatalf("Baselines = %v, %v", bs, err)
	}
	rt.baseline, rt.baselineName = bs[0].ID, bs[0].Name
	if rt.areas, err = st.Areas(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range replayWorkers {
		w := srm.Workload{Name: fmt.Sprintf("Replay target %d", i), Model: srm.IaaS, BaselineID: rt.baseline}
		if err := st.CreateWorkload(ctx, &w); err != nil {
			t.Fatal(err)
		}
		rt.edits = append(rt.edits, w)
	}
	ws, err := st.WorkloadState(ctx, rt.edits[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ws.Catalog.Baseline(rt.baseline)
	as, err := srm.Assess(b, srm.IaaS, ws.Catalog.Controls(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Party == srm.Customer && rt.control == 0 {
			rt.control, rt.controlTitle = a.Control.ID, a.Control.Title
		}
	}
	o := srm.Owner{Name: "Replay queue", Kind: srm.Team}
	if err := st.CreateOwner(ctx, &o); err != nil {
		t.Fatal(err)
	}
	rt.owner = o.ID
	c := srm.Control{Title: "Replay custom", Layer: srm.Data, Area: rt.areas[0].Slug}
	if err := st.CreateControl(ctx, &c); err != nil {
		t.Fatal(err)
	}
	rt.custom = c.ID

	reqs := replayRequests(rt, loadNaughty(t))
	if len(reqs) < replayMin {
		t.Fatalf("the replay has %d requests, want at least %d", len(reqs), replayMin)
	}

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: replayWorkers, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 20 * time.Second,
	}
	defer client.CloseIdleConnections()

	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		failures = map[string][]string{} // what → examples
		sent     atomic.Int64
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	fail := func(what, example string) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures[what]) < 3 {
			failures[what] = append(failures[what], example)
		} else {
			failures[what] = append(failures[what][:3], "…")
		}
	}
	for range replayWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) || ctx.Err() != nil {
					return
				}
				r := reqs[i]
				code, body, err := replaySend(ctx, client, ts.URL, r, session)
				sent.Add(1)
				shown := r.method + " " + r.path
				if r.query != "" {
					shown += "?" + r.query
				}
				if len(shown) > 200 {
					shown = shown[:200] + "…"
				}
				switch {
				case err != nil:
					fail(r.what+": no answer", fmt.Sprintf("%q: %v", shown, err))
					continue
				case code >= 500:
					fail(r.what+": "+strconv.Itoa(code), fmt.Sprintf("%q → %d %s", shown, code, replayErrorText(body)))
				case r.want != 0 && code != r.want:
					fail(r.what+": "+strconv.Itoa(code), fmt.Sprintf("%q → %d, want %d", shown, code, r.want))
				}
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Errorf("the replay ran out of its %v budget after %d of %d requests", replayBudget, sent.Load(), len(reqs))
	}
	elapsed := time.Since(start)

	raw := replayRaw(t, ts.Listener.Addr().String(), creds)
	storedValid(t, pool, rt.areas)
	// The import uploads reached the import itself: some were applied.
	var imported int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM workloads WHERE name LIKE 'Replay import %'`).Scan(&imported); err != nil || imported == 0 {
		t.Errorf("no workload of the replay's import uploads was imported (%d, %v): the uploads never reached the import", imported, err)
	}

	var summary []string
	for _, code := range slices.Sorted(maps.Keys(statuses)) {
		summary = append(summary, fmt.Sprintf("%d×%d", code, statuses[code]))
	}
	t.Logf("replay: %d requests over TCP in %v with %d workers; statuses %s; %d raw protocol probes",
		sent.Load(), elapsed.Round(time.Millisecond), replayWorkers, strings.Join(summary, " "), raw)
	for _, what := range slices.Sorted(maps.Keys(failures)) {
		t.Errorf("%s, e.g.:\n\t%s", what, strings.Join(failures[what], "\n\t"))
	}
	if len(failures) > 0 {
		var lines []string
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "level=ERROR") && len(lines) < 20 {
				lines = append(lines, line)
			}
		}
		t.Logf("the server's error log (first %d lines):\n%s", len(lines), strings.Join(lines, ""))
	}
	if s := logs.String(); strings.Contains(strings.ToLower(s), "panic") {
		var lines []string
		for line := range strings.Lines(s) {
			if strings.Contains(strings.ToLower(line), "panic") && len(lines) < 10 {
				lines = append(lines, line)
			}
		}
		t.Errorf("the server logged a panic:\n%s", strings.Join(lines, ""))
	}
}

// replaySend sends r and returns the status and the start of the body.
// The request carries session's cookie and token unless it brings a cookie
// of its own.
func replaySend(ctx context.Context, client *http.Client, base string, r replayReq, session func(*http.Request)) (int, string, error) {
	var body io.Reader
	length := int64(0)
	switch {
	case r.form != nil:
		s := r.form().Encode()
		body, length = strings.NewReader(s), int64(len(s))
	case r.body != nil:
		body, length = r.body(), -1
		if sr, ok := body.(*strings.Reader); ok {
			length = sr.Size()
		}
	}
	if r.chunk && body != nil {
		body, length = io.MultiReader(body), -1 // hides the length
	}
	req, err := http.NewRequestWithContext(ctx, r.method, base+"/", body)
	if err != nil {
		return 0, "", err
	}
	req.URL.Path = ""
	req.URL.Opaque = r.path // sent exactly as written
	if r.path == "" || r.path[0] != '/' {
		req.URL.Opaque = "/" + r.path
	}
	req.URL.RawQuery = r.query
	req.ContentLength = length
	if length == 0 {
		req.Body = http.NoBody
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if _, own := r.header["Cookie"]; !own {
		session(req)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, string(head), nil
}

// replayErrorText is the heading of srm's error page, or the body's start.
func replayErrorText(body string) string {
	if i := strings.Index(body, "<h1>"); i >= 0 {
		if j := strings.Index(body[i:], "</h1>"); j >= 0 {
			return body[i+4 : i+j]
		}
	}
	if len(body) > 100 {
		return body[:100]
	}
	return body
}

// replayRaw writes requests no well-behaved client sends straight to the
// socket, and requires an answer from net/http or srm that is not a server
// error. net/http itself answers an unknown HTTP version with 505 and a
// transfer coding it does not know with 501: those are the protocol's
// answers to the client's mistake, and allowed for exactly those probes.
// Probes with a Host header also carry creds, the session's header lines.
func replayRaw(t *testing.T, addr, creds string) int {
	t.Helper()
	probes := []struct {
		raw  string
		want []int // nil: 200 to 499
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", []int{200}},
		{"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET /workloads/\xff HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET /workloads/1 HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET ../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET /static/../../go.mod HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET * HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: <script>\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n", nil},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 1<<20+1000) + "\r\n\r\n", nil},
		{"GET / HTTP/1.1\nHost: x\n\n", nil},
		{"GET / HTTP/1.0\r\n\r\n", nil},
		{"GET /\r\n\r\n", nil},
		{"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", nil},
		{"get / HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", nil},
		{"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", nil},
		{"GET / HTTP/9.9\r\nHost: x\r\n\r\n", []int{400, 505}},
		{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", []int{400, 505}},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", []int{400, 501}},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", []int{400, 501}},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\nowner", nil},
		{"POST /owners HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
			strconv.Itoa(maxBodyBytes+1) + "\r\n\r\n" + strings.Repeat("a", maxBodyBytes+1), []int{413}},
	}
	for _, p := range probes {
		code, err := replayRawOne(addr, strings.Replace(p.raw, "Host: x\r\n", "Host: x\r\n"+creds, 1))
		if err != nil {
			t.Errorf("raw probe %q: %v", replayShort(p.raw), err)
			continue
		}
		ok := code >= 200 && code < 500
		if p.want != nil {
			ok = slices.Contains(p.want, code)
		}
		if !ok {
			t.Errorf("raw probe %q: status %d, want %v (nil: 200 to 499)", replayShort(p.raw), code, p.want)
		}
	}
	return len(probes)
}

func replayShort(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// replayRawOne writes raw to a fresh connection and reads the status of
// the first answer.
func replayRawOne(addr, raw string) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, raw) }() // the answer may come before the writing ends
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("no status line: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, fmt.Errorf("status line %q", line)
	}
	return strconv.Atoi(f[1])
}

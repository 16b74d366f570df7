package srm_test

// Fuzz targets for the validators. `go test` runs each on its seed corpus
// (below, plus testdata/fuzz/<Target>/ when go has saved a crasher there);
// `make fuzz` runs each for a while with -fuzz.
//
// The properties every validator keeps, for any input:
//   - it never panics, and it says the same twice;
//   - it complains only about the fields it knows, each with a message;
//   - a NUL byte or invalid UTF-8 in a text field is always a problem for
//     that field (PostgreSQL cannot store either: letting one through is a
//     500 later);
//   - text that is valid UTF-8, has no NUL, is not blank where required and
//     is within its limit is never a problem;
//   - a choice (model, layer, party, kind, area) is a problem exactly when
//     it is not one of the listed values.

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/srmhq/srm"
)

// seedTexts are the text values every target starts from: the edges of the
// rules and the classics of hostile input.
var seedTexts = []string{
	"",
	" ",
	"\t\r\n ",
	"Customs declarations",
	"  padded  ",
	"\x00",
	"a\x00b",
	" \x00 ",
	"\xff",
	"abc\xfe\xff",
	"\xc3\x28",         // a lead byte without its continuation
	"\xc0\xaf",         // an overlong '/'
	"\xed\xa0\x80",     // a UTF-16 surrogate half encoded in UTF-8
	"\xf4\x90\x80\x80", // beyond U+10FFFF
	"\u202eevil\u202c",
	"\u200b",
	"\u200b\u200c\u200d\ufeff",
	"\u00a0",
	"\u0085",
	"e\u0301",
	"👩‍👩‍👧‍👦",
	"<script>alert(1)</script>",
	`"><img src=x onerror=alert(1)>`,
	"'; DROP TABLE workloads; --",
	"%s%s%s%n",
	"../../../../etc/passwd",
	"line\r\nInjected: header",
	strings.Repeat("é", 200),
	strings.Repeat("é", 201),
	strings.Repeat("x", 4000),
	strings.Repeat("x", 4001),
	strings.Repeat("字", 2000) + "\x00",
}

// knownFields fails unless p complains only about fields in allowed, each
// with a non-empty message.
func knownFields(t *testing.T, p srm.Problems, allowed ...string) {
	t.Helper()
	for k, msg := range p {
		if !slices.Contains(allowed, k) {
			t.Errorf("problem for unknown field %q (%q); the form has only %q", k, msg, allowed)
		}
		if strings.TrimSpace(msg) == "" {
			t.Errorf("problem for %q has no message", k)
		}
	}
}

// unstorable reports whether s holds what PostgreSQL's text cannot.
func unstorable(s string) bool { return !utf8.ValidString(s) || strings.ContainsRune(s, 0) }

// fine reports whether s is text the validators must accept: storable and
// within max characters.
func fine(s string, max int) bool { return !unstorable(s) && utf8.RuneCountInString(s) <= max }

// checkText checks the text properties for one field: unstorable text is a
// problem; fine text is none (when required, unless blank).
func checkText(t *testing.T, p srm.Problems, field, value string, max int, required bool) {
	t.Helper()
	msg, has := p[field]
	switch {
	case unstorable(value) && !has:
		t.Errorf("%s %q (NUL or invalid UTF-8) is not a problem", field, value)
	case required && strings.TrimSpace(value) == "" && !has:
		t.Errorf("%s %q is blank but required, and not a problem", field, value)
	case fine(value, max) && (!required || strings.TrimSpace(value) != "") && has:
		t.Errorf("%s %q (%d characters, limit %d) is valid but the problem is %q", field, value, utf8.RuneCountInString(value), max, msg)
	case !unstorable(value) && utf8.RuneCountInString(value) > max && !has:
		t.Errorf("%s has %d characters, over the limit of %d, and is not a problem", field, utf8.RuneCountInString(value), max)
	}
}

func FuzzCheckText(f *testing.F) {
	for _, s := range seedTexts {
		for _, max := range []int{0, 1, srm.MaxName, srm.MaxText} {
			f.Add(s, max)
		}
	}
	f.Add("abc", -1)
	f.Fuzz(func(t *testing.T, value string, max int) {
		got := srm.CheckText(value, max)
		if got != srm.CheckText(value, max) {
			t.Fatalf("CheckText(%q, %d) differs between two calls", value, max)
		}
		if want := fine(value, max); want != (got == "") {
			t.Fatalf("CheckText(%q, %d) = %q; valid UTF-8, no NUL and %d ≤ %d characters is %v",
				value, max, got, utf8.RuneCountInString(value), max, want)
		}
	})
}

func FuzzWorkloadValidate(f *testing.F) {
	for i, s := range seedTexts {
		f.Add(s, seedTexts[(i+7)%len(seedTexts)], string(srm.ServiceModels[i%4]), int64(i%3))
	}
	f.Add("Depot servers", "", "IAAS", int64(1))
	f.Add("Depot servers", "", "iaas ", int64(-9223372036854775808))
	f.Add("Depot servers", "", "", int64(9223372036854775807))
	f.Fuzz(func(t *testing.T, name, description, model string, baseline int64) {
		w := srm.Workload{Name: name, Description: description, Model: srm.ServiceModel(model), BaselineID: baseline}
		p := w.Validate()
		knownFields(t, p, "name", "description", "model", "baseline")
		checkText(t, p, "name", name, srm.MaxName, true)
		checkText(t, p, "description", description, srm.MaxText, false)
		if _, has := p["model"]; has == srm.ServiceModel(model).Valid() {
			t.Errorf("model %q: problem %v, but Valid() = %v", model, has, srm.ServiceModel(model).Valid())
		}
		if _, has := p["baseline"]; has != (baseline <= 0) {
			t.Errorf("baseline %d: problem %v", baseline, has)
		}
	})
}

// fuzzAreas is the catalog's areas as the validator gets them.
var fuzzAreas = []srm.AreaInfo{
	{Slug: "physical-hosts", Name: "Physical hosts"},
	{Slug: "identity-directory", Name: "Identity and directory infrastructure"},
	{Slug: "information-data", Name: "Information and data"},
}

func FuzzControlValidate(f *testing.F) {
	for i, s := range seedTexts {
		f.Add(s, seedTexts[(i+1)%len(seedTexts)], seedTexts[(i+2)%len(seedTexts)], seedTexts[(i+3)%len(seedTexts)],
			string(srm.Layers[i%7]), string(fuzzAreas[i%3].Slug))
	}
	f.Add("Backups", "", "", "", "Data", "information-data")
	f.Add("Backups", "", "", "", "data", "information-data ")
	f.Add("Backups", "", "", "", "data\x00", "")
	f.Fuzz(func(t *testing.T, title, description, customerPart, providerPart, layer, area string) {
		c := srm.Control{Title: title, Description: description, CustomerPart: customerPart, ProviderPart: providerPart,
			Layer: srm.Layer(layer), Area: srm.Area(area)}
		p := c.Validate(fuzzAreas)
		knownFields(t, p, "title", "description", "customer_part", "provider_part", "layer", "area")
		checkText(t, p, "title", title, srm.MaxTitle, true)
		checkText(t, p, "description", description, srm.MaxText, false)
		checkText(t, p, "customer_part", customerPart, srm.MaxText, false)
		checkText(t, p, "provider_part", providerPart, srm.MaxText, false)
		if _, has := p["layer"]; has == srm.Layer(layer).Valid() {
			t.Errorf("layer %q: problem %v, but Valid() = %v", layer, has, srm.Layer(layer).Valid())
		}
		known := slices.ContainsFunc(fuzzAreas, func(a srm.AreaInfo) bool { return string(a.Slug) == area })
		if _, has := p["area"]; has == known {
			t.Errorf("area %q: problem %v, known %v", area, has, known)
		}
		if _, has := c.Validate(nil)["area"]; !has {
			t.Errorf("area %q is no problem when no area exists", area)
		}
	})
}

// evidenceOK is what an evidence link must be: a web address with a host.
func evidenceOK(raw string) bool {
	if raw == "" {
		return true
	}
	if !fine(raw, srm.MaxURL) {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func FuzzStatusValidate(f *testing.F) {
	evidence := []string{
		"", "https://wiki.example.com/runbooks/patching", "http://x", "HTTPS://X/Y",
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox(1)", "//evil.example", "https://", "https:///path", "ftp://files.example",
		`https://x/"><script>alert(1)</script>`, "https://x/\x00", "https://x/\xff", "https://ex ample.com",
		"https://x/" + strings.Repeat("a", 1990), "https://x/" + strings.Repeat("a", 1991), " https://x",
		"https://[::1]:8080/", "https://user:pass@host/", "http://%41", "https://x/\u202e",
	}
	for i, s := range seedTexts {
		f.Add(s, evidence[i%len(evidence)], i%2 == 0, seedTexts[(i+5)%len(seedTexts)])
	}
	for _, e := range evidence {
		f.Add("", e, false, "")
	}
	f.Add("", "", true, "")
	f.Add("", "", true, " \t")
	f.Add("", "", true, "Decommissioned in March.")
	f.Fuzz(func(t *testing.T, note, evidence string, notApplicable bool, naReason string) {
		s := srm.Status{Note: note, Evidence: evidence, NotApplicable: notApplicable, NAReason: naReason}
		p := s.Validate()
		knownFields(t, p, "note", "evidence", "na_reason")
		checkText(t, p, "note", note, srm.MaxText, false)
		checkText(t, p, "na_reason", naReason, srm.MaxText, notApplicable)
		msg, has := p["evidence"]
		if unstorable(evidence) && !has {
			t.Errorf("evidence %q (NUL or invalid UTF-8) is not a problem", evidence)
		}
		if want := evidenceOK(evidence); want == has {
			t.Errorf("evidence %q: problem %q, want a problem: %v", evidence, msg, !want)
		}
		if !has && evidence != "" {
			lower := strings.ToLower(evidence)
			if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
				t.Errorf("evidence %q is accepted but does not start with http:// or https://", evidence)
			}
		}
	})
}

func FuzzOverrideValidate(f *testing.F) {
	for i, s := range seedTexts {
		f.Add(string(srm.Parties[i%3]), s)
	}
	f.Add("Customer", "We run our own firewall.")
	f.Add("azure", "We run our own firewall.")
	f.Add("shared\x00", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, party, reason string) {
		o := srm.Override{WorkloadID: 1, ControlID: 1, Party: srm.Party(party), Reason: reason}
		p := o.Validate()
		knownFields(t, p, "party", "reason")
		checkText(t, p, "reason", reason, srm.MaxText, true)
		if _, has := p["party"]; has == srm.Party(party).Valid() {
			t.Errorf("party %q: problem %v, but Valid() = %v", party, has, srm.Party(party).Valid())
		}
	})
}

func FuzzOwnerValidate(f *testing.F) {
	kinds := []string{"person", "team", "Team", "", "group", "person\x00"}
	for i, s := range seedTexts {
		f.Add(s, kinds[i%len(kinds)])
	}
	f.Fuzz(func(t *testing.T, name, kind string) {
		o := srm.Owner{Name: name, Kind: srm.OwnerKind(kind)}
		p := o.Validate()
		knownFields(t, p, "owner_name", "owner_kind")
		checkText(t, p, "owner_name", name, srm.MaxName, true)
		if _, has := p["owner_kind"]; has == (kind == "person" || kind == "team") {
			t.Errorf("owner kind %q: problem %v", kind, has)
		}
	})
}

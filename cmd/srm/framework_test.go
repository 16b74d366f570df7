package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// As srm's serving role: importing needs no more than serving does.
func TestFrameworkImportAndList(t *testing.T) {
	t.Parallel()
	kv := map[string]string{"DATABASE_URL": storetest.AppURL(t).URL}
	srmCmd := func(args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := run(t.Context(), args, system{getenv: env(kv), stdout: &out})
		return out.String(), err
	}
	list := func() string {
		t.Helper()
		out, err := srmCmd("framework", "list")
		if err != nil {
			t.Fatalf("framework list: %v", err)
		}
		return out
	}

	out, err := srmCmd("framework", "import", "--builtin", "nist-800-53-rev5-moderate")
	if err != nil || !strings.Contains(out, "Imported NIST SP 800-53 rev5 Moderate (nist-800-53-rev5-moderate)") ||
		!strings.Contains(out, "287 controls") {
		t.Fatalf("framework import --builtin = %q, %v", out, err)
	}
	got := list()
	for _, want := range []string{"SLUG", "srm ", "nist-800-53-rev5-moderate", "287"} {
		if !strings.Contains(got, want) {
			t.Errorf("framework list = %q, want it to contain %q", got, want)
		}
	}

	// A bad file says where and why, and changes nothing.
	dir := t.TempDir()
	bad := filepath.Join(dir, "dup.json")
	b, err := os.ReadFile("../../framework/testdata/duplicate.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := srmCmd("framework", "import", bad); err == nil || !strings.Contains(err.Error(), "nothing was imported") ||
		!strings.Contains(err.Error(), "catalog.groups[1].controls[1]") {
		t.Errorf("framework import of a file with duplicate ids: %v; want where, and that nothing was imported", err)
	}
	if after := list(); after != got {
		t.Errorf("after a refused import, framework list = %q, want %q", after, got)
	}

	// A newer version: the dry run lists the changes by id and changes nothing.
	reading := filepath.Join(dir, "reading.txt")
	if err := os.WriteFile(reading, []byte(`area network-controls network Network controls
family XX network-controls
family YY network-controls
family ZZ network-controls
`), 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.json")
	b, err = os.ReadFile("../../framework/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(small, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := srmCmd("framework", "import", "--slug", "small", "--reading", reading, small); err != nil || !strings.Contains(out, "4 controls") {
		t.Fatalf("framework import small = %q, %v", out, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	cat := doc["catalog"].(map[string]any)
	cat["metadata"].(map[string]any)["version"] = "3.0"
	cat["controls"] = []any{map[string]any{"id": "zz-1", "title": "Zebra Control"}}
	v3 := filepath.Join(dir, "small-3.json")
	b, _ = json.Marshal(doc)
	if err := os.WriteFile(v3, b, 0o600); err != nil {
		t.Fatal(err)
	}
	before := list()
	out, err = srmCmd("framework", "import", "--dry-run", "--slug", "small", "--reading", reading, v3)
	if err != nil || !strings.Contains(out, "added (1): ZZ-1") || !strings.Contains(out, "removed, their statuses kept in the history (1): YY-1") ||
		!strings.Contains(out, "Nothing changed.") {
		t.Errorf("framework import --dry-run = %q, %v", out, err)
	}
	if after := list(); after != before || !strings.Contains(after, "2.0") {
		t.Errorf("after a dry run, framework list = %q, want %q", after, before)
	}
	out, err = srmCmd("framework", "import", "--slug", "small", "--reading", reading, v3)
	if err != nil || !strings.Contains(out, "Updated") || !strings.Contains(list(), "3.0") {
		t.Errorf("framework import of version 3.0 = %q, %v; list %q", out, err, list())
	}

	// An admin's reading of one control needs a reason.
	if _, err := srmCmd("framework", "read", "--framework", "small", "--control", "XX-1", "--area", "information-and-data",
		"--layer", "data"); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("framework read without a reason: %v, want it refused", err)
	}
	out, err = srmCmd("framework", "read", "--framework", "small", "--control", "XX-1", "--area", "information-and-data",
		"--layer", "data", "--reason", "the policy is about our data")
	if err != nil || !strings.Contains(out, "XX-1 Policy is now read as information-and-data") {
		t.Fatalf("framework read = %q, %v", out, err)
	}
	pool, err := pgxpool.New(t.Context(), kv["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	stored, err := store.New(pool).Catalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stored.Controls() {
		if c.Ref == "XX-1" && (c.Area != "information-and-data" || c.ReadingReason != "the policy is about our data") {
			t.Errorf("XX-1 after framework read = %+v", c)
		}
	}
	if out, err := srmCmd("framework", "read", "--framework", "small", "--control", "XX-1", "--default"); err != nil ||
		!strings.Contains(out, "as srm reads it again") {
		t.Errorf("framework read --default = %q, %v", out, err)
	}
}

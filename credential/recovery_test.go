package credential_test

import (
	"regexp"
	"testing"

	"github.com/srmhq/srm/credential"
)

// TestNewRecoveryCodes: ten different codes a person can read and type,
// each stored as the hash of itself.
func TestNewRecoveryCodes(t *testing.T) {
	codes, hashes := credential.NewRecoveryCodes()
	if len(codes) != credential.RecoveryCodes || len(hashes) != len(codes) || credential.RecoveryCodes != 10 {
		t.Fatalf("%d codes and %d hashes, want 10 of each", len(codes), len(hashes))
	}
	form := regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !form.MatchString(c) {
			t.Errorf("code %q is not xxxxx-xxxxx in lower-case base32", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if hashes[i] != credential.HashRecoveryCode(c) {
			t.Errorf("hash %d is not HashRecoveryCode of code %q", i, c)
		}
		if hashes[i] == c {
			t.Errorf("code %q is stored as itself", c)
		}
	}
}

// TestRecoveryCodesAsTyped: a code typed in capitals, without its dash,
// with spaces around it (or inside it, which the code step removes
// first: NormalizeCode) is the same code; another code is not.
func TestRecoveryCodesAsTyped(t *testing.T) {
	want := credential.HashRecoveryCode("abcde-fgh23")
	for _, typed := range []string{"abcde-fgh23", "ABCDE-FGH23", "abcdefgh23", " AbCdE-fGh23\n", "abcde fgh23", "ab cde-fgh 23"} {
		if got := credential.HashRecoveryCode(credential.NormalizeCode(typed)); got != want {
			t.Errorf("%q is not taken as abcde-fgh23", typed)
		}
	}
	if got := credential.NormalizeRecoveryCode(" ABCDE-FGH23 "); got != "abcdefgh23" {
		t.Errorf("NormalizeRecoveryCode = %q, want abcdefgh23", got)
	}
	for _, other := range []string{"abcde-fgh24", "abcde-fgh2", "bcdea-fgh23", ""} {
		if credential.HashRecoveryCode(other) == want {
			t.Errorf("%q is taken as abcde-fgh23", other)
		}
	}
}

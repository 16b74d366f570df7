package credential_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/srmhq/srm/credential"
)

// TestHashThenCheck: a hash accepts its own password and nothing else,
// with srm's parameters and with the cheap ones tests use, and records
// the parameters it was made with.
func TestHashThenCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params credential.Params
		phc    string
	}{
		{"default", credential.DefaultParams, "$argon2id$v=19$m=19456,t=2,p=1$"},
		{"cheap", credential.CheapParams, "$argon2id$v=19$m=1024,t=1,p=1$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const pw = "correct horse battery staple"
			hash, err := tc.params.Hash(pw)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(hash, tc.phc) {
				t.Errorf("hash %q does not begin with %q", hash, tc.phc)
			}
			again, err := tc.params.Hash(pw)
			if err != nil {
				t.Fatal(err)
			}
			if again == hash {
				t.Error("two hashes of one password are the same: no fresh salt")
			}
			for _, c := range []struct {
				pw   string
				want bool
			}{
				{pw, true},
				{pw + " ", false},
				{strings.ToUpper(pw), false},
				{"", false},
				{"correct horse battery stapl", false},
			} {
				ok, err := credential.CheckPassword(hash, c.pw)
				if err != nil || ok != c.want {
					t.Errorf("CheckPassword(hash of %q, %q) = %v, %v; want %v", pw, c.pw, ok, err, c.want)
				}
			}
		})
	}
}

func TestHashPasswordUsesTheDefaultParameters(t *testing.T) {
	hash, err := credential.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("HashPassword = %q, want OWASP's minimum parameters", hash)
	}
	if ok, err := credential.CheckPassword(hash, "pw"); !ok || err != nil {
		t.Errorf("CheckPassword of HashPassword = %v, %v", ok, err)
	}
}

// TestMalformedHashes: anything that is not an argon2id PHC string with
// sane parameters is refused as malformed, never checked, never a match.
func TestMalformedHashes(t *testing.T) {
	good, err := credential.CheapParams.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=…, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, hash := range map[string]string{
		"empty":             "",
		"bcrypt":            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":           with(1, "argon2i"),
		"too few fields":    strings.Join(parts[:5], "$"),
		"other version":     with(2, "v=16"),
		"no version":        with(2, "19"),
		"zero memory":       with(3, "m=0,t=1,p=1"),
		"memory over 2 GiB": with(3, "m=2097153,t=1,p=1"),
		"zero passes":       with(3, "m=1024,t=0,p=1"),
		"17 passes":         with(3, "m=1024,t=17,p=1"),
		"zero lanes":        with(3, "m=1024,t=1,p=0"),
		"garbled params":    with(3, "m=x,t=1,p=1"),
		"salt not base64":   with(4, "!!!"),
		"key not base64":    with(5, "!!!"),
		"empty key":         with(5, ""),
		"key over 128":      with(5, strings.Repeat("A", 176)),
	} {
		t.Run(name, func(t *testing.T) {
			ok, err := credential.CheckPassword(hash, "pw")
			if ok || !errors.Is(err, credential.ErrMalformedHash) {
				t.Errorf("CheckPassword(%q) = %v, %v; want false, ErrMalformedHash", hash, ok, err)
			}
		})
	}
}

// TestDecoyHashMatchesNothing: the hash checked for unknown accounts is a
// well-formed one of srm's cost, made once, that no likely input matches.
func TestDecoyHashMatchesNothing(t *testing.T) {
	d := credential.DecoyHash()
	if d != credential.DecoyHash() {
		t.Error("DecoyHash changes between calls")
	}
	if !strings.HasPrefix(d, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("DecoyHash = %q, want srm's own parameters, so it costs what a real check costs", d)
	}
	for _, pw := range []string{"", "password", "srm", "srm decoy password"} {
		if ok, err := credential.CheckPassword(d, pw); ok || err != nil {
			t.Errorf("CheckPassword(DecoyHash, %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

package credential_test

import (
	"encoding/base32"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/srmhq/srm/credential"
)

// rfcSecret is the SHA-1 secret of RFC 6238's test vectors, in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// TestTOTPCodeMatchesRFC6238: the codes are the RFC's (its 8-digit values,
// last six digits).
func TestTOTPCodeMatchesRFC6238(t *testing.T) {
	for _, tc := range []struct {
		at   int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
	} {
		got, err := credential.TOTPCode(rfcSecret, time.Unix(tc.at, 0))
		if err != nil || got != tc.want {
			t.Errorf("TOTPCode(RFC secret, %d) = %q, %v; want %q", tc.at, got, err, tc.want)
		}
	}
}

// TestTOTPStepAtTheEdges: the code of one 30-second step is accepted from
// the first second of the step before it to the last second of the step
// after it (one step of clock drift either way), always as its own step,
// and refused one second outside that.
func TestTOTPStepAtTheEdges(t *testing.T) {
	const step = 1111111109 / 30 // 37037036: [1111111080, 1111111110)
	code, err := credential.TOTPCode(rfcSecret, time.Unix(1111111109, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"a second before the step before", time.Unix(1111111049, 999e6), false},
		{"first moment of the step before", time.Unix(1111111050, 0), true},
		{"last moment of the step before", time.Unix(1111111079, 999e6), true},
		{"first moment of its step", time.Unix(1111111080, 0), true},
		{"last moment of its step", time.Unix(1111111109, 999e6), true},
		{"first moment of the step after", time.Unix(1111111110, 0), true},
		{"last moment of the step after", time.Unix(1111111139, 999e6), true},
		{"first moment two steps after", time.Unix(1111111140, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := credential.TOTPStep(rfcSecret, code, tc.now)
			if ok != tc.ok || (ok && got != step) {
				t.Errorf("TOTPStep(code of step %d, %s) = %d, %v; want %d, %v", step, tc.now.UTC().Format(time.RFC3339Nano), got, ok, step, tc.ok)
			}
		})
	}
}

// TestTOTPStepRefusesWhatIsNotTheCode: wrong codes, codes of the wrong
// length and codes of another secret match no step.
func TestTOTPStepRefusesWhatIsNotTheCode(t *testing.T) {
	now := time.Unix(1111111109, 0)
	other, err := credential.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	otherCode, err := credential.TOTPCode(other, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"", "08180", "0818040", "181804", "08 1804", "abcdef", "14050471"} {
		if step, ok := credential.TOTPStep(rfcSecret, code, now); ok {
			t.Errorf("TOTPStep(%q) = %d, true; want no match", code, step)
		}
	}
	if otherCode != "081804" {
		if _, ok := credential.TOTPStep(rfcSecret, otherCode, now); ok {
			t.Errorf("a code of another secret (%q) matches", otherCode)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"081804":          "081804",
		" 081 804\t":      "081804",
		"081 804":         "081804",
		"abcde-fghij":     "abcde-fghij",
		"  abcde - fghij": "abcde-fghij",
	} {
		if got := credential.NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNewTOTPSecret: 160 random bits in unpadded base32, new each time.
func TestNewTOTPSecret(t *testing.T) {
	a, err := credential.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := credential.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(a)
	if err != nil || len(raw) != 20 {
		t.Errorf("secret %q decodes to %d bytes, %v; want 20", a, len(raw), err)
	}
	if a == b {
		t.Error("two secrets are the same")
	}
}

// TestTOTPURL: the address an app scans carries the secret, the issuer,
// the account and srm's code options, and an app reading it shows the
// codes srm accepts.
func TestTOTPURL(t *testing.T) {
	address, err := credential.TOTPURL(credential.TOTPIssuer, "ada@example.com", rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(address)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/srm:ada@example.com" {
		t.Errorf("TOTPURL = %q, want otpauth://totp/srm:ada@example.com", address)
	}
	for k, want := range map[string]string{"secret": rfcSecret, "issuer": "srm", "period": "30", "digits": "6", "algorithm": "SHA1"} {
		if q.Get(k) != want {
			t.Errorf("TOTPURL %s = %q, want %q (%s)", k, q.Get(k), want, address)
		}
	}
	key, err := otp.NewKeyFromURL(address)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1111111109, 0)
	code, err := credential.TOTPCode(key.Secret(), at)
	if err != nil || code != "081804" {
		t.Errorf("the app's code at %d = %q, %v; want 081804", at.Unix(), code, err)
	}
	if _, err := credential.TOTPURL("srm", "ada@example.com", "not base32!"); err == nil {
		t.Error("TOTPURL accepts a secret that is not base32")
	}
}

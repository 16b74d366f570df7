package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPIssuer names srm in authenticator apps.
const TOTPIssuer = "srm"

// totpOptions are the authenticator codes srm accepts: the common
// 6 digits every 30 seconds with SHA-1, which every authenticator app
// supports.
var totpOptions = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPPeriod is how long one authenticator code lasts: a time step.
const TOTPPeriod = 30 * time.Second

// secretEncoding is how secrets are written: base32 without padding, as
// authenticator apps take them.
var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret makes a new authenticator secret: 160 random bits, the
// size RFC 4226 recommends, in base32 without padding.
func NewTOTPSecret() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return secretEncoding.EncodeToString(b), nil
}

// TOTPURL is the otpauth:// address an authenticator app scans (as a QR
// code) to add secret for account at issuer, with srm's code options.
func TOTPURL(issuer, account, secret string) (string, error) {
	raw, err := secretEncoding.DecodeString(strings.ToUpper(secret))
	if err != nil {
		return "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account,
		Period: totpOptions.Period, Digits: totpOptions.Digits, Algorithm: totpOptions.Algorithm, Secret: raw})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// TOTPCode is the code an authenticator app holding secret shows at t.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOptions)
}

// TOTPStep finds which time step (unix seconds / 30) code belongs to,
// allowing one step of clock drift either way, and reports false when it
// matches none. Spend the step, so the same code cannot be used twice.
func TOTPStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != int(totpOptions.Digits) {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew) * TOTPPeriod)
		want, err := TOTPCode(secret, t)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / int64(totpOptions.Period), true
		}
	}
	return 0, false
}

// NormalizeCode is a code as typed (from the app, or a recovery code) with
// the spaces people type or paste around and inside it removed.
func NormalizeCode(code string) string {
	return strings.ReplaceAll(strings.TrimSpace(code), " ", "")
}

package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpOptions are the authenticator codes srm accepts: the common
// 6 digits every 30 seconds with SHA-1, which every authenticator app
// supports.
var totpOptions = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep finds which time step code belongs to, allowing one step of
// clock drift either way, and reports false when it matches none.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew*int64(totpOptions.Period)) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOptions)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / int64(totpOptions.Period), true
		}
	}
	return 0, false
}

// useCode checks an authenticator code of user id and spends it, so the
// same code cannot be used twice.
func (a *auth) useCode(r *http.Request, id int64, code string) (bool, error) {
	secret, err := a.st.TOTPSecret(r.Context(), id)
	if err != nil || secret == "" {
		return false, err
	}
	step, ok := totpStep(secret, code, time.Now())
	if !ok {
		return false, nil
	}
	return a.st.UseTOTPStep(r.Context(), id, step)
}

// secondFactor checks code as the code user id's authenticator app shows
// now, or else as an unused recovery code, and spends the one it matches;
// method names which it was, for the audit trail.
func (a *auth) secondFactor(r *http.Request, id int64, code string) (ok bool, method string, err error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if code == "" || len(code) > 64 {
		return false, "", nil
	}
	if ok, err := a.useCode(r, id, code); ok || err != nil {
		return ok, "authenticator", err
	}
	ok, _, err = a.st.UseRecoveryCode(r.Context(), id, hashRecoveryCode(code))
	return ok, "recovery code", err
}

// hashRecoveryCode is how recovery codes are stored: SHA-256 of the code
// without dashes or case. The codes are random, 50 bits each, so a fast
// hash is enough.
func hashRecoveryCode(code string) string {
	code = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	h := sha256.Sum256([]byte("srm recovery code:" + code))
	return hex.EncodeToString(h[:])
}

package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// RecoveryCodes is how many recovery codes an enrolment makes.
const RecoveryCodes = 10

// NewRecoveryCodes makes the RecoveryCodes recovery codes of an enrolment,
// all different, as a person reads them (xxxxx-xxxxx in lower-case
// base32: 50 random bits each), and their hashes (HashRecoveryCode) for
// storing.
func NewRecoveryCodes() (codes, hashes []string) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567" // base32: no 0/o or 1/l to mix up
	seen := make(map[string]bool, RecoveryCodes)
	for len(codes) < RecoveryCodes {
		b := make([]byte, 10)
		_, _ = rand.Read(b) // never fails on supported platforms
		for i := range b {
			b[i] = alphabet[b[i]&31] // 256 is a multiple of 32: no bias
		}
		code := string(b[:5]) + "-" + string(b[5:])
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, code)
		hashes = append(hashes, HashRecoveryCode(code))
	}
	return codes, hashes
}

// NormalizeRecoveryCode is a recovery code as typed, without the spaces
// around it, its dashes, or case.
func NormalizeRecoveryCode(code string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
}

// HashRecoveryCode is how recovery codes are stored: SHA-256 of the
// normalised code (NormalizeRecoveryCode). The codes are random, 50 bits
// each, so a fast hash is enough.
func HashRecoveryCode(code string) string {
	h := sha256.Sum256([]byte("srm recovery code:" + NormalizeRecoveryCode(code)))
	return hex.EncodeToString(h[:])
}

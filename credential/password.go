package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters of a password hash. A hash records
// its own, so they can be raised later and old hashes still check.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32 // bytes
	SaltLen uint32 // bytes
}

// DefaultParams are srm's: OWASP's minimum for argon2id (19 MiB, 2 passes,
// 1 lane).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// CheapParams are far below DefaultParams (1 MiB, one pass), for tests that
// sign in hundreds of times. Never for a real account.
var CheapParams = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// hashing admits a few password hashes at a time: each holds 19 MiB, so a
// burst of sign-ins must queue rather than exhaust memory.
var hashing = make(chan struct{}, max(2, runtime.NumCPU()))

// argon2id is argon2.IDKey taking a hashing slot.
func argon2id(pw, salt []byte, iter, mem uint32, threads uint8, keyLen uint32) []byte {
	hashing <- struct{}{}
	defer func() { <-hashing }()
	return argon2.IDKey(pw, salt, iter, mem, threads, keyLen)
}

// HashPassword returns pw hashed with DefaultParams: see Params.Hash.
func HashPassword(pw string) (string, error) {
	return DefaultParams.Hash(pw)
}

// Hash returns pw hashed with argon2id, parameters p and a fresh salt, in
// the PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash), which
// records its parameters.
func (p Params) Hash(pw string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2id([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformedHash is CheckPassword's answer to a hash it cannot read.
var ErrMalformedHash = errors.New("password hash: not an argon2id PHC string")

// CheckPassword reports whether pw matches hash, in time that does not
// depend on where they differ. A hash that is not argon2id in the PHC
// format, or whose parameters are out of bounds (more than 2 GiB, more
// than 16 passes), is ErrMalformedHash.
func CheckPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var (
		mem, iter uint32
		threads   uint8
	)
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil ||
		mem == 0 || mem > 1<<21 || iter == 0 || iter > 16 || threads == 0 {
		return false, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, ErrMalformedHash
	}
	got := argon2id([]byte(pw), salt, iter, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DecoyHash is a hash with DefaultParams that no password matches, to
// check when an email matches no account (or one without a password), so
// that signing in as nobody costs the same time as a wrong password. It is
// made on first use, so start-up does not pay for it.
var DecoyHash = sync.OnceValue(func() string {
	h, err := HashPassword("srm decoy password, never matches a real account")
	if err != nil {
		panic(err) // the system's random source failed: nothing is safe
	}
	return h
})

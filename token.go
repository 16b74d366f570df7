package srm

import (
	"strings"
	"time"
)

// APIToken is a personal API token: a person's way to script srm. It acts
// as its owner, with the owner's role as it is at each request, and only
// reads unless Writable. The secret is shown once when the token is made;
// srm keeps only its hash, and Hint, its first characters, so that a
// person can tell their tokens apart.
type APIToken struct {
	ID         int64
	UserID     int64
	UserEmail  string
	Name       string
	Hint       string
	Writable   bool
	CreatedAt  time.Time
	CreatedBy  string
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: not revoked
	RevokedBy  string
}

// Token lifetimes: the default, and the longest srm grants.
const (
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MaxTokenLifetime     = 366 * 24 * time.Hour
)

// TokenPrefix starts every API token, so that secret scanners (and
// people) recognise one in a log or a repository.
const TokenPrefix = "srm_"

// Revoked reports whether t has been revoked.
func (t APIToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// Expired reports whether t has expired at now.
func (t APIToken) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// Active reports whether t can still be used at now (its owner allowing).
func (t APIToken) Active(now time.Time) bool { return !t.Revoked() && !t.Expired(now) }

// Access says what t may do, in words: "read-only" or "read-write".
func (t APIToken) Access() string {
	if t.Writable {
		return "read-write"
	}
	return "read-only"
}

// TokenProblems reports what is wrong with a new token's name and
// lifetime, field by field.
func TokenProblems(name string, lifetime time.Duration) Problems {
	p := Problems{}
	p.text("name", strings.TrimSpace(name), MaxName, true, "Name the token after what will use it, such as \"CI pipeline\".")
	switch {
	case lifetime < time.Hour:
		p["expires"] = "Give the token at least an hour to live."
	case lifetime > MaxTokenLifetime:
		p["expires"] = "A token lives at most 366 days; make a new one when it expires."
	}
	return p
}

// Caller is who calls the API with a token: the token and its owner as
// they are at this request.
type Caller struct {
	Token APIToken
	User  User // ID, Email, Name, Role
}

// CanWrite reports whether the caller may change anything that needs role
// need: a read-write token whose owner's role allows it.
func (c Caller) CanWrite(need Role) bool { return c.Token.Writable && c.User.Role.Allows(need) }

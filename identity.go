package srm

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a signed-in person may do. Each role can do everything the
// roles before it can.
type Role string

// The three roles, from least to most trusted.
const (
	// RoleViewer reads everything and changes nothing.
	RoleViewer Role = "viewer"
	// RoleEditor assigns owners, completes controls, edits notes and evidence
	// and overrides a control with a reason.
	RoleEditor Role = "editor"
	// RoleAdmin also manages workloads, the catalog, users and settings.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most trusted.
var Roles = []Role{RoleViewer, RoleEditor, RoleAdmin}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether someone with role r may do what needs role need.
// An invalid role allows nothing, and nothing allows an invalid need.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && need.rank() > 0 && r.rank() >= need.rank()
}

// User is a person who signs in to srm.
type User struct {
	ID           int64
	Email        string
	Name         string
	Role         Role
	Disabled     bool
	MFA          bool   // has enrolled an authenticator app
	HasPassword  bool   // a local account
	Issuer       string // single sign-on: the provider's issuer; "" for local accounts
	Subject      string // single sign-on: the provider's id for the person
	CreatedAt    time.Time
	LastSignInAt time.Time
	Version      int64
	// SessionStamp is the account's state as its sessions know it: every
	// change that must end its sessions (disabling, a new role or password,
	// an authenticator enrolled or removed, signing out everywhere) raises
	// it, and a session made from an older stamp no longer works.
	SessionStamp int64
}

// Display is how the user is named on pages: the name, or else the email.
func (u User) Display() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// Password length limits, in characters.
const (
	MinPassword = 12
	MaxPassword = 1024
)

// PasswordProblem says what is wrong with a new password, or "" when
// nothing is.
func PasswordProblem(pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return "The password holds characters srm cannot accept; type it again."
	case n < MinPassword:
		return "Use at least 12 characters. A few unrelated words make a long password that is easy to remember."
	case n > MaxPassword:
		return "Keep the password to 1,024 characters or fewer."
	}
	return ""
}

// MaxEmail is the longest email address srm accepts.
const MaxEmail = 254

// NormalizeEmail trims an email address and lowercases it.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Validate reports what is wrong with a new local account, field by field.
func (u User) Validate() Problems {
	p := Problems{}
	if msg := EmailProblem(u.Email); msg != "" {
		p["email"] = msg
	}
	p.text("name", u.Name, MaxName, false, "")
	if !u.Role.Valid() {
		p["role"] = "Choose viewer, editor or admin."
	}
	return p
}

// EmailProblem says what is wrong with an email address, or "" when
// nothing is.
func EmailProblem(email string) string {
	if msg := textProblem(email, MaxEmail); msg != "" {
		return msg
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return "Enter an email address."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "Enter an address like name@example.com."
	}
	return ""
}

package views

import (
	"context"

	"github.com/srmhq/srm"
)

// Viewer is the person a page is rendered for. Pages read it from the
// context to show their name, hide what their role cannot do, and put the
// session's anti-forgery token in every form.
type Viewer struct {
	ID    int64
	Email string
	Name  string
	Role  srm.Role
	CSRF  string
	MFA   bool
	// Limited is true while the person may only finish signing in (enter a
	// code, or enrol an authenticator): the menu is hidden.
	Limited bool
}

// SignedIn reports whether v is a signed-in person.
func (v Viewer) SignedIn() bool { return v.ID > 0 }

// Display is how v is named in the menu.
func (v Viewer) Display() string {
	if v.Name != "" {
		return v.Name
	}
	return v.Email
}

type viewerKey struct{}

// WithViewer returns ctx carrying v for the pages rendered with it.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer of ctx, or the zero Viewer (signed out).
func ViewerFrom(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// can reports whether the viewer of ctx has at least role need.
func can(ctx context.Context, need srm.Role) bool {
	v := ViewerFrom(ctx)
	return v.SignedIn() && !v.Limited && v.Role.Allows(need)
}

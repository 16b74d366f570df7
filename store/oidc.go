package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// UserByOIDC returns the user a single-sign-on provider knows as subject,
// or an error wrapping srm.ErrNotFound.
func (s *Store) UserByOIDC(ctx context.Context, issuer, subject string) (srm.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`,
		issuer, subject))
	if err != nil {
		return srm.User{}, fmt.Errorf("store: user from %s: %w", issuer, translate(err))
	}
	return u, nil
}

// CreateOIDCUser adds an account for a person a single-sign-on provider
// vouches for, keyed by u.Issuer and u.Subject, and sets u.ID.
func (s *Store) CreateOIDCUser(ctx context.Context, u *srm.User) error {
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			INSERT INTO users (email, name, role, oidc_issuer, oidc_subject) VALUES ($1, $2, $3, $4, $5)
			RETURNING id, created_at, version`, u.Email, u.Name, u.Role, u.Issuer, u.Subject).
			QueryRow(func(r pgx.Row) error { return r.Scan(&u.ID, &u.CreatedAt, &u.Version) })
	})
	if err != nil {
		return fmt.Errorf("store: create user from %s: %w", u.Issuer, translate(err))
	}
	return nil
}

// OIDCFlow is a single-sign-on attempt in progress.
type OIDCFlow struct {
	StateHash string
	Nonce     string
	Verifier  string // PKCE code verifier
	ReturnTo  string // a path on srm
	ExpiresAt time.Time
}

// SaveOIDCFlow keeps f until it is taken or expires. Expired flows are
// cleared on the way.
func (s *Store) SaveOIDCFlow(ctx context.Context, f OIDCFlow) error {
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			WITH gone AS (DELETE FROM oidc_flows WHERE expires_at < now())
			INSERT INTO oidc_flows (state_hash, nonce, verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			f.StateHash, f.Nonce, f.Verifier, f.ReturnTo, f.ExpiresAt)
	})
	if err != nil {
		return fmt.Errorf("store: save sign-in flow: %w", translate(err))
	}
	return nil
}

// TakeOIDCFlow removes and returns the unexpired flow with stateHash, so a
// state works once; an unknown or expired one is an error wrapping
// srm.ErrNotFound.
func (s *Store) TakeOIDCFlow(ctx context.Context, stateHash string) (OIDCFlow, error) {
	f := OIDCFlow{StateHash: stateHash}
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`DELETE FROM oidc_flows WHERE state_hash = $1 RETURNING nonce, verifier, return_to, expires_at`, stateHash).
			QueryRow(func(r pgx.Row) error { return r.Scan(&f.Nonce, &f.Verifier, &f.ReturnTo, &f.ExpiresAt) })
	})
	if err != nil {
		return OIDCFlow{}, fmt.Errorf("store: sign-in flow: %w", translate(err))
	}
	if time.Now().After(f.ExpiresAt) {
		return OIDCFlow{}, fmt.Errorf("store: sign-in flow expired: %w", srm.ErrNotFound)
	}
	return f, nil
}

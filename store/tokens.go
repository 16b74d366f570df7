package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/srmhq/srm"
)

// Personal API tokens (migration 000014). A token is srm.TokenPrefix and
// 43 characters of base64url: 32 random bytes, so a plain SHA-256 of it is
// the right thing to store (nothing to stretch: it cannot be guessed).

// tokenHintLen is how much of a token is kept in clear: the prefix and
// four characters (24 of its 256 bits).
const tokenHintLen = len(srm.TokenPrefix) + 4

// tokenLen is the length of every token srm makes.
var tokenLen = len(srm.TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// newTokenSecret returns a fresh token.
func newTokenSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on supported platforms
	return srm.TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what the store keeps of a token.
func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ErrBadToken means a request's token is not one srm made, or is not
// stored: the caller is nobody. It wraps srm.ErrNotFound.
var ErrBadToken = fmt.Errorf("api token: %w", srm.ErrNotFound)

// TokenRefused is the error Authenticate returns for a token srm made
// that can no longer be used: Reason is "revoked", "expired" or "owner
// disabled". It wraps srm.ErrNotFound, as ErrBadToken does.
type TokenRefused struct{ Reason string }

func (e *TokenRefused) Error() string { return "api token " + e.Reason }

// Unwrap makes a refusal an srm.ErrNotFound.
func (e *TokenRefused) Unwrap() error { return srm.ErrNotFound }

// tokenColumns are the columns scanToken reads, of api_tokens k joined to
// users u.
const tokenColumns = `k.id, k.user_id, u.email, k.name, k.hint, k.writable, k.created_at, k.created_by, k.expires_at,
	k.last_used_at, k.revoked_at, COALESCE(k.revoked_by, '') AS revoked_by`

func scanToken(row pgx.Row) (srm.APIToken, error) {
	var (
		t          srm.APIToken
		used, revd pgtype.Timestamptz
	)
	if err := row.Scan(&t.ID, &t.UserID, &t.UserEmail, &t.Name, &t.Hint, &t.Writable, &t.CreatedAt, &t.CreatedBy,
		&t.ExpiresAt, &used, &revd, &t.RevokedBy); err != nil {
		return srm.APIToken{}, err
	}
	if used.Valid {
		t.LastUsedAt = used.Time
	}
	if revd.Valid {
		t.RevokedAt = revd.Time
	}
	return t, nil
}

// CreateToken makes a token for user userID named name, read-write when
// writable, that expires after lifetime, and returns it with its secret:
// the only time the secret exists outside the caller's hands. The
// creation is in the audit trail, as the actor of ctx. Invalid input is
// an error wrapping srm.ErrInvalid (srm.TokenProblems says why); an
// unknown or disabled user one wrapping srm.ErrNotFound.
func (s *Store) CreateToken(ctx context.Context, userID int64, name string, writable bool, lifetime time.Duration) (srm.APIToken, string, error) {
	name = strings.TrimSpace(name)
	if p := srm.TokenProblems(name, lifetime); len(p) > 0 {
		return srm.APIToken{}, "", fmt.Errorf("store: create token %q: %w: %v", name, srm.ErrInvalid, p)
	}
	actor, _ := ActorFrom(ctx)
	secret := newTokenSecret()
	var t srm.APIToken
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			WITH k AS (
				INSERT INTO public.api_tokens (user_id, name, hash, hint, writable, created_by, expires_at)
				SELECT u.id, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)
				FROM public.users u WHERE u.id = $1 AND NOT u.disabled
				RETURNING *
			), logged AS (
				SELECT public.audit_event('token.created', 'token', k.id::text, k.name, NULL, NULL,
				       jsonb_build_object('user_id', k.user_id, 'email', u.email, 'access',
				                          CASE WHEN k.writable THEN 'read-write' ELSE 'read-only' END,
				                          'hint', k.hint, 'expires_at', k.expires_at))
				FROM k JOIN public.users u ON u.id = k.user_id
			)
			SELECT `+tokenColumns+` FROM k JOIN public.users u ON u.id = k.user_id
			WHERE (SELECT count(*) FROM logged) = 1`,
			userID, name, tokenHash(secret), secret[:tokenHintLen], writable, actor.Name, lifetime.Seconds()).
			QueryRow(func(r pgx.Row) (err error) { t, err = scanToken(r); return err })
	})
	if err != nil {
		return srm.APIToken{}, "", fmt.Errorf("store: create token %q for user %d: %w", name, userID, translate(err))
	}
	return t, secret, nil
}

// Tokens returns the tokens of user userID, revoked and expired ones
// included, newest first.
func (s *Store) Tokens(ctx context.Context, userID int64) ([]srm.APIToken, error) {
	rows, err := s.db.Query(ctx, `SELECT `+tokenColumns+` FROM public.api_tokens k JOIN public.users u ON u.id = k.user_id
		WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens of user %d: %w", userID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (srm.APIToken, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("store: tokens of user %d: %w", userID, err)
	}
	return out, nil
}

// RevokeToken revokes token tokenID of user userID, at once: its next use
// is refused. The revocation is in the audit trail, as the actor of ctx.
// Revoking a token already revoked changes nothing and is no error; a
// token that is not the user's is an error wrapping srm.ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	actor, _ := ActorFrom(ctx)
	var found int
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			WITH k AS MATERIALIZED (
				SELECT id, revoked_at FROM public.api_tokens WHERE id = $1 AND user_id = $2 FOR UPDATE
			), revoked AS (
				UPDATE public.api_tokens t SET revoked_at = now(), revoked_by = $3
				FROM k WHERE t.id = k.id AND k.revoked_at IS NULL
				RETURNING t.id, t.name, t.user_id
			), logged AS (
				SELECT public.audit_event('token.revoked', 'token', r.id::text, r.name, NULL, NULL,
				       jsonb_build_object('user_id', r.user_id, 'email', u.email))
				FROM revoked r JOIN public.users u ON u.id = r.user_id
			)
			SELECT (SELECT count(*) FROM k)::int + 0 * (SELECT count(*) FROM logged)`, tokenID, userID, actor.Name).
			QueryRow(func(r pgx.Row) error { return r.Scan(&found) })
	})
	if err != nil {
		return fmt.Errorf("store: revoke token %d of user %d: %w", tokenID, userID, translate(err))
	}
	if found == 0 {
		return fmt.Errorf("store: revoke token %d of user %d: %w", tokenID, userID, srm.ErrNotFound)
	}
	return nil
}

// Authenticate returns who calls with secret: the token and its owner as
// they are now, the owner's role included. It costs one round trip. Using
// a token records when, at most once a minute. A token srm never made,
// or that is not stored, is ErrBadToken; a revoked or expired one, or one
// whose owner is disabled, is a *TokenRefused, and the refusal is in the
// audit trail (as the actor of ctx, at most once a minute per token).
func (s *Store) Authenticate(ctx context.Context, secret string) (srm.Caller, error) {
	if len(secret) != tokenLen || !strings.HasPrefix(secret, srm.TokenPrefix) {
		return srm.Caller{}, ErrBadToken // not one of srm's: no need to ask the database
	}
	var (
		c      srm.Caller
		role   string
		reason string
	)
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`
			WITH k AS MATERIALIZED (
				SELECT `+tokenColumns+`, u.name AS user_name, u.role,
				       CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
				            WHEN k.expires_at <= now() THEN 'expired'
				            WHEN u.disabled THEN 'owner disabled'
				            ELSE '' END AS refused,
				       k.refused_at, k.last_used_at AS used_at
				FROM public.api_tokens k JOIN public.users u ON u.id = k.user_id
				WHERE k.hash = $1
			), used AS (
				UPDATE public.api_tokens t SET last_used_at = now()
				FROM k WHERE t.id = k.id AND k.refused = ''
				  AND (k.used_at IS NULL OR k.used_at < now() - interval '1 minute')
				RETURNING t.id
			), refused AS (
				UPDATE public.api_tokens t SET refused_at = now()
				FROM k WHERE t.id = k.id AND k.refused <> ''
				  AND (k.refused_at IS NULL OR k.refused_at < now() - interval '1 minute')
				RETURNING t.id, t.name, t.user_id, k.email, k.refused
			), logged AS (
				SELECT public.audit_event('token.refused', 'token', r.id::text, r.name, NULL, NULL,
				       jsonb_build_object('user_id', r.user_id, 'email', r.email, 'reason', r.refused))
				FROM refused r
			)
			SELECT k.id, k.user_id, k.email, k.name, k.hint, k.writable, k.created_at, k.created_by, k.expires_at,
			       COALESCE((SELECT now() FROM used), k.last_used_at), k.revoked_at, k.revoked_by,
			       k.user_name, k.role, k.refused
			FROM k WHERE (SELECT count(*) FROM logged) >= 0`, tokenHash(secret)).
			QueryRow(func(r pgx.Row) error {
				var used, revd pgtype.Timestamptz
				t := &c.Token
				err := r.Scan(&t.ID, &t.UserID, &t.UserEmail, &t.Name, &t.Hint, &t.Writable, &t.CreatedAt, &t.CreatedBy,
					&t.ExpiresAt, &used, &revd, &t.RevokedBy, &c.User.Name, &role, &reason)
				if used.Valid {
					t.LastUsedAt = used.Time
				}
				if revd.Valid {
					t.RevokedAt = revd.Time
				}
				return err
			})
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return srm.Caller{}, ErrBadToken
	case err != nil:
		return srm.Caller{}, fmt.Errorf("store: authenticate a token: %w", err)
	case reason != "":
		return srm.Caller{}, &TokenRefused{Reason: reason}
	}
	c.User.ID, c.User.Email, c.User.Role = c.Token.UserID, c.Token.UserEmail, srm.Role(role)
	return c, nil
}

// UserByEmail returns the account with email, local or single sign-on
// (ignoring case; a local account first), or an error wrapping
// srm.ErrNotFound. It is for commands that name a person.
func (s *Store) UserByEmail(ctx context.Context, email string) (srm.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1)
		ORDER BY oidc_issuer IS NOT NULL, id LIMIT 1`, srm.NormalizeEmail(email)))
	if err != nil {
		return srm.User{}, fmt.Errorf("store: user %q: %w", email, translate(err))
	}
	return u, nil
}

BEGIN;

-- Personal API tokens (docs/api.md). A token is srm_ followed by 43
-- characters of base64url (32 random bytes); only its SHA-256 is stored,
-- so the table cannot be used to call the API. hint is the token's first
-- characters, enough for a person to tell their tokens apart, never
-- enough to guess one. A token acts as its owner with the owner's role as
-- it is at each request, and only reads unless writable.
--
-- Creating and revoking a token, and a refused use of a revoked or
-- expired one, are recorded by the store with audit_event in the same
-- transaction (token.created, token.revoked, token.refused); last_used_at
-- is bookkeeping and not audited, so the table has no audit trigger.
-- refused_at throttles token.refused to one row a minute per token, so a
-- script retrying with a dead token cannot flood the trail.
CREATE TABLE public.api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint  NOT NULL REFERENCES public.users ON DELETE CASCADE,
    name         text    NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    hash         bytea   NOT NULL UNIQUE CHECK (length(hash) = 32),
    hint         text    NOT NULL,
    writable     boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text    NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   text,
    refused_at   timestamptz,
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX api_tokens_user ON public.api_tokens (user_id, created_at DESC);

COMMIT;

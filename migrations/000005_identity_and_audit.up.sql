BEGIN;

-- People who sign in. A local account has an email and a password hash
-- (argon2id, in PHC form); a single-sign-on account is keyed by its
-- provider's issuer and subject, never by email alone.
CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text    NOT NULL CHECK (email <> ''),
    name           text    NOT NULL DEFAULT '',
    role           text    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    password_hash  text,
    oidc_issuer    text,
    oidc_subject   text,
    totp_secret    text,                        -- set once enrolment is confirmed
    totp_step      bigint  NOT NULL DEFAULT 0,  -- last time step used: a code works once
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_signin_at timestamptz,
    version        bigint  NOT NULL DEFAULT 1,
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
    CHECK (password_hash IS NOT NULL OR oidc_issuer IS NOT NULL),
    UNIQUE (oidc_issuer, oidc_subject)
);
CREATE UNIQUE INDEX users_local_email ON users (lower(email)) WHERE oidc_issuer IS NULL;

-- Single-use recovery codes, stored as SHA-256 of the code.
CREATE TABLE recovery_codes (
    user_id   bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    code_hash text   NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Sessions, in the shape github.com/alexedwards/scs/pgxstore expects. The
-- token column holds a hash of the cookie's token (scs HashTokenInStore);
-- user_id lets an admin revoke every session of one person.
CREATE TABLE sessions (
    token   text PRIMARY KEY,
    data    bytea NOT NULL,
    expiry  timestamptz NOT NULL,
    user_id bigint REFERENCES users ON DELETE CASCADE
);
CREATE INDEX sessions_expiry ON sessions (expiry);
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;

-- Settings an admin changes in the product.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (key, value) VALUES ('require_mfa', 'false');

-- Failed sign-ins, for throttling per account and per client.
CREATE TABLE signin_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    email     text NOT NULL,
    client_ip text NOT NULL
);
CREATE INDEX signin_failures_email ON signin_failures (lower(email), at);
CREATE INDEX signin_failures_client ON signin_failures (client_ip, at);

-- Single-sign-on flows in progress: state (hashed), nonce and PKCE verifier,
-- each usable once and only for a few minutes. Not sessions: a signed-out
-- visitor gets no session row.
CREATE TABLE oidc_flows (
    state_hash text PRIMARY KEY,
    nonce      text NOT NULL,
    verifier   text NOT NULL,
    return_to  text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- An owner may be a person who signs in.
ALTER TABLE owners ADD COLUMN user_id bigint UNIQUE REFERENCES users ON DELETE SET NULL;

-- The audit trail: one row per change or identity event, written in the
-- same transaction as what it records. The trail outlives what it names, so
-- it holds ids and names, not foreign keys.
CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint,
    actor       text NOT NULL,
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   text NOT NULL DEFAULT '',
    object_name text NOT NULL DEFAULT '',
    workload_id bigint,
    before      jsonb,
    after       jsonb,
    client_ip   text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_workload ON audit (workload_id, id) WHERE workload_id IS NOT NULL;
CREATE INDEX audit_actor ON audit (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_at ON audit (at);

-- Append-only: PostgreSQL refuses to change or remove audit rows, whoever
-- asks. Operators should also run srm as a role without UPDATE, DELETE or
-- TRUNCATE on audit (docs/security.md).
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on audit refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM PUBLIC;

-- audit_actor reads who is acting from the transaction's srm.actor setting,
-- which the store sets in the same statement as each change (see
-- store/audit.go): {"user_id", "actor", "ip", "ua"}.
CREATE FUNCTION audit_actor() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(current_setting('srm.actor', true), '')::jsonb, '{}'::jsonb)
$$;

-- audit_event writes one audit row as the current actor.
CREATE FUNCTION audit_event(p_action text, p_object_type text, p_object_id text, p_object_name text,
                            p_workload bigint, p_before jsonb, p_after jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit (actor_id, actor, action, object_type, object_id, object_name, workload_id,
                       before, after, client_ip, user_agent)
    SELECT (a->>'user_id')::bigint, COALESCE(a->>'actor', 'system'), p_action, p_object_type,
           COALESCE(p_object_id, ''), COALESCE(p_object_name, ''), p_workload, p_before, p_after,
           COALESCE(a->>'ip', ''), COALESCE(a->>'ua', '')
    FROM audit_actor() a
$$;

-- audit_change records a row change. Arguments: the object type, the key of
-- its id, the key of its name ('' for none) and the key of its workload id
-- ('' for none). Secrets never reach the trail, and a change that changes
-- nothing recordable writes nothing.
CREATE FUNCTION audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Secrets, and what srm derives rather than anyone changes: the
    -- progress triggers of 000003 rewrite workloads.total/done/pct on
    -- every status, override or catalog change, which is no change of
    -- the workload's own.
    hidden constant text[] := ARRAY['password_hash', 'totp_secret', 'totp_step', 'last_signin_at', 'data',
                                    'total', 'done', 'pct'];
    old_row jsonb;
    new_row jsonb;
    r jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD) - hidden; END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW) - hidden; END IF;
    IF old_row IS NOT DISTINCT FROM new_row THEN
        RETURN NULL;
    END IF;
    r := COALESCE(new_row, old_row);
    PERFORM audit_event(
        TG_ARGV[0] || CASE TG_OP WHEN 'INSERT' THEN '.created' WHEN 'UPDATE' THEN '.updated' ELSE '.deleted' END,
        TG_ARGV[0], r->>TG_ARGV[1], CASE WHEN TG_ARGV[2] = '' THEN '' ELSE r->>TG_ARGV[2] END,
        CASE WHEN TG_ARGV[3] = '' THEN NULL ELSE (r->>TG_ARGV[3])::bigint END,
        old_row, new_row);
    RETURN NULL;
END $$;

CREATE TRIGGER audit_workloads AFTER INSERT OR UPDATE OR DELETE ON workloads
    FOR EACH ROW EXECUTE FUNCTION audit_change('workload', 'id', 'name', 'id');
CREATE TRIGGER audit_statuses AFTER INSERT OR UPDATE OR DELETE ON statuses
    FOR EACH ROW EXECUTE FUNCTION audit_change('status', 'control_id', '', 'workload_id');
CREATE TRIGGER audit_overrides AFTER INSERT OR UPDATE OR DELETE ON overrides
    FOR EACH ROW EXECUTE FUNCTION audit_change('override', 'control_id', '', 'workload_id');
CREATE TRIGGER audit_controls AFTER INSERT OR UPDATE OR DELETE ON controls
    FOR EACH ROW EXECUTE FUNCTION audit_change('control', 'id', 'title', '');
CREATE TRIGGER audit_owners AFTER INSERT OR UPDATE OR DELETE ON owners
    FOR EACH ROW EXECUTE FUNCTION audit_change('owner', 'id', 'name', '');
CREATE TRIGGER audit_users AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION audit_change('user', 'id', 'email', '');
CREATE TRIGGER audit_settings AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION audit_change('setting', 'key', 'key', '');

-- record_status gains the actor, set for the transaction before it writes,
-- so the status's audit row says who saved it.
DROP FUNCTION record_status(bigint, bigint, bigint, text, text, boolean, text, text, boolean, text, bigint, boolean);
CREATE FUNCTION record_status(
    p_actor text,
    p_workload bigint, p_control bigint, p_owner bigint, p_owner_name text, p_owner_kind text,
    p_complete boolean, p_note text, p_evidence text, p_na boolean, p_na_reason text,
    p_version bigint, p_conditional boolean)
RETURNS TABLE (stored boolean, owner_id bigint, owner_name text, complete boolean, completed_by text,
               completed_at timestamptz, note text, evidence text, not_applicable boolean, na_reason text,
               version bigint, updated_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    cur_version bigint;
    new_owner bigint := p_owner;
    created boolean := false;
    done boolean := false;
BEGIN
    PERFORM set_config('srm.actor', p_actor, true);
    -- Wait for anyone saving this status now, then read what they left.
    SELECT s.version INTO cur_version FROM statuses s
    WHERE s.workload_id = p_workload AND s.control_id = p_control FOR UPDATE;

    IF NOT p_conditional OR COALESCE(cur_version, 0) = p_version THEN
        IF p_owner_name IS NOT NULL THEN
            SELECT o.id INTO new_owner FROM owners o WHERE lower(o.name) = lower(p_owner_name);
            IF NOT FOUND THEN
                INSERT INTO owners (name, kind) VALUES (p_owner_name, p_owner_kind)
                ON CONFLICT (lower(name)) DO NOTHING
                RETURNING id INTO new_owner;
                created := new_owner IS NOT NULL;
                IF NOT created THEN -- someone added the same name a moment ago
                    SELECT o.id INTO new_owner FROM owners o WHERE lower(o.name) = lower(p_owner_name);
                END IF;
            END IF;
        END IF;

        INSERT INTO statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
            note, evidence, not_applicable, na_reason)
        VALUES (p_workload, p_control, new_owner, p_complete,
            CASE WHEN p_complete THEN COALESCE((SELECT o.name FROM owners o WHERE o.id = new_owner), '') ELSE '' END,
            CASE WHEN p_complete THEN now() END,
            p_note, p_evidence, p_na, p_na_reason)
        ON CONFLICT (workload_id, control_id) DO UPDATE SET
            owner_id       = EXCLUDED.owner_id,
            complete       = EXCLUDED.complete,
            completed_by   = CASE WHEN NOT EXCLUDED.complete THEN ''
                                  WHEN s.complete THEN s.completed_by
                                  ELSE EXCLUDED.completed_by END,
            completed_at   = CASE WHEN NOT EXCLUDED.complete THEN NULL
                                  WHEN s.complete THEN s.completed_at
                                  ELSE EXCLUDED.completed_at END,
            note           = EXCLUDED.note,
            evidence       = EXCLUDED.evidence,
            not_applicable = EXCLUDED.not_applicable,
            na_reason      = EXCLUDED.na_reason,
            version        = s.version + 1,
            updated_at     = now()
        WHERE NOT p_conditional OR s.version = p_version
        RETURNING true INTO done;

        IF done IS NULL AND created THEN
            -- Lost a race for the very first status: take back the owner this
            -- call created, so a refused save leaves nothing behind.
            DELETE FROM owners WHERE id = new_owner;
        END IF;
    END IF;

    RETURN QUERY
    SELECT COALESCE(done, false), COALESCE(s.owner_id, 0), COALESCE(o.name, ''), s.complete, s.completed_by,
           s.completed_at, s.note, s.evidence, s.not_applicable, s.na_reason, s.version, s.updated_at
    FROM statuses s LEFT JOIN owners o ON o.id = s.owner_id
    WHERE s.workload_id = p_workload AND s.control_id = p_control;
END $$;

COMMIT;

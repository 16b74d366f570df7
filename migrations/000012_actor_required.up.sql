BEGIN;

-- Every audited write names who is acting, or is refused.
--
-- The audit triggers read who is acting from the transaction's srm.actor
-- setting ({"actor", "user_id", "ip", "ua"}), which the store sets as the
-- first statement of every write (store/audit.go). Until now a write that
-- forgot to set it was recorded as 'system': silently, in the trail that
-- is meant to say who did what. From here audit_actor refuses it, and so
-- every INSERT, UPDATE or DELETE on an audited table (workloads, statuses,
-- overrides, controls, owners, users, settings) and every audit_event call
-- made without a named actor fails and rolls back. The check comes first
-- in audit_change, before it decides whether the change is one it records:
-- a write that records nothing (a hidden column, a no-op update) must name
-- its actor too, so that forgetting it is found on the first run, not on
-- the first recorded change.
--
-- A migration that writes to an audited table must therefore set the
-- actor itself first, in its own transaction:
--   SELECT set_config('srm.actor', '{"actor": "srm migrate"}', true);

CREATE OR REPLACE FUNCTION public.audit_actor() RETURNS jsonb LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    a jsonb := NULLIF(current_setting('srm.actor', true), '')::jsonb;
BEGIN
    IF a IS NULL OR jsonb_typeof(a) <> 'object' OR COALESCE(a->>'actor', '') = '' THEN
        RAISE EXCEPTION 'a write to an audited table without an actor: srm.actor is not set'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Set it first in the same transaction: SELECT set_config(''srm.actor'', ''{"actor": "who"}'', true).';
    END IF;
    RETURN a;
END $$;

-- audit_event, as in 000008, with the actor audit_actor vouches for and no
-- default.
CREATE OR REPLACE FUNCTION public.audit_event(p_action text, p_object_type text, p_object_id text, p_object_name text,
                                              p_workload bigint, p_before jsonb, p_after jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    a jsonb;
BEGIN
    IF p_action ~ '^(workload|status|override|control|owner|user|setting)\.(created|updated|deleted)$' THEN
        RAISE EXCEPTION 'audit_event: % is written only by the audit triggers', p_action
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    a := public.audit_actor();
    INSERT INTO public.audit (actor_id, actor, action, object_type, object_id, object_name, workload_id,
                              before, after, client_ip, user_agent)
    VALUES ((a->>'user_id')::bigint, a->>'actor', p_action, p_object_type,
            COALESCE(p_object_id, ''), COALESCE(p_object_name, ''), p_workload, p_before, p_after,
            COALESCE(a->>'ip', ''), COALESCE(a->>'ua', ''));
END $$;

-- audit_change, as in 000008, asking for the actor before anything else.
CREATE OR REPLACE FUNCTION public.audit_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    hidden constant text[] := ARRAY['password_hash', 'totp_secret', 'totp_step', 'last_signin_at', 'data',
                                    'total', 'done', 'pct'];
    a jsonb := public.audit_actor();
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
    INSERT INTO public.audit (actor_id, actor, action, object_type, object_id, object_name, workload_id,
                              before, after, client_ip, user_agent)
    VALUES ((a->>'user_id')::bigint, a->>'actor',
            TG_ARGV[0] || CASE TG_OP WHEN 'INSERT' THEN '.created' WHEN 'UPDATE' THEN '.updated' ELSE '.deleted' END,
            TG_ARGV[0], COALESCE(r->>TG_ARGV[1], ''), COALESCE(CASE WHEN TG_ARGV[2] = '' THEN '' ELSE r->>TG_ARGV[2] END, ''),
            CASE WHEN TG_ARGV[3] = '' THEN NULL ELSE (r->>TG_ARGV[3])::bigint END,
            old_row, new_row, COALESCE(a->>'ip', ''), COALESCE(a->>'ua', ''));
    RETURN NULL;
END $$;

COMMIT;

BEGIN;

-- Back to 000008: a write without an actor is recorded as 'system'.

CREATE OR REPLACE FUNCTION public.audit_actor() RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT COALESCE(NULLIF(current_setting('srm.actor', true), '')::jsonb, '{}'::jsonb)
$$;

CREATE OR REPLACE FUNCTION public.audit_event(p_action text, p_object_type text, p_object_id text, p_object_name text,
                                              p_workload bigint, p_before jsonb, p_after jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF p_action ~ '^(workload|status|override|control|owner|user|setting)\.(created|updated|deleted)$' THEN
        RAISE EXCEPTION 'audit_event: % is written only by the audit triggers', p_action
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.audit (actor_id, actor, action, object_type, object_id, object_name, workload_id,
                              before, after, client_ip, user_agent)
    SELECT (a->>'user_id')::bigint, COALESCE(a->>'actor', 'system'), p_action, p_object_type,
           COALESCE(p_object_id, ''), COALESCE(p_object_name, ''), p_workload, p_before, p_after,
           COALESCE(a->>'ip', ''), COALESCE(a->>'ua', '')
    FROM public.audit_actor() a;
END $$;

CREATE OR REPLACE FUNCTION public.audit_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
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
    INSERT INTO public.audit (actor_id, actor, action, object_type, object_id, object_name, workload_id,
                              before, after, client_ip, user_agent)
    SELECT (a->>'user_id')::bigint, COALESCE(a->>'actor', 'system'),
           TG_ARGV[0] || CASE TG_OP WHEN 'INSERT' THEN '.created' WHEN 'UPDATE' THEN '.updated' ELSE '.deleted' END,
           TG_ARGV[0], COALESCE(r->>TG_ARGV[1], ''), COALESCE(CASE WHEN TG_ARGV[2] = '' THEN '' ELSE r->>TG_ARGV[2] END, ''),
           CASE WHEN TG_ARGV[3] = '' THEN NULL ELSE (r->>TG_ARGV[3])::bigint END,
           old_row, new_row, COALESCE(a->>'ip', ''), COALESCE(a->>'ua', '')
    FROM public.audit_actor() a;
    RETURN NULL;
END $$;

COMMIT;

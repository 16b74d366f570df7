BEGIN;

-- Every function of migrations 000001-000007, recreated with the same
-- behaviour, a pinned search_path and every table named with its schema.
--
-- Before, the functions resolved names through the caller's search_path.
-- PostgreSQL searches the session's temporary schema before any other for
-- tables, so a role that could create a temporary table named audit caught
-- every row the triggers wrote, and the real trail got none. Now the path
-- is pg_catalog, public, then pg_temp last (PostgreSQL's advice for
-- SECURITY DEFINER functions: pg_temp left out of a path is searched first),
-- and the bodies name public.<table> anyway.
--
-- The audit trail is now written only by these functions, which run as
-- their owner (SECURITY DEFINER): srm's serving role gets SELECT on audit
-- and no INSERT, UPDATE, DELETE or TRUNCATE (srm migrate --app-role grants
-- exactly that), so it cannot write a row in anyone's name with a time of
-- its choosing. The time of a row is always the column default, now().

CREATE OR REPLACE FUNCTION public.layer_progress_delta() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE public.portfolio_shards
        SET workloads = workloads - CASE WHEN OLD.layer = 'physical' THEN 1 ELSE 0 END,
            controls = controls - OLD.controls, total = total - OLD.total, done = done - OLD.done
        WHERE model = OLD.model AND layer = OLD.layer AND shard = OLD.workload_id % 16;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE public.portfolio_shards
        SET workloads = workloads + CASE WHEN NEW.layer = 'physical' THEN 1 ELSE 0 END,
            controls = controls + NEW.controls, total = total + NEW.total, done = done + NEW.done
        WHERE model = NEW.model AND layer = NEW.layer AND shard = NEW.workload_id % 16;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.owner_progress_delta() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE public.owner_totals SET total = total - OLD.total, done = done - OLD.done WHERE owner_id = OLD.owner_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO public.owner_totals AS t (owner_id, total, done) VALUES (NEW.owner_id, NEW.total, NEW.done)
        ON CONFLICT (owner_id) DO UPDATE SET total = t.total + EXCLUDED.total, done = t.done + EXCLUDED.done;
    END IF;
    RETURN NULL;
END $$;

-- See 000003 for why it locks what it locks, in this order.
CREATE OR REPLACE FUNCTION public.refresh_progress(wid bigint) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    m text;
BEGIN
    IF wid IS NULL THEN
        PERFORM set_config('srm.bulk', 'on', true);
        PERFORM 1 FROM public.workloads ORDER BY id FOR NO KEY UPDATE;
        LOCK TABLE public.portfolio_shards, public.owner_totals IN EXCLUSIVE MODE;
        DELETE FROM public.layer_progress;
        INSERT INTO public.layer_progress (workload_id, layer, model, controls, total, done)
        SELECT w.id, l.layer, w.model, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
        FROM public.workloads w
        CROSS JOIN unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l (layer)
        LEFT JOIN (
            SELECT workload_id, layer, count(*) AS controls,
                   count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
                   count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
            FROM public.assignments GROUP BY workload_id, layer
        ) a ON a.workload_id = w.id AND a.layer = l.layer;
        DELETE FROM public.owner_progress;
        INSERT INTO public.owner_progress (owner_id, workload_id, total, done)
        SELECT owner_id, workload_id,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable),
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete)
        FROM public.assignments WHERE owner_id IS NOT NULL
        GROUP BY owner_id, workload_id;
        UPDATE public.workloads w SET total = s.total, done = s.done
        FROM (SELECT workload_id, sum(total)::int AS total, sum(done)::int AS done
              FROM public.layer_progress GROUP BY workload_id) s
        WHERE w.id = s.workload_id AND (w.total <> s.total OR w.done <> s.done);
        UPDATE public.portfolio_shards p
        SET workloads = COALESCE(s.workloads, 0), controls = COALESCE(s.controls, 0),
            total = COALESCE(s.total, 0), done = COALESCE(s.done, 0)
        FROM public.portfolio_shards p2
        LEFT JOIN (SELECT model, layer, (workload_id % 16)::int AS shard,
                          count(*) FILTER (WHERE layer = 'physical') AS workloads,
                          sum(controls) AS controls, sum(total) AS total, sum(done) AS done
                   FROM public.layer_progress GROUP BY 1, 2, 3) s
               ON s.model = p2.model AND s.layer = p2.layer AND s.shard = p2.shard
        WHERE p.model = p2.model AND p.layer = p2.layer AND p.shard = p2.shard;
        DELETE FROM public.owner_totals;
        INSERT INTO public.owner_totals (owner_id, total, done)
        SELECT owner_id, sum(total), sum(done) FROM public.owner_progress GROUP BY owner_id;
        PERFORM set_config('srm.bulk', 'off', true);
        RETURN;
    END IF;

    SELECT model INTO m FROM public.workloads WHERE id = wid FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN; -- deleted: its rows went with it, and their triggers took them off the totals
    END IF;
    PERFORM 1 FROM public.portfolio_shards WHERE shard = wid % 16 ORDER BY model, layer FOR NO KEY UPDATE;
    INSERT INTO public.layer_progress AS lp (workload_id, layer, model, controls, total, done)
    SELECT wid, l.layer, m, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
    FROM unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l (layer)
    LEFT JOIN (
        SELECT layer, count(*) AS controls,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
        FROM public.assignments WHERE workload_id = wid GROUP BY layer
    ) a ON a.layer = l.layer
    ON CONFLICT (workload_id, layer) DO UPDATE
        SET model = EXCLUDED.model, controls = EXCLUDED.controls, total = EXCLUDED.total, done = EXCLUDED.done
        WHERE (lp.model, lp.controls, lp.total, lp.done)
              IS DISTINCT FROM (EXCLUDED.model, EXCLUDED.controls, EXCLUDED.total, EXCLUDED.done);
    DELETE FROM public.owner_progress op
    WHERE op.workload_id = wid
      AND NOT EXISTS (SELECT 1 FROM public.statuses s WHERE s.workload_id = wid AND s.owner_id = op.owner_id);
    INSERT INTO public.owner_progress AS op (owner_id, workload_id, total, done)
    SELECT owner_id, wid,
           count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable),
           count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete)
    FROM public.assignments WHERE workload_id = wid AND owner_id IS NOT NULL
    GROUP BY owner_id
    ON CONFLICT (owner_id, workload_id) DO UPDATE SET total = EXCLUDED.total, done = EXCLUDED.done
        WHERE (op.total, op.done) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.done);
    UPDATE public.workloads w SET total = s.total, done = s.done
    FROM (SELECT sum(total)::int AS total, sum(done)::int AS done FROM public.layer_progress WHERE workload_id = wid) s
    WHERE w.id = wid AND (w.total <> s.total OR w.done <> s.done);
END $$;

CREATE OR REPLACE FUNCTION public.status_progress_delta() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    wid bigint := COALESCE(NEW.workload_id, OLD.workload_id);
    cid bigint := COALESCE(NEW.control_id, OLD.control_id);
    p text;
    lyr text;
    old_total int := 0;
    old_done int := 0;
    new_total int := 0;
    new_done int := 0;
BEGIN
    PERFORM 1 FROM public.workloads WHERE id = wid FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NULL; -- the workload is being deleted; its summary rows go with it
    END IF;
    SELECT COALESCE(o.party, CASE w.model WHEN 'onprem' THEN r.onprem WHEN 'iaas' THEN r.iaas
                                          WHEN 'paas' THEN r.paas ELSE r.saas END), c.layer
    INTO p, lyr
    FROM public.workloads w
    JOIN public.controls c ON c.id = cid
    JOIN public.baseline_rows r ON r.baseline_id = w.baseline_id AND r.area = c.area
    LEFT JOIN public.overrides o ON o.workload_id = wid AND o.control_id = cid
    WHERE w.id = wid;
    IF NOT FOUND THEN
        RETURN NULL; -- the control is being deleted; the statement trigger recomputes
    END IF;

    IF p <> 'provider' THEN
        IF TG_OP = 'INSERT' OR NOT OLD.not_applicable THEN
            old_total := 1;
            old_done := CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.complete::int END;
        END IF;
        IF TG_OP = 'DELETE' OR NOT NEW.not_applicable THEN
            new_total := 1;
            new_done := CASE WHEN TG_OP = 'DELETE' THEN 0 ELSE NEW.complete::int END;
        END IF;
    END IF;

    IF new_total <> old_total OR new_done <> old_done THEN
        UPDATE public.layer_progress SET total = total + new_total - old_total, done = done + new_done - old_done
        WHERE workload_id = wid AND layer = lyr;
        UPDATE public.workloads SET total = total + new_total - old_total, done = done + new_done - old_done
        WHERE id = wid;
    END IF;

    IF TG_OP = 'INSERT' THEN
        old_total := 0;
        old_done := 0;
    ELSIF TG_OP = 'DELETE' THEN
        new_total := 0;
        new_done := 0;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.owner_id IS NOT DISTINCT FROM NEW.owner_id
       AND old_total = new_total AND old_done = new_done THEN
        RETURN NULL; -- a note or evidence changed: no owner's numbers move
    END IF;
    PERFORM 1 FROM public.owners
    WHERE id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.owner_id END, CASE WHEN TG_OP <> 'DELETE' THEN NEW.owner_id END)
    ORDER BY id FOR NO KEY UPDATE;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.owner_id IS NOT NULL THEN
        UPDATE public.owner_progress SET total = total - old_total, done = done - old_done
        WHERE owner_id = OLD.owner_id AND workload_id = wid AND (old_total <> 0 OR old_done <> 0);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.owner_id IS NOT NULL THEN
        INSERT INTO public.owner_progress AS op (owner_id, workload_id, total, done)
        VALUES (NEW.owner_id, wid, new_total, new_done)
        ON CONFLICT (owner_id, workload_id) DO UPDATE
            SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done
            WHERE EXCLUDED.total <> 0 OR EXCLUDED.done <> 0;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.refresh_progress_of_row() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM public.refresh_progress(OLD.workload_id);
        RETURN OLD;
    END IF;
    IF TG_TABLE_NAME = 'workloads' THEN
        PERFORM public.refresh_progress(NEW.id);
    ELSE
        PERFORM public.refresh_progress(NEW.workload_id);
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION public.refresh_progress_of_all() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM public.refresh_progress(NULL);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.bump_catalog_version() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE public.catalog_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.bump_owners_version() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE public.catalog_version SET owners_version = owners_version + 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.record_status(
    p_actor text,
    p_workload bigint, p_control bigint, p_owner bigint, p_owner_name text, p_owner_kind text,
    p_complete boolean, p_note text, p_evidence text, p_na boolean, p_na_reason text,
    p_version bigint, p_conditional boolean)
RETURNS TABLE (stored boolean, owner_id bigint, owner_name text, complete boolean, completed_by text,
               completed_at timestamptz, note text, evidence text, not_applicable boolean, na_reason text,
               version bigint, updated_at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    cur_version bigint;
    new_owner bigint := p_owner;
    created boolean := false;
    done boolean := false;
BEGIN
    PERFORM set_config('srm.actor', p_actor, true);
    SELECT s.version INTO cur_version FROM public.statuses s
    WHERE s.workload_id = p_workload AND s.control_id = p_control FOR UPDATE;

    IF NOT p_conditional OR COALESCE(cur_version, 0) = p_version THEN
        IF p_owner_name IS NOT NULL THEN
            SELECT o.id INTO new_owner FROM public.owners o WHERE lower(o.name) = lower(p_owner_name);
            IF NOT FOUND THEN
                INSERT INTO public.owners (name, kind) VALUES (p_owner_name, p_owner_kind)
                ON CONFLICT (lower(name)) DO NOTHING
                RETURNING id INTO new_owner;
                created := new_owner IS NOT NULL;
                IF NOT created THEN -- someone added the same name a moment ago
                    SELECT o.id INTO new_owner FROM public.owners o WHERE lower(o.name) = lower(p_owner_name);
                END IF;
            END IF;
        END IF;

        INSERT INTO public.statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
            note, evidence, not_applicable, na_reason)
        VALUES (p_workload, p_control, new_owner, p_complete,
            CASE WHEN p_complete THEN COALESCE((SELECT o.name FROM public.owners o WHERE o.id = new_owner), '') ELSE '' END,
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
            DELETE FROM public.owners WHERE id = new_owner;
        END IF;
    END IF;

    RETURN QUERY
    SELECT COALESCE(done, false), COALESCE(s.owner_id, 0), COALESCE(o.name, ''), s.complete, s.completed_by,
           s.completed_at, s.note, s.evidence, s.not_applicable, s.na_reason, s.version, s.updated_at
    FROM public.statuses s LEFT JOIN public.owners o ON o.id = s.owner_id
    WHERE s.workload_id = p_workload AND s.control_id = p_control;
END $$;

CREATE OR REPLACE FUNCTION public.audit_append_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on audit refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION public.audit_actor() RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT COALESCE(NULLIF(current_setting('srm.actor', true), '')::jsonb, '{}'::jsonb)
$$;

-- audit_event writes one audit row as the current actor, for the events the
-- application records itself (sign-ins, password and MFA changes, a seed).
-- It runs as its owner, because srm's serving role may not write to audit,
-- and it refuses the actions only the row triggers write (workload.updated
-- and the like): a direct call cannot pass for a recorded change. The row's
-- time is the column default, never the caller's.
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
REVOKE EXECUTE ON FUNCTION public.audit_event(text, text, text, text, bigint, jsonb, jsonb) FROM PUBLIC;

-- audit_change records a row change (see 000005). It runs as its owner and
-- writes the row itself, the same row audit_event wrote for it before.
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
REVOKE EXECUTE ON FUNCTION public.audit_change() FROM PUBLIC;

-- Nobody but the owner writes to the trail directly (UPDATE, DELETE and
-- TRUNCATE were taken from PUBLIC by 000005).
REVOKE INSERT ON public.audit FROM PUBLIC;

COMMIT;

BEGIN;

-- Back to the assignments view and the progress functions of migrations
-- 000003 and 000005 (with a pinned search path and qualified names, as
-- 000008 left them), and recompute the summaries with them.

ALTER TABLE public.catalog_version DROP COLUMN assessed;

DROP TRIGGER owners_version ON public.owners;
CREATE TRIGGER owners_version AFTER INSERT OR UPDATE OR DELETE ON public.owners
    FOR EACH STATEMENT EXECUTE FUNCTION public.bump_owners_version();

DROP TRIGGER assignments_delta ON public.assignments;
DROP FUNCTION public.assignments_delta();
DROP TABLE public.assignments;

CREATE VIEW public.assignments AS
SELECT w.id AS workload_id,
       c.id AS control_id,
       c.layer,
       COALESCE(o.party, CASE w.model
                             WHEN 'onprem' THEN r.onprem
                             WHEN 'iaas'   THEN r.iaas
                             WHEN 'paas'   THEN r.paas
                             ELSE r.saas
                         END) AS party,
       COALESCE(s.not_applicable, false) AS not_applicable,
       COALESCE(s.complete, false) AS complete,
       s.owner_id
FROM public.workloads w
CROSS JOIN public.controls c
JOIN public.baseline_rows r ON r.baseline_id = w.baseline_id AND r.area = c.area
LEFT JOIN public.overrides o ON o.workload_id = w.id AND o.control_id = c.id
LEFT JOIN public.statuses s ON s.workload_id = w.id AND s.control_id = c.id;

CREATE OR REPLACE FUNCTION public.layer_progress_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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

CREATE FUNCTION public.refresh_progress(wid bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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
        RETURN;
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

CREATE FUNCTION public.status_progress_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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
        RETURN NULL;
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
        RETURN NULL;
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
        RETURN NULL;
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

CREATE FUNCTION public.refresh_progress_of_row() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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

CREATE FUNCTION public.refresh_progress_of_all() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM public.refresh_progress(NULL);
    RETURN NULL;
END $$;

CREATE TRIGGER statuses_progress AFTER INSERT OR UPDATE OF complete, not_applicable, owner_id OR DELETE ON public.statuses
    FOR EACH ROW EXECUTE FUNCTION public.status_progress_delta();
CREATE TRIGGER overrides_progress AFTER INSERT OR UPDATE OR DELETE ON public.overrides
    FOR EACH ROW EXECUTE FUNCTION public.refresh_progress_of_row();
CREATE TRIGGER workloads_progress AFTER INSERT OR UPDATE OF model, baseline_id ON public.workloads
    FOR EACH ROW EXECUTE FUNCTION public.refresh_progress_of_row();
CREATE TRIGGER controls_progress AFTER INSERT OR DELETE ON public.controls
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_progress_of_all();
CREATE TRIGGER controls_progress_moved AFTER UPDATE OF layer, area ON public.controls
    FOR EACH ROW WHEN (OLD.layer IS DISTINCT FROM NEW.layer OR OLD.area IS DISTINCT FROM NEW.area)
    EXECUTE FUNCTION public.refresh_progress_of_all();
CREATE TRIGGER baseline_rows_progress AFTER INSERT OR DELETE OR UPDATE ON public.baseline_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_progress_of_all();

CREATE FUNCTION public.record_status(
    p_actor text,
    p_workload bigint, p_control bigint, p_owner bigint, p_owner_name text, p_owner_kind text,
    p_complete boolean, p_note text, p_evidence text, p_na boolean, p_na_reason text,
    p_version bigint, p_conditional boolean)
RETURNS TABLE (stored boolean, owner_id bigint, owner_name text, complete boolean, completed_by text,
               completed_at timestamptz, note text, evidence text, not_applicable boolean, na_reason text,
               version bigint, updated_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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
                IF NOT created THEN
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

SELECT public.refresh_progress(NULL);

COMMIT;

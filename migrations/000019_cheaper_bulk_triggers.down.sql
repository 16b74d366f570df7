BEGIN;

-- Back to 000016: its audit_statuses_updated and assignments_update_delta,
-- and the index statuses_owner of 000001.

CREATE INDEX statuses_owner ON public.statuses (owner_id) WHERE owner_id IS NOT NULL;

CREATE OR REPLACE FUNCTION public.audit_statuses_updated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    hidden constant text[] := ARRAY['password_hash', 'totp_secret', 'totp_step', 'last_signin_at', 'data',
                                    'total', 'done', 'pct'];
    a jsonb := public.audit_actor();
BEGIN
    INSERT INTO public.audit (actor_id, actor, action, object_type, object_id, object_name, workload_id,
                              before, after, client_ip, user_agent)
    SELECT (a->>'user_id')::bigint, a->>'actor', 'status.updated', 'status', n.control_id::text, '',
           n.workload_id, o.r, n.r, COALESCE(a->>'ip', ''), COALESCE(a->>'ua', '')
    FROM (SELECT x.workload_id, x.control_id, to_jsonb(x) - hidden AS r FROM old_rows x) o
    JOIN (SELECT x.workload_id, x.control_id, to_jsonb(x) - hidden AS r FROM new_rows x) n
      ON n.workload_id = o.workload_id AND n.control_id = o.control_id
    WHERE o.r IS DISTINCT FROM n.r
    ORDER BY n.workload_id, n.control_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.assignments_update_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- What each updated row moves: per workload and layer (a row whose layer
    -- changed leaves one layer and joins another), then summed.
    INSERT INTO public.layer_progress AS lp (workload_id, layer, model, controls, total, done)
    SELECT d.workload_id, d.layer, w.model, d.controls, d.total, d.done
    FROM (
        SELECT m.workload_id, m.layer, sum(m.controls)::int AS controls, sum(m.total)::int AS total,
               sum(m.done)::int AS done
        FROM (
            SELECT o.workload_id, o.layer, -1 AS controls, -o.counted::int AS total, -o.done::int AS done
            FROM old_rows o
            UNION ALL
            SELECT n.workload_id, n.layer, 1, n.counted::int, n.done::int
            FROM new_rows n
        ) m
        GROUP BY m.workload_id, m.layer
    ) d
    JOIN public.workloads w ON w.id = d.workload_id
    WHERE d.controls <> 0 OR d.total <> 0 OR d.done <> 0
    ORDER BY d.workload_id, d.layer
    ON CONFLICT (workload_id, layer) DO UPDATE
        SET controls = lp.controls + EXCLUDED.controls, total = lp.total + EXCLUDED.total,
            done = lp.done + EXCLUDED.done;

    UPDATE public.workloads w SET total = w.total + d.total, done = w.done + d.done
    FROM (
        SELECT m.workload_id, sum(m.total)::int AS total, sum(m.done)::int AS done
        FROM (
            SELECT o.workload_id, -o.counted::int AS total, -o.done::int AS done FROM old_rows o
            UNION ALL
            SELECT n.workload_id, n.counted::int, n.done::int FROM new_rows n
        ) m
        GROUP BY m.workload_id
    ) d
    WHERE w.id = d.workload_id AND (d.total <> 0 OR d.done <> 0);

    -- Per owner and workload: a row leaves its old owner and joins its new
    -- one (the same owner: only the difference remains).
    INSERT INTO public.owner_progress AS op (owner_id, workload_id, total, done)
    SELECT m.owner_id, m.workload_id, sum(m.total)::int, sum(m.done)::int
    FROM (
        SELECT o.owner_id, o.workload_id, -o.counted::int AS total, -o.done::int AS done
        FROM old_rows o WHERE o.owner_id IS NOT NULL
        UNION ALL
        SELECT n.owner_id, n.workload_id, n.counted::int, n.done::int
        FROM new_rows n WHERE n.owner_id IS NOT NULL
    ) m
    GROUP BY m.owner_id, m.workload_id
    HAVING sum(m.total) <> 0 OR sum(m.done) <> 0
    ORDER BY m.owner_id, m.workload_id
    ON CONFLICT (owner_id, workload_id) DO UPDATE
        SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done;
    RETURN NULL;
END $$;

COMMIT;

BEGIN;

-- A bulk action saves up to hundreds of statuses in one statement, and with
-- them updates as many rows of assignments. The row trigger
-- assignments_delta (000011) then ran once per row, each run writing its
-- layer's row, the workload's totals and its owners' rows, each of which
-- fired its own row trigger on to portfolio_shards and owner_totals: for 50
-- rows, hundreds of small statements. An UPDATE of assignments now fires
-- one statement trigger that sums the differences of all its rows per
-- workload and layer, per workload, and per owner and workload, and writes
-- each summary row once. Inserts and deletes of assignments (a workload
-- created, a control added or removed; mostly under srm.bulk) keep the row
-- trigger: capturing millions of rows in a transition table for a trigger
-- that srm.bulk then skips would only cost.
--
-- Summary rows are written in key order (workload and layer; owner then
-- workload), so two statements moving the same rows queue instead of
-- deadlocking; the bulk save also locks owner_totals and portfolio_shards
-- in order first (store/statuses_bulk.go).

DROP TRIGGER assignments_delta ON public.assignments;
CREATE TRIGGER assignments_delta AFTER INSERT OR DELETE ON public.assignments
    FOR EACH ROW WHEN (current_setting('srm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION public.assignments_delta();

CREATE FUNCTION public.assignments_update_delta() RETURNS trigger
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

CREATE TRIGGER assignments_update_delta AFTER UPDATE ON public.assignments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.assignments_update_delta();

-- The audit of statuses: each status a statement changes still writes its
-- own audit row, with the actor, before and after, exactly as
-- audit_change (000012) does; for an UPDATE (a bulk save updates most of
-- its rows, INSERT ... ON CONFLICT DO UPDATE included) one statement
-- trigger writes them all with one INSERT ... SELECT instead of one
-- trigger call per row. The actor is asked for first, even when no row
-- changed (000012). Inserts and deletes keep the row trigger, which
-- srm's bulk load pauses while it copies millions of statuses.
DROP TRIGGER audit_statuses ON public.statuses;
CREATE TRIGGER audit_statuses AFTER INSERT OR DELETE ON public.statuses
    FOR EACH ROW EXECUTE FUNCTION public.audit_change('status', 'control_id', '', 'workload_id');

CREATE FUNCTION public.audit_statuses_updated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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

CREATE TRIGGER audit_statuses_updated AFTER UPDATE ON public.statuses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_statuses_updated();

COMMIT;

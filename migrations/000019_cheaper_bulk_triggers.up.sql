BEGIN;

-- A bulk action on 50 rows spent most of its PostgreSQL time in the
-- statement triggers of 000016 (EXPLAIN ANALYZE with auto_explain's nested
-- statements, 10,000 seeded workloads):
--
-- * assignments_update_delta joined its per-workload sums to workloads
--   (for the model, and to add the totals) with a hash join over a
--   sequential scan of every workload: the planner cannot know that a
--   statement's rows belong to one workload. Both now look the workload up
--   by its key, once per workload the statement touched.
-- * audit_statuses_updated built each row's JSON twice before and twice
--   after (the subqueries were pulled up, and the expression was evaluated
--   once in the join filter and once in the select list). It now compares
--   the rows column by column (a statuses row has none of the hidden keys,
--   so the JSON differs exactly when a column does) and builds each JSON
--   once. The audit rows are the same.
-- * statuses_owner (owner_id) is the leading column of
--   statuses_owner_workload (owner_id, workload_id), with the same WHERE:
--   every lookup by owner can use the latter, and each status whose owner
--   changed wrote both.

DROP INDEX public.statuses_owner;

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
           n.workload_id, to_jsonb(o) - hidden, to_jsonb(n) - hidden, COALESCE(a->>'ip', ''), COALESCE(a->>'ua', '')
    FROM old_rows o
    JOIN new_rows n ON n.workload_id = o.workload_id AND n.control_id = o.control_id
    WHERE (o.*) IS DISTINCT FROM (n.*)
    ORDER BY n.workload_id, n.control_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.assignments_update_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    t record;
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- What each updated row moves: per workload and layer (a row whose layer
    -- changed leaves one layer and joins another), then summed. The model
    -- is looked up per workload by its key (OFFSET 0 keeps the lookup a
    -- nested index scan rather than a join over all workloads).
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
        HAVING sum(m.controls) <> 0 OR sum(m.total) <> 0 OR sum(m.done) <> 0
    ) d
    CROSS JOIN LATERAL (SELECT x.model FROM public.workloads x WHERE x.id = d.workload_id OFFSET 0) w
    ORDER BY d.workload_id, d.layer
    ON CONFLICT (workload_id, layer) DO UPDATE
        SET controls = lp.controls + EXCLUDED.controls, total = lp.total + EXCLUDED.total,
            done = lp.done + EXCLUDED.done;

    -- The workloads' totals, each workload updated by its key, in id order.
    FOR t IN
        SELECT m.workload_id, sum(m.total)::int AS total, sum(m.done)::int AS done
        FROM (
            SELECT o.workload_id, -o.counted::int AS total, -o.done::int AS done FROM old_rows o
            UNION ALL
            SELECT n.workload_id, n.counted::int, n.done::int FROM new_rows n
        ) m
        GROUP BY m.workload_id
        HAVING sum(m.total) <> 0 OR sum(m.done) <> 0
        ORDER BY m.workload_id
    LOOP
        UPDATE public.workloads w SET total = w.total + t.total, done = w.done + t.done WHERE w.id = t.workload_id;
    END LOOP;

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

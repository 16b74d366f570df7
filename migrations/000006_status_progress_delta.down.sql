BEGIN;
DROP TRIGGER IF EXISTS statuses_progress ON statuses;
CREATE TRIGGER statuses_progress AFTER INSERT OR UPDATE OF complete, not_applicable, owner_id OR DELETE ON statuses
    FOR EACH ROW EXECUTE FUNCTION refresh_progress_of_row();
DROP FUNCTION IF EXISTS status_progress_delta();
CREATE OR REPLACE FUNCTION refresh_progress(wid bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m text;
BEGIN
    IF wid IS NULL THEN
        PERFORM set_config('srm.bulk', 'on', true);
        PERFORM 1 FROM workloads ORDER BY id FOR NO KEY UPDATE;
        DELETE FROM layer_progress;
        INSERT INTO layer_progress (workload_id, layer, model, controls, total, done)
        SELECT w.id, l.layer, w.model, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
        FROM workloads w
        CROSS JOIN unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l (layer)
        LEFT JOIN (
            SELECT workload_id, layer, count(*) AS controls,
                   count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
                   count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
            FROM assignments GROUP BY workload_id, layer
        ) a ON a.workload_id = w.id AND a.layer = l.layer;
        DELETE FROM owner_progress;
        INSERT INTO owner_progress (owner_id, workload_id, total, done)
        SELECT owner_id, workload_id,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable),
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete)
        FROM assignments WHERE owner_id IS NOT NULL
        GROUP BY owner_id, workload_id;
        UPDATE workloads w SET total = s.total, done = s.done
        FROM (SELECT workload_id, sum(total)::int AS total, sum(done)::int AS done
              FROM layer_progress GROUP BY workload_id) s
        WHERE w.id = s.workload_id AND (w.total <> s.total OR w.done <> s.done);
        UPDATE portfolio_shards p
        SET workloads = COALESCE(s.workloads, 0), controls = COALESCE(s.controls, 0),
            total = COALESCE(s.total, 0), done = COALESCE(s.done, 0)
        FROM portfolio_shards p2
        LEFT JOIN (SELECT model, layer, (workload_id % 16)::int AS shard,
                          count(*) FILTER (WHERE layer = 'physical') AS workloads,
                          sum(controls) AS controls, sum(total) AS total, sum(done) AS done
                   FROM layer_progress GROUP BY 1, 2, 3) s
               ON s.model = p2.model AND s.layer = p2.layer AND s.shard = p2.shard
        WHERE p.model = p2.model AND p.layer = p2.layer AND p.shard = p2.shard;
        DELETE FROM owner_totals;
        INSERT INTO owner_totals (owner_id, total, done)
        SELECT owner_id, sum(total), sum(done) FROM owner_progress GROUP BY owner_id;
        PERFORM set_config('srm.bulk', 'off', true);
        RETURN;
    END IF;

    SELECT model INTO m FROM workloads WHERE id = wid FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN; -- deleted: its rows went with it, and their triggers took them off the totals
    END IF;
    INSERT INTO layer_progress AS lp (workload_id, layer, model, controls, total, done)
    SELECT wid, l.layer, m, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
    FROM unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l (layer)
    LEFT JOIN (
        SELECT layer, count(*) AS controls,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
        FROM assignments WHERE workload_id = wid GROUP BY layer
    ) a ON a.layer = l.layer
    ON CONFLICT (workload_id, layer) DO UPDATE
        SET model = EXCLUDED.model, controls = EXCLUDED.controls, total = EXCLUDED.total, done = EXCLUDED.done
        WHERE (lp.model, lp.controls, lp.total, lp.done)
              IS DISTINCT FROM (EXCLUDED.model, EXCLUDED.controls, EXCLUDED.total, EXCLUDED.done);
    DELETE FROM owner_progress op
    WHERE op.workload_id = wid
      AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.workload_id = wid AND s.owner_id = op.owner_id);
    INSERT INTO owner_progress AS op (owner_id, workload_id, total, done)
    SELECT owner_id, wid,
           count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable),
           count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete)
    FROM assignments WHERE workload_id = wid AND owner_id IS NOT NULL
    GROUP BY owner_id
    ON CONFLICT (owner_id, workload_id) DO UPDATE SET total = EXCLUDED.total, done = EXCLUDED.done
        WHERE (op.total, op.done) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.done);
    UPDATE workloads w SET total = s.total, done = s.done
    FROM (SELECT sum(total)::int AS total, sum(done)::int AS done FROM layer_progress WHERE workload_id = wid) s
    WHERE w.id = wid AND (w.total <> s.total OR w.done <> s.done);
END $$;

COMMIT;

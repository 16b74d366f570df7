BEGIN;

-- Lock ordering for the progress summaries, found by concurrency tests:
-- per-workload recomputes lock their shard rows first and in one order, and
-- status changes lock the owners they move in id order.
CREATE OR REPLACE FUNCTION refresh_progress(wid bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m text;
BEGIN
    IF wid IS NULL THEN
        PERFORM set_config('srm.bulk', 'on', true);
        PERFORM 1 FROM workloads ORDER BY id FOR NO KEY UPDATE;
        -- Then hold off everyone else's deltas: without this, a workload
        -- created meanwhile updates a few shard rows while this rewrites
        -- them all, each waiting for the other.
        LOCK TABLE portfolio_shards, owner_totals IN EXCLUSIVE MODE;
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
    -- Lock this workload's shard rows in one fixed order before reading
    -- anything: two workloads of one shard changing models in opposite
    -- directions then queue instead of deadlocking, and a full recompute
    -- running meanwhile (which locks the whole table) is waited for, so the
    -- numbers below are read after it.
    PERFORM 1 FROM portfolio_shards WHERE shard = wid % 16 ORDER BY model, layer FOR NO KEY UPDATE;
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

CREATE OR REPLACE FUNCTION status_progress_delta() RETURNS trigger LANGUAGE plpgsql AS $$
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
    -- Queue behind anyone recomputing this workload, then read the party
    -- as it stands after them.
    PERFORM 1 FROM workloads WHERE id = wid FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NULL; -- the workload is being deleted; its summary rows go with it
    END IF;
    SELECT COALESCE(o.party, CASE w.model WHEN 'onprem' THEN r.onprem WHEN 'iaas' THEN r.iaas
                                          WHEN 'paas' THEN r.paas ELSE r.saas END), c.layer
    INTO p, lyr
    FROM workloads w
    JOIN controls c ON c.id = cid
    JOIN baseline_rows r ON r.baseline_id = w.baseline_id AND r.area = c.area
    LEFT JOIN overrides o ON o.workload_id = wid AND o.control_id = cid
    WHERE w.id = wid;
    IF NOT FOUND THEN
        RETURN NULL; -- the control is being deleted; the statement trigger recomputes
    END IF;

    -- A control with no status row counts as applicable and not complete:
    -- that is the "before" of an insert and the "after" of a delete.
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
        UPDATE layer_progress SET total = total + new_total - old_total, done = done + new_done - old_done
        WHERE workload_id = wid AND layer = lyr;
        UPDATE workloads SET total = total + new_total - old_total, done = done + new_done - old_done
        WHERE id = wid;
    END IF;

    -- An owner holds a control only through a status row: no row, nothing held.
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
    -- Lock the owners whose numbers move, in id order, so two people
    -- swapping owners in opposite directions queue instead of deadlocking.
    PERFORM 1 FROM owners
    WHERE id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.owner_id END, CASE WHEN TG_OP <> 'DELETE' THEN NEW.owner_id END)
    ORDER BY id FOR NO KEY UPDATE;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.owner_id IS NOT NULL THEN
        UPDATE owner_progress SET total = total - old_total, done = done - old_done
        WHERE owner_id = OLD.owner_id AND workload_id = wid AND (old_total <> 0 OR old_done <> 0);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.owner_id IS NOT NULL THEN
        INSERT INTO owner_progress AS op (owner_id, workload_id, total, done)
        VALUES (NEW.owner_id, wid, new_total, new_done)
        ON CONFLICT (owner_id, workload_id) DO UPDATE
            SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done
            WHERE EXCLUDED.total <> 0 OR EXCLUDED.done <> 0;
    END IF;
    RETURN NULL;
END $$;

COMMIT;

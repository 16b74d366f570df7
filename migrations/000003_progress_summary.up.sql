BEGIN;

-- Progress is kept as a summary, updated by triggers in the same transaction
-- as every change that can move it, so pages read a few rows instead of
-- counting every status. The assignments view stays the definition: the
-- summary is always recomputed from it, one workload at a time.
--
--   layer_progress     per workload and layer
--   owner_progress     per owner and workload
--   workloads.total/done/pct   per workload, for listing and sorting
--   portfolio_shards   per model and layer, in 16 shards so concurrent
--                      changes rarely wait on the same row
--   owner_totals       per owner

CREATE TABLE layer_progress (
    workload_id bigint NOT NULL REFERENCES workloads ON DELETE CASCADE,
    layer       text   NOT NULL,
    model       text   NOT NULL,
    controls    int    NOT NULL,
    total       int    NOT NULL,
    done        int    NOT NULL,
    PRIMARY KEY (workload_id, layer)
);

CREATE TABLE owner_progress (
    owner_id    bigint NOT NULL REFERENCES owners ON DELETE CASCADE,
    workload_id bigint NOT NULL REFERENCES workloads ON DELETE CASCADE,
    total       int    NOT NULL,
    done        int    NOT NULL,
    PRIMARY KEY (owner_id, workload_id)
);
CREATE INDEX owner_progress_workload ON owner_progress (workload_id);

CREATE TABLE portfolio_shards (
    model     text   NOT NULL,
    layer     text   NOT NULL,
    shard     int    NOT NULL,
    workloads bigint NOT NULL DEFAULT 0, -- kept on the 'physical' rows only
    controls  bigint NOT NULL DEFAULT 0,
    total     bigint NOT NULL DEFAULT 0,
    done      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (model, layer, shard)
);
INSERT INTO portfolio_shards (model, layer, shard)
SELECT m, l, s
FROM unnest(ARRAY['onprem','iaas','paas','saas']) AS m,
     unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l,
     generate_series(0, 15) AS s;

CREATE TABLE owner_totals (
    owner_id bigint PRIMARY KEY REFERENCES owners ON DELETE CASCADE,
    total    bigint NOT NULL DEFAULT 0,
    done     bigint NOT NULL DEFAULT 0
);

ALTER TABLE workloads
    ADD COLUMN total int NOT NULL DEFAULT 0,
    ADD COLUMN done  int NOT NULL DEFAULT 0,
    ADD COLUMN pct   float8 GENERATED ALWAYS AS (CASE WHEN total = 0 THEN 0 ELSE done::float8 / total END) STORED;
CREATE INDEX workloads_model_name ON workloads (model, lower(name), id);
CREATE INDEX workloads_pct ON workloads (pct, lower(name), id);
CREATE INDEX workloads_pct_desc ON workloads (pct DESC, lower(name), id);
CREATE INDEX workloads_model_pct ON workloads (model, pct, lower(name), id);
CREATE INDEX workloads_model_pct_desc ON workloads (model, pct DESC, lower(name), id);
CREATE INDEX statuses_owner_workload ON statuses (owner_id, workload_id) WHERE owner_id IS NOT NULL;

-- Deltas from the per-workload rows into the shared totals. Skipped while
-- refresh_progress(NULL) rebuilds everything at once.
CREATE FUNCTION layer_progress_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE portfolio_shards
        SET workloads = workloads - CASE WHEN OLD.layer = 'physical' THEN 1 ELSE 0 END,
            controls = controls - OLD.controls, total = total - OLD.total, done = done - OLD.done
        WHERE model = OLD.model AND layer = OLD.layer AND shard = OLD.workload_id % 16;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE portfolio_shards
        SET workloads = workloads + CASE WHEN NEW.layer = 'physical' THEN 1 ELSE 0 END,
            controls = controls + NEW.controls, total = total + NEW.total, done = done + NEW.done
        WHERE model = NEW.model AND layer = NEW.layer AND shard = NEW.workload_id % 16;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER layer_progress_delta AFTER INSERT OR UPDATE OR DELETE ON layer_progress
    FOR EACH ROW EXECUTE FUNCTION layer_progress_delta();

CREATE FUNCTION owner_progress_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE owner_totals SET total = total - OLD.total, done = done - OLD.done WHERE owner_id = OLD.owner_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO owner_totals AS t (owner_id, total, done) VALUES (NEW.owner_id, NEW.total, NEW.done)
        ON CONFLICT (owner_id) DO UPDATE SET total = t.total + EXCLUDED.total, done = t.done + EXCLUDED.done;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER owner_progress_delta AFTER INSERT OR UPDATE OR DELETE ON owner_progress
    FOR EACH ROW EXECUTE FUNCTION owner_progress_delta();

-- refresh_progress recomputes the summary of one workload, or of every
-- workload when wid is NULL. It first locks the workload rows, so two
-- transactions changing one workload recompute one after the other, each
-- from a snapshot that includes the other's committed change. The lock is
-- NO KEY UPDATE: it does not conflict with the KEY SHARE lock that the
-- foreign-key check of the very status or override insert took, so two
-- writers to one workload queue instead of deadlocking. Rows are
-- written only when they change. Lock order, the same everywhere so that
-- concurrent changes queue instead of deadlocking: the workload row, then
-- its shard rows (model, layer order); the full recompute locks every
-- workload, then the shared totals as tables.
CREATE FUNCTION refresh_progress(wid bigint) RETURNS void LANGUAGE plpgsql AS $$
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

-- A status change moves at most one layer's numbers and two owners'. Apply
-- that difference instead of recomputing the whole workload: the trigger
-- reads one control's party and writes a handful of rows. Overrides and
-- changes of model or baseline still recompute the workload in full.
CREATE FUNCTION status_progress_delta() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION refresh_progress_of_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM refresh_progress(OLD.workload_id);
        RETURN OLD;
    END IF;
    IF TG_TABLE_NAME = 'workloads' THEN
        PERFORM refresh_progress(NEW.id);
    ELSE
        PERFORM refresh_progress(NEW.workload_id);
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION refresh_progress_of_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_progress(NULL);
    RETURN NULL;
END $$;

CREATE TRIGGER statuses_progress AFTER INSERT OR UPDATE OF complete, not_applicable, owner_id OR DELETE ON statuses
    FOR EACH ROW EXECUTE FUNCTION status_progress_delta();
CREATE TRIGGER overrides_progress AFTER INSERT OR UPDATE OR DELETE ON overrides
    FOR EACH ROW EXECUTE FUNCTION refresh_progress_of_row();
CREATE TRIGGER workloads_progress AFTER INSERT OR UPDATE OF model, baseline_id ON workloads
    FOR EACH ROW EXECUTE FUNCTION refresh_progress_of_row();
CREATE TRIGGER controls_progress AFTER INSERT OR DELETE ON controls
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_progress_of_all();
-- Editing a custom control's words changes no one's progress: recompute only
-- when its layer or area really changes.
CREATE TRIGGER controls_progress_moved AFTER UPDATE OF layer, area ON controls
    FOR EACH ROW WHEN (OLD.layer IS DISTINCT FROM NEW.layer OR OLD.area IS DISTINCT FROM NEW.area)
    EXECUTE FUNCTION refresh_progress_of_all();
CREATE TRIGGER baseline_rows_progress AFTER INSERT OR DELETE OR UPDATE ON baseline_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_progress_of_all();

-- The catalog (areas, baselines, controls) and the owners change rarely
-- compared with how often pages show them; each srm process caches them and
-- reloads when these numbers move.
CREATE TABLE catalog_version (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version        bigint NOT NULL,
    owners_version bigint NOT NULL DEFAULT 1
);
INSERT INTO catalog_version (version) VALUES (1);

CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER controls_catalog AFTER INSERT OR UPDATE OR DELETE ON controls
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER baselines_catalog AFTER INSERT OR UPDATE OR DELETE ON baselines
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER baseline_rows_catalog AFTER INSERT OR UPDATE OR DELETE ON baseline_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();
CREATE TRIGGER areas_catalog AFTER INSERT OR UPDATE OR DELETE ON areas
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version();

CREATE FUNCTION bump_owners_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET owners_version = owners_version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER owners_version AFTER INSERT OR UPDATE OR DELETE ON owners
    FOR EACH STATEMENT EXECUTE FUNCTION bump_owners_version();

SELECT refresh_progress(NULL);

COMMIT;

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
-- written only when they change, so a status change touches one layer row,
-- one owner row and one shard.
CREATE FUNCTION refresh_progress(wid bigint) RETURNS void LANGUAGE plpgsql AS $$
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
    FOR EACH ROW EXECUTE FUNCTION refresh_progress_of_row();
CREATE TRIGGER overrides_progress AFTER INSERT OR UPDATE OR DELETE ON overrides
    FOR EACH ROW EXECUTE FUNCTION refresh_progress_of_row();
CREATE TRIGGER workloads_progress AFTER INSERT OR UPDATE OF model, baseline_id ON workloads
    FOR EACH ROW EXECUTE FUNCTION refresh_progress_of_row();
CREATE TRIGGER controls_progress AFTER INSERT OR DELETE OR UPDATE OF layer, area ON controls
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_progress_of_all();
CREATE TRIGGER baseline_rows_progress AFTER INSERT OR DELETE OR UPDATE ON baseline_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_progress_of_all();

-- The catalog (areas, baselines, controls) changes rarely; each srm process
-- caches it and reloads when this number moves.
CREATE TABLE catalog_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint NOT NULL
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

SELECT refresh_progress(NULL);

COMMIT;

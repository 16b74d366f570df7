BEGIN;

-- Progress is kept as a summary, updated by triggers in the same transaction
-- as every change that can move it, so pages read a few rows instead of
-- counting every status. The assignments view stays the definition; the
-- summary is always recomputed from it.

-- Per workload and layer: controls in the layer, controls that count, and
-- those complete.
CREATE TABLE layer_progress (
    workload_id bigint NOT NULL REFERENCES workloads ON DELETE CASCADE,
    layer       text   NOT NULL,
    controls    int    NOT NULL,
    total       int    NOT NULL,
    done        int    NOT NULL,
    PRIMARY KEY (workload_id, layer)
);

-- Per workload, for listing and sorting the portfolio.
ALTER TABLE workloads
    ADD COLUMN total int NOT NULL DEFAULT 0,
    ADD COLUMN done  int NOT NULL DEFAULT 0;
CREATE INDEX workloads_model_name ON workloads (model, lower(name));

-- refresh_progress recomputes the summary of one workload, or of every
-- workload when wid is NULL. It first locks the workload rows, so two
-- transactions changing one workload recompute one after the other, each
-- from a snapshot that includes the other's committed change.
CREATE FUNCTION refresh_progress(wid bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF wid IS NULL THEN
        PERFORM 1 FROM workloads ORDER BY id FOR UPDATE;
        INSERT INTO layer_progress AS lp (workload_id, layer, controls, total, done)
        SELECT w.id, l.layer, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
        FROM workloads w
        CROSS JOIN unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l (layer)
        LEFT JOIN (
            SELECT workload_id, layer, count(*) AS controls,
                   count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
                   count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
            FROM assignments GROUP BY workload_id, layer
        ) a ON a.workload_id = w.id AND a.layer = l.layer
        ON CONFLICT (workload_id, layer) DO UPDATE
            SET controls = EXCLUDED.controls, total = EXCLUDED.total, done = EXCLUDED.done;
        UPDATE workloads w SET total = s.total, done = s.done
        FROM (SELECT workload_id, sum(total)::int AS total, sum(done)::int AS done
              FROM layer_progress GROUP BY workload_id) s
        WHERE w.id = s.workload_id AND (w.total <> s.total OR w.done <> s.done);
        RETURN;
    END IF;

    PERFORM 1 FROM workloads WHERE id = wid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN; -- deleted: layer_progress went with it
    END IF;
    INSERT INTO layer_progress AS lp (workload_id, layer, controls, total, done)
    SELECT wid, l.layer, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
    FROM unnest(ARRAY['physical','identity','perimeter','network','compute','application','data']) AS l (layer)
    LEFT JOIN (
        SELECT layer, count(*) AS controls,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable) AS total,
               count(*) FILTER (WHERE party <> 'provider' AND NOT not_applicable AND complete) AS done
        FROM assignments WHERE workload_id = wid GROUP BY layer
    ) a ON a.layer = l.layer
    ON CONFLICT (workload_id, layer) DO UPDATE
        SET controls = EXCLUDED.controls, total = EXCLUDED.total, done = EXCLUDED.done;
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

CREATE TRIGGER statuses_progress AFTER INSERT OR UPDATE OF complete, not_applicable OR DELETE ON statuses
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

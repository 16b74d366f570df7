BEGIN;

-- Who carries each control of each workload, and whether it counts, is
-- decided once: by the Go engine (srm.Assess, Assignment.Counted and Done).
-- Until now the database decided it again, in the assignments view and in
-- four functions of migration 000003, each with the party CASE on the
-- workload's model and the not-applicable rule. From here the store writes
-- the engine's answer into the assignments table, in the same transaction
-- as every change that can move it (a workload created, its model or
-- baseline changed, an override set or removed, a control added, moved or
-- removed, a status saved), and the summaries are plain sums of its facts.
--
--   assignments        one row per workload and control: the layer, the
--                      party, and two facts, counted and done, as the engine
--                      decided them; owner_id mirrors the status's owner so
--                      that owners' sums need no join
--   layer_progress, owner_progress, workloads.total/done, portfolio_shards,
--   owner_totals       sums of counted::int and done::int, kept by deltas
--                      from the statements that write assignments
--
-- Nothing here knows the parties, the service models or the layers: the
-- rows of layer_progress come from srm.Layers, written by the store.

DROP TRIGGER statuses_progress ON public.statuses;
DROP TRIGGER overrides_progress ON public.overrides;
DROP TRIGGER workloads_progress ON public.workloads;
DROP TRIGGER controls_progress ON public.controls;
DROP TRIGGER controls_progress_moved ON public.controls;
DROP TRIGGER baseline_rows_progress ON public.baseline_rows;
-- By name, whatever their arguments: migrations 000004, 000005 and 000008
-- each recreated some of them.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace
               AND p.proname IN ('status_progress_delta', 'refresh_progress_of_row', 'refresh_progress_of_all',
                                 'refresh_progress', 'record_status')
    LOOP
        EXECUTE 'DROP FUNCTION ' || f::text;
    END LOOP;
END $$;
-- The status save is one statement of the store now (store/statuses.go).

DROP VIEW public.assignments;
CREATE TABLE public.assignments (
    workload_id bigint  NOT NULL REFERENCES public.workloads ON DELETE CASCADE,
    control_id  bigint  NOT NULL REFERENCES public.controls ON DELETE CASCADE,
    layer       text    NOT NULL,
    party       text    NOT NULL,
    counted     boolean NOT NULL,
    done        boolean NOT NULL CHECK (counted OR NOT done),
    owner_id    bigint  REFERENCES public.owners ON DELETE SET NULL,
    PRIMARY KEY (workload_id, control_id)
);
CREATE INDEX assignments_control ON public.assignments (control_id);
CREATE INDEX assignments_owner ON public.assignments (owner_id) WHERE owner_id IS NOT NULL;

-- One change of the assignments table, as a row of what it adds to the sums.
CREATE TYPE public.assignment_delta AS (
    workload_id bigint,
    layer       text,
    owner_id    bigint,
    controls    int,
    total       int,
    done        int
);

-- apply_assignment_deltas adds deltas to the summaries: per workload and
-- layer, per workload, and per owner and workload (whose triggers carry
-- them on to portfolio_shards and owner_totals). Rows of a workload or owner
-- being deleted are left to their cascade. Rows are written in key order,
-- so that concurrent writers queue instead of deadlocking.
CREATE FUNCTION public.apply_assignment_deltas(d public.assignment_delta[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    INSERT INTO public.layer_progress AS lp (workload_id, layer, model, controls, total, done)
    SELECT x.workload_id, x.layer, w.model, sum(x.controls), sum(x.total), sum(x.done)
    FROM unnest(d) x
    JOIN public.workloads w ON w.id = x.workload_id
    GROUP BY x.workload_id, x.layer, w.model
    HAVING sum(x.controls) <> 0 OR sum(x.total) <> 0 OR sum(x.done) <> 0
    ORDER BY x.workload_id, x.layer
    ON CONFLICT (workload_id, layer) DO UPDATE
        SET controls = lp.controls + EXCLUDED.controls, total = lp.total + EXCLUDED.total,
            done = lp.done + EXCLUDED.done;

    UPDATE public.workloads w SET total = w.total + s.total, done = w.done + s.done
    FROM (SELECT x.workload_id, sum(x.total)::int AS total, sum(x.done)::int AS done
          FROM unnest(d) x GROUP BY x.workload_id) s
    WHERE w.id = s.workload_id AND (s.total <> 0 OR s.done <> 0);

    INSERT INTO public.owner_progress AS op (owner_id, workload_id, total, done)
    SELECT x.owner_id, x.workload_id, sum(x.total), sum(x.done)
    FROM unnest(d) x
    JOIN public.owners o ON o.id = x.owner_id
    JOIN public.workloads w ON w.id = x.workload_id
    GROUP BY x.owner_id, x.workload_id
    HAVING sum(x.total) <> 0 OR sum(x.done) <> 0
    ORDER BY x.owner_id, x.workload_id
    ON CONFLICT (owner_id, workload_id) DO UPDATE
        SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done;
END $$;

-- The statement triggers hand every changed row to apply_assignment_deltas:
-- what the new rows add, less what the old rows added.
CREATE FUNCTION public.assignments_summarise() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM public.apply_assignment_deltas(ARRAY(
            SELECT ROW(n.workload_id, n.layer, n.owner_id, 1, n.counted::int, n.done::int)::public.assignment_delta
            FROM new_rows n));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM public.apply_assignment_deltas(ARRAY(
            SELECT ROW(n.workload_id, n.layer, n.owner_id, 1, n.counted::int, n.done::int)::public.assignment_delta
            FROM new_rows n
            UNION ALL
            SELECT ROW(o.workload_id, o.layer, o.owner_id, -1, -o.counted::int, -o.done::int)::public.assignment_delta
            FROM old_rows o));
    ELSE
        PERFORM public.apply_assignment_deltas(ARRAY(
            SELECT ROW(o.workload_id, o.layer, o.owner_id, -1, -o.counted::int, -o.done::int)::public.assignment_delta
            FROM old_rows o));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER assignments_inserted AFTER INSERT ON public.assignments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.assignments_summarise();
CREATE TRIGGER assignments_updated AFTER UPDATE ON public.assignments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.assignments_summarise();
CREATE TRIGGER assignments_deleted AFTER DELETE ON public.assignments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.assignments_summarise();

-- portfolio_shards counts a workload once on each of its layer rows (it was
-- counted on the 'physical' rows only): the number of workloads is the sum
-- for any one layer, and the store asks for the first of srm.Layers. While
-- srm.bulk is on, a change of many workloads at once (store/assess.go)
-- skips these deltas and sums portfolio_shards and owner_totals afresh at
-- the end.
CREATE OR REPLACE FUNCTION public.layer_progress_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE public.portfolio_shards
        SET workloads = workloads - 1,
            controls = controls - OLD.controls, total = total - OLD.total, done = done - OLD.done
        WHERE model = OLD.model AND layer = OLD.layer AND shard = OLD.workload_id % 16;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE public.portfolio_shards
        SET workloads = workloads + 1,
            controls = controls + NEW.controls, total = total + NEW.total, done = done + NEW.done
        WHERE model = NEW.model AND layer = NEW.layer AND shard = NEW.workload_id % 16;
    END IF;
    RETURN NULL;
END $$;

-- The status save finds or creates its owner in the same statement; a
-- statement trigger would fire even when it inserts nothing, and every save
-- naming an owner would make every srm process reload its owners list.
DROP TRIGGER owners_version ON public.owners;
CREATE TRIGGER owners_version AFTER INSERT OR UPDATE OR DELETE ON public.owners
    FOR EACH ROW EXECUTE FUNCTION public.bump_owners_version();

-- The assignments are written by srm, not here: store.Migrate finds
-- assessed false and recomputes every workload with the engine, then sets
-- it. A later migration that changes what the engine reads (baseline rows,
-- controls) sets assessed = false in the same way.
ALTER TABLE public.catalog_version ADD COLUMN assessed boolean NOT NULL DEFAULT true;
UPDATE public.catalog_version SET assessed = false;
DELETE FROM public.owner_progress;
DELETE FROM public.layer_progress;
UPDATE public.portfolio_shards SET workloads = 0, controls = 0, total = 0, done = 0;
DELETE FROM public.owner_totals;
UPDATE public.workloads SET total = 0, done = 0 WHERE total <> 0 OR done <> 0;

COMMIT;

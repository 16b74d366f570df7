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
--                      from each row written to assignments
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
    -- statuses.owner_id, copied with every write of the row; that column
    -- holds the reference to owners (no second check per row here).
    owner_id    bigint,
    PRIMARY KEY (workload_id, control_id)
);
CREATE INDEX assignments_control ON public.assignments (control_id);

-- assignments_delta adds what one row of assignments changes to the
-- summaries: per workload and layer, per workload, and per owner and
-- workload (whose triggers carry it on to portfolio_shards and
-- owner_totals). Plain arithmetic on the facts counted and done. A change
-- of many workloads at once turns srm.bulk on and sums the summaries of
-- those workloads afresh instead (store/assess.go). Of two owners, the one
-- with the lower id is written first, so that two saves swapping owners
-- queue instead of deadlocking on owner_totals.
CREATE FUNCTION public.assignments_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    old_total int := 0;
    old_done int := 0;
    new_total int := 0;
    new_done int := 0;
    wid bigint;
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_total := OLD.counted::int;
        old_done := OLD.done::int;
        wid := OLD.workload_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_total := NEW.counted::int;
        new_done := NEW.done::int;
        wid := NEW.workload_id;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.layer = NEW.layer THEN
        IF new_total <> old_total OR new_done <> old_done THEN
            UPDATE public.layer_progress
            SET total = total + new_total - old_total, done = done + new_done - old_done
            WHERE workload_id = wid AND layer = NEW.layer;
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            UPDATE public.layer_progress
            SET controls = controls - 1, total = total - old_total, done = done - old_done
            WHERE workload_id = wid AND layer = OLD.layer;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO public.layer_progress AS lp (workload_id, layer, model, controls, total, done)
            SELECT wid, NEW.layer, w.model, 1, new_total, new_done FROM public.workloads w WHERE w.id = wid
            ON CONFLICT (workload_id, layer) DO UPDATE
                SET controls = lp.controls + 1, total = lp.total + EXCLUDED.total, done = lp.done + EXCLUDED.done;
        END IF;
    END IF;
    IF new_total <> old_total OR new_done <> old_done THEN
        UPDATE public.workloads SET total = total + new_total - old_total, done = done + new_done - old_done
        WHERE id = wid;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.owner_id IS NOT DISTINCT FROM NEW.owner_id THEN
        IF NEW.owner_id IS NOT NULL AND (new_total <> old_total OR new_done <> old_done) THEN
            INSERT INTO public.owner_progress AS op (owner_id, workload_id, total, done)
            VALUES (NEW.owner_id, wid, new_total - old_total, new_done - old_done)
            ON CONFLICT (owner_id, workload_id) DO UPDATE
                SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done;
        END IF;
        RETURN NULL;
    END IF;
    -- The owner changed (or the row came or went): take the row off the old
    -- owner and put it on the new one, the lower id first.
    IF TG_OP <> 'INSERT' AND OLD.owner_id IS NOT NULL AND (old_total <> 0 OR old_done <> 0)
       AND (TG_OP = 'DELETE' OR NEW.owner_id IS NULL OR OLD.owner_id < NEW.owner_id) THEN
        UPDATE public.owner_progress SET total = total - old_total, done = done - old_done
        WHERE owner_id = OLD.owner_id AND workload_id = wid;
        old_total := 0;
        old_done := 0;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.owner_id IS NOT NULL AND (new_total <> 0 OR new_done <> 0) THEN
        INSERT INTO public.owner_progress AS op (owner_id, workload_id, total, done)
        VALUES (NEW.owner_id, wid, new_total, new_done)
        ON CONFLICT (owner_id, workload_id) DO UPDATE
            SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.owner_id IS NOT NULL AND (old_total <> 0 OR old_done <> 0) THEN
        UPDATE public.owner_progress SET total = total - old_total, done = done - old_done
        WHERE owner_id = OLD.owner_id AND workload_id = wid;
    END IF;
    RETURN NULL;
END $$;

-- The WHEN spares a bulk change a call of the function per row.
CREATE TRIGGER assignments_delta AFTER INSERT OR UPDATE OR DELETE ON public.assignments
    FOR EACH ROW WHEN (current_setting('srm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION public.assignments_delta();

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

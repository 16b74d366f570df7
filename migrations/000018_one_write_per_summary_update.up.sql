BEGIN;

-- Saving one status updates one layer_progress row and one owner_progress
-- row, whose row triggers (000011, 000008) passed the change on to
-- portfolio_shards and owner_totals in two writes to the same row: one
-- taking the old values away, one adding the new. Those rows are the
-- portfolio's hottest (16 shards per model and layer; one row per owner),
-- so each save wrote them twice. An UPDATE that keeps the row's key (the
-- summary triggers' ON CONFLICT DO UPDATE always does) now writes the
-- difference once, and nothing when there is none; inserts, deletes and
-- key changes do as before. The sums are the same.

CREATE OR REPLACE FUNCTION public.layer_progress_delta() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.model = OLD.model AND NEW.layer = OLD.layer AND NEW.workload_id = OLD.workload_id THEN
        IF NEW.controls <> OLD.controls OR NEW.total <> OLD.total OR NEW.done <> OLD.done THEN
            UPDATE public.portfolio_shards
            SET controls = controls + (NEW.controls - OLD.controls), total = total + (NEW.total - OLD.total),
                done = done + (NEW.done - OLD.done)
            WHERE model = NEW.model AND layer = NEW.layer AND shard = NEW.workload_id % 16;
        END IF;
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

CREATE OR REPLACE FUNCTION public.owner_progress_delta() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.owner_id = OLD.owner_id THEN
        IF NEW.total <> OLD.total OR NEW.done <> OLD.done THEN
            UPDATE public.owner_totals
            SET total = total + (NEW.total - OLD.total), done = done + (NEW.done - OLD.done)
            WHERE owner_id = NEW.owner_id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE public.owner_totals SET total = total - OLD.total, done = done - OLD.done WHERE owner_id = OLD.owner_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO public.owner_totals AS t (owner_id, total, done) VALUES (NEW.owner_id, NEW.total, NEW.done)
        ON CONFLICT (owner_id) DO UPDATE SET total = t.total + EXCLUDED.total, done = t.done + EXCLUDED.done;
    END IF;
    RETURN NULL;
END $$;

COMMIT;

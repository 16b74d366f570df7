BEGIN;

-- Back to two writes per summary update: layer_progress_delta as in 000011,
-- owner_progress_delta as in 000008.

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

CREATE OR REPLACE FUNCTION public.owner_progress_delta() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('srm.bulk', true) = 'on' THEN
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

BEGIN;

-- Every write to an audited table names who made it (000012).
SELECT set_config('srm.actor', '{"actor": "srm migrate"}', true);

-- Frameworks: srm's own catalog and the OSCAL catalogs imported into srm
-- (NIST SP 800-53 and any other). A framework control is a row of controls
-- that carries its framework, so statuses, overrides, owners and the
-- engine's assignments keep working by control id.
--
--   frameworks            one row per framework; srm's own is 'srm', the
--                         default of new workloads
--   controls              gain the framework, the id people write (ref:
--                         AC-2(1)), family, parent, guidance (the
--                         statement is the description), and how srm reads
--                         the control as an area: reading says why (srm's
--                         default, from the reading file), default_area and
--                         default_layer are that default, area and layer
--                         what counts; reading_reason is an admin's reason
--                         when they depart from the default. A control a
--                         newer version of its framework no longer has is
--                         retired (retired_at), never deleted, so its
--                         statuses stay in the history.
--   workload_frameworks   which frameworks a workload is held to. The store
--                         writes assignments only for those; statuses of a
--                         removed framework stay, so adding it back restores
--                         them.

CREATE TABLE public.frameworks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*[a-z0-9]$'),
    name          text NOT NULL CHECK (name <> ''),
    version       text NOT NULL DEFAULT '',
    oscal_version text NOT NULL DEFAULT '',
    source        text NOT NULL DEFAULT '',
    source_url    text NOT NULL DEFAULT '',
    reading       text NOT NULL DEFAULT '', -- the name of the reading its controls were read with
    position      int  NOT NULL DEFAULT 1000,
    is_default    boolean NOT NULL DEFAULT false, -- attached to new workloads
    imported_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.frameworks (slug, name, source, position, is_default)
VALUES ('srm', 'srm catalog', 'srm''s own controls, one or more per layer of defense in depth', 0, true);

ALTER TABLE public.controls
    ADD COLUMN framework_id   bigint REFERENCES public.frameworks,
    ADD COLUMN ref            text CHECK (ref <> ''),
    ADD COLUMN family         text NOT NULL DEFAULT '',
    ADD COLUMN parent_ref     text NOT NULL DEFAULT '',
    ADD COLUMN guidance       text NOT NULL DEFAULT '',
    ADD COLUMN reading        text NOT NULL DEFAULT '',
    ADD COLUMN default_area   text REFERENCES public.areas,
    ADD COLUMN default_layer  text,
    ADD COLUMN reading_reason text NOT NULL DEFAULT '',
    ADD COLUMN retired_at     timestamptz;
-- Filling in the new column is no one's change to the controls: no audit rows.
ALTER TABLE public.controls DISABLE TRIGGER audit_controls;
UPDATE public.controls SET framework_id = (SELECT id FROM public.frameworks WHERE slug = 'srm');
ALTER TABLE public.controls ENABLE TRIGGER audit_controls;
ALTER TABLE public.controls ALTER COLUMN framework_id SET NOT NULL;
-- Titles are unique per layer in srm's own catalog only: every NIST family
-- has its "Policy and Procedures".
DROP INDEX public.controls_layer_title;
CREATE UNIQUE INDEX controls_layer_title ON public.controls (layer, lower(title)) WHERE ref IS NULL;
CREATE UNIQUE INDEX controls_framework_ref ON public.controls (framework_id, ref);
CREATE INDEX controls_framework ON public.controls (framework_id);

CREATE TABLE public.workload_frameworks (
    workload_id  bigint NOT NULL REFERENCES public.workloads ON DELETE CASCADE,
    framework_id bigint NOT NULL REFERENCES public.frameworks,
    attached_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workload_id, framework_id)
);
CREATE INDEX workload_frameworks_framework ON public.workload_frameworks (framework_id, workload_id);
INSERT INTO public.workload_frameworks (workload_id, framework_id)
SELECT w.id, f.id FROM public.workloads w, public.frameworks f WHERE f.slug = 'srm';

CREATE TRIGGER frameworks_catalog AFTER INSERT OR UPDATE OR DELETE ON public.frameworks
    FOR EACH STATEMENT EXECUTE FUNCTION public.bump_catalog_version();
CREATE TRIGGER audit_frameworks AFTER INSERT OR UPDATE OR DELETE ON public.frameworks
    FOR EACH ROW EXECUTE FUNCTION public.audit_change('framework', 'id', 'name', '');
-- Attaching and detaching are recorded by the store as events
-- (framework.attached, framework.detached); the frameworks a new workload
-- starts with are part of its creation.

COMMIT;

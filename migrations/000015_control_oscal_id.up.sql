BEGIN;

-- Every write to an audited table names who made it (000012).
SELECT set_config('srm.actor', '{"actor": "srm migrate"}', true);

-- A framework control keeps the id its OSCAL catalog gives it ("ac-2.1"),
-- besides the id people write (ref, "AC-2(1)"): the OSCAL system security
-- plan srm exports names each control by it, so that the plan matches the
-- profile it answers. '' for srm's own controls. Controls imported before
-- this migration get the id NIST's catalogs use for their ref ("AC-2(1)"
-- becomes "ac-2.1"); importing the framework again stores the file's own.
ALTER TABLE public.controls ADD COLUMN oscal_id text NOT NULL DEFAULT '';
-- Filling in the new column is no one's change to the controls: no audit rows.
ALTER TABLE public.controls DISABLE TRIGGER audit_controls;
UPDATE public.controls SET oscal_id = lower(regexp_replace(ref, '\(([^()]*)\)', '.\1', 'g'))
WHERE ref IS NOT NULL;
ALTER TABLE public.controls ENABLE TRIGGER audit_controls;

COMMIT;

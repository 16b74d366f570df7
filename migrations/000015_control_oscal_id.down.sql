BEGIN;

ALTER TABLE public.controls DROP COLUMN oscal_id;

COMMIT;

BEGIN;

ALTER TABLE public.areas DROP COLUMN provider_part, DROP COLUMN customer_part;

COMMIT;

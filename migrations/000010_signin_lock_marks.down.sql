BEGIN;

DROP INDEX public.signin_failures_locks;
ALTER TABLE public.signin_failures DROP COLUMN locks;

COMMIT;

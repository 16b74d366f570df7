BEGIN;

DROP TABLE public.api_tokens;

COMMIT;

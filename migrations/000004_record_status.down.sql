BEGIN;
DROP FUNCTION IF EXISTS record_status(bigint, bigint, bigint, text, text, boolean, text, text, boolean, text, bigint, boolean);
COMMIT;

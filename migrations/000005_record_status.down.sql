BEGIN;
DROP FUNCTION IF EXISTS record_status(bigint, bigint, bigint, text, text, boolean, text, text, boolean, text, bigint, boolean);
DROP TRIGGER IF EXISTS controls_progress_moved ON controls;
DROP TRIGGER IF EXISTS controls_progress ON controls;
CREATE TRIGGER controls_progress AFTER INSERT OR DELETE OR UPDATE OF layer, area ON controls
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_progress_of_all();
COMMIT;

BEGIN;

-- Every sign-in attempt clears failures older than a day; without an index
-- on the time that was a scan of the table, at its largest exactly when
-- someone is guessing.
CREATE INDEX signin_failures_at ON signin_failures (at);

-- The progress triggers of 000003 rewrite workloads.total and done on every
-- saved status. The audit trigger hides those columns, so it wrote nothing
-- for them, but it still ran and copied both rows to JSON on every save:
-- it now fires only for the columns it records.
DROP TRIGGER audit_workloads ON workloads;
CREATE TRIGGER audit_workloads
    AFTER INSERT OR DELETE OR UPDATE OF name, description, model, baseline_id, version, created_at, updated_at
    ON workloads
    FOR EACH ROW EXECUTE FUNCTION audit_change('workload', 'id', 'name', 'id');

COMMIT;

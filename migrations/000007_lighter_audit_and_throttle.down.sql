BEGIN;

DROP INDEX signin_failures_at;
DROP TRIGGER audit_workloads ON workloads;
CREATE TRIGGER audit_workloads AFTER INSERT OR UPDATE OR DELETE ON workloads
    FOR EACH ROW EXECUTE FUNCTION audit_change('workload', 'id', 'name', 'id');

COMMIT;

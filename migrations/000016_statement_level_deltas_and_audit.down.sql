BEGIN;

DROP TRIGGER audit_statuses_updated ON public.statuses;
DROP FUNCTION public.audit_statuses_updated();
DROP TRIGGER audit_statuses ON public.statuses;
CREATE TRIGGER audit_statuses AFTER INSERT OR UPDATE OR DELETE ON public.statuses
    FOR EACH ROW EXECUTE FUNCTION public.audit_change('status', 'control_id', '', 'workload_id');

DROP TRIGGER assignments_update_delta ON public.assignments;
DROP FUNCTION public.assignments_update_delta();
DROP TRIGGER assignments_delta ON public.assignments;
CREATE TRIGGER assignments_delta AFTER INSERT OR UPDATE OR DELETE ON public.assignments
    FOR EACH ROW WHEN (current_setting('srm.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION public.assignments_delta();

COMMIT;

BEGIN;
-- Without the baselines and areas no workload or control can stand, so the
-- down migration removes them all (statuses and overrides cascade).
DELETE FROM workloads;
DELETE FROM controls;
DELETE FROM baseline_rows;
DELETE FROM baselines;
DELETE FROM areas;
COMMIT;

BEGIN;
DROP VIEW IF EXISTS assignments;
DROP TABLE IF EXISTS overrides, statuses, owners, workloads, controls, baseline_rows, baselines, areas;
COMMIT;

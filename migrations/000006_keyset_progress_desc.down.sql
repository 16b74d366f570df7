BEGIN;

DROP INDEX workloads_pct_desc;
DROP INDEX workloads_model_pct_desc;
CREATE INDEX workloads_pct_desc ON workloads (pct DESC, lower(name), id);
CREATE INDEX workloads_model_pct_desc ON workloads (model, pct DESC, lower(name), id);

COMMIT;

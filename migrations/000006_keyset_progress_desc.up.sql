BEGIN;

-- The portfolio pages by keyset: the next page is the rows after the last
-- one shown, compared as one row of sort keys against an index. A row
-- comparison needs every key in the same direction, so "most complete
-- first" is ordered by -pct rather than by pct DESC.

DROP INDEX workloads_pct_desc;
DROP INDEX workloads_model_pct_desc;
CREATE INDEX workloads_pct_desc ON workloads ((-pct), lower(name), id);
CREATE INDEX workloads_model_pct_desc ON workloads (model, (-pct), lower(name), id);

COMMIT;

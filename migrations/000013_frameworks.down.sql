BEGIN;

-- Every write to an audited table names who made it (000012).
SELECT set_config('srm.actor', '{"actor": "srm migrate"}', true);

-- Back to one catalog: imported frameworks' controls go, with their
-- statuses, overrides and assignments (the cascade's triggers take them off
-- the summaries), and so do the areas and filled rows only they used.
DROP TABLE public.workload_frameworks;
DELETE FROM public.controls WHERE ref IS NOT NULL;
DELETE FROM public.baseline_rows r
WHERE NOT r.in_source
  AND r.area NOT IN ('information-and-data', 'devices', 'accounts-and-identities', 'configurations-and-settings',
                     'identity-and-directory', 'applications', 'network-controls', 'operating-system',
                     'physical-hosts', 'physical-network', 'physical-datacenter')
  AND NOT EXISTS (SELECT FROM public.controls c WHERE c.area = r.area);
DELETE FROM public.areas a
WHERE NOT EXISTS (SELECT FROM public.baseline_rows r WHERE r.area = a.slug)
  AND NOT EXISTS (SELECT FROM public.controls c WHERE c.area = a.slug);
DROP INDEX public.controls_framework;
DROP INDEX public.controls_framework_ref;
DROP INDEX public.controls_layer_title;
CREATE UNIQUE INDEX controls_layer_title ON public.controls (layer, lower(title));
ALTER TABLE public.controls
    DROP COLUMN framework_id, DROP COLUMN ref, DROP COLUMN family, DROP COLUMN parent_ref, DROP COLUMN guidance,
    DROP COLUMN reading, DROP COLUMN default_area, DROP COLUMN default_layer, DROP COLUMN reading_reason,
    DROP COLUMN retired_at;
DROP TABLE public.frameworks;

COMMIT;

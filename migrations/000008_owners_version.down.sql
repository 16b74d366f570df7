BEGIN;
DROP TRIGGER IF EXISTS owners_version ON owners;
DROP FUNCTION IF EXISTS bump_owners_version();
ALTER TABLE catalog_version DROP COLUMN IF EXISTS owners_version;
COMMIT;

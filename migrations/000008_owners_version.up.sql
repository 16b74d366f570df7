BEGIN;
-- Owners change rarely compared with how often pages list them: each srm
-- process caches the list and reloads it when this number moves.
ALTER TABLE catalog_version ADD COLUMN owners_version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION bump_owners_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET owners_version = owners_version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER owners_version AFTER INSERT OR UPDATE OR DELETE ON owners
    FOR EACH STATEMENT EXECUTE FUNCTION bump_owners_version();
COMMIT;

BEGIN;
-- Every editable record carries a version; saves are conditional on it, so
-- two people editing the same thing cannot silently overwrite each other.
ALTER TABLE overrides ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE controls ADD COLUMN version bigint NOT NULL DEFAULT 1;
COMMIT;

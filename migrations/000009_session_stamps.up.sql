BEGIN;

-- A session is made from an account as it was when its sign-in read it.
-- Every change that must end an account's sessions (disabling it, a new
-- role or password, an authenticator enrolled, removed or reset, "sign out
-- everywhere", requiring an authenticator of those without one) raises the
-- account's stamp in the change's own transaction. A session records the
-- stamp it was made from; it is stored only while that stamp is current and
-- found only while it still is. So a sign-in in flight during a change
-- cannot leave a session that outlives it (store/sessions.go).
--
-- An account without a row here is at stamp 0. The stamps are a table of
-- their own, not a column of users, so the audit trigger on users never
-- sees them change; and without a foreign key, so raising one never waits
-- on the user's row that an admin's edit holds (the edit locks the row,
-- then raises the stamp: a key check the other way round could deadlock).
-- A stamp left behind by a deleted account costs nothing.
CREATE TABLE session_stamps (
    user_id bigint PRIMARY KEY,
    stamp   bigint NOT NULL
);

-- Sessions without an account were never stored by srm (every session is
-- made by signing in) and could not be found from now on.
DELETE FROM sessions WHERE user_id IS NULL;
ALTER TABLE sessions ALTER COLUMN user_id SET NOT NULL;
-- Sessions stored before this migration are at stamp 0, like their accounts.
ALTER TABLE sessions ADD COLUMN stamp bigint NOT NULL DEFAULT 0;

COMMIT;

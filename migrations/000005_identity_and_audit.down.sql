BEGIN;
DROP FUNCTION record_status(text, bigint, bigint, bigint, text, text, boolean, text, text, boolean, text, bigint, boolean);
CREATE FUNCTION record_status(
    p_workload bigint, p_control bigint, p_owner bigint, p_owner_name text, p_owner_kind text,
    p_complete boolean, p_note text, p_evidence text, p_na boolean, p_na_reason text,
    p_version bigint, p_conditional boolean)
RETURNS TABLE (stored boolean, owner_id bigint, owner_name text, complete boolean, completed_by text,
               completed_at timestamptz, note text, evidence text, not_applicable boolean, na_reason text,
               version bigint, updated_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    cur_version bigint;
    new_owner bigint := p_owner;
    created boolean := false;
    done boolean := false;
BEGIN
    -- Wait for anyone saving this status now, then read what they left.
    SELECT s.version INTO cur_version FROM statuses s
    WHERE s.workload_id = p_workload AND s.control_id = p_control FOR UPDATE;

    IF NOT p_conditional OR COALESCE(cur_version, 0) = p_version THEN
        IF p_owner_name IS NOT NULL THEN
            SELECT o.id INTO new_owner FROM owners o WHERE lower(o.name) = lower(p_owner_name);
            IF NOT FOUND THEN
                INSERT INTO owners (name, kind) VALUES (p_owner_name, p_owner_kind)
                ON CONFLICT (lower(name)) DO NOTHING
                RETURNING id INTO new_owner;
                created := new_owner IS NOT NULL;
                IF NOT created THEN -- someone added the same name a moment ago
                    SELECT o.id INTO new_owner FROM owners o WHERE lower(o.name) = lower(p_owner_name);
                END IF;
            END IF;
        END IF;

        INSERT INTO statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
            note, evidence, not_applicable, na_reason)
        VALUES (p_workload, p_control, new_owner, p_complete,
            CASE WHEN p_complete THEN COALESCE((SELECT o.name FROM owners o WHERE o.id = new_owner), '') ELSE '' END,
            CASE WHEN p_complete THEN now() END,
            p_note, p_evidence, p_na, p_na_reason)
        ON CONFLICT (workload_id, control_id) DO UPDATE SET
            owner_id       = EXCLUDED.owner_id,
            complete       = EXCLUDED.complete,
            completed_by   = CASE WHEN NOT EXCLUDED.complete THEN ''
                                  WHEN s.complete THEN s.completed_by
                                  ELSE EXCLUDED.completed_by END,
            completed_at   = CASE WHEN NOT EXCLUDED.complete THEN NULL
                                  WHEN s.complete THEN s.completed_at
                                  ELSE EXCLUDED.completed_at END,
            note           = EXCLUDED.note,
            evidence       = EXCLUDED.evidence,
            not_applicable = EXCLUDED.not_applicable,
            na_reason      = EXCLUDED.na_reason,
            version        = s.version + 1,
            updated_at     = now()
        WHERE NOT p_conditional OR s.version = p_version
        RETURNING true INTO done;

        IF done IS NULL AND created THEN
            -- Lost a race for the very first status: take back the owner this
            -- call created, so a refused save leaves nothing behind.
            DELETE FROM owners WHERE id = new_owner;
        END IF;
    END IF;

    RETURN QUERY
    SELECT COALESCE(done, false), COALESCE(s.owner_id, 0), COALESCE(o.name, ''), s.complete, s.completed_by,
           s.completed_at, s.note, s.evidence, s.not_applicable, s.na_reason, s.version, s.updated_at
    FROM statuses s LEFT JOIN owners o ON o.id = s.owner_id
    WHERE s.workload_id = p_workload AND s.control_id = p_control;
END $$;
DROP TRIGGER audit_workloads ON workloads;
DROP TRIGGER audit_statuses ON statuses;
DROP TRIGGER audit_overrides ON overrides;
DROP TRIGGER audit_controls ON controls;
DROP TRIGGER audit_owners ON owners;
DROP TABLE audit;
ALTER TABLE owners DROP COLUMN user_id;
DROP TABLE oidc_flows;
DROP TABLE signin_failures;
DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE recovery_codes;
DROP TABLE users;
DROP FUNCTION audit_change();
DROP FUNCTION audit_event(text, text, text, text, bigint, jsonb, jsonb);
DROP FUNCTION audit_actor();
DROP FUNCTION audit_append_only();
COMMIT;

BEGIN;

-- Responsibility areas: the rows of a provider's chart, named once for all baselines.
CREATE TABLE areas (
    slug     text PRIMARY KEY CHECK (slug ~ '^[a-z][a-z-]*[a-z]$'),
    name     text NOT NULL,
    position int  NOT NULL
);

-- A baseline is a dated rule set: one provider chart as data.
CREATE TABLE baselines (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    source      text NOT NULL,
    source_url  text NOT NULL,
    as_of       text NOT NULL,
    description text NOT NULL,
    position    int  NOT NULL
);

-- Every baseline has a row for every area; in_source = false marks a row
-- srm filled because the source has none, and note says how.
CREATE TABLE baseline_rows (
    baseline_id bigint NOT NULL REFERENCES baselines ON DELETE CASCADE,
    area        text   NOT NULL REFERENCES areas,
    label       text   NOT NULL,
    in_source   boolean NOT NULL,
    note        text   NOT NULL DEFAULT '',
    position    int    NOT NULL,
    onprem      text   NOT NULL CHECK (onprem IN ('customer', 'shared', 'provider')),
    iaas        text   NOT NULL CHECK (iaas   IN ('customer', 'shared', 'provider')),
    paas        text   NOT NULL CHECK (paas   IN ('customer', 'shared', 'provider')),
    saas        text   NOT NULL CHECK (saas   IN ('customer', 'shared', 'provider')),
    PRIMARY KEY (baseline_id, area)
);

CREATE TABLE controls (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer         text NOT NULL CHECK (layer IN ('physical', 'identity', 'perimeter', 'network', 'compute', 'application', 'data')),
    area          text NOT NULL REFERENCES areas,
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    customer_part text NOT NULL DEFAULT '',
    provider_part text NOT NULL DEFAULT '',
    builtin       boolean NOT NULL DEFAULT false,
    position      int  NOT NULL DEFAULT 1000,
    version       bigint NOT NULL DEFAULT 1, -- saves of a custom control are conditional on it
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX controls_layer_title ON controls (layer, lower(title));

CREATE TABLE workloads (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    model       text NOT NULL CHECK (model IN ('onprem', 'iaas', 'paas', 'saas')),
    baseline_id bigint NOT NULL REFERENCES baselines,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workloads_name ON workloads (lower(name));

CREATE TABLE owners (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('person', 'team')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX owners_name ON owners (lower(name));

-- The customer's work on one control of one workload. Rows are kept when a
-- control moves to the provider, so moving back restores them.
CREATE TABLE statuses (
    workload_id    bigint NOT NULL REFERENCES workloads ON DELETE CASCADE,
    control_id     bigint NOT NULL REFERENCES controls ON DELETE CASCADE,
    owner_id       bigint REFERENCES owners ON DELETE SET NULL,
    complete       boolean NOT NULL DEFAULT false,
    completed_by   text NOT NULL DEFAULT '',
    completed_at   timestamptz,
    note           text NOT NULL DEFAULT '',
    evidence       text NOT NULL DEFAULT '',
    not_applicable boolean NOT NULL DEFAULT false,
    na_reason      text NOT NULL DEFAULT '',
    version        bigint NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workload_id, control_id),
    CHECK (complete = (completed_at IS NOT NULL))
);
CREATE INDEX statuses_owner ON statuses (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX statuses_control ON statuses (control_id);

-- A workload that departs from its baseline for one control, and why.
CREATE TABLE overrides (
    workload_id bigint NOT NULL REFERENCES workloads ON DELETE CASCADE,
    control_id  bigint NOT NULL REFERENCES controls ON DELETE CASCADE,
    party       text   NOT NULL CHECK (party IN ('customer', 'shared', 'provider')),
    reason      text   NOT NULL CHECK (reason <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (workload_id, control_id)
);
CREATE INDEX overrides_control ON overrides (control_id);

-- assignments is the responsibility rule in SQL: for every workload and
-- control, who carries it (the override, else the baseline cell for the
-- workload's model) and the customer's work on it. The Go engine (srm.Assess)
-- computes the same; a store test holds the two to agreement.
CREATE VIEW assignments AS
SELECT w.id AS workload_id,
       c.id AS control_id,
       c.layer,
       COALESCE(o.party, CASE w.model
                             WHEN 'onprem' THEN r.onprem
                             WHEN 'iaas'   THEN r.iaas
                             WHEN 'paas'   THEN r.paas
                             ELSE r.saas
                         END) AS party,
       COALESCE(s.not_applicable, false) AS not_applicable,
       COALESCE(s.complete, false) AS complete,
       s.owner_id
FROM workloads w
CROSS JOIN controls c
JOIN baseline_rows r ON r.baseline_id = w.baseline_id AND r.area = c.area
LEFT JOIN overrides o ON o.workload_id = w.id AND o.control_id = c.id
LEFT JOIN statuses s ON s.workload_id = w.id AND s.control_id = c.id;

COMMIT;

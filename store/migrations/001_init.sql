-- 001_init.sql: the initial otsweep history schema.
--
-- Conventions
--   * Times are INTEGER Unix nanoseconds (UTC); NULL means "not set".
--   * Security-level vectors are TEXT of seven digits, FR 1 .. FR 7 ('1221112').
--   * History is stored as validity intervals: a *_states row holds one value of
--     one item of one asset from scan from_scan (inclusive) to scan to_scan
--     (exclusive; NULL = still current). A row is written only when the value
--     changes, so an unchanged daily sweep adds one scans row per host and
--     nothing else. The state at scan X is
--       from_scan <= X AND (to_scan IS NULL OR to_scan > X).
--   * Check evidence, requirement details and fact values are JSON documents
--     stored once in evidence, addressed by their SHA-256.

-- A sweep is one run over many assets. owner_* and heartbeat_at identify the
-- process running it, so that a sweep left 'running' by a crash can be told
-- from one a live process is still writing.
CREATE TABLE sweeps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    triggered_by TEXT    NOT NULL,
    status       TEXT    NOT NULL
                 CHECK (status IN ('running', 'complete', 'partial', 'incomplete')),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    hosts_total  INTEGER NOT NULL DEFAULT 0,
    owner_host   TEXT    NOT NULL,
    owner_boot   TEXT    NOT NULL, -- kernel boot id where known, '' otherwise
    owner_pid    INTEGER NOT NULL,
    owner_start  INTEGER NOT NULL, -- process start time in clock ticks since boot, 0 = unknown
    heartbeat_at INTEGER NOT NULL
);
CREATE INDEX sweeps_running ON sweeps (id) WHERE status = 'running';

-- The current attributes of every asset ever scanned.
CREATE TABLE assets (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    address    TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    zone       TEXT    NOT NULL,
    platform   TEXT    NOT NULL,
    transport  TEXT    NOT NULL,
    first_seen INTEGER NOT NULL, -- first scan recorded
    last_seen  INTEGER,          -- last scan with status 'ok'
    removed_at INTEGER           -- no longer in the inventory
);

-- Every distinct set of attributes an asset had; a scan points at the one in
-- force when it ran.
CREATE TABLE asset_revisions (
    id        INTEGER PRIMARY KEY,
    asset_id  INTEGER NOT NULL REFERENCES assets (id),
    address   TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    zone      TEXT    NOT NULL,
    platform  TEXT    NOT NULL,
    transport TEXT    NOT NULL,
    UNIQUE (asset_id, address, role, zone, platform, transport)
);

-- One asset within one sweep. Failed scans are recorded here and nowhere else.
CREATE TABLE scans (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id       INTEGER NOT NULL REFERENCES sweeps (id),
    asset_id       INTEGER NOT NULL REFERENCES assets (id),
    revision_id    INTEGER NOT NULL REFERENCES asset_revisions (id),
    status         TEXT    NOT NULL,
    error          TEXT    NOT NULL DEFAULT '',
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    elevated       INTEGER NOT NULL DEFAULT 0,
    cost_cpu_ns    INTEGER NOT NULL DEFAULT 0,
    cost_processes INTEGER NOT NULL DEFAULT 0,
    sl_target      TEXT,
    sl_achieved    TEXT, -- NULL unless status = 'ok'
    sl_potential   TEXT  -- NULL unless status = 'ok'
);
CREATE INDEX scans_sweep ON scans (sweep_id, status);
CREATE INDEX scans_asset ON scans (asset_id, id);

-- Interned identifiers: check ids, requirement ids and fact names.
CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);

-- Content-addressed JSON documents.
CREATE TABLE evidence (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL UNIQUE, -- SHA-256 of json
    json TEXT    NOT NULL
);

CREATE TABLE check_states (
    asset_id    INTEGER NOT NULL REFERENCES assets (id),
    check_id    INTEGER NOT NULL REFERENCES names (id),
    status      TEXT    NOT NULL,
    evidence_id INTEGER NOT NULL REFERENCES evidence (id),
    from_scan   INTEGER NOT NULL REFERENCES scans (id),
    to_scan     INTEGER REFERENCES scans (id),
    PRIMARY KEY (asset_id, check_id, from_scan)
) WITHOUT ROWID;
CREATE INDEX check_states_open ON check_states (asset_id) WHERE to_scan IS NULL;

CREATE TABLE requirement_states (
    asset_id       INTEGER NOT NULL REFERENCES assets (id),
    requirement_id INTEGER NOT NULL REFERENCES names (id),
    state          TEXT    NOT NULL,
    detail_id      INTEGER NOT NULL REFERENCES evidence (id),
    from_scan      INTEGER NOT NULL REFERENCES scans (id),
    to_scan        INTEGER REFERENCES scans (id),
    PRIMARY KEY (asset_id, requirement_id, from_scan)
) WITHOUT ROWID;
CREATE INDEX requirement_states_open ON requirement_states (asset_id) WHERE to_scan IS NULL;

CREATE TABLE fact_states (
    asset_id  INTEGER NOT NULL REFERENCES assets (id),
    name_id   INTEGER NOT NULL REFERENCES names (id),
    value_id  INTEGER NOT NULL REFERENCES evidence (id),
    from_scan INTEGER NOT NULL REFERENCES scans (id),
    to_scan   INTEGER REFERENCES scans (id),
    PRIMARY KEY (asset_id, name_id, from_scan)
) WITHOUT ROWID;
CREATE INDEX fact_states_open ON fact_states (asset_id) WHERE to_scan IS NULL;

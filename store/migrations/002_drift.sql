-- 002_drift.sql: drift events, alert deliveries, missed scheduled runs.
--
-- Drift is computed from the stored scans (see scheduler.Drift) and kept
-- here, so that a restarted daemon neither loses nor repeats a transition.

-- One row per change between a scan and the asset's previous scan(s).
-- scan_id is NULL only for events that no scan caused (asset-removed).
CREATE TABLE drift_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,            -- when the change was observed
    sweep_id     INTEGER REFERENCES sweeps (id),
    scan_id      INTEGER REFERENCES scans (id),
    asset_id     INTEGER NOT NULL REFERENCES assets (id),
    zone         TEXT    NOT NULL,            -- the asset's zone at the time
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL DEFAULT '', -- check id, requirement id, FR, fact name
    title        TEXT    NOT NULL DEFAULT '', -- human-readable subject
    fr           TEXT    NOT NULL DEFAULT '', -- "FR 1" or "FR 1, FR 2"
    requirements TEXT    NOT NULL DEFAULT '[]', -- JSON array of SR/RE ids
    before       TEXT    NOT NULL DEFAULT '',
    after        TEXT    NOT NULL DEFAULT '',
    regression   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX drift_events_scan ON drift_events (scan_id, kind, subject) WHERE scan_id IS NOT NULL;
CREATE INDEX drift_events_at ON drift_events (at);
CREATE INDEX drift_events_asset ON drift_events (asset_id, id);
CREATE INDEX drift_events_sweep ON drift_events (sweep_id);

-- Scans whose drift has been computed (with or without events). A scan
-- missing here is computed by the next catch-up.
CREATE TABLE drift_scans (
    scan_id     INTEGER PRIMARY KEY REFERENCES scans (id),
    computed_at INTEGER NOT NULL
);
-- History recorded before drift existed is not replayed.
INSERT INTO drift_scans (scan_id, computed_at) SELECT id, 0 FROM scans;

-- One row per alert message handed (or not) to the SMTP server.
CREATE TABLE alert_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id    INTEGER REFERENCES sweeps (id), -- NULL for a test message
    kind        TEXT    NOT NULL CHECK (kind IN ('digest', 'test')),
    recipients  TEXT    NOT NULL,               -- JSON array of addresses
    subject     TEXT    NOT NULL,
    events      TEXT    NOT NULL DEFAULT '[]',  -- JSON array of drift_events ids
    status      TEXT    NOT NULL CHECK (status IN ('sent', 'failed')),
    attempts    INTEGER NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_sweep ON alert_deliveries (sweep_id);

-- Scheduled runs that did not happen: the sweep was still running (overlap),
-- a blackout window covered the time (blackout), or no daemon was running
-- (downtime).
CREATE TABLE missed_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_name   TEXT    NOT NULL,
    scheduled_at INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    reason       TEXT    NOT NULL CHECK (reason IN ('overlap', 'blackout', 'downtime')),
    detail       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX missed_runs_time ON missed_runs (scheduled_at);

-- The last scheduled time the daemon handled per sweep, to find the runs
-- missed while it was down.
CREATE TABLE schedule_marks (
    sweep_name TEXT    PRIMARY KEY,
    handled_at INTEGER NOT NULL
) WITHOUT ROWID;

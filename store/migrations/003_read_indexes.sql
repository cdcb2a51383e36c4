-- 003_read_indexes.sql: indexes that bound the reads of one scan's state by
-- the scan, not by the length of the asset's history.
--
-- The state at scan X is the rows with from_scan <= X AND (to_scan IS NULL
-- OR to_scan > X). It is read in two parts:
--   * the current rows (to_scan IS NULL), through a partial index that holds
--     every column the reads need (to_scan too, always NULL here, so that
--     SQLite knows the index covers the query and never touches the table):
--     its size follows the number of current items (about 150 per asset),
--     not the history;
--   * the rows closed after X (to_scan > X), a range of a partial index on
--     (asset_id, to_scan): few for a recent scan, whatever the history's
--     length.
-- Nothing else changes: the tables, their rows and their meaning stay as
-- 001_init.sql defines them. The *_current indexes also serve SaveScan's
-- comparison with the current rows, which used the *_open indexes of 001;
-- those stay (migrations only add), and cost a write only when an item
-- changes.

CREATE INDEX check_states_current ON check_states (asset_id, check_id, status, evidence_id, to_scan)
    WHERE to_scan IS NULL;
CREATE INDEX check_states_closed ON check_states (asset_id, to_scan)
    WHERE to_scan IS NOT NULL;

CREATE INDEX requirement_states_current ON requirement_states (asset_id, requirement_id, state, detail_id, to_scan)
    WHERE to_scan IS NULL;
CREATE INDEX requirement_states_closed ON requirement_states (asset_id, to_scan)
    WHERE to_scan IS NOT NULL;

CREATE INDEX fact_states_current ON fact_states (asset_id, name_id, value_id, to_scan)
    WHERE to_scan IS NULL;
CREATE INDEX fact_states_closed ON fact_states (asset_id, to_scan)
    WHERE to_scan IS NOT NULL;

-- An asset's scans in a time window (AssetHistory, SweepHistories).
CREATE INDEX scans_asset_started ON scans (asset_id, started_at);

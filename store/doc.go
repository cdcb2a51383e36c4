// Package store keeps otsweep's history in SQLite: sweeps, the scans of each
// asset within them, and what every successful scan found (check results,
// requirement states, tracked facts).
//
// # History as intervals
//
// A year of daily sweeps of 1,000 hosts must stay small, so the store records
// changes, not repeats. Check results, requirement states and facts are kept as
// validity intervals per asset: a row holds one value from the scan that first
// saw it (from_scan) to the scan that first saw something else (to_scan, NULL
// while current). SaveScan writes a row only when an item's status or content
// differs from the asset's current row; an unchanged scan adds a single scans
// row. Evidence, requirement details and fact values are JSON documents stored
// once per distinct content, addressed by SHA-256. The state at scan X is every
// row of that asset with from_scan <= X < to_scan; Scan, ScansOfSweep and
// PreviousScan rebuild complete scans that way. Two indexes per table make
// that lookup a range bounded by X (the current rows, and the rows closed
// after X), so reading a recent scan costs the same after a year of
// history as after a day.
//
// Only scans with status ok touch the intervals. A failed scan (unreachable,
// timeout, ...) records its own row and leaves the previous state current, and
// reading it back yields no checks, requirements or facts: nothing unevaluated
// is ever shown as a result.
//
// Scan IDs grow in the order scans are saved, and history is ordered by them.
//
// # One writer
//
// Every write goes through one write path: a connection pool limited to a
// single connection, guarded by a context-aware lock, opened with
// _txlock=immediate so each write transaction takes SQLite's write lock at
// BEGIN. Reads use a separate pool of query_only connections and see a
// consistent snapshot per call (WAL). Several processes (a scan command and the
// daemon) may write the same file at once: SQLite serialises their write
// transactions, a writer waits up to the busy timeout for another, and every
// transaction is short (one per scan).
//
// A Store is safe for concurrent use by multiple goroutines.
//
// # Crash safety
//
// Each scan is saved in one transaction. A sweep records the process running
// it (host, kernel boot id, pid and process start time) and a heartbeat;
// RecoverIncomplete, called at start-up, marks sweeps whose process is gone as
// incomplete.
//
// No secret is ever stored: the persisted types hold none, and none may be
// added to them.
package store

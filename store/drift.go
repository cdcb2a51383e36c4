package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// Drift event kinds: what changed between an asset's scan and its previous
// one. The words are stored and printed; they are part of the JSON output of
// `otsweep drift`.
const (
	DriftNewAsset     = "new-asset"     // the asset's first scan
	DriftAssetRemoved = "asset-removed" // gone from the inventory
	DriftUnreachable  = "unreachable"   // a scan failed after a successful one
	DriftReachable    = "reachable"     // a scan succeeded after a failed one
	DriftCheckFailing = "check-failing" // a check fails that did not fail before
	DriftCheckPassing = "check-passing" // a check passes that failed or errored before
	DriftCheckChanged = "check-changed" // any other change of a check's status
	DriftRequirement  = "requirement"   // an SR/RE changed state
	DriftLevel        = "sl-a"          // the achieved security level of an FR changed
	DriftFact         = "fact"          // a tracked fact changed
)

// DriftKinds lists every kind in the order a report shows them: the
// headline changes (reachability, SL-A) before their causes.
var DriftKinds = []string{DriftUnreachable, DriftLevel, DriftRequirement, DriftCheckFailing, DriftFact,
	DriftCheckChanged, DriftCheckPassing, DriftReachable, DriftNewAsset, DriftAssetRemoved}

// DriftEvent is one change of one asset. Before and After are the evidence on
// either side, rendered as text (for list facts: the elements removed and
// the elements added). Regression marks a change for the worse.
type DriftEvent struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"at"`
	SweepID      int64     `json:"sweep_id,omitempty"`
	ScanID       int64     `json:"scan_id,omitempty"`
	Asset        string    `json:"asset"`
	Zone         string    `json:"zone,omitempty"`
	Kind         string    `json:"kind"`
	Subject      string    `json:"subject,omitempty"`
	Title        string    `json:"title,omitempty"`
	FR           string    `json:"fr,omitempty"`
	Requirements []string  `json:"requirements,omitempty"`
	Before       string    `json:"before"`
	After        string    `json:"after"`
	Regression   bool      `json:"regression"`
}

type driftRow struct {
	ID           int64         `db:"id"`
	At           int64         `db:"at"`
	SweepID      sql.NullInt64 `db:"sweep_id"`
	ScanID       sql.NullInt64 `db:"scan_id"`
	Asset        string        `db:"asset"`
	Zone         string        `db:"zone"`
	Kind         string        `db:"kind"`
	Subject      string        `db:"subject"`
	Title        string        `db:"title"`
	FR           string        `db:"fr"`
	Requirements string        `db:"requirements"`
	Before       string        `db:"before"`
	After        string        `db:"after"`
	Regression   bool          `db:"regression"`
}

func (r driftRow) event() (DriftEvent, error) {
	e := DriftEvent{ID: r.ID, At: time.Unix(0, r.At).UTC(), SweepID: r.SweepID.Int64, ScanID: r.ScanID.Int64,
		Asset: r.Asset, Zone: r.Zone, Kind: r.Kind, Subject: r.Subject, Title: r.Title, FR: r.FR,
		Before: r.Before, After: r.After, Regression: r.Regression}
	if err := json.Unmarshal([]byte(r.Requirements), &e.Requirements); err != nil {
		return e, fmt.Errorf("drift event %d: requirements: %w", r.ID, err)
	}
	if len(e.Requirements) == 0 {
		e.Requirements = nil
	}
	return e, nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id > 0} }

// insertDrift writes e (asset looked up by name) and sets e.ID; At zero means
// the transaction's time.
func insertDrift(ctx context.Context, t *tx, e *DriftEvent) error {
	if e.Asset == "" || e.Kind == "" {
		return fmt.Errorf("drift event without asset or kind: %w", ErrInvalid)
	}
	reqs, err := json.Marshal(e.Requirements)
	if err != nil {
		return err
	}
	if e.Requirements == nil {
		reqs = []byte("[]")
	}
	if e.At.IsZero() {
		e.At = t.now
	}
	e.At = e.At.UTC()
	err = t.GetContext(ctx, &e.ID, `INSERT INTO drift_events
		(at, sweep_id, scan_id, asset_id, zone, kind, subject, title, fr, requirements, before, after, regression)
		SELECT ?, ?, ?, a.id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM assets a WHERE a.name = ?
		RETURNING id`,
		e.At.UnixNano(), nullID(e.SweepID), nullID(e.ScanID), e.Zone, e.Kind, e.Subject, e.Title, e.FR,
		string(reqs), e.Before, e.After, e.Regression, e.Asset)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("drift event of asset %s: %w", e.Asset, ErrNotFound)
	}
	return err
}

// RecordDrift stores the drift events computed for scan scanID and marks the
// scan's drift as computed, in one transaction. Every event must belong to
// that scan; SweepID is taken from the scan. It returns false, and writes
// nothing, when the scan's drift was recorded already: computing the same
// scan twice (a catch-up racing the after-save hook) records it once. The
// events' IDs are set when recorded. A scan that does not exist is
// ErrNotFound.
func (s *Store) RecordDrift(ctx context.Context, scanID int64, events []DriftEvent) (bool, error) {
	recorded := false
	err := s.write(ctx, func(t *tx) error {
		var sweepID int64
		err := t.GetContext(ctx, &sweepID, `SELECT sweep_id FROM scans WHERE id = ?`, scanID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := t.ExecContext(ctx, `INSERT INTO drift_scans (scan_id, computed_at) VALUES (?, ?)
			ON CONFLICT (scan_id) DO NOTHING`, scanID, t.now.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for i := range events {
			e := &events[i]
			if e.ScanID != scanID {
				return fmt.Errorf("event %d belongs to scan %d: %w", i, e.ScanID, ErrInvalid)
			}
			e.SweepID = sweepID
			if err := insertDrift(ctx, t, e); err != nil {
				return fmt.Errorf("event %s %s: %w", e.Kind, e.Subject, err)
			}
		}
		recorded = true
		return nil
	})
	if err != nil {
		for i := range events {
			events[i].ID = 0
		}
		return false, fmt.Errorf("store: record drift of scan %d: %w", scanID, err)
	}
	return recorded, nil
}

// ScansWithoutDrift returns up to limit IDs, ascending, of scans above
// afterID whose drift has not been recorded.
func (s *Store) ScansWithoutDrift(ctx context.Context, afterID int64, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = -1
	}
	var ids []int64
	err := s.read(ctx, func(t *sqlx.Tx) error {
		return t.SelectContext(ctx, &ids, `SELECT s.id FROM scans s
			WHERE s.id > ? AND NOT EXISTS (SELECT 1 FROM drift_scans d WHERE d.scan_id = s.id)
			ORDER BY s.id LIMIT ?`, afterID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("store: scans without drift: %w", err)
	}
	return ids, nil
}

// RecordRemovedAssets is MarkAssetsRemoved that also records an
// asset-removed drift event, attributed to sweepID (0: none), for every asset
// that this call finds newly gone from present (the whole current
// inventory). An asset already marked removed gets no second event; one
// named in present again is unmarked. It returns the recorded events.
func (s *Store) RecordRemovedAssets(ctx context.Context, present []string, sweepID int64) ([]DriftEvent, error) {
	names, err := json.Marshal(present)
	if err != nil {
		return nil, fmt.Errorf("store: record removed assets: %w", err)
	}
	if present == nil {
		names = []byte("[]")
	}
	var out []DriftEvent
	err = s.write(ctx, func(t *tx) error {
		out = nil
		var gone []struct {
			Name string `db:"name"`
			Zone string `db:"zone"`
		}
		if err := t.SelectContext(ctx, &gone, `SELECT name, zone FROM assets
			WHERE removed_at IS NULL AND name NOT IN (SELECT value FROM json_each(?)) ORDER BY name`, string(names)); err != nil {
			return err
		}
		now := t.now.UnixNano()
		if _, err := t.ExecContext(ctx, `UPDATE assets SET removed_at = ?
			WHERE removed_at IS NULL AND name NOT IN (SELECT value FROM json_each(?))`, now, string(names)); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `UPDATE assets SET removed_at = NULL
			WHERE removed_at IS NOT NULL AND name IN (SELECT value FROM json_each(?))`, string(names)); err != nil {
			return err
		}
		for _, g := range gone {
			e := DriftEvent{SweepID: sweepID, Asset: g.Name, Zone: g.Zone, Kind: DriftAssetRemoved,
				Before: "in the inventory", After: "no longer in the inventory; its history is kept"}
			if err := insertDrift(ctx, t, &e); err != nil {
				return fmt.Errorf("asset %s: %w", g.Name, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: record removed assets: %w", err)
	}
	return out, nil
}

// DriftFilter selects drift events; zero fields do not filter.
type DriftFilter struct {
	Since   time.Time // events observed at or after
	Asset   string
	SweepID int64
	Limit   int // the newest Limit events; 0 = all
}

// DriftEvents returns the events f selects, oldest first.
func (s *Store) DriftEvents(ctx context.Context, f DriftFilter) ([]DriftEvent, error) {
	since := int64(math.MinInt64)
	if !f.Since.IsZero() {
		since = f.Since.UnixNano()
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	var rows []driftRow
	err := s.read(ctx, func(t *sqlx.Tx) error {
		return t.SelectContext(ctx, &rows, `SELECT * FROM (
			SELECT d.id, d.at, d.sweep_id, d.scan_id, a.name AS asset, d.zone, d.kind, d.subject, d.title, d.fr,
				d.requirements, d.before, d.after, d.regression
			FROM drift_events d JOIN assets a ON a.id = d.asset_id
			WHERE d.at >= ? AND (? = '' OR a.name = ?) AND (? = 0 OR d.sweep_id = ?)
			ORDER BY d.id DESC LIMIT ?) ORDER BY id`,
			since, f.Asset, f.Asset, f.SweepID, f.SweepID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("store: drift events: %w", err)
	}
	out := make([]DriftEvent, 0, len(rows))
	for _, r := range rows {
		e, err := r.event()
		if err != nil {
			return nil, fmt.Errorf("store: drift events: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Alert delivery kinds and statuses.
const (
	DeliveryDigest = "digest"
	DeliveryTest   = "test"

	DeliverySent   = "sent"
	DeliveryFailed = "failed"
)

// Delivery is one alert message and what became of it.
type Delivery struct {
	ID         int64     `json:"id"`
	SweepID    int64     `json:"sweep_id,omitempty"`
	Kind       string    `json:"kind"`
	Recipients []string  `json:"recipients"`
	Subject    string    `json:"subject"`
	Events     []int64   `json:"events,omitempty"` // drift event IDs the message carried
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts"`
	Error      string    `json:"error,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
}

// RecordDelivery stores d and sets d.ID.
func (s *Store) RecordDelivery(ctx context.Context, d *Delivery) error {
	switch {
	case d.Kind != DeliveryDigest && d.Kind != DeliveryTest:
		return fmt.Errorf("store: record delivery: kind %q: %w", d.Kind, ErrInvalid)
	case d.Status != DeliverySent && d.Status != DeliveryFailed:
		return fmt.Errorf("store: record delivery: status %q: %w", d.Status, ErrInvalid)
	case len(d.Recipients) == 0 || d.Started.IsZero() || d.Finished.IsZero():
		return fmt.Errorf("store: record delivery: recipients and times are required: %w", ErrInvalid)
	}
	rcpt, err := json.Marshal(d.Recipients)
	if err != nil {
		return fmt.Errorf("store: record delivery: %w", err)
	}
	evs := []byte("[]")
	if len(d.Events) > 0 {
		if evs, err = json.Marshal(d.Events); err != nil {
			return fmt.Errorf("store: record delivery: %w", err)
		}
	}
	err = s.write(ctx, func(t *tx) error {
		return t.GetContext(ctx, &d.ID, `INSERT INTO alert_deliveries
			(sweep_id, kind, recipients, subject, events, status, attempts, error, started_at, finished_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nullID(d.SweepID), d.Kind, string(rcpt), d.Subject, string(evs), d.Status, d.Attempts, d.Error,
			d.Started.UnixNano(), d.Finished.UnixNano())
	})
	if err != nil {
		return fmt.Errorf("store: record delivery: %w", err)
	}
	return nil
}

// Deliveries returns the deliveries of sweep sweepID (0: of every sweep and
// the test messages), oldest first; limit > 0 keeps the newest limit.
func (s *Store) Deliveries(ctx context.Context, sweepID int64, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = -1
	}
	var rows []struct {
		ID         int64         `db:"id"`
		SweepID    sql.NullInt64 `db:"sweep_id"`
		Kind       string        `db:"kind"`
		Recipients string        `db:"recipients"`
		Subject    string        `db:"subject"`
		Events     string        `db:"events"`
		Status     string        `db:"status"`
		Attempts   int           `db:"attempts"`
		Error      string        `db:"error"`
		Started    int64         `db:"started_at"`
		Finished   int64         `db:"finished_at"`
	}
	err := s.read(ctx, func(t *sqlx.Tx) error {
		return t.SelectContext(ctx, &rows, `SELECT * FROM (SELECT id, sweep_id, kind, recipients, subject, events,
			status, attempts, error, started_at, finished_at FROM alert_deliveries
			WHERE (? = 0 OR sweep_id = ?) ORDER BY id DESC LIMIT ?) ORDER BY id`, sweepID, sweepID, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		d := Delivery{ID: r.ID, SweepID: r.SweepID.Int64, Kind: r.Kind, Subject: r.Subject, Status: r.Status,
			Attempts: r.Attempts, Error: r.Error, Started: time.Unix(0, r.Started).UTC(), Finished: time.Unix(0, r.Finished).UTC()}
		if err := json.Unmarshal([]byte(r.Recipients), &d.Recipients); err != nil {
			return nil, fmt.Errorf("store: delivery %d: recipients: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(r.Events), &d.Events); err != nil {
			return nil, fmt.Errorf("store: delivery %d: events: %w", r.ID, err)
		}
		if len(d.Events) == 0 {
			d.Events = nil
		}
		out[i] = d
	}
	return out, nil
}

// Reasons a scheduled run was missed.
const (
	MissedOverlap  = "overlap"  // the previous run of the sweep was still going
	MissedBlackout = "blackout" // the time fell in a blackout window
	MissedDowntime = "downtime" // no daemon was running (or it could not keep up)
)

// MissedRun is a scheduled run that did not happen.
type MissedRun struct {
	ID        int64     `json:"id"`
	Sweep     string    `json:"sweep"`
	Scheduled time.Time `json:"scheduled"`
	Recorded  time.Time `json:"recorded"`
	Reason    string    `json:"reason"`
	Detail    string    `json:"detail,omitempty"`
}

// RecordMissedRun stores m (Recorded is set to now) and sets m.ID.
func (s *Store) RecordMissedRun(ctx context.Context, m *MissedRun) error {
	if m.Sweep == "" || m.Scheduled.IsZero() ||
		(m.Reason != MissedOverlap && m.Reason != MissedBlackout && m.Reason != MissedDowntime) {
		return fmt.Errorf("store: record missed run %q: sweep, time and a known reason are required: %w", m.Sweep, ErrInvalid)
	}
	err := s.write(ctx, func(t *tx) error {
		m.Recorded = t.now.UTC()
		return t.GetContext(ctx, &m.ID, `INSERT INTO missed_runs (sweep_name, scheduled_at, recorded_at, reason, detail)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, m.Sweep, m.Scheduled.UnixNano(), m.Recorded.UnixNano(), m.Reason, m.Detail)
	})
	if err != nil {
		return fmt.Errorf("store: record missed run of %s: %w", m.Sweep, err)
	}
	return nil
}

// MissedRuns returns the missed runs scheduled at or after since (zero:
// all), oldest first; limit > 0 keeps the newest limit.
func (s *Store) MissedRuns(ctx context.Context, since time.Time, limit int) ([]MissedRun, error) {
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = since.UnixNano()
	}
	if limit <= 0 {
		limit = -1
	}
	var rows []struct {
		ID        int64  `db:"id"`
		Sweep     string `db:"sweep_name"`
		Scheduled int64  `db:"scheduled_at"`
		Recorded  int64  `db:"recorded_at"`
		Reason    string `db:"reason"`
		Detail    string `db:"detail"`
	}
	err := s.read(ctx, func(t *sqlx.Tx) error {
		return t.SelectContext(ctx, &rows, `SELECT * FROM (SELECT id, sweep_name, scheduled_at, recorded_at, reason, detail
			FROM missed_runs WHERE scheduled_at >= ? ORDER BY id DESC LIMIT ?) ORDER BY id`, from, limit)
	})
	if err != nil {
		return nil, fmt.Errorf("store: missed runs: %w", err)
	}
	out := make([]MissedRun, len(rows))
	for i, r := range rows {
		out[i] = MissedRun{ID: r.ID, Sweep: r.Sweep, Scheduled: time.Unix(0, r.Scheduled).UTC(),
			Recorded: time.Unix(0, r.Recorded).UTC(), Reason: r.Reason, Detail: r.Detail}
	}
	return out, nil
}

// ScheduleMark returns the last scheduled time of sweep name that a daemon
// handled (ran, or recorded as missed); ok is false if none was recorded.
func (s *Store) ScheduleMark(ctx context.Context, name string) (at time.Time, ok bool, err error) {
	var n int64
	err = s.read(ctx, func(t *sqlx.Tx) error {
		return t.GetContext(ctx, &n, `SELECT handled_at FROM schedule_marks WHERE sweep_name = ?`, name)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: schedule mark of %s: %w", name, err)
	}
	return time.Unix(0, n).UTC(), true, nil
}

// SetScheduleMark records at as the last scheduled time of sweep name that a
// daemon handled.
func (s *Store) SetScheduleMark(ctx context.Context, name string, at time.Time) error {
	if name == "" || at.IsZero() {
		return fmt.Errorf("store: schedule mark: name and time are required: %w", ErrInvalid)
	}
	err := s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO schedule_marks (sweep_name, handled_at) VALUES (?, ?)
			ON CONFLICT (sweep_name) DO UPDATE SET handled_at = excluded.handled_at`, name, at.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: schedule mark of %s: %w", name, err)
	}
	return nil
}

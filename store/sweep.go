package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/otsweep/otsweep/probes"
)

// Sweep statuses.
const (
	SweepRunning    = "running"    // a process is scanning
	SweepComplete   = "complete"   // every planned asset was scanned
	SweepPartial    = "partial"    // stopped early on purpose (shutdown, deadline)
	SweepIncomplete = "incomplete" // its process died; see RecoverIncomplete
)

// Sweep is one run over many assets.
type Sweep struct {
	ID            int64
	Name, Trigger string
	Status        string
	Started       time.Time
	Finished      time.Time // zero while running
	Hosts         int       // planned hosts (SetSweepHosts), else the number of scans saved
	Counts        map[probes.ScanStatus]int
}

type sweepRow struct {
	ID       int64         `db:"id"`
	Name     string        `db:"name"`
	Trigger  string        `db:"triggered_by"`
	Status   string        `db:"status"`
	Started  sql.NullInt64 `db:"started_at"`
	Finished sql.NullInt64 `db:"finished_at"`
	Hosts    int           `db:"hosts_total"`
}

const sweepCols = `id, name, triggered_by, status, started_at, finished_at, hosts_total`

func (r sweepRow) sweep() Sweep {
	return Sweep{ID: r.ID, Name: r.Name, Trigger: r.Trigger, Status: r.Status,
		Started: fromNanos(r.Started), Finished: fromNanos(r.Finished), Hosts: r.Hosts,
		Counts: map[probes.ScanStatus]int{}}
}

// BeginSweep records a new running sweep owned by this process, started now.
func (s *Store) BeginSweep(ctx context.Context, name, trigger string) (Sweep, error) {
	if name == "" || trigger == "" {
		return Sweep{}, fmt.Errorf("store: begin sweep %q: name and trigger are required: %w", name, ErrInvalid)
	}
	var sw Sweep
	err := s.write(ctx, func(t *tx) error {
		now := t.now.UnixNano()
		var id int64
		err := t.GetContext(ctx, &id, `INSERT INTO sweeps
			(name, triggered_by, status, started_at, owner_host, owner_boot, owner_pid, owner_start, heartbeat_at)
			VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?) RETURNING id`,
			name, trigger, now, s.self.host, s.self.boot, s.self.pid, s.self.start, now)
		sw = Sweep{ID: id, Name: name, Trigger: trigger, Status: SweepRunning,
			Started: time.Unix(0, now).UTC(), Counts: map[probes.ScanStatus]int{}}
		return err
	})
	if err != nil {
		return Sweep{}, fmt.Errorf("store: begin sweep %q: %w", name, err)
	}
	return sw, nil
}

// updateRunning runs an UPDATE that touches sweep id only while it is running,
// and tells ErrNotFound from ErrNotRunning when it touched nothing.
func updateRunning(ctx context.Context, t *tx, id int64, query string, args ...any) error {
	res, err := t.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return sweepRunning(ctx, t, id)
}

// sweepRunning returns nil if sweep id is running, else ErrNotFound or
// ErrNotRunning.
func sweepRunning(ctx context.Context, q sqlx.QueryerContext, id int64) error {
	var status string
	err := sqlx.GetContext(ctx, q, &status, `SELECT status FROM sweeps WHERE id = ?`, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sweep %d: %w", id, ErrNotFound)
	case err != nil:
		return err
	case status != SweepRunning:
		return fmt.Errorf("sweep %d is %s: %w", id, status, ErrNotRunning)
	}
	return nil
}

// FinishSweep ends a running sweep with status complete, partial or
// incomplete. A sweep that is not running is left alone (ErrNotRunning).
func (s *Store) FinishSweep(ctx context.Context, id int64, status string) error {
	if status != SweepComplete && status != SweepPartial && status != SweepIncomplete {
		return fmt.Errorf("store: finish sweep %d: status %q: %w", id, status, ErrInvalid)
	}
	err := s.write(ctx, func(t *tx) error {
		now := t.now.UnixNano()
		return updateRunning(ctx, t, id, `UPDATE sweeps SET status = ?, finished_at = ?, heartbeat_at = ?
			WHERE id = ? AND status = 'running'`, status, now, now, id)
	})
	if err != nil {
		return fmt.Errorf("store: finish sweep %d: %w", id, err)
	}
	return nil
}

// SetSweepHosts records how many assets a running sweep plans to scan.
func (s *Store) SetSweepHosts(ctx context.Context, id int64, hosts int) error {
	if hosts < 0 {
		return fmt.Errorf("store: sweep %d: %d hosts: %w", id, hosts, ErrInvalid)
	}
	err := s.write(ctx, func(t *tx) error {
		return updateRunning(ctx, t, id, `UPDATE sweeps SET hosts_total = ?, heartbeat_at = ?
			WHERE id = ? AND status = 'running'`, hosts, t.now.UnixNano(), id)
	})
	if err != nil {
		return fmt.Errorf("store: set hosts of sweep %d: %w", id, err)
	}
	return nil
}

// Heartbeat records that the process running sweep id is alive. SaveScan
// does the same; a runner whose scans may take longer than the stale-after
// period (WithStaleAfter) calls Heartbeat in between.
func (s *Store) Heartbeat(ctx context.Context, id int64) error {
	err := s.write(ctx, func(t *tx) error {
		return updateRunning(ctx, t, id, `UPDATE sweeps SET heartbeat_at = ? WHERE id = ? AND status = 'running'`,
			t.now.UnixNano(), id)
	})
	if err != nil {
		return fmt.Errorf("store: heartbeat of sweep %d: %w", id, err)
	}
	return nil
}

// RecoverIncomplete marks as incomplete every sweep left running by a process
// that no longer runs, and returns how many it marked. Call it at start-up,
// before beginning sweeps. A sweep owned by a process on this host is judged
// by whether that process (same boot, pid and start time) still exists; a
// sweep owned by another host, or on a platform that cannot inspect
// processes, is judged dead once its heartbeat is older than the stale-after
// period. A recovered sweep's finish time is its last heartbeat.
func (s *Store) RecoverIncomplete(ctx context.Context) (int, error) {
	var n int
	err := s.write(ctx, func(t *tx) error {
		n = 0
		var rows []struct {
			ID        int64  `db:"id"`
			Host      string `db:"owner_host"`
			Boot      string `db:"owner_boot"`
			PID       int    `db:"owner_pid"`
			Start     int64  `db:"owner_start"`
			Heartbeat int64  `db:"heartbeat_at"`
		}
		if err := t.SelectContext(ctx, &rows, `SELECT id, owner_host, owner_boot, owner_pid, owner_start, heartbeat_at
			FROM sweeps WHERE status = 'running' ORDER BY id`); err != nil {
			return err
		}
		for _, r := range rows {
			alive, ok := s.self.running(owner{host: r.Host, boot: r.Boot, pid: r.PID, start: r.Start})
			if !ok {
				alive = t.now.Sub(time.Unix(0, r.Heartbeat)) < s.staleAfter
			}
			if alive {
				continue
			}
			if _, err := t.ExecContext(ctx, `UPDATE sweeps SET status = 'incomplete', finished_at = heartbeat_at
				WHERE id = ? AND status = 'running'`, r.ID); err != nil {
				return fmt.Errorf("sweep %d: %w", r.ID, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: recover incomplete sweeps: %w", err)
	}
	return n, nil
}

// Sweeps returns the latest limit sweeps, newest first; limit <= 0 returns
// all of them.
func (s *Store) Sweeps(ctx context.Context, limit int) ([]Sweep, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	var out []Sweep
	err := s.read(ctx, func(t *sqlx.Tx) error {
		var rows []sweepRow
		if err := t.SelectContext(ctx, &rows, `SELECT `+sweepCols+` FROM sweeps ORDER BY id DESC LIMIT ?`, limit); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		out = make([]Sweep, len(rows))
		for i, r := range rows {
			out[i] = r.sweep()
		}
		return countScans(ctx, t, out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: list sweeps: %w", err)
	}
	return out, nil
}

// Sweep returns sweep id, or ErrNotFound.
func (s *Store) Sweep(ctx context.Context, id int64) (Sweep, error) {
	sw, err := s.oneSweep(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Sweep{}, fmt.Errorf("store: sweep %d: %w", id, err)
	}
	return sw, nil
}

// LatestSweep returns the most recently begun sweep, or ErrNotFound.
func (s *Store) LatestSweep(ctx context.Context) (Sweep, error) {
	sw, err := s.oneSweep(ctx, `ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return Sweep{}, fmt.Errorf("store: latest sweep: %w", err)
	}
	return sw, nil
}

// oneSweep reads the first sweep selected by clause, a fixed SQL fragment.
func (s *Store) oneSweep(ctx context.Context, clause string, args ...any) (Sweep, error) {
	var sw Sweep
	err := s.read(ctx, func(t *sqlx.Tx) error {
		var r sweepRow
		err := t.GetContext(ctx, &r, `SELECT `+sweepCols+` FROM sweeps `+clause, args...)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		one := []Sweep{r.sweep()}
		if err := countScans(ctx, t, one); err != nil {
			return err
		}
		sw = one[0]
		return nil
	})
	return sw, err
}

// countScans fills Counts (and Hosts where no plan was recorded) of sweeps.
func countScans(ctx context.Context, t *sqlx.Tx, sweeps []Sweep) error {
	lo, hi := sweeps[0].ID, sweeps[0].ID
	byID := make(map[int64]*Sweep, len(sweeps))
	for i := range sweeps {
		lo, hi = min(lo, sweeps[i].ID), max(hi, sweeps[i].ID)
		byID[sweeps[i].ID] = &sweeps[i]
	}
	rows, err := t.QueryContext(ctx, `SELECT sweep_id, status, count(*) FROM scans
		WHERE sweep_id BETWEEN ? AND ? GROUP BY sweep_id, status`, lo, hi)
	if err != nil {
		return fmt.Errorf("count scans: %w", err)
	}
	defer rows.Close()
	scanned := map[int64]int{}
	for rows.Next() {
		var (
			id     int64
			status string
			n      int
		)
		if err := rows.Scan(&id, &status, &n); err != nil {
			return fmt.Errorf("count scans: %w", err)
		}
		if sw := byID[id]; sw != nil {
			sw.Counts[probes.ScanStatus(status)] = n
			scanned[id] += n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count scans: %w", err)
	}
	for id, sw := range byID {
		if sw.Hosts == 0 {
			sw.Hosts = scanned[id]
		}
	}
	return nil
}

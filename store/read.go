package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

type scanRow struct {
	ID        int64          `db:"id"`
	SweepID   int64          `db:"sweep_id"`
	Name      string         `db:"name"`
	Address   string         `db:"address"`
	Role      string         `db:"role"`
	Zone      string         `db:"zone"`
	Platform  string         `db:"platform"`
	Transport string         `db:"transport"`
	Status    string         `db:"status"`
	Error     string         `db:"error"`
	Started   sql.NullInt64  `db:"started_at"`
	Finished  sql.NullInt64  `db:"finished_at"`
	Elevated  bool           `db:"elevated"`
	CPU       int64          `db:"cost_cpu_ns"`
	Processes int            `db:"cost_processes"`
	Target    sql.NullString `db:"sl_target"`
	Achieved  sql.NullString `db:"sl_achieved"`
	Potential sql.NullString `db:"sl_potential"`
}

// scanFrom selects scan rows with the asset revision they ran with; a WHERE
// clause over s (scans) follows.
const scanFrom = `SELECT s.id, s.sweep_id, a.name, r.address, r.role, r.zone, r.platform, r.transport,
	s.status, s.error, s.started_at, s.finished_at, s.elevated, s.cost_cpu_ns, s.cost_processes,
	s.sl_target, s.sl_achieved, s.sl_potential
	FROM scans s JOIN assets a ON a.id = s.asset_id JOIN asset_revisions r ON r.id = s.revision_id `

func (r scanRow) scan() (Scan, error) {
	sc := Scan{ID: r.ID, SweepID: r.SweepID, Status: probes.ScanStatus(r.Status), Error: r.Error,
		Asset:   Asset{Name: r.Name, Address: r.Address, Role: r.Role, Zone: r.Zone, Platform: r.Platform, Transport: r.Transport},
		Started: fromNanos(r.Started), Finished: fromNanos(r.Finished), Elevated: r.Elevated,
		Cost: probes.Cost{CPU: time.Duration(r.CPU), Processes: r.Processes}}
	var err error
	if sc.Target, err = decodeVector(r.Target); err != nil {
		return sc, fmt.Errorf("scan %d: target: %w", r.ID, err)
	}
	if sc.Achieved, err = decodeVector(r.Achieved); err != nil {
		return sc, fmt.Errorf("scan %d: achieved: %w", r.ID, err)
	}
	if sc.Potential, err = decodeVector(r.Potential); err != nil {
		return sc, fmt.Errorf("scan %d: potential: %w", r.ID, err)
	}
	return sc, nil
}

// loadScans reads the scans selected by where (a fixed WHERE clause over s,
// the scans table) in ID order. With full, it rebuilds the checks, requirements and
// facts of every ok scan from the interval tables.
func loadScans(ctx context.Context, t *sqlx.Tx, full bool, where string, args ...any) ([]Scan, error) {
	var rows []scanRow
	if err := t.SelectContext(ctx, &rows, scanFrom+where+` ORDER BY s.id`, args...); err != nil {
		return nil, fmt.Errorf("read scans: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]Scan, len(rows))
	byID := make(map[int64]*Scan, len(rows))
	for i, r := range rows {
		sc, err := r.scan()
		if err != nil {
			return nil, err
		}
		out[i] = sc
		byID[sc.ID] = &out[i]
	}
	if !full {
		return out, nil
	}
	for _, d := range []intervalTable{checkStates(), requirementStates(), factStates()} {
		if err := loadStates(ctx, t, d, byID, where, args); err != nil {
			return nil, err
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Checks, func(a, b checks.Result) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(out[i].Requirements, func(a, b mapping.RequirementResult) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// loadStates adds the rows of interval table d valid at each ok scan selected
// by where to the scans of byID. Names and documents are read once each,
// after the rows, so that a sweep's 100,000 rows do not carry them.
func loadStates(ctx context.Context, t *sqlx.Tx, d intervalTable, byID map[int64]*Scan, where string, args []any) error {
	q := fmt.Sprintf(`SELECT s.id, x.%[2]s, %[3]s, x.%[4]s FROM scans s
		JOIN %[1]s x ON x.asset_id = s.asset_id AND x.from_scan <= s.id AND (x.to_scan IS NULL OR x.to_scan > s.id)
		%[5]s AND s.status = 'ok'`, d.table, d.key, d.stateExpr(), d.doc, where)
	type stateRow struct {
		scan     *Scan
		key, doc int64
		state    string
	}
	var states []stateRow
	keys, docs := map[int64]string{}, map[int64]string{}
	err := queryRows(ctx, t, func(rows *sql.Rows) error {
		var r stateRow
		var scanID int64
		if err := rows.Scan(&scanID, &r.key, &r.state, &r.doc); err != nil {
			return err
		}
		if r.scan = byID[scanID]; r.scan != nil {
			states = append(states, r)
			keys[r.key], docs[r.doc] = "", ""
		}
		return nil
	}, q, args...)
	if err == nil {
		err = fillText(ctx, t, `SELECT id, name FROM names WHERE id IN (SELECT value FROM json_each(?))`, keys)
	}
	if err == nil {
		err = fillText(ctx, t, `SELECT id, json FROM evidence WHERE id IN (SELECT value FROM json_each(?))`, docs)
	}
	if err != nil {
		return fmt.Errorf("read %s states: %w", d.what, err)
	}

	checkDocs := map[int64]checkDoc{}
	reqDocs := map[int64]requirementDoc{}
	for _, r := range states {
		name, doc := keys[r.key], docs[r.doc]
		switch d.kind {
		case kindCheck:
			cd, ok := checkDocs[r.doc]
			if !ok {
				if err := json.Unmarshal([]byte(doc), &cd); err != nil {
					return fmt.Errorf("scan %d: check %s: evidence %d: %w", r.scan.ID, name, r.doc, err)
				}
				checkDocs[r.doc] = cd
			}
			r.scan.Checks = append(r.scan.Checks, cd.result(name, checks.Status(r.state)))
		case kindRequirement:
			rd, ok := reqDocs[r.doc]
			if !ok {
				if err := json.Unmarshal([]byte(doc), &rd); err != nil {
					return fmt.Errorf("scan %d: requirement %s: detail %d: %w", r.scan.ID, name, r.doc, err)
				}
				reqDocs[r.doc] = rd
			}
			r.scan.Requirements = append(r.scan.Requirements, rd.result(name, mapping.State(r.state)))
		case kindFact:
			if r.scan.Facts == nil {
				r.scan.Facts = map[string]string{}
			}
			r.scan.Facts[name] = doc
		}
	}
	return nil
}

// queryRows runs q and calls each for every row.
func queryRows(ctx context.Context, t *sqlx.Tx, each func(*sql.Rows) error, q string, args ...any) error {
	rows, err := t.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// fillText sets the value of every key of m to the text q selects for it; q
// selects (id, text) for the ids in the JSON array bound to its parameter. A
// key q does not return is an error: the foreign keys guarantee it exists.
func fillText(ctx context.Context, t *sqlx.Tx, q string, m map[int64]string) error {
	if len(m) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	found := 0
	err = queryRows(ctx, t, func(rows *sql.Rows) error {
		var (
			id   int64
			text string
		)
		if err := rows.Scan(&id, &text); err != nil {
			return err
		}
		m[id] = text
		found++
		return nil
	}, q, string(list))
	if err == nil && found != len(m) {
		err = fmt.Errorf("%d of %d referenced rows missing", len(m)-found, len(m))
	}
	return err
}

// Scan returns scan id with its checks, requirements and facts, or
// ErrNotFound.
func (s *Store) Scan(ctx context.Context, id int64) (*Scan, error) {
	var sc *Scan
	err := s.read(ctx, func(t *sqlx.Tx) error {
		var err error
		sc, err = oneScan(ctx, t, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: scan %d: %w", id, err)
	}
	return sc, nil
}

func oneScan(ctx context.Context, t *sqlx.Tx, id int64) (*Scan, error) {
	scans, err := loadScans(ctx, t, true, `WHERE s.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(scans) == 0 {
		return nil, ErrNotFound
	}
	return &scans[0], nil
}

// ScansOfSweep returns every scan of a sweep in the order saved, each with its
// checks, requirements and facts. A sweep that does not exist is ErrNotFound.
func (s *Store) ScansOfSweep(ctx context.Context, sweepID int64) ([]Scan, error) {
	var out []Scan
	err := s.read(ctx, func(t *sqlx.Tx) error {
		var n int
		if err := t.GetContext(ctx, &n, `SELECT count(*) FROM sweeps WHERE id = ?`, sweepID); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		var err error
		out, err = loadScans(ctx, t, true, `WHERE s.sweep_id = ?`, sweepID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: scans of sweep %d: %w", sweepID, err)
	}
	return out, nil
}

// PreviousScan returns the asset's latest scan saved before scan beforeScanID
// (beforeScanID <= 0: the latest scan of all), only among scans with status ok
// if onlyOK, fully rebuilt. It returns ErrNotFound if there is none.
func (s *Store) PreviousScan(ctx context.Context, assetName string, beforeScanID int64, onlyOK bool) (*Scan, error) {
	before := beforeScanID
	if before <= 0 {
		before = math.MaxInt64
	}
	var sc *Scan
	err := s.read(ctx, func(t *sqlx.Tx) error {
		var id int64
		err := t.GetContext(ctx, &id, `SELECT s.id FROM scans s JOIN assets a ON a.id = s.asset_id
			WHERE a.name = ? AND s.id < ? AND (? = 0 OR s.status = 'ok')
			ORDER BY s.id DESC LIMIT 1`, assetName, before, onlyOK)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		sc, err = oneScan(ctx, t, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: scan before %d: %w", assetName, beforeScanID, err)
	}
	return sc, nil
}

// AssetHistory returns the asset's scans that started at or after since
// (zero: all), oldest first, without checks, requirements or facts: status,
// times, cost and security-level vectors, for charts. An asset never scanned
// is ErrNotFound.
func (s *Store) AssetHistory(ctx context.Context, assetName string, since time.Time) ([]Scan, error) {
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = since.UnixNano()
	}
	var out []Scan
	err := s.read(ctx, func(t *sqlx.Tx) error {
		var assetID int64
		err := t.GetContext(ctx, &assetID, `SELECT id FROM assets WHERE name = ?`, assetName)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = loadScans(ctx, t, false, `WHERE s.asset_id = ? AND s.started_at >= ?`, assetID, from)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", assetName, err)
	}
	return out, nil
}

// AssetRecord is an asset's current attributes and when it was seen.
type AssetRecord struct {
	Asset
	FirstSeen time.Time // first scan recorded
	LastSeen  time.Time // last scan with status ok; zero if none
	Removed   time.Time // when MarkAssetsRemoved found it gone from the inventory; zero if present
}

// Assets returns every asset ever scanned, by name; removed ones only with
// includeRemoved.
func (s *Store) Assets(ctx context.Context, includeRemoved bool) ([]AssetRecord, error) {
	var rows []struct {
		Name      string        `db:"name"`
		Address   string        `db:"address"`
		Role      string        `db:"role"`
		Zone      string        `db:"zone"`
		Platform  string        `db:"platform"`
		Transport string        `db:"transport"`
		First     sql.NullInt64 `db:"first_seen"`
		Last      sql.NullInt64 `db:"last_seen"`
		Removed   sql.NullInt64 `db:"removed_at"`
	}
	err := s.read(ctx, func(t *sqlx.Tx) error {
		return t.SelectContext(ctx, &rows, `SELECT name, address, role, zone, platform, transport,
			first_seen, last_seen, removed_at FROM assets WHERE (? OR removed_at IS NULL) ORDER BY name`, includeRemoved)
	})
	if err != nil {
		return nil, fmt.Errorf("store: list assets: %w", err)
	}
	out := make([]AssetRecord, len(rows))
	for i, r := range rows {
		out[i] = AssetRecord{
			Asset:     Asset{Name: r.Name, Address: r.Address, Role: r.Role, Zone: r.Zone, Platform: r.Platform, Transport: r.Transport},
			FirstSeen: fromNanos(r.First), LastSeen: fromNanos(r.Last), Removed: fromNanos(r.Removed),
		}
	}
	return out, nil
}

// MarkAssetsRemoved records that every asset not named in present (the
// current inventory) is gone, as of now, and that every asset named in it is
// present again. Removal keeps the asset's history; a later scan of the asset
// clears the mark.
func (s *Store) MarkAssetsRemoved(ctx context.Context, present []string) error {
	names, err := json.Marshal(present)
	if err != nil {
		return fmt.Errorf("store: mark removed assets: %w", err)
	}
	if present == nil {
		names = []byte("[]")
	}
	err = s.write(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, `UPDATE assets SET removed_at = ?
			WHERE removed_at IS NULL AND name NOT IN (SELECT value FROM json_each(?))`, t.now.UnixNano(), string(names)); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `UPDATE assets SET removed_at = NULL
			WHERE removed_at IS NOT NULL AND name IN (SELECT value FROM json_each(?))`, string(names))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mark removed assets: %w", err)
	}
	return nil
}

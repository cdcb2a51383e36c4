package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// Asset is an asset's identity and attributes as recorded with each scan.
// Name is its unique key; the other attributes may change over time, and each
// scan keeps the ones it ran with.
type Asset struct {
	Name, Address, Role, Zone, Platform, Transport string
}

// Scan is one asset within one sweep, and what it found.
//
// Checks, Requirements and Facts are recorded only for Status ok; a scan with
// another status must carry none. Read back, they are sorted by ID (Facts is a
// map) and a failed scan has none.
type Scan struct {
	ID, SweepID int64
	Asset       Asset
	Status      probes.ScanStatus
	Error       string
	Started     time.Time
	Finished    time.Time
	Elevated    bool
	Cost        probes.Cost

	// Security levels: the asset's target, the achieved level counting only
	// assessed requirements, and the level if unassessed requirements hold.
	// Achieved and Potential are recorded only for Status ok.
	Target, Achieved, Potential mapping.Vector

	Checks       []checks.Result
	Requirements []mapping.RequirementResult
	Facts        map[string]string // tracked facts for drift: name -> canonical JSON value

	// Unchanged is set by SaveScan for a scan with status ok that changed
	// nothing in the asset's history: every check, requirement and fact
	// equals the asset's current value as stored (state and document), and
	// none was added or dropped. The asset's previous scan with status ok
	// then holds, as read back, exactly this scan's results.
	Unchanged bool
}

// prepared is a scan encoded for storage, computed before the write lock is
// taken.
type prepared struct {
	target, achieved, potential sql.NullString
	checks, requirements, facts []item
}

func validScanStatus(s probes.ScanStatus) bool {
	switch s {
	case probes.StatusOK, probes.StatusUnreachable, probes.StatusAuthFailed,
		probes.StatusHostKeyMismatch, probes.StatusTimeout, probes.StatusError:
		return true
	}
	return false
}

func validCheckStatus(s checks.Status) bool {
	switch s {
	case checks.Pass, checks.Fail, checks.Error, checks.NotApplicable:
		return true
	}
	return false
}

func validState(s mapping.State) bool {
	switch s {
	case mapping.Met, mapping.NotMet, mapping.Compensated, mapping.NotApplicable, mapping.NotAssessable, mapping.Unknown:
		return true
	}
	return false
}

// prepare validates sc and encodes what SaveScan writes. Errors wrap ErrInvalid.
func prepare(sc *Scan) (*prepared, error) {
	switch {
	case sc.Asset.Name == "":
		return nil, fmt.Errorf("asset has no name: %w", ErrInvalid)
	case sc.SweepID <= 0:
		return nil, fmt.Errorf("no sweep: %w", ErrInvalid)
	case !validScanStatus(sc.Status):
		return nil, fmt.Errorf("scan status %q: %w", sc.Status, ErrInvalid)
	case sc.Started.IsZero():
		return nil, fmt.Errorf("no start time: %w", ErrInvalid)
	case sc.Status != probes.StatusOK && (len(sc.Checks) > 0 || len(sc.Requirements) > 0 || len(sc.Facts) > 0):
		return nil, fmt.Errorf("a scan with status %s carries results: %w", sc.Status, ErrInvalid)
	}
	p := &prepared{}
	t, err := encodeVector(sc.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	p.target = sql.NullString{String: t, Valid: true}
	if sc.Status != probes.StatusOK {
		return p, nil
	}
	for _, v := range []struct {
		dst *sql.NullString
		v   mapping.Vector
		n   string
	}{{&p.achieved, sc.Achieved, "achieved"}, {&p.potential, sc.Potential, "potential"}} {
		s, err := encodeVector(v.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.n, err)
		}
		*v.dst = sql.NullString{String: s, Valid: true}
	}

	enc := newDocEncoder()
	seen := make(map[string]bool, len(sc.Checks))
	p.checks = make([]item, 0, len(sc.Checks))
	for _, c := range sc.Checks {
		switch {
		case c.ID == "" || seen[c.ID]:
			return nil, fmt.Errorf("check ID %q empty or repeated: %w", c.ID, ErrInvalid)
		case !validCheckStatus(c.Status):
			return nil, fmt.Errorf("check %s: status %q: %w", c.ID, c.Status, ErrInvalid)
		}
		seen[c.ID] = true
		doc, err := enc.encode(newCheckDoc(c))
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID, err)
		}
		p.checks = append(p.checks, newItem(c.ID, string(c.Status), doc))
	}
	clear(seen)
	p.requirements = make([]item, 0, len(sc.Requirements))
	for _, r := range sc.Requirements {
		switch {
		case r.ID == "" || seen[r.ID]:
			return nil, fmt.Errorf("requirement ID %q empty or repeated: %w", r.ID, ErrInvalid)
		case !validState(r.State):
			return nil, fmt.Errorf("requirement %s: state %q: %w", r.ID, r.State, ErrInvalid)
		}
		seen[r.ID] = true
		doc, err := enc.encode(newRequirementDoc(r))
		if err != nil {
			return nil, fmt.Errorf("requirement %s: %w", r.ID, err)
		}
		p.requirements = append(p.requirements, newItem(r.ID, string(r.State), doc))
	}
	p.facts = make([]item, 0, len(sc.Facts))
	for name, v := range sc.Facts {
		var b bytes.Buffer
		if name == "" {
			return nil, fmt.Errorf("fact with empty name: %w", ErrInvalid)
		}
		if err := json.Compact(&b, []byte(v)); err != nil {
			return nil, fmt.Errorf("fact %s: value is not JSON: %w", name, errors.Join(ErrInvalid, err))
		}
		p.facts = append(p.facts, newItem(name, "", b.Bytes()))
	}
	return p, nil
}

// SaveScan records sc in one transaction: it creates or updates the asset,
// inserts the scan row, refreshes the sweep's heartbeat and, for a scan with
// status ok, writes the check, requirement and fact intervals that changed.
// It sets and returns sc.ID. The sweep must be running (else ErrNotRunning or
// ErrNotFound); a scan that cannot be recorded as given fails with ErrInvalid
// and nothing is written. Fact values are stored compacted.
func (s *Store) SaveScan(ctx context.Context, sc *Scan) (int64, error) {
	p, err := prepare(sc)
	if err != nil {
		return 0, fmt.Errorf("store: save scan of %s: %w", sc.Asset.Name, err)
	}
	var (
		id        int64
		unchanged bool
	)
	err = s.write(ctx, func(t *tx) error {
		unchanged = false // the write may be retried
		// The heartbeat also tells whether the sweep takes scans.
		if err := updateRunning(ctx, t, sc.SweepID, `UPDATE sweeps SET heartbeat_at = ? WHERE id = ? AND status = 'running'`,
			t.now.UnixNano(), sc.SweepID); err != nil {
			return err
		}
		assetID, revID, err := upsertAsset(ctx, t, sc.Asset, sc.Status == probes.StatusOK)
		if err != nil {
			return err
		}
		if err := t.GetContext(ctx, &id, `INSERT INTO scans
			(sweep_id, asset_id, revision_id, status, error, started_at, finished_at, elevated,
			 cost_cpu_ns, cost_processes, sl_target, sl_achieved, sl_potential)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			sc.SweepID, assetID, revID, string(sc.Status), sc.Error, nanos(sc.Started), nanos(sc.Finished), sc.Elevated,
			int64(sc.Cost.CPU), sc.Cost.Processes, p.target, p.achieved, p.potential); err != nil {
			return fmt.Errorf("insert scan: %w", err)
		}
		if sc.Status != probes.StatusOK {
			return nil
		}
		changed := 0
		for _, w := range []struct {
			tbl   intervalTable
			items []item
		}{{checkStates(), p.checks}, {requirementStates(), p.requirements}, {factStates(), p.facts}} {
			n, err := writeIntervals(ctx, t, w.tbl, assetID, id, w.items)
			if err != nil {
				return err
			}
			changed += n
		}
		unchanged = changed == 0
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: save scan of %s: %w", sc.Asset.Name, err)
	}
	sc.ID, sc.Unchanged = id, unchanged
	return id, nil
}

// upsertAsset creates or updates the asset row and returns it with the
// revision matching a's attributes.
func upsertAsset(ctx context.Context, t *tx, a Asset, ok bool) (assetID, revID int64, err error) {
	now := t.now.UnixNano()
	lastSeen := sql.NullInt64{Int64: now, Valid: ok}
	if err := t.GetContext(ctx, &assetID, `INSERT INTO assets
		(name, address, role, zone, platform, transport, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			address = excluded.address, role = excluded.role, zone = excluded.zone,
			platform = excluded.platform, transport = excluded.transport,
			last_seen = coalesce(excluded.last_seen, assets.last_seen), removed_at = NULL
		RETURNING id`,
		a.Name, a.Address, a.Role, a.Zone, a.Platform, a.Transport, now, lastSeen); err != nil {
		return 0, 0, fmt.Errorf("upsert asset: %w", err)
	}
	args := []any{assetID, a.Address, a.Role, a.Zone, a.Platform, a.Transport}
	err = t.GetContext(ctx, &revID, `SELECT id FROM asset_revisions
		WHERE asset_id = ? AND address = ? AND role = ? AND zone = ? AND platform = ? AND transport = ?`, args...)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.GetContext(ctx, &revID, `INSERT INTO asset_revisions (asset_id, address, role, zone, platform, transport)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, args...)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("asset revision: %w", err)
	}
	return assetID, revID, nil
}

// intervalKind tells the interval tables apart.
type intervalKind int

const (
	kindCheck intervalKind = iota
	kindRequirement
	kindFact
)

// intervalTable describes one of the interval tables by its column names.
type intervalTable struct {
	kind  intervalKind
	what  string // for errors
	table string
	key   string // interned name column
	state string // state column; "" for fact_states, which has none
	doc   string // evidence column
}

func checkStates() intervalTable {
	return intervalTable{kindCheck, "check", "check_states", "check_id", "status", "evidence_id"}
}

func requirementStates() intervalTable {
	return intervalTable{kindRequirement, "requirement", "requirement_states", "requirement_id", "state", "detail_id"}
}

func factStates() intervalTable {
	return intervalTable{kindFact, "fact", "fact_states", "name_id", "", "value_id"}
}

func (d intervalTable) stateExpr() string {
	if d.state == "" {
		return "''"
	}
	return "x." + d.state
}

// packExpr is the SQL text of one interval row of x (this table) as unpack
// reads it: key, document and state, the state prefixed with its length in
// bytes. One printf and one concatenation cost SQLite less than a
// concatenation per field; the text is concatenated, not formatted, so that
// a NUL byte in it cannot cut it short.
func (d intervalTable) packExpr() string {
	state := d.stateExpr()
	return fmt.Sprintf(`printf('%%d,%%d,%%d,', x.%s, x.%s, octet_length(%s)) || %s`, d.key, d.doc, state, state)
}

// currentQuery selects the current rows of interval table d of one asset
// (the parameter): key, name, state, document hash and from_scan.
func currentQuery(d intervalTable) string {
	return fmt.Sprintf(`SELECT x.%[2]s, n.name, %[3]s, e.hash, x.from_scan
		FROM %[1]s x INDEXED BY %[1]s_current
		JOIN names n ON n.id = x.%[2]s JOIN evidence e ON e.id = x.%[4]s
		WHERE x.asset_id = ? AND x.to_scan IS NULL`, d.table, d.key, d.stateExpr(), d.doc)
}

// openRow is an asset's current interval row of one item.
type openRow struct {
	keyID, fromScan int64
	name, state     string
	hash            [sha256.Size]byte
	seen            bool
}

// writeIntervals brings table d of one asset to items as of scan. It reads
// the asset's current rows through the covering partial index of current
// rows (migration 003), so its cost follows the number of current items, not
// the length of the history. An item whose state and document equal the
// current row's is left alone; a changed item's current row is closed at
// scan and a new row opened; a current row with no item any more is closed.
// changed counts the items opened and the rows closed without one.
func writeIntervals(ctx context.Context, t *tx, d intervalTable, assetID, scan int64, items []item) (changed int, err error) {
	var (
		rows []*openRow
		hash sql.RawBytes
	)
	err = queryRows(ctx, t.Tx, func(rs *sql.Rows) error {
		r := &openRow{}
		if err := rs.Scan(&r.keyID, &r.name, &r.state, &hash, &r.fromScan); err != nil {
			return err
		}
		if len(hash) == len(r.hash) {
			copy(r.hash[:], hash)
		} // else it stays zero, which no document hashes to: the item is rewritten
		rows = append(rows, r)
		return nil
	}, currentQuery(d), assetID)
	if err != nil {
		return 0, fmt.Errorf("read current %s states: %w", d.what, err)
	}
	current := make(map[string]*openRow, len(rows))
	for _, r := range rows {
		current[r.name] = r
	}
	closeSQL := fmt.Sprintf(`UPDATE %s SET to_scan = ? WHERE asset_id = ? AND %s = ? AND from_scan = ?`, d.table, d.key)
	var insertSQL string
	if d.state == "" {
		insertSQL = fmt.Sprintf(`INSERT INTO %s (asset_id, %s, %s, from_scan) VALUES (?, ?, ?, ?)`, d.table, d.key, d.doc)
	} else {
		insertSQL = fmt.Sprintf(`INSERT INTO %s (asset_id, %s, %s, %s, from_scan) VALUES (?, ?, ?, ?, ?)`, d.table, d.key, d.state, d.doc)
	}

	for _, it := range items {
		cur := current[it.name]
		if cur != nil {
			cur.seen = true
			if cur.state == it.state && cur.hash == it.hash {
				continue
			}
			if _, err := t.ExecContext(ctx, closeSQL, scan, assetID, cur.keyID, cur.fromScan); err != nil {
				return 0, fmt.Errorf("%s %s: close: %w", d.what, it.name, err)
			}
		}
		var keyID int64
		if cur != nil {
			keyID = cur.keyID
		} else {
			var err error
			if keyID, err = internName(ctx, t, it.name); err != nil {
				return 0, fmt.Errorf("%s %s: %w", d.what, it.name, err)
			}
		}
		docID, err := internDoc(ctx, t, it)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", d.what, it.name, err)
		}
		args := []any{assetID, keyID, it.state, docID, scan}
		if d.state == "" {
			args = []any{assetID, keyID, docID, scan}
		}
		if _, err := t.ExecContext(ctx, insertSQL, args...); err != nil {
			return 0, fmt.Errorf("%s %s: open: %w", d.what, it.name, err)
		}
		changed++
	}
	for _, cur := range rows {
		if cur.seen {
			continue
		}
		if _, err := t.ExecContext(ctx, closeSQL, scan, assetID, cur.keyID, cur.fromScan); err != nil {
			return 0, fmt.Errorf("%s %s: close: %w", d.what, cur.name, err)
		}
		changed++
	}
	return changed, nil
}

func internName(ctx context.Context, t *tx, name string) (int64, error) {
	var id int64
	err := t.GetContext(ctx, &id, `SELECT id FROM names WHERE name = ?`, name)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.GetContext(ctx, &id, `INSERT INTO names (name) VALUES (?) RETURNING id`, name)
	}
	if err != nil {
		return 0, fmt.Errorf("intern name: %w", err)
	}
	return id, nil
}

func internDoc(ctx context.Context, t *tx, it item) (int64, error) {
	var id int64
	err := t.GetContext(ctx, &id, `SELECT id FROM evidence WHERE hash = ?`, it.hash[:])
	if errors.Is(err, sql.ErrNoRows) {
		err = t.GetContext(ctx, &id, `INSERT INTO evidence (hash, json) VALUES (?, ?) RETURNING id`, it.hash[:], string(it.doc))
	}
	if err != nil {
		return 0, fmt.Errorf("store evidence: %w", err)
	}
	return id, nil
}

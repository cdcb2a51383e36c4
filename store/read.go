package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// scanRow is one row of scanFrom.
type scanRow struct {
	ID, SweepID, Revision       int64
	Status, Error               string
	Started, Finished           sql.NullInt64
	Elevated                    bool
	CPU                         int64
	Processes                   int
	Target, Achieved, Potential sql.NullString
}

// dest lists r's fields in scanFrom's column order, for Rows.Scan.
func (r *scanRow) dest() []any {
	return []any{&r.ID, &r.SweepID, &r.Revision, &r.Status, &r.Error, &r.Started, &r.Finished,
		&r.Elevated, &r.CPU, &r.Processes, &r.Target, &r.Achieved, &r.Potential}
}

// scanFrom selects scan rows; a WHERE clause over s (scans) follows. The
// asset attributes a scan ran with are read once per revision (readAssets),
// not once per scan: a month of a plant's history has a few revisions per
// asset and tens of thousands of scans.
const scanFrom = `SELECT s.id, s.sweep_id, s.revision_id, s.status, s.error, s.started_at, s.finished_at,
	s.elevated, s.cost_cpu_ns, s.cost_processes, s.sl_target, s.sl_achieved, s.sl_potential
	FROM scans s `

func (r *scanRow) scan() (Scan, error) {
	sc := Scan{ID: r.ID, SweepID: r.SweepID, Status: probes.ScanStatus(r.Status), Error: r.Error,
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
	out, err := readScans(ctx, t, where+` ORDER BY s.id`, 0, args...)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 || !full {
		return out, nil
	}
	if err := loadStates(ctx, t, out, where, args); err != nil {
		return nil, err
	}
	return out, nil
}

// readScans reads the scans selected by clause (a fixed WHERE clause over
// s, the scans table, and an ORDER BY), without checks, requirements or
// facts, in the clause's order. size, if positive, is how many scans the
// clause selects, so that a month of a plant's scans is not copied as the
// slice grows.
func readScans(ctx context.Context, t *sqlx.Tx, clause string, size int, args ...any) ([]Scan, error) {
	var (
		out  = make([]Scan, 0, size)
		revs = make([]int64, 0, size) // revs[i] is the asset revision of out[i]
		r    scanRow
	)
	dest := r.dest()
	err := queryRows(ctx, t, func(rows *sql.Rows) error {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		sc, err := r.scan()
		out, revs = append(out, sc), append(revs, r.Revision)
		return err
	}, scanFrom+clause, args...)
	if err == nil {
		err = readAssets(ctx, t, out, revs)
	}
	if err != nil {
		return nil, fmt.Errorf("read scans: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// readAssets sets the Asset of scans[i] to the attributes of asset revision
// revs[i], reading each revision once. Scans of one revision share its
// strings.
func readAssets(ctx context.Context, t *sqlx.Tx, scans []Scan, revs []int64) error {
	if len(scans) == 0 {
		return nil
	}
	assets := map[int64]*Asset{}
	for _, id := range revs {
		assets[id] = nil
	}
	list, err := idList(assets)
	if err != nil {
		return err
	}
	err = queryRows(ctx, t, func(rows *sql.Rows) error {
		var (
			id int64
			a  Asset
		)
		if err := rows.Scan(&id, &a.Name, &a.Address, &a.Role, &a.Zone, &a.Platform, &a.Transport); err != nil {
			return err
		}
		assets[id] = &a
		return nil
	}, `SELECT r.id, a.name, r.address, r.role, r.zone, r.platform, r.transport
		FROM asset_revisions r JOIN assets a ON a.id = r.asset_id
		WHERE r.id IN (SELECT value FROM json_each(?))`, list)
	if err != nil {
		return fmt.Errorf("read asset revisions: %w", err)
	}
	for i := range scans {
		a := assets[revs[i]]
		if a == nil { // the foreign key guarantees it exists
			return fmt.Errorf("scan %d: asset revision %d missing", scans[i].ID, revs[i])
		}
		scans[i].Asset = *a
	}
	return nil
}

// idList encodes the keys of m as a JSON array, for json_each.
func idList[V any](m map[int64]V) (string, error) {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	b, err := json.Marshal(ids)
	return string(b), err
}

// stateRow is one interval row valid at a scan, as loadStates reads it.
// It holds no pointers, so that a sweep's 150,000 of them cost the garbage
// collector nothing.
type stateRow struct {
	scan, state int32 // indexes into the scans and the distinct states
	key, doc    int64
}

// tableStates is what loadStates read from one interval table.
type tableStates struct {
	d       intervalTable
	rows    []stateRow
	perScan []int32          // rows per scan
	states  []string         // the distinct states
	names   map[int64]string // key id -> name
	docs    map[int64][]byte // evidence id -> JSON text
}

// loadStates sets the checks, requirements and facts of every ok scan among
// scans, the scans where selects, from the rows of the interval tables valid
// at it; each scan's checks and requirements are sorted by ID. Names and
// documents are read once each, after the rows, so that a sweep's 150,000
// rows do not carry them. The documents of one table are decoded, in
// parallel, while the next table is read.
func loadStates(ctx context.Context, t *sqlx.Tx, scans []Scan, where string, args []any) error {
	index := make(map[int64]int32, len(scans))
	for i := range scans {
		index[scans[i].ID] = int32(i)
	}
	var (
		wg        sync.WaitGroup
		checkDocs map[int64]checkDoc
		reqDocs   map[int64]requirementDoc
		errs      [2]error
		tables    []*tableStates
	)
	for _, d := range []intervalTable{checkStates(), requirementStates(), factStates()} {
		ts, err := readStates(ctx, t, d, index, where, args)
		if err != nil {
			wg.Wait()
			return fmt.Errorf("read %s states: %w", d.what, err)
		}
		tables = append(tables, ts)
		switch d.kind {
		case kindCheck:
			wg.Go(func() { checkDocs, errs[0] = decodeDocs[checkDoc](ts.docs) })
		case kindRequirement:
			wg.Go(func() { reqDocs, errs[1] = decodeDocs[requirementDoc](ts.docs) })
		}
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return fmt.Errorf("read states: %w", err)
	}

	for _, ts := range tables {
		names := ts.sortByName(len(scans))
		for i, n := range ts.perScan {
			if n == 0 {
				continue
			}
			switch ts.d.kind {
			case kindCheck:
				scans[i].Checks = make([]checks.Result, 0, n)
			case kindRequirement:
				scans[i].Requirements = make([]mapping.RequirementResult, 0, n)
			case kindFact:
				scans[i].Facts = make(map[string]string, n)
			}
		}
		facts := map[int64]string{}
		for _, r := range ts.rows {
			sc, name, state := &scans[r.scan], names[r.key], ts.states[r.state]
			switch ts.d.kind {
			case kindCheck:
				sc.Checks = append(sc.Checks, checkDocs[r.doc].result(name, checks.Status(state)))
			case kindRequirement:
				sc.Requirements = append(sc.Requirements, reqDocs[r.doc].result(name, mapping.State(state)))
			case kindFact:
				v, ok := facts[r.doc]
				if !ok {
					v = string(ts.docs[r.doc])
					facts[r.doc] = v
				}
				sc.Facts[name] = v
			}
		}
	}
	return nil
}

// readStates reads the rows of interval table d valid at each ok scan
// selected by where, their names and their documents. index maps the IDs of
// the selected scans to their indexes.
func readStates(ctx context.Context, t *sqlx.Tx, d intervalTable, index map[int64]int32, where string, args []any) (*tableStates, error) {
	ts := &tableStates{d: d, perScan: make([]int32, len(index)), names: map[int64]string{}, docs: map[int64][]byte{}}
	stateIdx := map[string]int32{}
	err := queryRows(ctx, t, func(rs *sql.Rows) error {
		var (
			scanID int64
			packed []byte
		)
		if err := rs.Scan(&scanID, &packed); err != nil {
			return err
		}
		i, ok := index[scanID]
		if !ok {
			return nil
		}
		return unpack(packed, 2, func(ids []int64, state []byte) error {
			si, ok := stateIdx[string(state)]
			if !ok {
				si = int32(len(ts.states))
				ts.states = append(ts.states, string(state))
				stateIdx[ts.states[si]] = si
			}
			key, doc := ids[0], ids[1]
			ts.rows = append(ts.rows, stateRow{scan: i, state: si, key: key, doc: doc})
			ts.perScan[i]++
			if _, ok := ts.names[key]; !ok {
				ts.names[key] = ""
			}
			if _, ok := ts.docs[doc]; !ok {
				ts.docs[doc] = nil
			}
			return nil
		})
	}, statesQuery(d, where), append(slices.Clip(args), args...)...)
	if err == nil {
		err = fillText(ctx, t, `SELECT id, name FROM names WHERE id IN (SELECT value FROM json_each(?))`, ts.names)
	}
	if err == nil {
		err = readDocs(ctx, t, ts.docs)
	}
	return ts, err
}

// sortByName orders the rows by scan, and within a scan by name, and
// returns the names by rank: each row's key becomes its name's rank.
func (ts *tableStates) sortByName(scans int) []string {
	keys := make([]int64, 0, len(ts.names))
	for k := range ts.names {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b int64) int { return strings.Compare(ts.names[a], ts.names[b]) })
	rank := make(map[int64]int64, len(keys))
	names := make([]string, len(keys))
	for i, k := range keys {
		rank[k], names[i] = int64(i), ts.names[k]
	}
	// A counting sort by scan (the rows of one scan come in up to two runs),
	// then each scan's hundred or so rows by name.
	start := make([]int32, scans+1)
	for i, n := range ts.perScan {
		start[i+1] = start[i] + n
	}
	sorted := make([]stateRow, len(ts.rows))
	next := slices.Clone(start[:scans])
	for _, r := range ts.rows {
		r.key = rank[r.key]
		sorted[next[r.scan]] = r
		next[r.scan]++
	}
	for i := range scans {
		slices.SortFunc(sorted[start[i]:start[i+1]], func(a, b stateRow) int { return cmp.Compare(a.key, b.key) })
	}
	ts.rows = sorted
	return names
}

// decodeDocs decodes every JSON document of docs (evidence id -> text). A
// sweep's reads hold some 20,000 distinct documents, so it spreads them over
// up to GOMAXPROCS goroutines.
func decodeDocs[T any, P interface {
	*T
	fielded
}](docs map[int64][]byte) (map[int64]T, error) {
	ids := make([]int64, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	out := make([]T, len(ids))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(ids)/512))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ids); i += workers {
				if err := decodeDoc[T, P](docs[ids[i]], &out[i]); err != nil {
					errs[w] = fmt.Errorf("document %d: %w", ids[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := make(map[int64]T, len(ids))
	for i, id := range ids {
		m[id] = out[i]
	}
	return m, nil
}

// statesQuery selects, for every ok scan selected by where (a WHERE clause
// over s, the scans table, to be bound twice), the rows of interval table d
// valid at it, packed as unpack reads them.
//
// The rows valid at scan s are read in two parts, each a range of an index
// of migration 003: the current rows of the asset that s had already seen,
// and the rows closed after s. Neither walks the asset's whole history. Each
// part returns one row per scan with its intervals packed: a sweep has some
// 150,000 intervals, and handing them to Go one row each would cost more
// than reading them.
func statesQuery(d intervalTable, where string) string {
	part := func(index, valid string) string {
		return fmt.Sprintf(`SELECT s.id, CAST(group_concat(%[3]s, ',') AS BLOB) FROM scans s
			JOIN %[1]s x INDEXED BY %[1]s_%[2]s ON x.asset_id = s.asset_id AND %[4]s AND x.from_scan <= s.id
			%[5]s AND s.status = 'ok' GROUP BY s.id`, d.table, index, d.packExpr(), valid, where)
	}
	return part("current", "x.to_scan IS NULL") + " UNION ALL " + part("closed", "x.to_scan > s.id")
}

// errPacked: a list packed in SQL is not as its query writes it.
var errPacked = errors.New("malformed packed list")

// unpack calls each for every entry of a list packed in SQL by group_concat
// (packExpr, readDocs): entries joined by ",", each ints decimal integers
// and then a text, all ended by ",", the text prefixed by its length in
// bytes ("12,345,4,pass"), so that any text reads back as it was written.
// The numbers and text handed to each are only valid during the call; the
// text is a subslice of packed.
func unpack(packed []byte, ints int, each func(nums []int64, text []byte) error) error {
	nums := make([]int64, ints)
	p := packed
	for len(p) > 0 {
		var (
			n   int64
			err error
		)
		for i := range nums {
			if nums[i], p, err = cutInt(p); err != nil {
				return err
			}
		}
		if n, p, err = cutInt(p); err != nil {
			return err
		}
		if n < 0 || n > int64(len(p)) {
			return fmt.Errorf("text of %d bytes, %d left: %w", n, len(p), errPacked)
		}
		text := p[:n]
		p = p[n:]
		if len(p) > 0 {
			if p[0] != ',' || len(p) == 1 {
				return fmt.Errorf("no entry after text %.20q: %w", text, errPacked)
			}
			p = p[1:]
		}
		if err := each(nums, text); err != nil {
			return err
		}
	}
	return nil
}

// cutInt reads a decimal integer and the comma after it from the start of p.
func cutInt(p []byte) (int64, []byte, error) {
	num, rest, ok := bytes.Cut(p, []byte{','})
	if !ok {
		return 0, nil, fmt.Errorf("no comma after %.20q: %w", p, errPacked)
	}
	v, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errPacked, err)
	}
	return v, rest, nil
}

// readDocs sets every value of docs to the JSON text of the evidence row of
// its key, a subslice of one buffer. It reads them packed in one row (some
// 20,000 documents for a sweep: one row each would cost more in Go than
// SQLite takes to read them). A key without a row is an error: the foreign
// keys guarantee it exists.
func readDocs(ctx context.Context, t *sqlx.Tx, docs map[int64][]byte) error {
	if len(docs) == 0 {
		return nil
	}
	list, err := idList(docs)
	if err != nil {
		return err
	}
	var packed []byte
	if err := t.QueryRowContext(ctx, `SELECT CAST(group_concat(printf('%d,%d,', id, octet_length(json)) || json, ',') AS BLOB)
		FROM evidence WHERE id IN (SELECT value FROM json_each(?))`, list).Scan(&packed); err != nil {
		return err
	}
	found := 0
	err = unpack(packed, 1, func(ids []int64, text []byte) error {
		if _, ok := docs[ids[0]]; ok {
			docs[ids[0]] = text
			found++
		}
		return nil
	})
	if err == nil && found != len(docs) {
		err = fmt.Errorf("%d of %d referenced documents missing", len(docs)-found, len(docs))
	}
	return err
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
	list, err := idList(m)
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
	}, q, list)
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

// sweepExists returns ErrNotFound when sweep id does not exist.
func sweepExists(ctx context.Context, t *sqlx.Tx, id int64) error {
	var n int
	if err := t.GetContext(ctx, &n, `SELECT count(*) FROM sweeps WHERE id = ?`, id); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ScansOfSweep returns every scan of a sweep in the order saved, each with its
// checks, requirements and facts. A sweep that does not exist is ErrNotFound.
func (s *Store) ScansOfSweep(ctx context.Context, sweepID int64) ([]Scan, error) {
	var out []Scan
	err := s.read(ctx, func(t *sqlx.Tx) error {
		if err := sweepExists(ctx, t, sweepID); err != nil {
			return err
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
	return s.previousScan(ctx, assetName, beforeScanID, onlyOK, true)
}

// PreviousScanHead is PreviousScan without checks, requirements or facts:
// the scan row alone (status, error, times, cost, security-level vectors).
func (s *Store) PreviousScanHead(ctx context.Context, assetName string, beforeScanID int64, onlyOK bool) (*Scan, error) {
	return s.previousScan(ctx, assetName, beforeScanID, onlyOK, false)
}

func (s *Store) previousScan(ctx context.Context, assetName string, beforeScanID int64, onlyOK, full bool) (*Scan, error) {
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
		if full {
			sc, err = oneScan(ctx, t, id)
			return err
		}
		scans, err := loadScans(ctx, t, false, `WHERE s.id = ?`, id)
		if err != nil {
			return err
		}
		if len(scans) == 0 {
			return ErrNotFound
		}
		sc = &scans[0]
		return nil
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

// SweepHistories returns, for every asset scanned in sweep sweepID, what
// AssetHistory returns for it and since, less the scans of sweeps after
// sweepID: its scans that started at or after since (zero: all) in sweep
// sweepID or an earlier one, oldest first, without checks, requirements or
// facts. The map is keyed by asset name; an asset whose scans all started
// before since has no entry. It reads every asset in one query and one
// snapshot, where AssetHistory takes one call per asset. A sweep that does
// not exist is ErrNotFound. ctx bounds the whole read.
func (s *Store) SweepHistories(ctx context.Context, sweepID int64, since time.Time) (map[string][]Scan, error) {
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = since.UnixNano()
	}
	var scans []Scan
	err := s.read(ctx, func(t *sqlx.Tx) error {
		if err := sweepExists(ctx, t, sweepID); err != nil {
			return err
		}
		// A range of (asset_id, started_at) per asset: the index on
		// (asset_id, id) that would spare sorting each asset's 30 scans
		// by ID reads the asset's whole history instead.
		const where = `INDEXED BY scans_asset_started
			WHERE s.asset_id IN (SELECT asset_id FROM scans WHERE sweep_id = ?)
			AND s.started_at >= ? AND s.sweep_id <= ?`
		var n int
		if err := t.GetContext(ctx, &n, `SELECT count(*) FROM scans s `+where, sweepID, from, sweepID); err != nil {
			return err
		}
		var err error
		scans, err = readScans(ctx, t, where+` ORDER BY s.asset_id, s.id`, n, sweepID, from, sweepID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: histories of sweep %d: %w", sweepID, err)
	}
	// Each asset's scans are adjacent, in ID order.
	out := map[string][]Scan{}
	for i := 0; i < len(scans); {
		j := i + 1
		for j < len(scans) && scans[j].Asset.Name == scans[i].Asset.Name {
			j++
		}
		out[scans[i].Asset.Name] = scans[i:j:j]
		i = j
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

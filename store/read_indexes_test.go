package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes/checks"
)

// indexes003 are the indexes migration 003 creates.
var indexes003 = []string{
	"check_states_closed", "check_states_current", "fact_states_closed", "fact_states_current",
	"requirement_states_closed", "requirement_states_current", "scans_asset_started",
}

func indexNames(t *testing.T, s *Store) []string {
	t.Helper()
	var names []string
	if err := s.r.SelectContext(testCtx(t), &names, `SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestReadIndexesMigration: a database written before migration 003 (the
// same tables and rows, without its indexes) is migrated when opened, reads
// back exactly as before, and keeps taking scans.
func TestReadIndexesMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "otsweep.db")
	ctx := testCtx(t)
	clk := newTestClock()
	s, err := Open(ctx, path, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	h := newChurnHistory(t, s, clk)
	before := map[int64][]Scan{}
	for _, sw := range h.sweeps {
		if before[sw.ID], err = s.ScansOfSweep(ctx, sw.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Back to what version 2 wrote: 003 only adds indexes.
	for _, name := range indexes003 {
		if _, err := s.w.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 3`); err != nil {
		t.Fatal(err)
	}
	if got := indexNames(t, s); slices.ContainsFunc(got, func(n string) bool { return slices.Contains(indexes003, n) }) {
		t.Fatalf("indexes of 003 left after dropping them: %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, WithClock(clk.Now))
	if got := versions(t, s.w); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("versions after reopening = %v, want [1 2 3]", got)
	}
	got := indexNames(t, s)
	for _, name := range indexes003 {
		if !slices.Contains(got, name) {
			t.Errorf("index %s missing after migration; have %v", name, got)
		}
	}
	for _, sw := range h.sweeps {
		after, err := s.ScansOfSweep(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before[sw.ID]) {
			t.Fatalf("sweep %d: %d scans after migration, %d before", sw.ID, len(after), len(before[sw.ID]))
		}
		for i := range after {
			assertScanEqual(t, after[i], before[sw.ID][i])
		}
	}

	// The next sweep is compared with the current rows as before: one
	// changed check adds one row.
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	last := h.saved[len(h.saved)-1]
	next := cloneScan(last[0])
	next.SweepID, next.Started = sw.ID, next.Started.Add(24*time.Hour)
	next.Checks[0].Status, next.Checks[0].Actual = checks.Error, "probe timed out after migration"
	rows := count(t, s, "check_states")
	if _, err := s.SaveScan(ctx, next); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "check_states") - rows; n != 1 {
		t.Errorf("a scan with one changed check added %d check rows, want 1", n)
	}
	back, err := s.Scan(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertScanEqual(t, *back, *next)
}

// TestStateReadsUseIndexes guards the point of migration 003: the current
// rows are read from the index alone (no lookup into the table per row),
// and neither the reads of a scan's state nor SaveScan's comparison scan
// the asset's whole history.
func TestStateReadsUseIndexes(t *testing.T) {
	s := openTest(t)
	ctx := testCtx(t)
	for _, d := range []intervalTable{checkStates(), requirementStates(), factStates()} {
		for _, q := range []struct {
			name, sql string
			args      []any
			want      []string
		}{
			{"state of a sweep", statesQuery(d, `WHERE s.sweep_id = ?`), []any{1, 1}, []string{
				"SEARCH x USING COVERING INDEX " + d.table + "_current (asset_id=?)",
				"SEARCH x USING INDEX " + d.table + "_closed (asset_id=? AND to_scan>?)",
			}},
			{"current rows before a save", currentQuery(d), []any{1}, []string{
				"SEARCH x USING COVERING INDEX " + d.table + "_current (asset_id=?)",
			}},
		} {
			t.Run(d.table+": "+q.name, func(t *testing.T) {
				rows, err := s.r.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q.sql, q.args...)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var plan []string
				for rows.Next() {
					var id, parent, unused int
					var detail string
					if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, detail)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				for _, w := range q.want {
					if !slices.Contains(plan, w) {
						t.Errorf("plan lacks %q:\n%s", w, strings.Join(plan, "\n"))
					}
				}
				for _, step := range plan {
					if strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "PRIMARY KEY (asset_id=?)") {
						t.Errorf("plan walks a table or an asset's history: %q", step)
					}
				}
			})
		}
	}
}

func TestUnpack(t *testing.T) {
	type entry struct {
		nums string
		text string
	}
	tests := []struct {
		name    string
		packed  string
		ints    int
		want    []entry
		wantErr bool
	}{
		{"empty", "", 2, nil, false},
		{"one check", "12,345,4,pass", 2, []entry{{"[12 345]", "pass"}}, false},
		{"fact without state", "7,9,0,", 2, []entry{{"[7 9]", ""}}, false},
		{"facts without state", "7,9,0,,8,10,0,", 2, []entry{{"[7 9]", ""}, {"[8 10]", ""}}, false},
		{"several", "1,2,3,met,3,4,7,not-met,5,6,14,not-applicable", 2,
			[]entry{{"[1 2]", "met"}, {"[3 4]", "not-met"}, {"[5 6]", "not-applicable"}}, false},
		{"text with separators", "1,2,5,a,b\n9,3,4,3,x,y", 2, []entry{{"[1 2]", "a,b\n9"}, {"[3 4]", "x,y"}}, false},
		{"multibyte text", "1,2,4,€x", 2, []entry{{"[1 2]", "€x"}}, false},
		{"documents", `5,13,{"fr":"FR 1"},6,2,[]`, 1, []entry{{"[5]", `{"fr":"FR 1"}`}, {"[6]", "[]"}}, false},
		{"text longer than the rest", "1,2,9,met", 2, nil, true},
		{"negative length", "1,2,-1,met", 2, nil, true},
		{"no separator after text", "1,2,3,metX1,2,3,met", 2, nil, true},
		{"trailing comma", "1,2,3,met,", 2, nil, true},
		{"truncated entry", "1,2", 2, nil, true},
		{"not a number", "x,2,3,met", 2, nil, true},
		{"document without length", `5,{"fr":"FR 1"}`, 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []entry
			err := unpack([]byte(tt.packed), tt.ints, func(nums []int64, text []byte) error {
				got = append(got, entry{fmt.Sprint(nums), string(text)})
				return nil
			})
			if tt.wantErr {
				if !errors.Is(err, errPacked) {
					t.Fatalf("unpack = %v, %v; want errPacked", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("unpack = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestPackedStatesAnyText: states and documents the store would never write
// (it validates them) still read back exactly, whatever characters they
// hold: packing is by length, not by separator.
func TestPackedStatesAnyText(t *testing.T) {
	s := openTest(t)
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	sc := loadScan(t, "scan_windows10_en_hmi.json", sw.ID, t0)
	sc.Facts["odd.value"] = `"12,3,€,\n,4,"`
	sc.Facts["odd.list"] = `[",",1,"0,"]`
	if _, err := s.SaveScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	odd := []string{"a,b", "1,2,3,x", "line\nbreak", "€ unicode", "", "nul\x00byte,5,"}
	for i, st := range odd {
		if _, err := s.w.ExecContext(ctx, `UPDATE check_states SET status = ? WHERE asset_id = (SELECT asset_id FROM scans WHERE id = ?)
			AND check_id = (SELECT id FROM names WHERE name = ?)`, st, sc.ID, sc.Checks[i].ID); err != nil {
			t.Fatal(err)
		}
		sc.Checks[i].Status = checks.Status(st)
	}
	for _, read := range []func() (*Scan, error){
		func() (*Scan, error) { return s.Scan(ctx, sc.ID) },
		func() (*Scan, error) {
			all, err := s.ScansOfSweep(ctx, sw.ID)
			if err != nil || len(all) != 1 {
				return nil, fmt.Errorf("%d scans: %w", len(all), err)
			}
			return &all[0], nil
		},
	} {
		got, err := read()
		if err != nil {
			t.Fatal(err)
		}
		assertScanEqual(t, *got, *sc)
	}
}

package store

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// testClock is a settable clock for WithClock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openTest opens a store on a fresh file in t.TempDir.
func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "otsweep.db"), opts...)
}

func openAt(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(testCtx(t), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fixture is a scan's content as kept in testdata.
type fixture struct {
	Asset        Asset                       `json:"asset"`
	Elevated     bool                        `json:"elevated"`
	Cost         probes.Cost                 `json:"cost"`
	Target       mapping.Vector              `json:"target"`
	Achieved     mapping.Vector              `json:"achieved"`
	Potential    mapping.Vector              `json:"potential"`
	Checks       []checks.Result             `json:"checks"`
	Requirements []mapping.RequirementResult `json:"requirements"`
	Facts        map[string]json.RawMessage  `json:"facts"`
}

// loadScan reads testdata/name as a successful scan in sweep sweepID.
func loadScan(t testing.TB, name string, sweepID int64, started time.Time) *Scan {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sc := &Scan{SweepID: sweepID, Asset: f.Asset, Status: probes.StatusOK, Started: started,
		Finished: started.Add(2500 * time.Millisecond), Elevated: f.Elevated, Cost: f.Cost,
		Target: f.Target, Achieved: f.Achieved, Potential: f.Potential,
		Checks: f.Checks, Requirements: f.Requirements, Facts: map[string]string{}}
	for k, v := range f.Facts {
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			t.Fatal(err)
		}
		sc.Facts[k] = c.String()
	}
	return sc
}

// cloneScan deep-copies a scan so tests can mutate the copy.
func cloneScan(sc *Scan) *Scan {
	c := *sc
	c.Checks = slices.Clone(sc.Checks)
	for i := range c.Checks {
		c.Checks[i].Evidence = slices.Clone(c.Checks[i].Evidence)
	}
	c.Requirements = slices.Clone(sc.Requirements)
	if sc.Facts != nil {
		c.Facts = make(map[string]string, len(sc.Facts))
		for k, v := range sc.Facts {
			c.Facts[k] = v
		}
	}
	return &c
}

// canonical is what a scan looks like read back: results sorted by ID, times
// in UTC, results dropped for failed scans, no Unchanged (SaveScan's report
// on the write, not stored).
func canonical(sc Scan) Scan {
	c := *cloneScan(&sc)
	c.Started, c.Finished = c.Started.UTC(), c.Finished.UTC()
	c.Unchanged = false
	slices.SortFunc(c.Checks, func(a, b checks.Result) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(c.Requirements, func(a, b mapping.RequirementResult) int { return strings.Compare(a.ID, b.ID) })
	if len(c.Checks) == 0 {
		c.Checks = nil
	}
	if len(c.Requirements) == 0 {
		c.Requirements = nil
	}
	if len(c.Facts) == 0 {
		c.Facts = nil
	}
	if c.Status != probes.StatusOK {
		c.Achieved, c.Potential = mapping.Vector{}, mapping.Vector{}
	}
	return c
}

func assertScanEqual(t testing.TB, got, want Scan) {
	t.Helper()
	g, w := canonical(got), canonical(want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("scan %d read back differs\n got: %s\nwant: %s", got.ID, gj, wj)
	}
}

// count returns the number of rows of a table.
func count(t testing.TB, s *Store, table string, where ...string) int {
	t.Helper()
	q := "SELECT count(*) FROM " + table
	if len(where) > 0 {
		q += " WHERE " + where[0]
	}
	var n int
	if err := s.r.GetContext(testCtx(t), &n, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

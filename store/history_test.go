package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// churnHistory is a small plant's history written through the public API:
// daily sweeps in which check results, requirement states and facts change,
// items disappear and come back, a scan fails, an asset moves (a new
// revision), an asset is removed from the inventory and never scanned
// again, an asset is scanned twice in one sweep, and a new asset appears
// late. saved holds every scan as it was handed to SaveScan, by sweep.
type churnHistory struct {
	s      *Store
	sweeps []Sweep
	saved  [][]*Scan // saved[i]: the scans of sweeps[i], in save order
	day    func(i int) time.Time
}

const churnDays = 7

func newChurnHistory(t *testing.T, s *Store, clk *testClock) *churnHistory {
	t.Helper()
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(62443, 7))
	h := &churnHistory{s: s, day: func(i int) time.Time { return t0.Add(time.Duration(i) * 24 * time.Hour) }}
	// Current content per asset, changed a little every day.
	fleet := map[string]*Scan{}
	var names []string
	add := func(name, fixture string) {
		sc := loadScan(t, fixture, 0, t0)
		sc.Asset.Name = name
		fleet[name] = sc
		names = append(names, name)
	}
	for i := range 3 {
		add(fmt.Sprintf("hmi-%02d", i+1), "scan_windows10_en_hmi.json")
		add(fmt.Sprintf("hist-%02d", i+1), "scan_debian12_historian.json")
	}
	dropped := map[string]checks.Result{} // asset -> check taken out, put back later

	for d := range churnDays {
		clk.Add(24 * time.Hour)
		sw, err := s.BeginSweep(ctx, "daily", "schedule")
		if err != nil {
			t.Fatal(err)
		}
		if d == 5 {
			add("late-01", "scan_windows10_en_hmi.json")
		}
		var saved []*Scan
		for i, name := range names {
			if name == "hmi-03" && d > 2 {
				continue // removed from the inventory after day 2
			}
			cur := fleet[name]
			if d > 0 {
				churn(rng, cur, d, dropped)
			}
			if name == "hmi-01" && d == 3 {
				cur.Asset.Address, cur.Asset.Zone = "10.30.0.11", "cell-3" // moved
			}
			sc := cloneScan(cur)
			sc.SweepID = sw.ID
			sc.Started = h.day(d).Add(time.Duration(i) * time.Minute)
			sc.Finished = sc.Started.Add(3 * time.Second)
			if name == "hist-03" && (d == 2 || d == 3) {
				sc = failedScan(sw.ID, name, sc.Asset.Zone, sc.Started)
				sc.Asset = cur.Asset
			}
			saved = append(saved, sc)
			if name == "hmi-02" && d == 4 { // scanned again within the sweep, changed
				again := cloneScan(sc)
				again.Started = sc.Started.Add(30 * time.Minute)
				again.Checks[0].Status, again.Checks[0].Actual = checks.Error, "probe W01 timed out"
				saved = append(saved, again)
			}
		}
		for _, sc := range saved {
			if _, err := s.SaveScan(ctx, sc); err != nil {
				t.Fatalf("day %d: %s: %v", d, sc.Asset.Name, err)
			}
		}
		if err := s.FinishSweep(ctx, sw.ID, SweepComplete); err != nil {
			t.Fatal(err)
		}
		if d == 2 {
			if err := s.MarkAssetsRemoved(ctx, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "hmi-03" })); err != nil {
				t.Fatal(err)
			}
		}
		sw, err = s.Sweep(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		h.sweeps, h.saved = append(h.sweeps, sw), append(h.saved, saved)
	}
	return h
}

// churn changes a few results of sc as a day in a plant does, and now and
// then takes a check out or puts one back.
func churn(rng *rand.Rand, sc *Scan, day int, dropped map[string]checks.Result) {
	for i := range sc.Checks {
		if rng.IntN(4) == 0 {
			c := &sc.Checks[i]
			if c.Status == checks.Pass {
				c.Status, c.Actual = checks.Fail, fmt.Sprintf("%s (changed on day %d)", c.Expected, day)
			} else {
				c.Status, c.Actual = checks.Pass, c.Expected
			}
			c.Evidence = append(slices.Clip(c.Evidence), "day "+strconv.Itoa(day))
		}
	}
	for i := range sc.Requirements {
		if rng.IntN(4) == 0 {
			r := &sc.Requirements[i]
			if r.State == mapping.Met {
				r.State, r.Reason = mapping.NotMet, fmt.Sprintf("check failed on day %d", day)
			} else {
				r.State, r.Reason = mapping.Met, ""
			}
		}
	}
	for k := range sc.Facts {
		if rng.IntN(3) == 0 {
			sc.Facts[k] = strconv.Quote(fmt.Sprintf("%s changed on day %d", k, day))
		}
	}
	sc.Achieved[rng.IntN(mapping.FRCount)] = rng.IntN(3)
	if c, ok := dropped[sc.Asset.Name]; ok && rng.IntN(2) == 0 {
		sc.Checks = append(sc.Checks, c)
		delete(dropped, sc.Asset.Name)
	} else if !ok && rng.IntN(3) == 0 {
		i := rng.IntN(len(sc.Checks))
		dropped[sc.Asset.Name] = sc.Checks[i]
		sc.Checks = slices.Delete(sc.Checks, i, i+1)
	}
}

// readBack is what the store returns for a saved scan: a failed scan has no
// results.
func readBack(sc *Scan) Scan {
	w := *sc
	if w.Status != probes.StatusOK {
		w.Checks, w.Requirements, w.Facts = nil, nil, nil
	}
	return w
}

// TestReadsMatchSaved: every scan of a churning history, old or new, reads
// back as it was saved, alone (Scan) and with its sweep (ScansOfSweep).
func TestReadsMatchSaved(t *testing.T) {
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	ctx := testCtx(t)
	h := newChurnHistory(t, s, clk)
	for i, sw := range h.sweeps {
		t.Run(fmt.Sprintf("sweep %d", sw.ID), func(t *testing.T) {
			got, err := s.ScansOfSweep(ctx, sw.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(h.saved[i]) {
				t.Fatalf("%d scans, want %d", len(got), len(h.saved[i]))
			}
			for j, want := range h.saved[i] {
				assertScanEqual(t, got[j], readBack(want))
				one, err := s.Scan(ctx, want.ID)
				if err != nil {
					t.Fatal(err)
				}
				assertScanEqual(t, *one, readBack(want))
			}
		})
	}
}

// TestSweepHistories compares the one-query histories with what
// AssetHistory returns for each asset of the sweep, less the scans of later
// sweeps.
func TestSweepHistories(t *testing.T) {
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	ctx := testCtx(t)
	h := newChurnHistory(t, s, clk)

	tests := []struct {
		name  string
		sweep int // index into h.sweeps
		since time.Time
	}{
		{"latest sweep, whole history", churnDays - 1, time.Time{}},
		{"latest sweep, last three days", churnDays - 1, h.day(churnDays - 3)},
		{"sweep with a removed asset's last scan, later sweeps exist", 2, time.Time{}},
		{"sweep with a failed scan and a moved asset", 3, h.day(1)},
		{"sweep with an asset scanned twice", 4, h.day(3)},
		{"window cutting through a sweep", 4, h.day(3).Add(150 * time.Second)},
		{"first sweep", 0, time.Time{}},
		{"window after the sweep", 1, h.day(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw := h.sweeps[tt.sweep]
			got, err := s.SweepHistories(ctx, sw.ID, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]Scan{}
			for _, sc := range h.saved[tt.sweep] {
				all, err := s.AssetHistory(ctx, sc.Asset.Name, tt.since)
				if err != nil {
					t.Fatal(err)
				}
				var keep []Scan
				for _, a := range all {
					if a.SweepID <= sw.ID {
						keep = append(keep, a)
					}
				}
				if keep != nil {
					want[sc.Asset.Name] = keep
				}
			}
			if !reflect.DeepEqual(got, want) {
				for name := range want {
					if !reflect.DeepEqual(got[name], want[name]) {
						t.Errorf("%s: %d scans %v, want %d %v", name, len(got[name]), scanIDs(got[name]), len(want[name]), scanIDs(want[name]))
					}
				}
				for name := range got {
					if _, ok := want[name]; !ok {
						t.Errorf("%s: %d scans, not in the sweep", name, len(got[name]))
					}
				}
				t.FailNow()
			}
			for name, scans := range got {
				if len(scans) == 0 {
					t.Errorf("%s: empty history listed", name)
				}
				if scans[len(scans)-1].SweepID > sw.ID {
					t.Errorf("%s: scan of later sweep %d", name, scans[len(scans)-1].SweepID)
				}
			}
		})
	}
	t.Run("sweep not found", func(t *testing.T) {
		if _, err := s.SweepHistories(ctx, 9999, time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("SweepHistories(9999) = %v, want ErrNotFound", err)
		}
	})
	t.Run("the cases cover what they name", func(t *testing.T) {
		// The history must hold what the cases rely on, or they would pass
		// without testing it.
		hist, err := s.AssetHistory(ctx, "hist-03", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if hist[2].Status != probes.StatusUnreachable {
			t.Errorf("hist-03 day 2: %s, want a failed scan", hist[2].Status)
		}
		removed, err := s.Assets(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(removed, func(a AssetRecord) bool { return a.Name == "hmi-03" }); i < 0 || removed[i].Removed.IsZero() {
			t.Errorf("hmi-03 not marked removed")
		}
		if n := len(h.saved[4]) - len(h.saved[3]); n != 1 {
			t.Errorf("sweep 5 has %d more scans than sweep 4, want 1 (a second scan of hmi-02)", n)
		}
	})
}

func scanIDs(scans []Scan) []int64 {
	ids := make([]int64, len(scans))
	for i, sc := range scans {
		ids[i] = sc.ID
	}
	return ids
}

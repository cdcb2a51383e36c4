package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

// churnStore writes daily sweeps of a small fleet whose SL-A drifts, with
// what the drift view must get right: failed scans, an asset removed from
// the inventory (and one left out of later sweeps), an asset scanned twice
// in one sweep, a scan started before its sweep's window, and sweeps after
// the one reported. It returns the store and the sweeps, oldest first.
func churnStore(t *testing.T) (*store.Store, []store.Sweep) {
	t.Helper()
	clk := &clock{}
	st := openStore(t, clk)
	ctx := t.Context()
	cat := mapping.DefaultCatalog()
	rng := rand.New(rand.NewPCG(3, 62443))
	names := []string{"ews-01", "hist-01", "hmi-01", "hmi-02", "plc-01", "plc-02", "sw-01"}
	achieved := map[string]mapping.Vector{}
	start := time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC)
	var sweeps []store.Sweep
	for d := range 8 {
		at := start.AddDate(0, 0, d)
		clk.Set(at)
		sw, err := st.BeginSweep(ctx, "daily", "schedule")
		if err != nil {
			t.Fatal(err)
		}
		for h, name := range names {
			switch {
			case name == "plc-02" && d >= 3: // removed from the inventory after day 2
				continue
			case name == "sw-01" && d%2 == 1: // only in every other sweep
				continue
			}
			v := achieved[name]
			v[rng.IntN(mapping.FRCount)] = rng.IntN(3)
			achieved[name] = v
			sc := &store.Scan{SweepID: sw.ID, Asset: store.Asset{Name: name, Address: fmt.Sprintf("10.20.1.%d", h+10), Role: "hmi",
				Zone: fmt.Sprintf("cell-%d", h%3), Platform: "windows", Transport: "winrm"}, Status: probes.StatusOK,
				Started: at.Add(time.Duration(h) * time.Minute), Target: mapping.Vector{2, 2, 2, 1, 2, 1, 2},
				Achieved: v, Potential: mapping.Vector{2, 2, 2, 1, 2, 1, 2},
				Checks: []checks.Result{{ID: "win.check.001", Title: "Setting 1", Status: checks.Fail, Expected: "1", Actual: fmt.Sprint(d)}},
				Requirements: []mapping.RequirementResult{{ID: cat.Items[0].ID, FR: cat.Items[0].FR, State: mapping.NotMet,
					Checks: []string{"win.check.001"}}}}
			if name == "ews-01" && d == 5 {
				sc.Started = at.AddDate(0, 0, -4) // a clock gone wrong on the scanner
			}
			if rng.IntN(5) == 0 || (name == "hist-01" && d == 4) {
				sc.Status, sc.Error = probes.StatusUnreachable, "dial tcp: connect: no route to host"
				sc.Checks, sc.Requirements, sc.Achieved, sc.Potential = nil, nil, mapping.Vector{}, mapping.Vector{}
			}
			sc.Finished = sc.Started.Add(2 * time.Second)
			if _, err := st.SaveScan(ctx, sc); err != nil {
				t.Fatal(err)
			}
			if name == "hmi-02" && d == 4 { // retried within the sweep
				again := *sc
				again.Started = sc.Started.Add(20 * time.Minute)
				again.Status, again.Error, again.Achieved = probes.StatusOK, "", achieved[name]
				again.Achieved[0] = 3
				if _, err := st.SaveScan(ctx, &again); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := st.FinishSweep(ctx, sw.ID, store.SweepComplete); err != nil {
			t.Fatal(err)
		}
		if d == 2 {
			if err := st.MarkAssetsRemoved(ctx, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "plc-02" })); err != nil {
				t.Fatal(err)
			}
		}
		sweeps = append(sweeps, sw)
	}
	return st, sweeps
}

// TestDriftFromSweepHistories: the drift view Build assembles from one
// store.SweepHistories query equals, byte for byte, the one assembled as
// Build did before: from a store.AssetHistory call per asset, less the
// scans of later sweeps.
func TestDriftFromSweepHistories(t *testing.T) {
	st, sweeps := churnStore(t)
	defs := definitions(t)
	ctx := t.Context()
	tests := []struct {
		name  string
		sweep int // index into sweeps
		days  int
	}{
		{"latest sweep, default window", len(sweeps) - 1, 0},
		{"latest sweep, three days", len(sweeps) - 1, 3},
		{"sweep with a retried asset, later sweeps exist", 4, 2},
		{"sweep with the removed asset, later sweeps exist", 2, 30},
		{"first sweep", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{SweepID: sweeps[tt.sweep].ID, Now: fixedNow, HistoryDays: tt.days}
			r, err := Build(ctx, st, defs, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := drift(r.Drift.Since, r.Assets, perAssetHistories(ctx, t, st, r))
			if !driftEqual(t, r.Drift, want) {
				return
			}
			points := 0
			for _, a := range r.Drift.Assets {
				points += len(a.Points)
			}
			if points < len(r.Assets) {
				t.Errorf("%d drift points for %d assets: the case tests nothing", points, len(r.Assets))
			}
		})
	}
}

// perAssetHistories reads the history of each asset of r as Build did
// before store.SweepHistories: AssetHistory since the window's start, less
// the scans of sweeps after the reported one.
func perAssetHistories(ctx context.Context, t *testing.T, st *store.Store, r *Report) [][]store.Scan {
	t.Helper()
	out := make([][]store.Scan, len(r.Assets))
	for i, a := range r.Assets {
		h, err := st.AssetHistory(ctx, a.Name, r.Drift.Since)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range h {
			if sc.SweepID <= r.Sweep.ID {
				out[i] = append(out[i], sc)
			}
		}
	}
	return out
}

func driftEqual(t *testing.T, got, want Drift) bool {
	t.Helper()
	g, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("drift from SweepHistories differs from per-asset AssetHistory\n got: %s\nwant: %s", g, w)
		return false
	}
	return true
}

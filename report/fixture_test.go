package report

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// fixture is testdata/fleet.json: check results per asset and sweep, as the
// runner produces them, and the controls, blueprint targets, zone targets and
// countermeasures to assess them with. The test assesses them with the real
// engine (mapping.Assess) over the real catalog, so the stored requirement
// states are what a scan would store; the controls and targets are part of
// the fixture so that edits to the shipped definitions do not change it.
type fixture struct {
	Controls   []mapping.Control `json:"controls"`
	Blueprints map[string]struct {
		Target        mapping.Vector    `json:"target"`
		NotApplicable map[string]string `json:"not_applicable"`
		Notes         map[string]string `json:"notes"`
	} `json:"blueprints"`
	Zones           map[string]mapping.Vector `json:"zones"`
	Countermeasures []mapping.Countermeasure  `json:"countermeasures"`
	Sweeps          []struct {
		Name    string        `json:"name"`
		Trigger string        `json:"trigger"`
		Started time.Time     `json:"started"`
		Status  string        `json:"status"`
		Scans   []fixtureScan `json:"scans"`
	} `json:"sweeps"`
}

type fixtureScan struct {
	Asset    store.Asset       `json:"asset"`
	Status   probes.ScanStatus `json:"status"`
	Error    string            `json:"error"`
	Elevated bool              `json:"elevated"`
	Checks   []checks.Result   `json:"checks"`
}

// fixedNow is the clock of the golden reports: the day after the second sweep.
var fixedNow = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// testDefinitions loads the shipped definitions once per test binary; they
// are immutable.
var testDefinitions = sync.OnceValues(func() (*scheduler.Definitions, error) {
	return scheduler.LoadDefinitions("", scheduler.BundleFacts())
})

func definitions(t testing.TB) *scheduler.Definitions {
	t.Helper()
	defs, err := testDefinitions()
	if err != nil {
		t.Fatalf("load definitions: %v", err)
	}
	return defs
}

// clock is a settable store clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// openStore opens a fresh file-backed store in a temporary directory.
func openStore(t testing.TB, clk *clock) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "otsweep.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// populate stores the sweeps of testdata/fleet.json and returns the store
// and the fixture's countermeasures.
func populate(t testing.TB) (*store.Store, []mapping.Countermeasure) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fleet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatalf("testdata/fleet.json: %v", err)
	}
	clk := &clock{}
	st := openStore(t, clk)
	ctx := t.Context()
	cat := mapping.DefaultCatalog()
	for _, sw := range fx.Sweeps {
		clk.Set(sw.Started)
		rec, err := st.BeginSweep(ctx, sw.Name, sw.Trigger)
		if err != nil {
			t.Fatal(err)
		}
		at := sw.Started
		for _, fs := range sw.Scans {
			bp, ok := fx.Blueprints[fs.Asset.Role]
			if !ok {
				t.Fatalf("fixture: no blueprint for role %q", fs.Asset.Role)
			}
			sc := &store.Scan{SweepID: rec.ID, Asset: fs.Asset, Status: fs.Status, Error: fs.Error,
				Started: at, Finished: at.Add(3 * time.Second), Elevated: fs.Elevated, Target: bp.Target,
				Cost: probes.Cost{CPU: 38 * time.Millisecond, Processes: 4}}
			var zone *mapping.Vector
			if z, ok := fx.Zones[fs.Asset.Zone]; ok {
				zone = &z
				sc.Target = mapping.Max(sc.Target, z)
			}
			if fs.Status == probes.StatusOK {
				outcomes := map[string]mapping.Outcome{}
				for _, c := range fs.Checks {
					outcomes[c.ID] = mapping.Outcome{Status: mapping.CheckStatus(c.Status), Reason: c.Message}
				}
				as := mapping.Assess(mapping.Input{Catalog: cat, Controls: fx.Controls,
					Blueprint:  &mapping.Blueprint{Name: fs.Asset.Role, Target: bp.Target, NotApplicable: bp.NotApplicable, Notes: bp.Notes},
					ZoneTarget: zone, Asset: fs.Asset.Name, Role: fs.Asset.Role, Zone: fs.Asset.Zone,
					Outcomes: outcomes, Countermeasures: fx.Countermeasures, Now: at})
				sc.Target, sc.Achieved, sc.Potential = as.Target, as.Achieved, as.Potential
				sc.Checks, sc.Requirements = fs.Checks, as.Requirements
				sc.Facts = map[string]string{"os.pretty_name": `"` + fs.Asset.Platform + `"`}
			}
			clk.Set(sc.Finished)
			if _, err := st.SaveScan(ctx, sc); err != nil {
				t.Fatalf("save %s: %v", fs.Asset.Name, err)
			}
			at = at.Add(7 * time.Second)
		}
		if err := st.FinishSweep(ctx, rec.ID, sw.Status); err != nil {
			t.Fatal(err)
		}
	}
	return st, fx.Countermeasures
}

// buildFixture builds the report of the latest fixture sweep at fixedNow.
func buildFixture(t testing.TB) (*store.Store, *Report, []mapping.Countermeasure) {
	t.Helper()
	st, cms := populate(t)
	r, err := Build(context.Background(), st, definitions(t), Options{Now: fixedNow, Countermeasures: cms})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return st, r, cms
}

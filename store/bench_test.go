package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/cputime"
	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// fleet generates daily scans of a synthetic fleet shaped like real ones:
// ~120 checks, ~100 requirements and ~20 tracked facts per host, of which a
// fraction churn changes from one sweep to the next.
type fleet struct {
	hosts []*Scan
	rng   *rand.Rand
	churn float64
	day   int
}

const (
	benchHosts        = 1000
	benchChecks       = 120
	benchRequirements = 100
	benchFacts        = 20
	benchChurn        = 0.01
)

func newFleet(hosts int, churn float64) *fleet {
	f := &fleet{rng: rand.New(rand.NewPCG(1, 2)), churn: churn}
	statuses := []checks.Status{checks.Pass, checks.Pass, checks.Pass, checks.Fail, checks.NotApplicable, checks.Error}
	states := []mapping.State{mapping.Met, mapping.Met, mapping.NotMet, mapping.NotAssessable, mapping.Unknown, mapping.NotApplicable}
	software := `[{"name":"AVEVA InTouch HMI","version":"20.1.100"},{"name":"Microsoft Visual C++ 2015-2019 Redistributable (x64)","version":"14.29.30133"},{"name":"Siemens TIA Portal V17","version":"17.0.0.0"},{"name":"7-Zip 19.00 (x64)","version":"19.00"}]`
	for h := range hosts {
		sc := &Scan{Asset: Asset{Name: fmt.Sprintf("host-%04d", h), Address: fmt.Sprintf("10.20.%d.%d", h/250, h%250+1),
			Role: "hmi", Zone: fmt.Sprintf("cell-%d", h%8), Platform: "windows", Transport: "winrm"},
			Status: probes.StatusOK, Elevated: true, Cost: probes.Cost{CPU: 1800 * time.Millisecond, Processes: 4},
			Target: mapping.Vector{2, 2, 2, 1, 2, 1, 2}, Achieved: mapping.Vector{1, 1, 1, 1, 0, 1, 1}, Potential: mapping.Vector{2, 2, 2, 1, 2, 1, 2},
			Facts: map[string]string{}}
		for c := range benchChecks {
			// Most settings are fleet-wide (the same image), a few per host.
			val := strconv.Itoa(c % 7)
			if c%10 == 0 {
				val = strconv.Itoa(h)
			}
			sc.Checks = append(sc.Checks, checks.Result{ID: fmt.Sprintf("win.check.%03d", c), Title: fmt.Sprintf("Windows hardening setting %d", c),
				Status: statuses[c%len(statuses)], Probe: fmt.Sprintf("W%02d", c%20), Expected: fmt.Sprintf("Setting%03d >= 4", c),
				Actual: "Setting" + strconv.Itoa(c) + " = " + val, Evidence: []string{"[System Access]", fmt.Sprintf("Setting%03d = %s", c, val)}})
		}
		for r := range benchRequirements {
			sc.Requirements = append(sc.Requirements, mapping.RequirementResult{ID: fmt.Sprintf("SR %d.%d", r/15+1, r%15+1),
				FR: mapping.FRID(r / 15), State: states[r%len(states)], Controls: []string{fmt.Sprintf("control-%d", r)},
				Checks: []string{fmt.Sprintf("win.check.%03d", r), fmt.Sprintf("win.check.%03d", (r+7)%benchChecks)}})
		}
		for k := range benchFacts {
			v := strconv.Quote(fmt.Sprintf("value-%d", k))
			switch k {
			case 0:
				v = software
			case 1:
				v = fmt.Sprintf(`[135,139,445,%d]`, 5985+h%2)
			case 2:
				v = strconv.Quote(fmt.Sprintf("SHA256:%x", h*7919))
			}
			sc.Facts[fmt.Sprintf("fact.%02d", k)] = v
		}
		f.hosts = append(f.hosts, sc)
	}
	return f
}

// sweep returns the next day's scans, with churn applied to each host.
func (f *fleet) sweep(sweepID int64) []*Scan {
	f.day++
	start := t0.Add(time.Duration(f.day) * 24 * time.Hour)
	for i, sc := range f.hosts {
		sc.ID, sc.SweepID = 0, sweepID
		sc.Started, sc.Finished = start.Add(time.Duration(i)*time.Second), start.Add(time.Duration(i)*time.Second+2*time.Second)
		for c := range sc.Checks {
			if f.rng.Float64() < f.churn {
				sc.Checks[c].Actual = fmt.Sprintf("Setting%03d = %d (day %d)", c, f.rng.IntN(100), f.day)
				sc.Checks[c].Evidence = []string{"[System Access]", sc.Checks[c].Actual}
			}
		}
		for r := range sc.Requirements {
			if f.rng.Float64() < f.churn {
				if sc.Requirements[r].State == mapping.Met {
					sc.Requirements[r].State, sc.Requirements[r].Reason = mapping.NotMet, fmt.Sprintf("check failed on day %d", f.day)
				} else {
					sc.Requirements[r].State, sc.Requirements[r].Reason = mapping.Met, ""
				}
			}
		}
		for k := range benchFacts {
			if f.rng.Float64() < f.churn {
				sc.Facts[fmt.Sprintf("fact.%02d", k)] = strconv.Quote(fmt.Sprintf("value-%d-day-%d", k, f.day))
			}
		}
	}
	return f.hosts
}

func saveSweep(ctx context.Context, s *Store, f *fleet) error {
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		return err
	}
	for _, sc := range f.sweep(sw.ID) {
		if _, err := s.SaveScan(ctx, sc); err != nil {
			return err
		}
	}
	return s.FinishSweep(ctx, sw.ID, SweepComplete)
}

// dbSize checkpoints the WAL into the database and returns the file's size.
func dbSize(ctx context.Context, b *testing.B, s *Store) int64 {
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkSaveSweep saves daily sweeps of 1,000 hosts with 1 % churn; one op
// is one sweep. It reports the database growth per sweep after the first.
func BenchmarkSaveSweep(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	f := newFleet(benchHosts, benchChurn)
	if err := saveSweep(ctx, s, f); err != nil { // the first sweep stores everything
		b.Fatal(err)
	}
	first := dbSize(ctx, b, s)
	cpu, measured := cputime.Process()
	for b.Loop() {
		if err := saveSweep(ctx, s, f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if end, _ := cputime.Process(); measured {
		b.ReportMetric(float64(end-cpu)/float64(b.N*benchHosts), "cpu-ns/scan")
	}
	grown := dbSize(ctx, b, s) - first
	b.ReportMetric(float64(first), "first-sweep-bytes")
	b.ReportMetric(float64(grown)/float64(b.N), "bytes/sweep")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchHosts), "ns/scan")
}

// BenchmarkScansOfSweep reads back a whole sweep of 1,000 hosts after a month
// of daily history.
func BenchmarkScansOfSweep(b *testing.B) {
	ctx := b.Context()
	s := openTest(b)
	f := newFleet(benchHosts, benchChurn)
	for range 10 {
		if err := saveSweep(ctx, s, f); err != nil {
			b.Fatal(err)
		}
	}
	sw, err := s.LatestSweep(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		scans, err := s.ScansOfSweep(ctx, sw.ID)
		if err != nil || len(scans) != benchHosts {
			b.Fatal(len(scans), err)
		}
	}
}

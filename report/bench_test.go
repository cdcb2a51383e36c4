package report

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/cputime"
	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

const (
	benchHosts  = 1000
	benchDays   = 30
	benchChecks = 60 // a Linux or Windows host runs 50-80 checks
	benchChurn  = 0.01
)

// benchFleet saves days daily sweeps of hosts synthetic hosts: every catalog
// requirement per host (as the engine records them), benchChecks checks with
// evidence, a few tracked facts, 1 % churn per sweep and about 2 % of the
// hosts unreachable in each sweep. It returns the store and the time of the
// last sweep.
func benchFleet(b *testing.B, hosts, days int) (*store.Store, time.Time) {
	b.Helper()
	clk := &clock{}
	st := openStore(b, clk)
	ctx := b.Context()
	cat := mapping.DefaultCatalog()
	rng := rand.New(rand.NewPCG(7, 11))
	states := []mapping.State{mapping.Met, mapping.Met, mapping.NotMet, mapping.NotAssessable, mapping.NotAssessable, mapping.Unknown, mapping.NotApplicable}
	statuses := []checks.Status{checks.Pass, checks.Pass, checks.Pass, checks.Fail, checks.NotApplicable, checks.Error}
	roles := []string{"hmi", "historian", "engineering-workstation", "plc", "network-switch"}
	type host struct {
		asset store.Asset
		reqs  []mapping.RequirementResult
		chks  []checks.Result
	}
	fleet := make([]host, hosts)
	for h := range fleet {
		fleet[h].asset = store.Asset{Name: fmt.Sprintf("host-%04d", h), Address: fmt.Sprintf("10.20.%d.%d", h/250, h%250+1),
			Role: roles[h%len(roles)], Zone: fmt.Sprintf("cell-%d", h%8), Platform: "windows", Transport: "winrm"}
		for c := range benchChecks {
			val := strconv.Itoa(c % 7)
			fleet[h].chks = append(fleet[h].chks, checks.Result{ID: fmt.Sprintf("win.check.%03d", c), Title: fmt.Sprintf("Windows hardening setting %d", c),
				Status: statuses[(c+h)%len(statuses)], Probe: fmt.Sprintf("W%02d", c%20), Expected: fmt.Sprintf("Setting%03d >= 4", c),
				Actual: "Setting" + strconv.Itoa(c) + " = " + val, Message: "value " + val,
				Evidence: []string{"[System Access]", fmt.Sprintf("Setting%03d = %s", c, val)}})
		}
		for i, req := range cat.Items {
			st := states[(i+h)%len(states)]
			rr := mapping.RequirementResult{ID: req.ID, FR: req.FR, State: st}
			if st != mapping.NotAssessable {
				rr.Controls = []string{fmt.Sprintf("control-%d", i)}
				rr.Checks = []string{fmt.Sprintf("win.check.%03d", i%benchChecks)}
			}
			if st == mapping.NotMet || st == mapping.Unknown {
				rr.Reason = fmt.Sprintf("win.check.%03d: value %d", i%benchChecks, i%7)
			}
			fleet[h].reqs = append(fleet[h].reqs, rr)
		}
	}
	start := time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC)
	var last time.Time
	for d := range days {
		at := start.AddDate(0, 0, d)
		last = at
		clk.Set(at)
		sw, err := st.BeginSweep(ctx, "daily", "schedule")
		if err != nil {
			b.Fatal(err)
		}
		for h := range fleet {
			f := &fleet[h]
			for i := range f.reqs {
				if rng.Float64() < benchChurn {
					if f.reqs[i].State == mapping.Met {
						f.reqs[i].State, f.reqs[i].Reason = mapping.NotMet, fmt.Sprintf("changed on day %d", d)
					} else {
						f.reqs[i].State, f.reqs[i].Reason = mapping.Met, ""
					}
				}
			}
			for i := range f.chks {
				if rng.Float64() < benchChurn {
					f.chks[i].Actual = fmt.Sprintf("Setting%03d = %d (day %d)", i, rng.IntN(100), d)
				}
			}
			sc := &store.Scan{SweepID: sw.ID, Asset: f.asset, Status: probes.StatusOK, Started: at.Add(time.Duration(h) * time.Second),
				Finished: at.Add(time.Duration(h)*time.Second + 2*time.Second), Elevated: true,
				Target: mapping.Vector{2, 2, 2, 1, 2, 1, 2}}
			if rng.Float64() < 0.02 {
				sc.Status, sc.Error = probes.StatusUnreachable, "dial tcp: connect: no route to host: unreachable"
			} else {
				sc.Requirements, sc.Checks = f.reqs, f.chks
				sc.Achieved = mapping.Vector{1, 0, 1, 1, 0, 1, rng.IntN(2)}
				sc.Potential = mapping.Vector{2, 2, 2, 1, 2, 1, 2}
				sc.Facts = map[string]string{"os.build": `"19045.4529"`, "net.tcp_listen": `[135,445,5985]`}
			}
			clk.Set(sc.Finished)
			if _, err := st.SaveScan(ctx, sc); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.FinishSweep(ctx, sw.ID, store.SweepComplete); err != nil {
			b.Fatal(err)
		}
	}
	return st, last
}

// BenchmarkBuild30Days builds the report of the latest of 30 daily sweeps of
// 1,000 hosts, with the 30-day drift view, from the database reopened as
// `otsweep report` opens it. The store-ScansOfSweep sub-benchmark is the
// floor: the one store call that reads the sweep's checks and requirements.
func BenchmarkBuild30Days(b *testing.B) {
	st, last := benchFleet(b, benchHosts, benchDays)
	path := st.Path()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	defs := definitions(b)
	opts := Options{Now: last.Add(8 * time.Hour), HistoryDays: 30}
	b.Run("Build", func(b *testing.B) {
		for b.Loop() {
			r, err := Build(b.Context(), st, defs, opts)
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Assets) != benchHosts || len(r.Drift.Fleet) != benchDays {
				b.Fatalf("%d assets, %d drift points", len(r.Assets), len(r.Drift.Fleet))
			}
		}
	})
	b.Run("store-ScansOfSweep", func(b *testing.B) {
		sw, err := st.LatestSweep(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.ScansOfSweep(b.Context(), sw.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// yearDBEnv names a database written by the storage benchmark
// (OTSWEEP_BENCH_KEEP_DB of bench): a year of daily sweeps of 1,000 hosts.
// BenchmarkBuildYear skips without it.
const yearDBEnv = "OTSWEEP_BENCH_YEAR_DB"

// openYear opens a copy of the database named by yearDBEnv (opening
// migrates it, and the file named stays as it was), or skips.
func openYear(b *testing.B) *store.Store {
	b.Helper()
	src := os.Getenv(yearDBEnv)
	if src == "" {
		b.Skipf("%s names no database (bench's OTSWEEP_BENCH_KEEP_DB writes one)", yearDBEnv)
	}
	dst := filepath.Join(b.TempDir(), "year.db")
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(b.Context(), dst)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

// BenchmarkBuildYear builds the dashboard's 30-day view of the latest sweep
// of a year of history, as the storage benchmark measures it, with the two
// store reads it is made of as sub-benchmarks.
func BenchmarkBuildYear(b *testing.B) {
	st := openYear(b)
	defs := definitions(b)
	sw, err := st.LatestSweep(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{SweepID: sw.ID, Now: sw.Started.Add(6 * time.Hour), HistoryDays: 30}
	b.Run("Build", func(b *testing.B) {
		cpu := cpuPerOp(b)
		for b.Loop() {
			r, err := Build(b.Context(), st, defs, opts)
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Assets) != sw.Hosts {
				b.Fatalf("%d assets, want %d", len(r.Assets), sw.Hosts)
			}
		}
		cpu()
	})
	b.Run("store-ScansOfSweep", func(b *testing.B) {
		cpu := cpuPerOp(b)
		for b.Loop() {
			if _, err := st.ScansOfSweep(b.Context(), sw.ID); err != nil {
				b.Fatal(err)
			}
		}
		cpu()
	})
}

// cpuPerOp starts counting the CPU time of the process (all threads, GC
// and SQLite included); the function it returns reports it per op as
// "cpu-ns/op", which holds on a loaded machine where ns/op does not.
func cpuPerOp(b *testing.B) func() {
	start, ok := cputime.Process()
	return func() {
		if end, _ := cputime.Process(); ok {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkRender renders the 1,000-host report in each format.
func BenchmarkRender(b *testing.B) {
	st, last := benchFleet(b, benchHosts, 2)
	r, err := Build(b.Context(), st, definitions(b), Options{Now: last.Add(8 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"html", r.WriteHTML}, {"json", r.WriteJSON}, {"csv", r.WriteCSV}} {
		b.Run(f.name, func(b *testing.B) {
			var n countWriter
			for b.Loop() {
				if err := f.write(&n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/op")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

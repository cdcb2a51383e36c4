package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/report"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// StorageSpec is the year-of-sweeps benchmark.
type StorageSpec struct {
	Hosts int     // per sweep
	Days  int     // daily sweeps
	Churn float64 // probability that one check result, requirement state or tracked fact changes per sweep
	// DriftWorkers record drift concurrently, as the daemon's runner
	// workers do after each save.
	DriftWorkers int
	Seed         uint64
}

// StorageResult is what a year of sweeps cost the store.
type StorageResult struct {
	Hosts, Days   int
	Templates     int     // real scans the fleet was cloned from
	Checks        float64 // check results per host (mean)
	Requirements  float64 // requirement states per host (mean)
	ChangedChecks float64 // fraction of check results changed per sweep, observed
	DBBytes       int64   // database file (WAL checkpointed) after the last sweep
	// Write is the time to save one sweep of Hosts scans (BeginSweep …
	// FinishSweep): the mean over all days, the slowest day, and the last.
	WriteMean, WriteMax, WriteLast time.Duration
	// Drift is the time to compute and record the drift of every scan of
	// one sweep, with DriftWorkers workers: mean and last day.
	DriftMean, DriftLast time.Duration
	DriftEvents          int // events recorded over the year
	// View30 is report.Build of the last sweep with its 30-day history
	// (the dashboard's view), best of three.
	View30 time.Duration
	Total  time.Duration
	Load   float64 // 1-minute load average at the end
}

// fakeClock is the store's clock during the simulated year.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// host is one simulated asset of the storage fleet and its current state.
type host struct {
	scan      store.Scan // the template's results, with this host's churn applied
	baseCheck []string   // the template's Actual per check
}

// RunStorage writes spec.Days daily sweeps of spec.Hosts hosts cloned from
// templates (real scans, see Templates) to a new database in dir, with
// churn, records drift after each sweep as the daemon does, and measures
// the store. progress, if set, is called after each day.
func RunStorage(ctx context.Context, dir string, spec StorageSpec, templates []store.Scan, defs *scheduler.Definitions, progress func(day int)) (*StorageResult, error) {
	if spec.Hosts < 1 || spec.Days < 2 || len(templates) == 0 || spec.DriftWorkers < 1 {
		return nil, errors.New("bench: storage needs hosts, at least two days, templates and drift workers")
	}
	began := time.Now()
	clk := &fakeClock{t: time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC)}
	path := filepath.Join(dir, "year.db")
	st, err := store.Open(ctx, path, store.WithClock(clk.Now))
	if err != nil {
		return nil, err
	}
	defer func() {
		if st != nil {
			_ = st.Close()
		}
	}()
	rng := rand.New(rand.NewPCG(spec.Seed, 7))
	fleet := make([]*host, spec.Hosts)
	res := &StorageResult{Hosts: spec.Hosts, Days: spec.Days, Templates: len(templates)}
	for i := range fleet {
		tp := templates[i%len(templates)]
		h := &host{scan: tp}
		h.scan.Asset = store.Asset{Name: fmt.Sprintf("host-%05d", i), Address: fmt.Sprintf("10.20.%d.%d", i/250, i%250+1),
			Role: tp.Asset.Role, Zone: fmt.Sprintf("cell-%d", i%8), Platform: tp.Asset.Platform, Transport: tp.Asset.Transport}
		h.scan.Checks = slices.Clone(tp.Checks)
		h.scan.Requirements = slices.Clone(tp.Requirements)
		h.scan.Facts = make(map[string]string, len(tp.Facts))
		for k, v := range tp.Facts {
			h.scan.Facts[k] = v
		}
		for _, c := range tp.Checks {
			h.baseCheck = append(h.baseCheck, c.Actual)
		}
		res.Checks += float64(len(tp.Checks)) / float64(spec.Hosts)
		res.Requirements += float64(len(tp.Requirements)) / float64(spec.Hosts)
		fleet[i] = h
	}
	drift := &scheduler.Drift{Store: st, Defs: defs}
	start := clk.Now()
	var (
		writeSum, driftSum time.Duration
		changed, total     int
		lastSweep          int64
	)
	for day := range spec.Days {
		at := start.AddDate(0, 0, day)
		clk.Set(at)
		if day > 0 {
			for _, h := range fleet {
				c, n := h.churn(rng, spec.Churn, day)
				changed, total = changed+c, total+n
			}
		}
		t0 := time.Now()
		sw, err := st.BeginSweep(ctx, "daily", "schedule")
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(fleet))
		for i, h := range fleet {
			sc := h.scan
			sc.SweepID = sw.ID
			sc.Started, sc.Finished = at.Add(time.Duration(i)*100*time.Millisecond), at.Add(time.Duration(i)*100*time.Millisecond+2*time.Second)
			if ids[i], err = st.SaveScan(ctx, &sc); err != nil {
				return nil, err
			}
		}
		if err := st.FinishSweep(ctx, sw.ID, store.SweepComplete); err != nil {
			return nil, err
		}
		w := time.Since(t0)
		writeSum += w
		res.WriteMax, res.WriteLast = max(res.WriteMax, w), w
		lastSweep = sw.ID

		t0 = time.Now()
		events, err := recordDrift(ctx, drift, ids, spec.DriftWorkers)
		if err != nil {
			return nil, err
		}
		d := time.Since(t0)
		driftSum += d
		res.DriftLast = d
		res.DriftEvents += events
		if progress != nil {
			progress(day + 1)
		}
	}
	res.WriteMean = writeSum / time.Duration(spec.Days)
	res.DriftMean = driftSum / time.Duration(spec.Days)
	if total > 0 {
		res.ChangedChecks = float64(changed) / float64(total)
	}
	stopProfile, err := profileCPU("storage-view")
	if err != nil {
		return nil, err
	}
	for range 3 {
		t0 := time.Now()
		rep, err := report.Build(ctx, st, defs, report.Options{SweepID: lastSweep, Now: clk.Now().Add(6 * time.Hour), HistoryDays: 30})
		if err != nil {
			_ = stopProfile()
			return nil, err
		}
		if len(rep.Assets) != spec.Hosts {
			return nil, fmt.Errorf("bench: the 30-day view has %d assets, want %d", len(rep.Assets), spec.Hosts)
		}
		if d := time.Since(t0); res.View30 == 0 || d < res.View30 {
			res.View30 = d
		}
	}
	if err := stopProfile(); err != nil {
		return nil, err
	}
	err = st.Close()
	st = nil
	if err != nil {
		return nil, err
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			res.DBBytes += fi.Size()
		}
	}
	if keep := os.Getenv(KeepDBEnv); keep != "" {
		if err := copyFile(path, keep); err != nil {
			return nil, fmt.Errorf("bench: keep the year database: %w", err)
		}
	}
	res.Total, res.Load = time.Since(began), LoadAverage()
	return res, nil
}

// KeepDBEnv names a file that receives a copy of the storage benchmark's
// database after its last sweep, for measuring reads of a year of history
// (store and report benchmarks) without writing the year again.
const KeepDBEnv = "OTSWEEP_BENCH_KEEP_DB"

// copyFile copies the closed database src to dst (mode 0600: it holds a
// simulated plant's weaknesses like a real one would).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// recordDrift records the drift of every scan in ids with workers
// goroutines and returns the number of events.
func recordDrift(ctx context.Context, d *scheduler.Drift, ids []int64, workers int) (int, error) {
	var (
		mu       sync.Mutex
		events   int
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int64)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				ev, _, err := d.Record(ctx, id)
				mu.Lock()
				events += len(ev)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return events, firstErr
}

// churn changes each check result, requirement state and tracked fact of h
// with probability p, as a day in a plant does: a setting changed, a
// package updated, a port opened. It returns how many check results
// changed, and of how many.
func (h *host) churn(rng *rand.Rand, p float64, day int) (changed, total int) {
	for i := range h.scan.Checks {
		if rng.Float64() >= p {
			continue
		}
		c := &h.scan.Checks[i]
		if c.Status == checks.Pass {
			c.Status = checks.Fail
			c.Actual = fmt.Sprintf("%s (changed on day %d)", h.baseCheck[i], day)
		} else {
			c.Status, c.Actual = checks.Pass, h.baseCheck[i]
		}
		changed++
	}
	for i := range h.scan.Requirements {
		if rng.Float64() >= p {
			continue
		}
		r := &h.scan.Requirements[i]
		if r.State == mapping.Met {
			r.State, r.Reason = mapping.NotMet, fmt.Sprintf("check failed on day %d", day)
		} else {
			r.State, r.Reason = mapping.Met, ""
		}
	}
	for _, k := range sortedFactNames(h.scan.Facts) {
		if rng.Float64() >= p {
			continue
		}
		v := h.scan.Facts[k]
		mark := strconv.Quote(fmt.Sprintf("changed-on-day-%d", day))
		switch {
		case v == "[]":
			h.scan.Facts[k] = "[" + mark + "]"
		case strings.HasPrefix(v, "["):
			h.scan.Facts[k] = "[" + mark + "," + v[1:]
		default:
			h.scan.Facts[k] = mark
		}
	}
	return changed, len(h.scan.Checks)
}

func sortedFactNames(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// captureRecorder is a scheduler.Recorder that keeps the scans the runner
// would store, exactly as it hands them to the store.
type captureRecorder struct {
	mu    sync.Mutex
	scans []store.Scan
}

func (c *captureRecorder) BeginSweep(context.Context, string, string) (store.Sweep, error) {
	return store.Sweep{ID: 1}, nil
}

func (c *captureRecorder) SaveScan(_ context.Context, s *store.Scan) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scans = append(c.scans, *s)
	return int64(len(c.scans)), nil
}

func (c *captureRecorder) FinishSweep(context.Context, int64, string) error { return nil }

var _ scheduler.Recorder = (*captureRecorder)(nil)

// statusOK reports whether every scan succeeded.
func statusOK(scans []store.Scan) error {
	for _, s := range scans {
		if s.Status != probes.StatusOK {
			return fmt.Errorf("bench: template scan of %s: %s: %s", s.Asset.Name, s.Status, s.Error)
		}
	}
	return nil
}

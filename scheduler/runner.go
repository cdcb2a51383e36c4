package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

// Recorder persists sweeps and scans; *store.Store implements it.
type Recorder interface {
	BeginSweep(ctx context.Context, name, trigger string) (store.Sweep, error)
	SaveScan(ctx context.Context, s *store.Scan) (int64, error)
	FinishSweep(ctx context.Context, id int64, status string) error
}

// Job is one asset to scan.
type Job struct {
	Asset      store.Asset
	Prober     probes.Prober
	Blueprint  *mapping.Blueprint
	ZoneTarget *mapping.Vector // nil when the zone sets no SL-T
	Timeout    time.Duration   // per-host deadline; 0 = the runner's default
}

// AssetResult is one asset's scan as the runner saw it.
type AssetResult struct {
	Asset    store.Asset
	ScanID   int64
	Status   probes.ScanStatus
	Error    string
	Started  time.Time
	Finished time.Time
	Elevated bool
	Complete bool
	Cost     probes.Cost
	Checks   []checks.Result
	// CheckCounts counts Checks by status; it stays whole when Runner.Summarize
	// trims Checks.
	CheckCounts map[checks.Status]int
	Assessment  mapping.Assessment
	Tracked     map[string]string // tracked facts (drift): name -> canonical JSON

	saved *store.Scan // what SaveScan stored, during AfterSave only
}

// SweepResult is the outcome of one run over many assets.
type SweepResult struct {
	ID       int64 // 0 when nothing was stored
	Name     string
	Status   string // complete | partial
	Started  time.Time
	Finished time.Time
	Assets   []AssetResult // in job order; assets never started are absent
}

// Sweep statuses.
const (
	SweepComplete = "complete"
	SweepPartial  = "partial"
)

// Runner runs jobs over a bounded worker pool. Its fields are configuration
// and must not change while Run executes; Run may be called concurrently.
type Runner struct {
	Defs            *Definitions
	Store           Recorder // nil: results are not persisted
	Concurrency     int      // workers; 0 = 8
	ZoneLimit       int      // concurrent scans per zone; 0 = no limit
	DefaultTimeout  time.Duration
	Countermeasures []mapping.Countermeasure
	Now             func() time.Time // nil = time.Now
	Logger          *slog.Logger
	// OnResult is called after each asset, from worker goroutines, serialized.
	OnResult func(AssetResult)
	// AfterSave is called after an asset's scan is stored (ScanID set), from
	// worker goroutines, concurrently; drift is computed here. An error is
	// logged and does not fail the sweep.
	AfterSave func(ctx context.Context, ar AssetResult) error
	// AfterSweep is called once the sweep is recorded as finished; alert
	// digests are sent here. An error is logged.
	AfterSweep func(ctx context.Context, res *SweepResult) error
	// BeforeStart, if set, is called by a worker just before it starts a
	// job, after the job's zone slot is taken, from worker goroutines,
	// concurrently. It may wait (a rate limit), honouring ctx. A non-nil
	// error holds the job back: it is neither scanned nor stored, and the
	// sweep is recorded as partial. The daemon uses it for rate limits,
	// blackout windows that begin mid-sweep, and graceful shutdown.
	BeforeStart func(ctx context.Context, job Job) error
	// Summarize, when set, trims each stored scan's result once AfterSave
	// and OnResult have seen it whole: Checks keeps only the failing and
	// erroring results, without evidence; the assessment keeps its vectors,
	// variance, coverage and expired countermeasures but not its requirement
	// results; tracked facts are dropped. The store holds all of it. A
	// result whose save failed is kept whole. A sweep of thousands of hosts
	// then holds a few hundred bytes per host until it ends instead of ~60 KB.
	Summarize bool
}

// summarize trims ar as Runner.Summarize describes.
func (ar *AssetResult) summarize() {
	var keep []checks.Result
	for _, c := range ar.Checks {
		if c.Status == checks.Fail || c.Status == checks.Error {
			c.Evidence, c.Actual, c.Expected = nil, "", ""
			keep = append(keep, c)
		}
	}
	ar.Checks = keep
	ar.Assessment.Requirements = nil
	ar.Tracked = nil
}

// start scans job unless BeforeStart holds it back (nil result).
func (r *Runner) start(ctx context.Context, job Job) *AssetResult {
	if r.BeforeStart != nil {
		if err := r.BeforeStart(ctx, job); err != nil {
			r.logger().Info("host not started", "host", job.Asset.Name, "err", err)
			return nil
		}
	}
	ar := r.scan(ctx, job)
	return &ar
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run scans every job and records the sweep. Each host gets its own deadline;
// when ctx ends, scans in flight are ended by their transports, jobs not yet
// started are skipped, and the sweep is recorded as partial. The error is
// non-nil only when the store failed.
func (r *Runner) Run(ctx context.Context, name, trigger string, jobs []Job) (*SweepResult, error) {
	res := &SweepResult{Name: name, Started: r.now()}
	if r.Store != nil {
		sw, err := r.Store.BeginSweep(ctx, name, trigger)
		if err != nil {
			return nil, fmt.Errorf("begin sweep: %w", err)
		}
		res.ID = sw.ID
	}
	if hb, ok := r.Store.(interface {
		Heartbeat(context.Context, int64) error
	}); ok && res.ID != 0 {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTicker(30 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if err := hb.Heartbeat(context.WithoutCancel(ctx), res.ID); err != nil {
						r.logger().Warn("sweep heartbeat failed", "err", err)
					}
				}
			}
		}()
	}
	workers := r.Concurrency
	if workers <= 0 {
		workers = 8
	}
	var (
		mu       sync.Mutex
		results  = make([]*AssetResult, len(jobs))
		storeErr error
		zones    = map[string]chan struct{}{}
		next     = make(chan int)
		wg       sync.WaitGroup
	)
	zoneSem := func(zone string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if r.ZoneLimit <= 0 {
			return nil
		}
		s, ok := zones[zone]
		if !ok {
			s = make(chan struct{}, r.ZoneLimit)
			zones[zone] = s
		}
		return s
	}
	for range min(workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				job := jobs[i]
				if sem := zoneSem(job.Asset.Zone); sem != nil {
					select {
					case sem <- struct{}{}:
					case <-ctx.Done():
						continue
					}
					results[i] = r.start(ctx, job)
					<-sem
				} else {
					results[i] = r.start(ctx, job)
				}
				ar := results[i]
				if ar == nil { // BeforeStart held it back
					continue
				}
				if r.Store != nil {
					sc := toStoreScan(res.ID, ar)
					id, err := r.Store.SaveScan(context.WithoutCancel(ctx), sc)
					mu.Lock()
					if err != nil && storeErr == nil {
						storeErr = fmt.Errorf("save scan of %s: %w", job.Asset.Name, err)
					}
					ar.ScanID = id
					mu.Unlock()
					if err == nil && r.AfterSave != nil {
						saved := *ar
						if sc.ID == id {
							saved.saved = sc
						}
						if err := r.AfterSave(context.WithoutCancel(ctx), saved); err != nil {
							r.logger().Error("after-save hook failed", "host", job.Asset.Name, "err", err)
						}
					}
				}
				if r.OnResult != nil {
					mu.Lock()
					r.OnResult(*ar)
					mu.Unlock()
				}
				if r.Summarize && ar.ScanID != 0 {
					ar.summarize()
				}
			}
		}()
	}
	partial := false
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			partial = true
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, ar := range results {
		if ar != nil {
			res.Assets = append(res.Assets, *ar)
		}
	}
	if len(res.Assets) < len(jobs) || ctx.Err() != nil {
		partial = true
	}
	res.Status = SweepComplete
	if partial {
		res.Status = SweepPartial
	}
	res.Finished = r.now()
	if r.Store != nil && res.ID != 0 {
		if err := r.Store.FinishSweep(context.WithoutCancel(ctx), res.ID, res.Status); err != nil && storeErr == nil {
			storeErr = fmt.Errorf("finish sweep: %w", err)
		}
	}
	if r.AfterSweep != nil && storeErr == nil {
		if err := r.AfterSweep(context.WithoutCancel(ctx), res); err != nil {
			r.logger().Error("after-sweep hook failed", "sweep", res.ID, "err", err)
		}
	}
	return res, storeErr
}

// scan probes one asset and evaluates everything over what came back.
func (r *Runner) scan(ctx context.Context, job Job) AssetResult {
	ar := AssetResult{Asset: job.Asset, Started: r.now()}
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = r.DefaultTimeout
	}
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	log := r.logger().With("host", job.Asset.Name, "transport", job.Asset.Transport)
	obs, err := safeProbe(hctx, job.Prober)
	if err != nil && errors.Is(hctx.Err(), context.DeadlineExceeded) && !errors.Is(err, probes.ErrTimeout) {
		err = fmt.Errorf("%s: deadline of %s reached: %w (%w)", job.Asset.Name, timeout, probes.ErrTimeout, err)
	}
	cancel()
	ar.Finished = r.now()
	ar.Status = probes.StatusOf(err)
	if err != nil {
		ar.Error = err.Error()
		log.Warn("scan failed", "status", ar.Status, "err", err, "duration", ar.Finished.Sub(ar.Started))
	} else {
		log.Info("scan done", "duration", ar.Finished.Sub(ar.Started))
	}
	platform := probes.Platform(job.Asset.Platform)
	facts := probes.Facts{}
	if obs != nil {
		facts = obs.Facts
		ar.Elevated, ar.Complete, ar.Cost = obs.Elevated, obs.Complete, obs.Cost
		ar.Tracked = TrackedFacts(obs, isTracked)
	}
	now := r.now()
	outcomes := map[string]mapping.Outcome{}
	var env *checks.Env
	if obs != nil {
		env = checks.NewEnv(facts, job.Blueprint.Params, now)
	}
	for _, c := range r.Defs.Checks.ForPlatform(platform) {
		var cr checks.Result
		if obs == nil {
			cr = checks.Result{ID: c.ID, Title: c.Title, Status: checks.Error, Expected: c.Expected,
				Message: fmt.Sprintf("host not scanned (%s): %s", ar.Status, ar.Error)}
		} else {
			cr = c.EvaluateIn(env)
		}
		ar.Checks = append(ar.Checks, cr)
		if ar.CheckCounts == nil {
			ar.CheckCounts = map[checks.Status]int{}
		}
		ar.CheckCounts[cr.Status]++
		outcomes[c.ID] = mapping.Outcome{Status: mapping.CheckStatus(cr.Status), Reason: cr.Message}
	}
	ar.Assessment = mapping.Assess(mapping.Input{
		Catalog: r.Defs.Catalog, Controls: r.Defs.Controls, Blueprint: job.Blueprint, ZoneTarget: job.ZoneTarget,
		Asset: job.Asset.Name, Role: job.Asset.Role, Zone: job.Asset.Zone,
		Outcomes: outcomes, Countermeasures: r.Countermeasures, Now: now,
	})
	return ar
}

// safeProbe turns a panic in a parser into a recorded error: one bad host
// must never take the sweep down.
func safeProbe(ctx context.Context, p probes.Prober) (obs *probes.Observation, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			obs, err = nil, fmt.Errorf("internal error while probing: %v", rec)
		}
	}()
	return p.Probe(ctx)
}

func toStoreScan(sweepID int64, ar *AssetResult) *store.Scan {
	s := &store.Scan{
		SweepID: sweepID, Asset: ar.Asset, Status: ar.Status, Error: ar.Error,
		Started: ar.Started, Finished: ar.Finished, Elevated: ar.Elevated, Cost: ar.Cost,
		Target: ar.Assessment.Target, Achieved: ar.Assessment.Achieved, Potential: ar.Assessment.Potential,
	}
	// Only a completed scan stands as evidence; a failed one records its
	// status and error (and SL-T) and leaves the asset's history untouched.
	if ar.Status == probes.StatusOK {
		s.Checks, s.Requirements, s.Facts = ar.Checks, ar.Assessment.Requirements, ar.Tracked
	} else {
		s.Achieved, s.Potential = mapping.Vector{}, mapping.Vector{}
	}
	return s
}

// TrackedFacts picks the facts whose changes are drift events (software,
// listening ports, administrators, services, firmware/OS build, host keys)
// and renders each as canonical JSON.
func TrackedFacts(obs *probes.Observation, tracked func(string) bool) map[string]string {
	if obs == nil {
		return nil
	}
	out := map[string]string{}
	for name, f := range obs.Facts {
		if f.Err != "" || !tracked(name) {
			continue
		}
		b, err := json.Marshal(f.Value)
		if err != nil {
			continue
		}
		out[name] = string(b)
	}
	return out
}

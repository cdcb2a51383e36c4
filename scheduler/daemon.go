package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/notify"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/store"
)

// Why a host was not started (Runner.BeforeStart).
var (
	// ErrDraining: the daemon is stopping and starts no new host.
	ErrDraining = errors.New("daemon is stopping")
	// ErrBlackout: a blackout window is active.
	ErrBlackout = errors.New("blackout window active")
)

// maxMissedRecords bounds the missed runs recorded for one gap in the
// schedule (a daemon down for a year with a per-minute sweep).
const maxMissedRecords = 1000

// DaemonOptions wires a Daemon. Only ConfigPath is required.
type DaemonOptions struct {
	ConfigPath string
	Clock      Clock // nil: SystemClock()
	Logger     *slog.Logger
	// LogLevel, if set, is set to the config's log_level at start and on
	// every successful reload.
	LogLevel *slog.LevelVar
	Getenv   func(string) string // secrets; nil: os.Getenv
	// ProberFor, if set, replaces the prober of every job; tests drive the
	// daemon with stand-in hosts through it.
	ProberFor func(Job) probes.Prober
	// MailSleep, if set, replaces the wait between mail attempts.
	MailSleep func(ctx context.Context, d time.Duration) error
	// StoreOptions are passed to store.Open.
	StoreOptions []store.Option
}

// Daemon runs the sweeps of a config file on their schedules: it never
// overlaps a sweep with itself, honours blackout windows, rate limits and
// per-zone caps, records missed runs, computes drift after every scan and
// mails one digest per sweep. It serves /healthz and /metrics. Reload
// swaps the config atomically (a bad one is rejected and the old one kept);
// Run's end drains it gracefully. Methods are safe for concurrent use.
type Daemon struct {
	opts  DaemonOptions
	clock Clock
	log   *slog.Logger
	st    *store.Store
	m     *metrics
	ln    net.Listener
	srv   *http.Server

	reload chan struct{}
	wg     sync.WaitGroup // sweep goroutines

	mu       sync.Mutex
	cur      *daemonState
	runs     map[string]*sweepRun
	draining bool
	started  bool
}

// daemonState is one loaded config with everything derived from it.
type daemonState struct {
	cfg      *Config
	defs     *Definitions
	inv      *inventories.Inventory
	notifier *notify.Notifier // nil: alerts off
	drift    *Drift
	loaded   time.Time
}

// sweepRun is one running sweep.
type sweepRun struct {
	plan      SweepPlan
	scheduled time.Time
	ctx       context.Context
	cancel    context.CancelFunc
	draining  atomic.Bool
	blackout  sync.Once
	done      chan struct{}
}

// NewDaemon loads the config (and the inventory and definitions it names),
// opens the store, marks sweeps left running by a dead process as
// incomplete and binds the HTTP listener. ctx bounds these steps only. The
// caller must call Close (after Run returns, if it ran).
func NewDaemon(ctx context.Context, opts DaemonOptions) (*Daemon, error) {
	d := &Daemon{opts: opts, clock: opts.Clock, log: opts.Logger, reload: make(chan struct{}, 1),
		runs: map[string]*sweepRun{}, m: newMetrics()}
	if d.clock == nil {
		d.clock = SystemClock()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.opts.Getenv == nil {
		d.opts.Getenv = os.Getenv
	}
	state, err := d.load()
	if err != nil {
		return nil, err
	}
	d.st, err = store.Open(ctx, state.cfg.DB, opts.StoreOptions...)
	if err != nil {
		return nil, fmt.Errorf("daemon: database: %w", err)
	}
	d.wire(state)
	if n, err := d.st.RecoverIncomplete(ctx); err != nil {
		_ = d.st.Close()
		return nil, fmt.Errorf("daemon: database: %w", err)
	} else if n > 0 {
		d.log.Warn("sweeps left running by a stopped process were marked incomplete", "count", n)
	}
	var lc net.ListenConfig
	d.ln, err = lc.Listen(ctx, "tcp", state.cfg.Listen)
	if err != nil {
		_ = d.st.Close()
		return nil, fmt.Errorf("daemon: listen %s: %w", state.cfg.Listen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", d.healthz)
	mux.Handle("/metrics", d.m.handler())
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	d.cur = state
	for _, p := range state.cfg.Sweeps {
		d.m.initSweep(p.Name)
	}
	if opts.LogLevel != nil {
		opts.LogLevel.Set(state.cfg.LogLevel)
	}
	return d, nil
}

// load reads the config and everything it names, and builds a state; it
// changes nothing of the daemon.
func (d *Daemon) load() (*daemonState, error) {
	cfg, err := LoadConfig(d.opts.ConfigPath, d.opts.Getenv)
	if err != nil {
		return nil, err
	}
	defs, err := LoadDefinitions(cfg.Definitions, BundleFacts())
	if err != nil {
		return nil, fmt.Errorf("%s: definitions: %w", cfg.Path, err)
	}
	inv, err := inventories.Load(cfg.Inventory, inventoryValidator(defs))
	if err != nil {
		return nil, fmt.Errorf("%s: inventory: %w", cfg.Path, err)
	}
	var errs []error
	for _, p := range cfg.Sweeps {
		if _, err := inv.Select(p.Assets, p.Roles, p.Zones, p.Tags); err != nil {
			errs = append(errs, &ConfigError{File: cfg.Path, Line: p.Line, Msg: fmt.Sprintf("sweep %s: targets in %s: %v", p.Name, cfg.Inventory, err)})
		}
	}
	for z := range cfg.Recipients.Zones {
		if _, ok := inv.Zone(z); !ok {
			errs = append(errs, &ConfigError{File: cfg.Path, Msg: fmt.Sprintf("alerts: zone %q is not in the inventory %s", z, cfg.Inventory)})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &daemonState{cfg: cfg, defs: defs, inv: inv, loaded: d.clock.Now()}, nil
}

// wire builds the parts of a state that need the store.
func (d *Daemon) wire(s *daemonState) {
	s.drift = &Drift{Store: d.st, Defs: s.defs, Logger: d.log, OnRecorded: d.m.countDrift}
	s.notifier = AlertNotifier(s.cfg, s.defs.Catalog, d.st, d.log)
	if s.notifier != nil {
		s.notifier.Now = d.clock.Now
		s.notifier.Sender.(*notify.Mailer).Sleep = d.opts.MailSleep
	}
}

// AlertNotifier builds the notifier of cfg's smtp and alerts sections, which
// records deliveries in st; nil when cfg has no smtp section (alerts off).
// The daemon and `otsweep alert test` send through it.
func AlertNotifier(cfg *Config, cat *mapping.Catalog, st notify.DeliveryRecorder, log *slog.Logger) *notify.Notifier {
	if cfg.SMTP == nil {
		return nil
	}
	return &notify.Notifier{
		Sender:        &notify.Mailer{SMTP: *cfg.SMTP, Retry: cfg.Retry, Logger: log},
		Recipients:    cfg.Recipients,
		Store:         st,
		Catalog:       cat,
		SubjectPrefix: cfg.SubjectPrefix,
		Logger:        log,
	}
}

// Addr is the address /healthz and /metrics are served on.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// Store is the daemon's store (shared with its sweeps).
func (d *Daemon) Store() *store.Store { return d.st }

// Config returns the config in force.
func (d *Daemon) Config() *Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur.cfg
}

// Close closes the store and the listener. Call it after Run returned.
func (d *Daemon) Close() error {
	return errors.Join(d.ln.Close(), d.st.Close())
}

// Reload reads the config file again. A config that does not load, or whose
// inventory or definitions do not, is rejected: the error says why and the
// config in force stays. A good one applies to every run started from now
// on; sweeps running keep the config they started with. The database and
// listen address cannot change without a restart (a warning says so).
func (d *Daemon) Reload() error {
	state, err := d.load()
	if err != nil {
		d.m.reloads.WithLabelValues("rejected").Inc()
		d.log.Error("config reload rejected; the config in force stays", "config", d.opts.ConfigPath, "err", err)
		return fmt.Errorf("reload rejected, the config in force stays: %w", err)
	}
	d.wire(state)
	d.mu.Lock()
	old := d.cur
	if state.cfg.DB != old.cfg.DB || state.cfg.Listen != old.cfg.Listen {
		d.log.Warn("db and listen changes take effect only after a restart", "db", old.cfg.DB, "listen", old.cfg.Listen)
		state.cfg.DB, state.cfg.Listen = old.cfg.DB, old.cfg.Listen
	}
	d.cur = state
	d.mu.Unlock()
	for _, p := range state.cfg.Sweeps {
		d.m.initSweep(p.Name)
	}
	if d.opts.LogLevel != nil {
		d.opts.LogLevel.Set(state.cfg.LogLevel)
	}
	d.m.reloads.WithLabelValues("ok").Inc()
	d.log.Info("config reloaded", "config", d.opts.ConfigPath, "sweeps", len(state.cfg.Sweeps))
	select {
	case d.reload <- struct{}{}:
	default:
	}
	return nil
}

func (d *Daemon) state() *daemonState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur
}

// Run schedules sweeps until ctx ends, then stops gracefully: no new host is
// started, hosts in flight get the config's grace period to finish, the rest
// are cancelled and their sweeps recorded as partial. It returns once every
// sweep has ended (or, should a transport ignore cancellation, a further
// grace period later). It records runs missed while no daemon ran, and
// first records the drift of scans that lack it. Run may be called once.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return errors.New("daemon: Run called twice")
	}
	d.started = true
	d.mu.Unlock()

	serveErr := make(chan error, 1)
	go func() { serveErr <- d.srv.Serve(d.ln) }()
	d.log.Info("daemon started", "listen", d.ln.Addr().String(), "config", d.opts.ConfigPath)

	state := d.state()
	d.recordDowntime(ctx, state)
	if n, err := state.drift.CatchUp(ctx); err != nil {
		d.log.Error("drift catch-up failed", "err", err)
	} else if n > 0 {
		d.log.Info("drift recorded for scans that lacked it", "scans", n)
	}

	next := map[string]time.Time{}
	specs := map[string]string{}
	plan := func(s *daemonState) {
		now := d.clock.Now()
		keep := map[string]bool{}
		for _, p := range s.cfg.Sweeps {
			keep[p.Name] = true
			key := p.Schedule.Spec + "|" + p.Schedule.Location.String()
			if specs[p.Name] != key {
				specs[p.Name], next[p.Name] = key, p.Schedule.Next(now)
			}
		}
		for n := range next {
			if !keep[n] {
				delete(next, n)
				delete(specs, n)
				d.m.nextRun.DeleteLabelValues(n)
			}
		}
	}
	plan(state)
	for {
		state = d.state()
		var (
			due   time.Time
			timer Timer
			tc    <-chan time.Time
		)
		for name, t := range next {
			d.m.nextRun.WithLabelValues(name).Set(float64(t.Unix()))
			if !t.IsZero() && (due.IsZero() || t.Before(due)) {
				due = t
			}
		}
		if !due.IsZero() {
			timer = d.clock.NewTimer(due.Sub(d.clock.Now()))
			tc = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			d.shutdown(state.cfg.Grace)
			_ = d.srv.Close()
			if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("daemon: http: %w", err)
			}
			return nil
		case err := <-serveErr:
			if timer != nil {
				timer.Stop()
			}
			d.shutdown(state.cfg.Grace)
			return fmt.Errorf("daemon: http: %w", err)
		case <-d.reload:
			if timer != nil {
				timer.Stop()
			}
			s := d.state()
			plan(s)
			d.markNew(ctx, s)
		case <-tc:
			now := d.clock.Now()
			for _, p := range state.cfg.Sweeps {
				if t, ok := next[p.Name]; ok && !t.IsZero() && !t.After(now) {
					next[p.Name] = d.fire(ctx, state, p, t, now)
				}
			}
		}
	}
}

// fire handles the due time t of sweep p: the last scheduled time not after
// now runs (or is recorded as missed); earlier ones, when the daemon fell
// behind, are recorded as missed. It returns the next scheduled time.
func (d *Daemon) fire(ctx context.Context, s *daemonState, p SweepPlan, t, now time.Time) time.Time {
	at := t
	var late []time.Time
	for n := p.Schedule.Next(at); !n.IsZero() && !n.After(now) && len(late) < maxMissedRecords; n = p.Schedule.Next(n) {
		late = append(late, at)
		at = n
	}
	for _, l := range late {
		d.missed(ctx, p.Name, l, store.MissedDowntime, "the daemon fell behind (suspended or overloaded)")
	}
	d.handle(s, p, at)
	if err := d.st.SetScheduleMark(ctx, p.Name, at); err != nil {
		d.log.Error("schedule mark not recorded", "sweep", p.Name, "err", err)
	}
	return p.Schedule.Next(at)
}

// handle starts sweep p scheduled at at, unless a blackout window covers at
// or the sweep is still running; either is recorded as a missed run.
func (d *Daemon) handle(s *daemonState, p SweepPlan, at time.Time) {
	if w, ok := p.Blackouts.Active(at); ok {
		d.missed(context.Background(), p.Name, at, store.MissedBlackout, "blackout window "+w.String())
		return
	}
	d.mu.Lock()
	if d.draining {
		d.mu.Unlock()
		return
	}
	if prev := d.runs[p.Name]; prev != nil {
		d.mu.Unlock()
		d.missed(context.Background(), p.Name, at, store.MissedOverlap,
			"the run scheduled at "+prev.scheduled.UTC().Format(time.RFC3339)+" is still going")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &sweepRun{plan: p, scheduled: at, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	d.runs[p.Name] = run
	d.wg.Add(1)
	d.mu.Unlock()
	d.m.running.WithLabelValues(p.Name).Set(1)
	go d.runSweep(s, run)
}

// missed records a run that did not happen.
func (d *Daemon) missed(ctx context.Context, sweep string, at time.Time, reason, detail string) {
	d.m.missed.WithLabelValues(sweep, reason).Inc()
	d.log.Warn("scheduled run missed", "sweep", sweep, "scheduled", at, "reason", reason, "detail", detail)
	m := &store.MissedRun{Sweep: sweep, Scheduled: at, Reason: reason, Detail: detail}
	if err := d.st.RecordMissedRun(context.WithoutCancel(ctx), m); err != nil {
		d.log.Error("missed run not recorded", "sweep", sweep, "err", err)
	}
}

// recordDowntime records the runs scheduled between the last time a daemon
// handled each sweep and now, and marks now as handled.
func (d *Daemon) recordDowntime(ctx context.Context, s *daemonState) {
	now := d.clock.Now()
	for _, p := range s.cfg.Sweeps {
		last, ok, err := d.st.ScheduleMark(ctx, p.Name)
		if err != nil {
			d.log.Error("schedule mark not read", "sweep", p.Name, "err", err)
			continue
		}
		if ok {
			n := 0
			for t := p.Schedule.Next(last); !t.IsZero() && !t.After(now); t = p.Schedule.Next(t) {
				if n == maxMissedRecords {
					d.log.Warn("more runs missed while no daemon ran; not recording each", "sweep", p.Name)
					break
				}
				d.missed(ctx, p.Name, t, store.MissedDowntime, "no daemon was running")
				n++
			}
		}
		if err := d.st.SetScheduleMark(ctx, p.Name, now); err != nil {
			d.log.Error("schedule mark not recorded", "sweep", p.Name, "err", err)
		}
	}
}

// markNew starts the downtime record of sweeps a reload added.
func (d *Daemon) markNew(ctx context.Context, s *daemonState) {
	now := d.clock.Now()
	for _, p := range s.cfg.Sweeps {
		if _, ok, err := d.st.ScheduleMark(ctx, p.Name); err == nil && !ok {
			if err := d.st.SetScheduleMark(ctx, p.Name, now); err != nil {
				d.log.Error("schedule mark not recorded", "sweep", p.Name, "err", err)
			}
		}
	}
}

// zoneTarget is the SL-T of an asset's zone, as Jobs sets it.
func zoneTarget(inv *inventories.Inventory, zone string) *mapping.Vector {
	if z, ok := inv.Zone(zone); ok && zone != "" {
		v := mapping.Vector(z.Target())
		return &v
	}
	return nil
}

// errProber stands for a host whose prober could not be built (a secret
// that does not resolve): its scan is recorded with this error, so the
// failure shows in the history and as drift.
type errProber struct{ err error }

func (p errProber) Plan() []probes.Planned                             { return nil }
func (p errProber) Probe(context.Context) (*probes.Observation, error) { return nil, p.err }

// runSweep runs one sweep to its end and records it.
func (d *Daemon) runSweep(s *daemonState, run *sweepRun) {
	p := run.plan
	log := d.log.With("sweep", p.Name)
	defer func() {
		d.mu.Lock()
		delete(d.runs, p.Name)
		d.mu.Unlock()
		d.m.running.WithLabelValues(p.Name).Set(0)
		d.m.lastEnd.WithLabelValues(p.Name).Set(float64(d.clock.Now().Unix()))
		run.cancel()
		close(run.done)
		d.wg.Done()
	}()
	fail := func(msg string, err error) {
		d.m.sweeps.WithLabelValues(p.Name, sweepFailed).Inc()
		log.Error(msg, "err", err)
	}
	if _, err := s.drift.CatchUp(run.ctx); err != nil {
		log.Error("drift catch-up failed", "err", err)
	}
	sel, err := s.inv.Select(p.Assets, p.Roles, p.Zones, p.Tags)
	if err != nil {
		fail("sweep not started: targets", err)
		return
	}
	opts := ProbeOptions{KnownHosts: s.cfg.KnownHosts, TOFU: s.cfg.TOFU, Sudo: p.Sudo, Deep: p.Deep, Timeout: p.Timeout}
	jobs, failed, err := s.defs.Jobs(s.inv, InventoryTargets(s.inv, sel), opts, log)
	if err != nil {
		fail("sweep not started: jobs", err)
		return
	}
	for _, f := range failed {
		bp, _ := s.defs.Blueprints.Get(f.Asset.Role)
		log.Error("host cannot be probed", "host", f.Asset.Name, "err", f.Error)
		jobs = append(jobs, Job{Asset: f.Asset, Prober: errProber{errors.New(f.Error)}, Blueprint: bp,
			ZoneTarget: zoneTarget(s.inv, f.Asset.Zone), Timeout: p.Timeout})
	}
	if d.opts.ProberFor != nil {
		for i := range jobs {
			jobs[i].Prober = d.opts.ProberFor(jobs[i])
		}
	}
	limiter := newStartLimiter(d.clock, p.Rate)
	gate := func() error {
		if run.draining.Load() {
			return ErrDraining
		}
		if w, ok := p.Blackouts.Active(d.clock.Now()); ok {
			run.blackout.Do(func() {
				log.Warn("blackout window began during the sweep; remaining hosts are not started", "window", w.String())
			})
			return fmt.Errorf("%w: %s", ErrBlackout, w)
		}
		return nil
	}
	r := &Runner{
		Defs: s.defs, Store: d.st, Concurrency: p.Concurrency, ZoneLimit: p.ZoneLimit, DefaultTimeout: p.Timeout,
		Countermeasures: Countermeasures(s.inv), Now: d.clock.Now, Logger: log, Summarize: true,
		OnResult: func(ar AssetResult) {
			d.m.scans.WithLabelValues(string(ar.Status)).Inc()
			d.m.scanDur.WithLabelValues(ar.Asset.Transport).Observe(ar.Finished.Sub(ar.Started).Seconds())
		},
		AfterSave: func(ctx context.Context, ar AssetResult) error {
			if run.ctx.Err() != nil && ar.Status != probes.StatusOK {
				return s.drift.Skip(ctx, ar.ScanID) // cut short by the shutdown: says nothing about the host
			}
			_, _, err := s.drift.RecordAfterSave(ctx, ar)
			return err
		},
		BeforeStart: func(ctx context.Context, _ Job) error {
			if err := gate(); err != nil {
				return err
			}
			if err := limiter.Wait(ctx); err != nil {
				return err
			}
			return gate()
		},
		AfterSweep: func(ctx context.Context, res *SweepResult) error { return d.afterSweep(ctx, run.ctx, s, res) },
	}
	log.Info("sweep started", "scheduled", run.scheduled, "hosts", len(jobs))
	res, err := r.Run(run.ctx, p.Name, "schedule", jobs)
	if res == nil {
		fail("sweep not recorded", err)
		return
	}
	if err != nil {
		log.Error("sweep not fully recorded", "err", err)
	}
	d.m.sweeps.WithLabelValues(p.Name, res.Status).Inc()
	counts := map[probes.ScanStatus]int{}
	for _, a := range res.Assets {
		counts[a.Status]++
	}
	log.Info("sweep finished", "id", res.ID, "status", res.Status, "hosts", len(jobs), "scanned", len(res.Assets),
		"ok", counts[probes.StatusOK], "duration", res.Finished.Sub(res.Started))
}

// afterSweep records assets gone from the inventory and mails the sweep's
// drift. Store work uses ctx (not cancelled); mail uses mailCtx, which ends
// when a stopping daemon's grace period does.
func (d *Daemon) afterSweep(ctx, mailCtx context.Context, s *daemonState, res *SweepResult) error {
	names := make([]string, len(s.inv.Assets))
	for i, a := range s.inv.Assets {
		names[i] = a.Name
	}
	removed, err := d.st.RecordRemovedAssets(ctx, names, res.ID)
	if err != nil {
		return fmt.Errorf("sweep %d: %w", res.ID, err)
	}
	d.m.countDrift(removed)
	events, err := d.st.DriftEvents(ctx, store.DriftFilter{SweepID: res.ID})
	if err != nil {
		return fmt.Errorf("sweep %d: %w", res.ID, err)
	}
	if s.notifier == nil || len(events) == 0 {
		return nil
	}
	dels, err := s.notifier.SendDigest(mailCtx, notify.SweepInfo{ID: res.ID, Name: res.Name, Status: res.Status,
		Started: res.Started, Finished: res.Finished}, events)
	for _, dl := range dels {
		d.m.deliveries.WithLabelValues(dl.Status).Inc()
	}
	return err
}

// shutdown drains the running sweeps: no new host starts; after grace on
// the daemon's clock the rest are cancelled.
func (d *Daemon) shutdown(grace time.Duration) {
	d.mu.Lock()
	d.draining = true
	runs := make([]*sweepRun, 0, len(d.runs))
	for _, r := range d.runs {
		runs = append(runs, r)
	}
	d.mu.Unlock()
	if len(runs) == 0 {
		d.log.Info("daemon stopped")
		return
	}
	for _, r := range runs {
		r.draining.Store(true)
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.plan.Name
	}
	slices.Sort(names)
	d.log.Info("stopping: hosts in flight may finish", "sweeps", names, "grace", grace)
	all := make(chan struct{})
	go func() { d.wg.Wait(); close(all) }()
	t := d.clock.NewTimer(grace)
	select {
	case <-all:
		t.Stop()
		d.log.Info("daemon stopped")
		return
	case <-t.C():
	}
	d.log.Warn("grace period over: cancelling the hosts still in flight", "grace", grace)
	for _, r := range runs {
		r.cancel()
	}
	// Transports end their remote commands on cancellation; should one not,
	// do not hang the shutdown for ever.
	hard := time.NewTimer(grace + 10*time.Second)
	defer hard.Stop()
	select {
	case <-all:
		d.log.Info("daemon stopped")
	case <-hard.C:
		d.log.Error("sweeps did not end after cancellation; exiting anyway")
	}
}

// healthz reports the daemon's state: 200 while scheduling, 503 while
// stopping.
func (d *Daemon) healthz(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	running := make([]string, 0, len(d.runs))
	for n := range d.runs {
		running = append(running, n)
	}
	draining, s := d.draining, d.cur
	d.mu.Unlock()
	slices.Sort(running)
	body := struct {
		Status   string    `json:"status"`
		Config   string    `json:"config"`
		Loaded   time.Time `json:"config_loaded"`
		Sweeps   int       `json:"sweeps"`
		Running  []string  `json:"running"`
		Alerting bool      `json:"alerting"`
	}{Status: "ok", Config: s.cfg.Path, Loaded: s.loaded.UTC(), Sweeps: len(s.cfg.Sweeps), Running: running,
		Alerting: s.notifier != nil}
	code := http.StatusOK
	if draining {
		body.Status, code = "stopping", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

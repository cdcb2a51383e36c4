package scheduler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/store"
)

// fakeClock is a Clock that moves only when the test says so. Timers fire
// when Advance passes their deadline.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c      *fakeClock
	at     time.Time
	ch     chan time.Time
	active bool
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	t.active = true
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if !t.active {
		return false
	}
	t.active = false
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *fakeTimer) bool { return x == t })
	return true
}

// AdvanceTo moves the clock to at and fires every timer due by then.
func (c *fakeClock) AdvanceTo(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at.After(c.now) {
		c.now = at
	}
	slices.SortFunc(c.timers, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for len(c.timers) > 0 && !c.timers[0].at.After(c.now) {
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.active = false
		t.ch <- c.now
	}
}

func (c *fakeClock) Advance(d time.Duration) { c.AdvanceTo(c.Now().Add(d)) }

// waitTimer waits (in real time, bounded) until some goroutine waits on a
// timer due at or before by, and returns the earliest deadline.
func (c *fakeClock) waitTimer(t *testing.T, by time.Time) time.Time {
	t.Helper()
	var at time.Time
	eventually(t, fmt.Sprintf("a timer due by %s", by), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, x := range c.timers {
			if !x.at.After(by) && (at.IsZero() || x.at.Before(at)) {
				at = x.at
			}
		}
		return !at.IsZero()
	})
	return at
}

// eventually polls cond every few milliseconds for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// standIns are the hosts a daemon test scans: each answers with a hostState,
// and may be held until released.
type standIns struct {
	mu      sync.Mutex
	hosts   map[string]hostState
	gates   map[string]chan struct{}
	started chan string
}

func newStandIns() *standIns {
	return &standIns{hosts: map[string]hostState{}, gates: map[string]chan struct{}{}, started: make(chan string, 64)}
}

func (s *standIns) set(name string, h hostState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts[name] = h
}

// hold makes the named hosts wait until release (or their ctx ends).
func (s *standIns) hold(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		s.gates[n] = make(chan struct{})
	}
}

func (s *standIns) release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.gates[name]; g != nil {
		close(g)
		delete(s.gates, name)
	}
}

func (s *standIns) proberFor(j Job) probes.Prober {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hosts[j.Asset.Name]
	if !ok {
		h = hostState{maxDays: 90, ports: []int{22}, admins: []string{"root"}}
	}
	p := h.prober().(*stubProber)
	p.name, p.release, p.started = j.Asset.Name, s.gates[j.Asset.Name], s.started
	return p
}

// waitStarted waits for n probes to start and returns their hosts.
func (s *standIns) waitStarted(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case h := <-s.started:
			got = append(got, h)
		case <-timeout:
			t.Fatalf("only %v of %d hosts started", got, n)
		}
	}
	slices.Sort(got)
	return got
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const testInventory = `zones:
  - name: cell-3
    sl_target: 2
  - name: ops
    sl_target: 2
assets:
  - name: hmi-01
    platform: linux
    transport: local
    role: linux-server
    zone: cell-3
    tags: [hmi]
  - name: hmi-02
    platform: linux
    transport: local
    role: linux-server
    zone: cell-3
    tags: [hmi]
  - name: hist-01
    platform: linux
    transport: local
    role: linux-server
    zone: ops
`

// harness runs a Daemon on a fake clock over stand-in hosts.
type harness struct {
	t      *testing.T
	dir    string
	cfg    string
	clock  *fakeClock
	hosts  *standIns
	logs   *syncBuffer
	env    map[string]string
	d      *Daemon
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, with runErr
	runErr error
}

// newHarness writes the inventory and config (with %DIR% replaced by the
// test's folder) and builds, but does not run, the daemon.
func newHarness(t *testing.T, start time.Time, config string) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: newFakeClock(start), hosts: newStandIns(), logs: &syncBuffer{},
		env: map[string]string{}}
	h.cfg = filepath.Join(h.dir, "otsweep-daemon.yaml")
	h.write("inventory.yaml", testInventory)
	h.writeConfig(config)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", h.logs.String())
		}
	})
	return h
}

func (h *harness) write(name, content string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) writeConfig(config string) {
	h.t.Helper()
	h.write("otsweep-daemon.yaml", strings.ReplaceAll(config, "%DIR%", h.dir))
}

func (h *harness) build() error {
	d, err := NewDaemon(h.t.Context(), DaemonOptions{
		ConfigPath:   h.cfg,
		Clock:        h.clock,
		Logger:       slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:       func(k string) string { return h.env[k] },
		ProberFor:    h.hosts.proberFor,
		MailSleep:    func(context.Context, time.Duration) error { return nil },
		StoreOptions: []store.Option{store.WithClock(h.clock.Now)},
	})
	if err != nil {
		return err
	}
	h.d = d
	h.t.Cleanup(func() { _ = d.Close() })
	return nil
}

// run builds the daemon and runs it until stop or the test's end.
func (h *harness) run() *harness {
	h.t.Helper()
	if err := h.build(); err != nil {
		h.t.Fatalf("NewDaemon: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		h.runErr = h.d.Run(ctx)
		close(h.done)
	}()
	h.t.Cleanup(func() {
		cancel()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case <-h.done:
				return
			case <-deadline:
				h.t.Error("daemon did not stop")
				return
			case <-time.After(5 * time.Millisecond):
				h.clock.Advance(time.Hour) // past any grace period
			}
		}
	})
	return h
}

// stop ends Run's ctx and returns a channel closed when Run has returned
// (its error is then in runErr).
func (h *harness) stop() <-chan struct{} {
	h.cancel()
	return h.done
}

// fireAt waits until the daemon's schedule timer is due at want, and moves
// the clock there.
func (h *harness) fireAt(want time.Time) {
	h.t.Helper()
	if got := h.clock.waitTimer(h.t, want); !got.Equal(want) {
		h.t.Fatalf("next timer at %s, want %s", got.UTC(), want.UTC())
	}
	h.clock.AdvanceTo(want)
}

// sweeps returns the stored sweeps, oldest first.
func (h *harness) sweeps() []store.Sweep {
	h.t.Helper()
	sw, err := h.d.Store().Sweeps(context.Background(), 0)
	if err != nil {
		h.t.Fatal(err)
	}
	slices.Reverse(sw)
	return sw
}

// waitSweep waits until n sweeps are stored and the last has finished.
func (h *harness) waitSweep(n int) store.Sweep {
	h.t.Helper()
	var last store.Sweep
	eventually(h.t, fmt.Sprintf("sweep %d to finish", n), func() bool {
		sw := h.sweeps()
		if len(sw) < n || sw[n-1].Status == store.SweepRunning {
			return false
		}
		last = sw[n-1]
		// The after-sweep hook (drift of removed assets, mail) runs after
		// the row is finished; wait for the daemon to let go of the run.
		h.d.mu.Lock()
		defer h.d.mu.Unlock()
		return len(h.d.runs) == 0
	})
	return last
}

func (h *harness) missed() []store.MissedRun {
	h.t.Helper()
	m, err := h.d.Store().MissedRuns(context.Background(), time.Time{}, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// get fetches a path of the daemon's HTTP server.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.d.Addr().String() + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

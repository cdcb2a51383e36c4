package scheduler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

// fakeProber returns canned observations or errors; it is an in-process
// stand-in for a host in unit tests of the runner only.
type fakeProber struct {
	obs     *probes.Observation
	err     error
	block   bool // wait for ctx
	panics  bool
	running *atomic.Int32
	peak    *atomic.Int32
}

func (f *fakeProber) Plan() []probes.Planned { return nil }

func (f *fakeProber) Probe(ctx context.Context) (*probes.Observation, error) {
	if f.running != nil {
		n := f.running.Add(1)
		defer f.running.Add(-1)
		for {
			p := f.peak.Load()
			if n <= p || f.peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if f.panics {
		panic("parser bug")
	}
	if f.block {
		<-ctx.Done()
		return nil, fmt.Errorf("host: %w", probes.ErrTimeout)
	}
	return f.obs, f.err
}

func linuxObs(maxDays int) *probes.Observation {
	f := probes.Facts{}
	f.Set("login_defs.pass_max_days", "L07", maxDays, fmt.Sprintf("PASS_MAX_DAYS\t%d", maxDays))
	f.Set("packages.count", "L04", 312)
	f.Set("net.tcp_listen", "L26", []int{22})
	return &probes.Observation{Platform: probes.Linux, Facts: f, Complete: true, Elevated: true}
}

func testRunner(t *testing.T) (*Runner, *store.Store) {
	t.Helper()
	defs, err := LoadDefinitions("", BundleFacts())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &Runner{Defs: defs, Store: st, Concurrency: 4, DefaultTimeout: 2 * time.Second}, st
}

func job(t *testing.T, r *Runner, name string, p probes.Prober) Job {
	bp, ok := r.Defs.Blueprints.Get("linux-server")
	if !ok {
		t.Fatal("no linux-server blueprint")
	}
	return Job{Asset: store.Asset{Name: name, Address: "192.0.2.1", Role: "linux-server", Zone: "z1", Platform: "linux", Transport: "ssh"}, Prober: p, Blueprint: bp}
}

func resultOf(res *SweepResult, name string) AssetResult {
	for _, a := range res.Assets {
		if a.Asset.Name == name {
			return a
		}
	}
	return AssetResult{}
}

func checkStatus(ar AssetResult, id string) checks.Status {
	for _, c := range ar.Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

func TestRunnerStatusesAndResults(t *testing.T) {
	r, st := testRunner(t)
	r.DefaultTimeout = 300 * time.Millisecond
	jobs := []Job{
		job(t, r, "good", &fakeProber{obs: linuxObs(90)}),
		job(t, r, "weak", &fakeProber{obs: linuxObs(99999)}),
		job(t, r, "down", &fakeProber{err: fmt.Errorf("dial 192.0.2.9:22: %w", probes.ErrUnreachable)}),
		job(t, r, "badpw", &fakeProber{err: fmt.Errorf("ssh: %w", probes.ErrAuthFailed)}),
		job(t, r, "hung", &fakeProber{block: true}),
		job(t, r, "buggy", &fakeProber{panics: true}),
	}
	res, err := r.Run(context.Background(), "test", "manual", jobs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != SweepComplete || len(res.Assets) != len(jobs) {
		t.Fatalf("sweep %s with %d assets", res.Status, len(res.Assets))
	}
	for name, want := range map[string]probes.ScanStatus{"good": probes.StatusOK, "weak": probes.StatusOK, "down": probes.StatusUnreachable,
		"badpw": probes.StatusAuthFailed, "hung": probes.StatusTimeout, "buggy": probes.StatusError} {
		if got := resultOf(res, name).Status; got != want {
			t.Errorf("%s: status %s, want %s (%s)", name, got, want, resultOf(res, name).Error)
		}
	}
	if s := checkStatus(resultOf(res, "good"), "linux.pw.max_age"); s != checks.Pass {
		t.Errorf("good: linux.pw.max_age = %s", s)
	}
	if s := checkStatus(resultOf(res, "weak"), "linux.pw.max_age"); s != checks.Fail {
		t.Errorf("weak: linux.pw.max_age = %s", s)
	}
	// Facts the fake did not provide are errors, never passes.
	if s := checkStatus(resultOf(res, "good"), "linux.ssh.root_login"); s != checks.Error {
		t.Errorf("good: linux.ssh.root_login without facts = %s", s)
	}
	for _, name := range []string{"down", "hung", "buggy"} {
		ar := resultOf(res, name)
		for _, c := range ar.Checks {
			if c.Status != checks.Error {
				t.Fatalf("%s: check %s = %s on an unscanned host", name, c.ID, c.Status)
			}
		}
		if ar.Assessment.Achieved != (mapping.Vector{}) {
			t.Errorf("%s: SL-A %v for an unscanned host", name, ar.Assessment.Achieved)
		}
	}
	scans, err := st.ScansOfSweep(context.Background(), res.ID)
	if err != nil || len(scans) != len(jobs) {
		t.Fatalf("stored %d scans, err %v", len(scans), err)
	}
	sw, err := st.Sweep(context.Background(), res.ID)
	if err != nil || sw.Status != SweepComplete {
		t.Fatalf("stored sweep %+v, %v", sw, err)
	}
}

func TestRunnerConcurrencyAndZoneLimit(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		zoneLimit   int
		want        int32
	}{{"pool", 3, 0, 3}, {"zone cap", 6, 2, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := testRunner(t)
			r.Concurrency, r.ZoneLimit = tc.concurrency, tc.zoneLimit
			var running, peak atomic.Int32
			var jobs []Job
			for i := range 12 {
				jobs = append(jobs, job(t, r, fmt.Sprint("h", i), &fakeProber{obs: linuxObs(90), running: &running, peak: &peak}))
			}
			if _, err := r.Run(context.Background(), "t", "manual", jobs); err != nil {
				t.Fatal(err)
			}
			if peak.Load() != tc.want {
				t.Errorf("peak concurrency %d, want %d", peak.Load(), tc.want)
			}
		})
	}
}

func TestRunnerCancelledSweepIsPartial(t *testing.T) {
	r, st := testRunner(t)
	r.Concurrency = 1
	ctx, cancel := context.WithCancel(context.Background())
	var jobs []Job
	for i := range 5 {
		jobs = append(jobs, job(t, r, fmt.Sprint("h", i), &fakeProber{block: true}))
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := r.Run(ctx, "t", "manual", jobs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != SweepPartial || len(res.Assets) >= len(jobs) {
		t.Fatalf("status %s with %d of %d assets", res.Status, len(res.Assets), len(jobs))
	}
	sw, _ := st.Sweep(context.Background(), res.ID)
	if sw.Status != SweepPartial {
		t.Errorf("stored status %s", sw.Status)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("context not cancelled")
	}
}

// TestRunnerSummarize: with Summarize, the hooks see each result whole, the
// sweep result keeps only counts and findings, and the store keeps it all.
func TestRunnerSummarize(t *testing.T) {
	r, st := testRunner(t)
	r.Summarize = true
	whole := map[string]AssetResult{}
	r.OnResult = func(ar AssetResult) { whole[ar.Asset.Name] = ar }
	jobs := []Job{
		job(t, r, "good", &fakeProber{obs: linuxObs(90)}),
		job(t, r, "weak", &fakeProber{obs: linuxObs(99999)}),
		job(t, r, "down", &fakeProber{err: fmt.Errorf("dial 192.0.2.9:22: %w", probes.ErrUnreachable)}),
	}
	res, err := r.Run(t.Context(), "test", "manual", jobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"good", "weak", "down"} {
		full, ar := whole[name], resultOf(res, name)
		if len(full.Checks) == 0 || full.CheckCounts == nil {
			t.Fatalf("%s: OnResult saw %d checks, counts %v", name, len(full.Checks), full.CheckCounts)
		}
		if name != "down" && (len(full.Assessment.Requirements) == 0 || len(full.Tracked) == 0) {
			t.Fatalf("%s: OnResult saw %d requirements, %d tracked facts", name, len(full.Assessment.Requirements), len(full.Tracked))
		}
		if !reflect.DeepEqual(ar.CheckCounts, full.CheckCounts) {
			t.Errorf("%s: counts %v after summary, %v whole", name, ar.CheckCounts, full.CheckCounts)
		}
		var findings []string
		for _, c := range full.Checks {
			if c.Status == checks.Fail || c.Status == checks.Error {
				findings = append(findings, c.ID+" "+string(c.Status)+" "+c.Message)
			}
		}
		var kept []string
		for _, c := range ar.Checks {
			if c.Evidence != nil {
				t.Errorf("%s: %s keeps its evidence", name, c.ID)
			}
			kept = append(kept, c.ID+" "+string(c.Status)+" "+c.Message)
		}
		if len(findings) == 0 || !reflect.DeepEqual(kept, findings) {
			t.Errorf("%s: summary keeps %q, findings were %q", name, kept, findings)
		}
		if ar.Assessment.Requirements != nil || ar.Tracked != nil {
			t.Errorf("%s: summary keeps requirements or tracked facts", name)
		}
		if ar.Assessment.Achieved != full.Assessment.Achieved || ar.Assessment.Target != full.Assessment.Target {
			t.Errorf("%s: vectors changed by the summary", name)
		}
		stored, err := st.Scan(t.Context(), ar.ScanID)
		if err != nil {
			t.Fatal(err)
		}
		if name != "down" && len(stored.Checks) != len(full.Checks) {
			t.Errorf("%s: store has %d checks, the scan had %d", name, len(stored.Checks), len(full.Checks))
		}
	}
	if s := checkStatus(resultOf(res, "weak"), "linux.pw.max_age"); s != checks.Fail {
		t.Errorf("weak: linux.pw.max_age = %q in the summary", s)
	}
}

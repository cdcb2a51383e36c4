package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

// hostState is what a stand-in host reports in one sweep: the facts a Linux
// bundle would parse, or an error.
type hostState struct {
	maxDays int
	ports   []int
	admins  []string
	err     error
}

func (h hostState) prober() probes.Prober {
	if h.err != nil {
		return &stubProber{err: h.err}
	}
	f := probes.Facts{}
	f.Set("login_defs.pass_max_days", "L07", h.maxDays, fmt.Sprintf("PASS_MAX_DAYS\t%d", h.maxDays))
	f.Set("net.tcp_listen", "L26", h.ports)
	f.Set("accounts.admin_group_members", "L12", h.admins, "sudo:x:27:"+strings.Join(h.admins, ","))
	f.Set("packages.count", "L04", 312)
	return &stubProber{obs: &probes.Observation{Platform: probes.Linux, Facts: f, Complete: true, Elevated: true}}
}

// stubProber answers with a canned observation or error, or blocks until
// released or its ctx ends.
type stubProber struct {
	obs     *probes.Observation
	err     error
	release chan struct{} // nil: answer at once
	started chan<- string // receives name when Probe starts, if set
	name    string
}

func (p *stubProber) Plan() []probes.Planned {
	return []probes.Planned{{Transport: "stub", Address: p.name, Request: "probe"}}
}

func (p *stubProber) Probe(ctx context.Context) (*probes.Observation, error) {
	if p.started != nil {
		p.started <- p.name
	}
	if p.release != nil {
		select {
		case <-p.release:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: probe ended: %w", p.name, probes.ErrTimeout)
		}
	}
	return p.obs, p.err
}

func testDefs(t testing.TB) *Definitions {
	t.Helper()
	defs, err := LoadDefinitions("", BundleFacts())
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// sweepOnce runs one sweep of hosts through a Runner wired to drift, as the
// daemon wires it, and returns the events recorded in it.
func sweepOnce(t *testing.T, st *store.Store, defs *Definitions, hosts map[string]hostState) []store.DriftEvent {
	t.Helper()
	bp, _ := defs.Blueprints.Get("linux-server")
	var jobs []Job
	names := make([]string, 0, len(hosts))
	for n := range hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		jobs = append(jobs, Job{Asset: store.Asset{Name: n, Address: "192.0.2.10", Role: "linux-server", Zone: "cell-3",
			Platform: "linux", Transport: "ssh"}, Prober: hosts[n].prober(), Blueprint: bp})
	}
	d := &Drift{Store: st, Defs: defs}
	r := &Runner{Defs: defs, Store: st, Concurrency: 2, DefaultTimeout: 5 * time.Second, AfterSave: d.AfterSave}
	res, err := r.Run(t.Context(), "nightly", "schedule", jobs)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.DriftEvents(t.Context(), store.DriftFilter{SweepID: res.ID})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// eventKeys renders events as "asset kind subject [R]" for comparison.
func eventKeys(evs []store.DriftEvent) []string {
	var out []string
	for _, e := range evs {
		k := e.Asset + " " + e.Kind
		if e.Subject != "" {
			k += " " + e.Subject
		}
		if e.Regression {
			k += " [R]"
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestDriftSequenceAcrossRestart(t *testing.T) {
	defs := testDefs(t)
	path := filepath.Join(t.TempDir(), "otsweep.db")
	open := func() *store.Store {
		st, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	hardened := hostState{maxDays: 90, ports: []int{22}, admins: []string{"alice"}}
	weak := hostState{maxDays: 99999, ports: []int{22, 5432}, admins: []string{"alice", "mallory"}}
	down := hostState{err: fmt.Errorf("dial 192.0.2.10:22: %w", probes.ErrUnreachable)}

	// The SL-A and requirement events of the weakening depend on the shipped
	// blueprint; they are derived, the check and fact events are fixed.
	reqs := defs.Requirements("linux.pw.max_age")
	if len(reqs) == 0 {
		t.Fatal("linux.pw.max_age maps to no requirement")
	}

	steps := []struct {
		name    string
		hosts   map[string]hostState
		restart bool // close and reopen the store before this sweep
		want    []string
		check   func(t *testing.T, evs []store.DriftEvent)
	}{
		{name: "first sweep: new assets", hosts: map[string]hostState{"hist-01": hardened, "plc-01": down},
			want: []string{"hist-01 new-asset", "plc-01 new-asset"}},
		{name: "weakened and reachable", hosts: map[string]hostState{"hist-01": weak, "plc-01": hardened}, restart: true,
			want: []string{"hist-01 check-failing linux.pw.max_age [R]", "hist-01 fact accounts.admin_group_members [R]",
				"hist-01 fact net.tcp_listen [R]", "plc-01 reachable unreachable"},
			check: func(t *testing.T, evs []store.DriftEvent) {
				for _, e := range evs {
					switch e.Subject {
					case "linux.pw.max_age":
						if !slices.Equal(e.Requirements, reqs) || e.FR == "" || !strings.HasPrefix(e.Before, "pass") ||
							!strings.Contains(e.After, "99999") || e.Title == "" {
							t.Errorf("check event %+v", e)
						}
					case "net.tcp_listen":
						if e.Before != "removed: none" || e.After != "added: (1) 5432" || e.Title != "listening ports" {
							t.Errorf("port event before %q after %q title %q", e.Before, e.After, e.Title)
						}
					case "accounts.admin_group_members":
						if e.After != "added: (1) mallory" {
							t.Errorf("admin event after %q", e.After)
						}
					}
				}
			}},
		{name: "unchanged failure is not a transition", hosts: map[string]hostState{"hist-01": weak, "plc-01": hardened}, restart: true},
		{name: "host goes down", hosts: map[string]hostState{"hist-01": down, "plc-01": hardened},
			want: []string{"hist-01 unreachable unreachable [R]"}},
		{name: "still down: nothing", hosts: map[string]hostState{"hist-01": down, "plc-01": hardened}, restart: true},
		{name: "back, compared with the last complete scan", hosts: map[string]hostState{"hist-01": hardened, "plc-01": hardened},
			want: []string{"hist-01 check-passing linux.pw.max_age", "hist-01 fact accounts.admin_group_members",
				"hist-01 fact net.tcp_listen", "hist-01 reachable unreachable"},
			check: func(t *testing.T, evs []store.DriftEvent) {
				for _, e := range evs {
					if e.Subject == "net.tcp_listen" && (e.Before != "removed: (1) 5432" || e.After != "added: none") {
						t.Errorf("port event before %q after %q", e.Before, e.After)
					}
				}
			}},
	}
	st := open()
	defer func() { _ = st.Close() }()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.restart {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				st = open()
			}
			evs := sweepOnce(t, st, defs, s.hosts)
			got := eventKeys(evs)
			// Requirement and SL-A events follow from the check change; keep
			// only the kinds fixed above, then check the derived ones exist.
			var fixed []string
			derived := 0
			for _, k := range got {
				if strings.Contains(k, " requirement ") || strings.Contains(k, " sl-a ") {
					derived++
					continue
				}
				fixed = append(fixed, k)
			}
			if !slices.Equal(fixed, s.want) {
				t.Errorf("events\n got %q\nwant %q", fixed, s.want)
			}
			weakened := slices.Contains(s.want, "hist-01 check-failing linux.pw.max_age [R]")
			if weakened && derived == 0 {
				t.Errorf("a newly failing check changed no requirement state: %q", got)
			}
			if s.check != nil {
				s.check(t, evs)
			}
		})
	}

	t.Run("catch-up finds nothing left", func(t *testing.T) {
		d := &Drift{Store: st, Defs: defs}
		if n, err := d.CatchUp(t.Context()); n != 0 || err != nil {
			t.Errorf("CatchUp = %d, %v", n, err)
		}
	})
}

// TestDriftCatchUp: scans saved without the hook (by `otsweep scan`, or
// before a crash) get their drift from CatchUp, once.
func TestDriftCatchUp(t *testing.T) {
	defs := testDefs(t)
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "otsweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	bp, _ := defs.Blueprints.Get("linux-server")
	r := &Runner{Defs: defs, Store: st, Concurrency: 1}
	for _, h := range []hostState{{maxDays: 90, ports: []int{22}}, {maxDays: 99999, ports: []int{22}}} {
		job := Job{Asset: store.Asset{Name: "ews-01", Role: "linux-server", Platform: "linux", Transport: "ssh"}, Prober: h.prober(), Blueprint: bp}
		if _, err := r.Run(t.Context(), "on-demand", "manual", []Job{job}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []store.DriftEvent
	d := &Drift{Store: st, Defs: defs, OnRecorded: func(evs []store.DriftEvent) { seen = append(seen, evs...) }}
	n, err := d.CatchUp(t.Context())
	if n != 2 || err != nil {
		t.Fatalf("CatchUp = %d, %v; want 2 scans", n, err)
	}
	keys := eventKeys(seen)
	if !slices.Contains(keys, "ews-01 new-asset") || !slices.Contains(keys, "ews-01 check-failing linux.pw.max_age [R]") {
		t.Errorf("events %q", keys)
	}
	if n, err := d.CatchUp(t.Context()); n != 0 || err != nil {
		t.Errorf("second CatchUp = %d, %v", n, err)
	}
	// A scan whose drift is computed again is not recorded again.
	stored, _ := st.DriftEvents(t.Context(), store.DriftFilter{})
	if _, rec, err := d.Record(t.Context(), stored[len(stored)-1].ScanID); rec || err != nil {
		t.Errorf("Record again = %v, %v", rec, err)
	}
	if again, _ := st.DriftEvents(t.Context(), store.DriftFilter{}); len(again) != len(stored) {
		t.Errorf("%d events after recomputing, want %d", len(again), len(stored))
	}
}

func TestCompareScansUnit(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
	asset := store.Asset{Name: "hmi-01", Zone: "cell-3"}
	ok := func(id int64, achieved mapping.Vector, cs []checks.Result, facts map[string]string) *store.Scan {
		return &store.Scan{ID: id, Asset: asset, Status: probes.StatusOK, Started: t0.Add(time.Duration(id) * time.Hour),
			Target: mapping.Vector{2, 2, 2, 2, 2, 2, 2}, Achieved: achieved, Checks: cs, Facts: facts}
	}
	failed := &store.Scan{ID: 5, Asset: asset, Status: probes.StatusAuthFailed, Error: "ssh: unable to authenticate", Started: t0}
	c := func(id string, s checks.Status) checks.Result {
		return checks.Result{ID: id, Title: id, Status: s, Expected: "x", Actual: "y"}
	}
	lvl := mapping.Vector{2, 2, 2, 2, 2, 1, 2}
	tests := []struct {
		name          string
		cur, any, okp *store.Scan
		want          []string
	}{
		{"first scan failed", failed, nil, nil, []string{"hmi-01 new-asset"}},
		{"ok to failed", failed, ok(1, lvl, nil, nil), ok(1, lvl, nil, nil), []string{"hmi-01 unreachable auth-failed [R]"}},
		{"failed to failed", failed, &store.Scan{ID: 4, Status: probes.StatusTimeout}, ok(1, lvl, nil, nil), nil},
		{"first complete scan after failures", ok(6, lvl, nil, nil), failed, nil, []string{"hmi-01 reachable auth-failed"}},
		{"SL-A drop and rise", ok(2, mapping.Vector{1, 2, 2, 2, 3, 1, 2}, nil, nil), ok(1, lvl, nil, nil), ok(1, lvl, nil, nil),
			[]string{"hmi-01 sl-a FR 1 [R]", "hmi-01 sl-a FR 5"}},
		{"check transitions",
			ok(2, lvl, []checks.Result{c("a", checks.Fail), c("b", checks.Pass), c("c", checks.Error), c("d", checks.Fail), c("e", checks.Fail), c("f", checks.Pass)}, nil),
			ok(1, lvl, nil, nil),
			ok(1, lvl, []checks.Result{c("a", checks.Pass), c("b", checks.Fail), c("c", checks.Pass), c("d", checks.Fail), c("f", checks.Error)}, nil),
			[]string{"hmi-01 check-changed c", "hmi-01 check-failing a [R]", "hmi-01 check-failing e [R]", "hmi-01 check-passing b", "hmi-01 check-passing f"}},
		{"facts: only values both scans hold",
			ok(2, lvl, nil, map[string]string{"os.build_full": `"10.0.19045.4412"`, "ssh.host_key": `"ssh-ed25519 SHA256:new"`, "software": `[{"name":"7-Zip","version":"23.01"}]`, "new.fact": `1`}),
			ok(1, lvl, nil, nil),
			ok(1, lvl, nil, map[string]string{"os.build_full": `"10.0.19045.4291"`, "ssh.host_key": `"ssh-ed25519 SHA256:old"`, "software": `[{"name":"7-Zip","version":"19.00"}]`, "gone.fact": `2`}),
			[]string{"hmi-01 fact os.build_full", "hmi-01 fact software", "hmi-01 fact ssh.host_key [R]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventKeys(CompareScans(tt.cur, tt.any, tt.okp, nil))
			if !slices.Equal(got, tt.want) {
				t.Errorf("events\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFactChange(t *testing.T) {
	tests := []struct {
		name, was, is, before, after string
		added                        bool
	}{
		{"scalar", `"10.0.19045.4291"`, `"10.0.19045.4412"`, "10.0.19045.4291", "10.0.19045.4412", false},
		{"ports added", `[22]`, `[22,502,5432]`, "removed: none", "added: (2) 502, 5432", true},
		{"ports removed", `[22,502]`, `[22]`, "removed: (1) 502", "added: none", false},
		{"software upgraded", `[{"name":"7-Zip","version":"19.00"},{"name":"TIA Portal","version":"V17"}]`,
			`[{"name":"7-Zip","version":"23.01"},{"name":"TIA Portal","version":"V17"}]`, "removed: (1) 7-Zip 19.00", "added: (1) 7-Zip 23.01", true},
		{"duplicates count", `["a","a"]`, `["a"]`, "removed: (1) a", "added: none", false},
		{"number", `5`, `6`, "5", "6", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, a, added := factChange(tt.was, tt.is)
			if b != tt.before || a != tt.after || added != tt.added {
				t.Errorf("factChange = %q, %q, %v; want %q, %q, %v", b, a, added, tt.before, tt.after, tt.added)
			}
		})
	}
	long := make([]string, 30)
	for i := range long {
		long[i] = fmt.Sprintf("%q", fmt.Sprintf("pkg-%02d", i))
	}
	_, a, _ := factChange(`[]`, "["+strings.Join(long, ",")+"]")
	if !strings.HasSuffix(a, "… and 5 more") || !strings.HasPrefix(a, "added: (30) pkg-00") {
		t.Errorf("long list: %q", a)
	}
}

package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/sshd"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/snmp"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// benchEnv selects the benchmark run: "full" (make bench) or "smoke" (make
// bench-smoke). Unset, TestBench skips: plain test runs stay fast.
const benchEnv = "OTSWEEP_BENCH"

func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(ChildMain())
	}
	os.Exit(m.Run())
}

// TestBench runs the benchmarks of the plan named by OTSWEEP_BENCH and
// prints one table on standard output. OTSWEEP_BENCH_JSON, if set, is a file
// that receives the report as JSON. Missed targets are reported in the
// table, not as failures; a benchmark that stops working fails.
func TestBench(t *testing.T) {
	var plan Plan
	switch mode := os.Getenv(benchEnv); mode {
	case "":
		t.Skipf("benchmarks run with %s=full (make bench) or %s=smoke (make bench-smoke)", benchEnv, benchEnv)
	case "full":
		plan = FullPlan()
	case "smoke":
		plan = SmokePlan()
	default:
		t.Fatalf("%s=%q: want full or smoke", benchEnv, mode)
	}
	if only := os.Getenv("OTSWEEP_BENCH_ONLY"); only != "" {
		plan = plan.Only(strings.Split(only, ","))
	}
	began := time.Now()
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := &Runner{Plan: plan, Dir: t.TempDir(), Log: log}
	rep := &Report{Plan: plan, Machine: DescribeMachine(), Date: began, Command: os.Getenv("OTSWEEP_BENCH_COMMAND")}
	if rep.Command == "" {
		rep.Command = fmt.Sprintf("%s=%s go test -run '^TestBench$' -timeout 3h ./bench", benchEnv, plan.Name)
	}

	// The storage fleet is cloned from real scans of simulated hosts.
	defs, err := scheduler.LoadDefinitions("", scheduler.BundleFacts())
	if err != nil {
		t.Fatal(err)
	}
	var templates []store.Scan
	if plan.Storage.Days > 0 {
		if templates, err = r.Templates(ctx, defs); err != nil {
			t.Fatal(err)
		}
	}

	if rep.Sweeps, err = r.Sweeps(ctx); err != nil {
		t.Fatal(err)
	}
	failed := Failed(rep.Sweeps)
	for _, f := range failed {
		rep.Notes = append(rep.Notes, "hosts failed in every run of a sweep: "+f)
	}

	if plan.Storage.Days > 0 {
		days := 0
		rep.Storage, err = RunStorage(ctx, r.Dir, plan.Storage, templates, defs, func(day int) {
			days = day
			if day%30 == 0 || day == plan.Storage.Days {
				log.Info("storage", "days", day, "of", plan.Storage.Days, "elapsed", time.Since(began).Round(time.Second))
			}
		})
		if err != nil {
			t.Fatalf("storage after %d days: %v", days, err)
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("storage fleet cloned from %d real scans (Linux, Windows, SNMP): %.0f check results and %.0f requirement states per host; drift recorded after every sweep as the daemon does",
			rep.Storage.Templates, rep.Storage.Checks, rep.Storage.Requirements))
	}

	if plan.PeerHosts > 0 {
		rep.Peer, rep.Notes = runPeer(t, r, plan.PeerHosts, rep.Notes)
	} else if plan.Name == "smoke" {
		rep.Notes = append(rep.Notes, "peer (Ansible raw on real sshd hosts): not part of the smoke run")
	}
	if rep.Peer != nil && rep.Peer.Skipped != "" {
		rep.Notes = append(rep.Notes, "Ansible peer skipped: "+rep.Peer.Skipped)
	}
	rep.Elapsed = time.Since(began)

	if err := rep.WriteText(os.Stdout); err != nil {
		t.Fatal(err)
	}
	if len(failed) > 0 && plan.Name == "smoke" {
		t.Errorf("hosts failed: %v", failed)
	}
	if path := os.Getenv("OTSWEEP_BENCH_JSON"); path != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runPeer starts real sshd hosts in network namespaces and compares otsweep
// with Ansible on them. Without root or the test bed's tools it returns a
// note instead.
func runPeer(t *testing.T, r *Runner, hosts int, notes []string) (*PeerResult, []string) {
	if err := sshd.Available(); err != nil {
		return nil, append(notes, "peer skipped: "+err.Error())
	}
	var res *PeerResult
	ok := t.Run("peer", func(t *testing.T) {
		specs := make([]sshd.HostSpec, hosts)
		for i := range specs {
			specs[i] = sshd.HostSpec{Name: fmt.Sprintf("bench%02d", i+1)}
		}
		lab := sshd.Start(t, specs...)
		spec := PeerSpec{User: lab.Hosts[0].User, KeyPEM: string(lab.ClientKeyPEM), KnownHosts: lab.KnownHosts()}
		for _, h := range lab.Hosts {
			spec.Hosts = append(spec.Hosts, Endpoint{Address: h.Address, Port: h.Port})
		}
		var err error
		if res, err = r.Peer(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
	})
	if !ok || res == nil {
		t.Error("peer benchmark failed")
		return nil, append(notes, "peer failed: see the test log")
	}
	return res, notes
}

func TestFleet(t *testing.T) {
	cases := []struct {
		name  string
		kind  Kind
		n     int
		port  int
		first string
		last  string
		err   bool
	}{
		{"ssh", SSH, 5000, 2222, "127.1.0.1:2222", "127.1.19.250:2222", false},
		{"winrm", WinRM, 251, 24001, "127.2.0.1:24001", "127.2.1.1:24001", false},
		{"snmp", SNMP, 1, 1161, "127.3.0.1:1161", "127.3.0.1:1161", false},
		{"too many", SSH, maxHosts + 1, 2222, "", "", true},
		{"unknown kind", Kind("telnet"), 1, 2222, "", "", true},
		{"port zero", SNMP, 1, 0, "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eps, err := Fleet(tc.kind, tc.n, tc.port)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if len(eps) != tc.n || eps[0].String() != tc.first || eps[len(eps)-1].String() != tc.last {
				t.Errorf("%d endpoints %s … %s", len(eps), eps[0], eps[len(eps)-1])
			}
			seen := map[string]bool{}
			for _, e := range eps {
				if seen[e.Address] {
					t.Fatalf("address %s twice", e.Address)
				}
				seen[e.Address] = true
			}
		})
	}
}

func TestCandidatePorts(t *testing.T) {
	for _, k := range []Kind{SSH, WinRM, SNMP} {
		ports := candidatePorts(k)
		_, def, _ := layout(k)
		if len(ports) != portAttempts || ports[0] != def {
			t.Errorf("%s: candidates %v, want %d starting with %d", k, ports, portAttempts, def)
		}
		for _, p := range ports[1:] {
			if p < randomPortMin || p >= randomPortMax || p == def {
				t.Errorf("%s: candidate %d outside [%d, %d) or the default", k, p, randomPortMin, randomPortMax)
			}
		}
	}
}

// holdPort binds a free port on addr (TCP or UDP, as kind listens) for the
// rest of the test, standing in for another run's host there.
func holdPort(t *testing.T, kind Kind, addr string) int {
	t.Helper()
	if kind == SNMP {
		c, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// bindErr tries to bind addr as kind listens and releases it at once.
func bindErr(kind Kind, addr string) error {
	if kind == SNMP {
		c, err := net.ListenPacket("udp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		_ = ln.Close()
	}
	return err
}

// TestServeSkipsPortsInUse: a port taken on one of the fleet's addresses
// (another benchmark run) makes the server release what it bound and move
// to the next candidate; every host then listens on that one port, on its
// own address.
func TestServeSkipsPortsInUse(t *testing.T) {
	c, err := newCreds()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []Kind{SSH, WinRM, SNMP} {
		t.Run(string(kind), func(t *testing.T) {
			eps, err := Fleet(kind, 3, 1)
			if err != nil {
				t.Fatal(err)
			}
			taken := holdPort(t, kind, eps[1].Address) // free on the first address, taken on the second
			spec := ServeSpec{Kind: kind, N: 3, ClientKey: c.authorizedKey, User: c.user, Password: c.password}

			spec.Ports = []int{taken}
			if _, _, err := serve(spec); !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatalf("only port %d, taken: err = %v, want EADDRINUSE", taken, err)
			}
			first := net.JoinHostPort(eps[0].Address, strconv.Itoa(taken))
			if err := bindErr(kind, first); err != nil {
				t.Fatalf("%s still bound after the failed start: %v", first, err)
			}

			spec.Ports = append([]int{taken}, candidatePorts(kind)[1:]...)
			info, stop, err := serve(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			port := info.Endpoints[0].Port
			if port == taken {
				t.Fatalf("served on the taken port %d", taken)
			}
			for i, e := range info.Endpoints {
				if e.Port != port || e.Address != eps[i].Address {
					t.Errorf("endpoint %d: %s, want %s port %d", i, e, eps[i].Address, port)
				}
				if err := bindErr(kind, e.String()); !errors.Is(err, syscall.EADDRINUSE) {
					t.Errorf("%s: not held by the server (bind: %v)", e, err)
				}
			}
			if kind == SSH && !strings.Contains(info.KnownHosts, "["+eps[2].Address+"]:"+strconv.Itoa(port)+" ") {
				t.Errorf("known_hosts does not name [%s]:%d:\n%s", eps[2].Address, port, info.KnownHosts)
			}
		})
	}
}

// TestPlanOf: the bare SNMP loop reads what the prober's plan says.
func TestPlanOf(t *testing.T) {
	p, err := snmp.New(snmp.Config{Address: "127.0.0.1", Version: snmp.Version2c, Community: probes.NewSecret("c")})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planOf(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.scalars) < 10 || plan.scalars[0] != ".1.3.6.1.2.1.1.1.0" {
		t.Errorf("scalars %v", plan.scalars)
	}
	if len(plan.walks) < 20 {
		t.Errorf("walks %v", plan.walks)
	}
	if plan.fallback[".1.3.6.1.2.1.6.20.1.4"] != ".1.3.6.1.2.1.6.13.1.1" {
		t.Errorf("fallbacks %v", plan.fallback)
	}
	for _, w := range plan.walks {
		if _, isFallback := plan.fallback[w]; !isFallback && strings.HasPrefix(w, ".1.3.6.1.2.1.6.13") {
			t.Errorf("fallback walk %s listed as a main walk", w)
		}
	}
}

func TestRowsVerdicts(t *testing.T) {
	m := func(wall, cpu time.Duration, rss int64) *Measurement {
		return &Measurement{ScanResult: ScanResult{Wall: wall, CPU: cpu}, PeakRSS: rss}
	}
	cases := []struct {
		name    string
		targets bool
		sweep   SweepResult
		missed  []string
	}{
		{"all met", true, SweepResult{Kind: SSH, N: 1000, Otsweep: m(12*time.Second, 14*time.Second, 100<<20), Bare: m(10*time.Second, 10*time.Second, 50<<20)}, nil},
		{"cpu and wall missed", true, SweepResult{Kind: SSH, N: 1000, Otsweep: m(14*time.Second, 16*time.Second, 100<<20), Bare: m(10*time.Second, 10*time.Second, 50<<20)},
			[]string{"wall time", "scanner CPU per host"}},
		{"rss at 5000", true, SweepResult{Kind: SSH, N: 5000, Otsweep: m(50*time.Second, 50*time.Second, 301<<20), Bare: m(50*time.Second, 50*time.Second, 50<<20)},
			[]string{"scanner peak RSS"}},
		{"rss of the first sweep counts", true, SweepResult{Kind: SSH, N: 5000, Otsweep: m(50*time.Second, 50*time.Second, 200<<20),
			First: m(60*time.Second, 60*time.Second, 320<<20), Bare: m(50*time.Second, 50*time.Second, 50<<20)},
			[]string{"scanner peak RSS"}},
		{"first sweep not judged on CPU", true, SweepResult{Kind: SSH, N: 1000, Otsweep: m(time.Second, time.Second, 1),
			First: m(9*time.Second, 9*time.Second, 1), Bare: m(time.Second, time.Second, 1)}, nil},
		{"wall bound only at 1000", true, SweepResult{Kind: SSH, N: 100, Otsweep: m(3*time.Second, time.Second, 1), Bare: m(time.Second, time.Second, 1)}, nil},
		{"smoke judges nothing", false, SweepResult{Kind: SSH, N: 1000, Otsweep: m(14*time.Second, 16*time.Second, 100<<20), Bare: m(10*time.Second, 10*time.Second, 50<<20)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Plan: Plan{Targets: tc.targets}, Sweeps: []SweepResult{tc.sweep}}
			var got []string
			for _, row := range r.Missed() {
				got = append(got, row.Measure)
			}
			if strings.Join(got, ",") != strings.Join(tc.missed, ",") {
				t.Errorf("missed %q, want %q", got, tc.missed)
			}
		})
	}
}

func TestStorageVerdicts(t *testing.T) {
	r := &Report{Plan: Plan{Targets: true, Storage: StorageSpec{DriftWorkers: 4}}, Storage: &StorageResult{Hosts: 1000, Days: 365,
		DBBytes: 1100 << 20, WriteMean: time.Second, WriteMax: 3 * time.Second, View30: 600 * time.Millisecond}}
	var got []string
	for _, row := range r.Missed() {
		got = append(got, row.Measure)
	}
	want := "database size (0.0 % of check results changed per sweep),dashboard 30-day view (report.Build)"
	if strings.Join(got, ",") != want {
		t.Errorf("missed %q", got)
	}
}

func TestDur(t *testing.T) {
	cases := map[time.Duration]string{
		0: "-", 850 * time.Microsecond: "850 µs", 1234 * time.Microsecond: "1.23 ms",
		1500 * time.Millisecond: "1.5 s", 95 * time.Second: "1m35s",
	}
	for d, want := range cases {
		if got := dur(d); got != want {
			t.Errorf("dur(%v) = %q, want %q", d, got, want)
		}
	}
}

package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// Plan is what one benchmark run measures.
type Plan struct {
	Name        string
	SSH         []int // SSH sweep sizes
	WinRM, SNMP int   // sweep sizes (0: skip)
	Concurrency int   // hosts in flight, the same for otsweep and the bare loops
	// Repeat is the runs of each sweep; the fastest is kept. otsweep's
	// runs share one database: the first sweeps into an empty one (a
	// plant's first sweep, every row written), the others into the
	// previous sweep's (the daily sweep, only changes written); the first
	// is reported apart when Repeat > 1.
	Repeat  int
	Storage StorageSpec
	// PeerHosts real sshd hosts for the Ansible comparison; 0 skips it.
	PeerHosts int
	// Targets says whether the targets apply (they are stated for
	// the full sizes).
	Targets bool
}

// Only keeps the parts of p named in parts: "ssh", "winrm", "snmp",
// "storage", "peer".
func (p Plan) Only(parts []string) Plan {
	keep := map[string]bool{}
	for _, x := range parts {
		keep[strings.TrimSpace(x)] = true
	}
	if !keep["ssh"] {
		p.SSH = nil
	}
	if !keep["winrm"] {
		p.WinRM = 0
	}
	if !keep["snmp"] {
		p.SNMP = 0
	}
	if !keep["storage"] {
		p.Storage = StorageSpec{}
	}
	if !keep["peer"] {
		p.PeerHosts = 0
	}
	return p
}

// FullPlan is `make bench`.
func FullPlan() Plan {
	return Plan{Name: "full", SSH: []int{100, 1000, 5000}, WinRM: 1000, SNMP: 1000, Concurrency: 32, Repeat: 3,
		Storage:   StorageSpec{Hosts: 1000, Days: 365, Churn: 0.01, DriftWorkers: 4, Seed: 1},
		PeerHosts: 20, Targets: true}
}

// SmokePlan is `make bench-smoke`: every benchmark, tiny, in well under a
// minute; it checks that they still work, not how fast.
func SmokePlan() Plan {
	return Plan{Name: "smoke", SSH: []int{20}, WinRM: 4, SNMP: 4, Concurrency: 4, Repeat: 1,
		Storage: StorageSpec{Hosts: 40, Days: 3, Churn: 0.01, DriftWorkers: 2, Seed: 1}}
}

// hostTimeout is the per-host deadline of every sweep.
const hostTimeout = 2 * time.Minute

// creds are generated for one run; they reach children on standard input.
type creds struct {
	user, keyPEM, authorizedKey, password string
}

func newCreds() (creds, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return creds{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return creds{}, err
	}
	sshPub, err := xssh.NewPublicKey(pub)
	if err != nil {
		return creds{}, err
	}
	var pw [12]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return creds{}, err
	}
	return creds{user: "otscan", keyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		authorizedKey: string(xssh.MarshalAuthorizedKey(sshPub)), password: hex.EncodeToString(pw[:])}, nil
}

// SweepResult is one sweep size of one kind: otsweep and the bare loop on
// the same servers at the same concurrency.
type SweepResult struct {
	Kind        Kind
	N           int
	Concurrency int
	Otsweep     *Measurement // the daily sweep (the fastest but the first), or the only one
	First       *Measurement // otsweep's first sweep into an empty database; nil with one run
	Bare        *Measurement
	Transport   *Measurement // SSH only: otsweep's transport alone
}

// Runner runs a Plan. Dir is scratch space; Log receives progress lines.
type Runner struct {
	Plan Plan
	Dir  string
	Log  *slog.Logger
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Sweeps runs every sweep of the plan. For each kind one server process
// holds the largest fleet; each sweep size uses its first N hosts.
func (r *Runner) Sweeps(ctx context.Context) ([]SweepResult, error) {
	c, err := newCreds()
	if err != nil {
		return nil, err
	}
	var out []SweepResult
	for _, k := range []struct {
		kind  Kind
		sizes []int
	}{{SSH, r.Plan.SSH}, {WinRM, sizes(r.Plan.WinRM)}, {SNMP, sizes(r.Plan.SNMP)}} {
		if len(k.sizes) == 0 {
			continue
		}
		res, err := r.sweepKind(ctx, k.kind, k.sizes, c)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func sizes(n int) []int {
	if n <= 0 {
		return nil
	}
	return []int{n}
}

func (r *Runner) sweepKind(ctx context.Context, kind Kind, ns []int, c creds) ([]SweepResult, error) {
	largest := 0
	for _, n := range ns {
		largest = max(largest, n)
	}
	t0 := time.Now()
	srv, err := startServer(ctx, ServeSpec{Kind: kind, N: largest, ClientKey: c.authorizedKey, User: c.user, Password: c.password})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	r.log().Info("servers up", "kind", kind, "hosts", largest, "port", srv.Info.Endpoints[0].Port, "duration", time.Since(t0).Round(time.Millisecond))
	base := ScanSpec{Kind: kind, Concurrency: r.Plan.Concurrency, Timeout: hostTimeout, User: c.user,
		KeyPEM: c.keyPEM, Password: c.password, Community: srv.Info.Community, HostKey: srv.Info.HostKey}
	if kind == SSH {
		base.KnownHosts = filepath.Join(r.Dir, "known_hosts")
		if err := os.WriteFile(base.KnownHosts, []byte(srv.Info.KnownHosts), 0o600); err != nil {
			return nil, err
		}
	}
	modes := []Mode{Otsweep, Bare}
	if kind == SSH {
		modes = append(modes, Transport)
	}
	var out []SweepResult
	for _, n := range ns {
		sr := SweepResult{Kind: kind, N: n, Concurrency: r.Plan.Concurrency}
		db := filepath.Join(r.Dir, fmt.Sprintf("%s-%d.db", kind, n))
		runs := max(r.Plan.Repeat, 1)
		for rep := range runs {
			for _, mode := range modes {
				spec := base
				spec.Mode, spec.Hosts = mode, srv.Info.Endpoints[:n]
				if mode == Otsweep {
					spec.DB = db
				}
				m, err := scan(ctx, spec)
				if err != nil {
					removeDB(db)
					return nil, err
				}
				if mode == Otsweep && rep == runs-1 {
					removeDB(db)
				}
				if m.OK == 0 {
					return nil, fmt.Errorf("bench: %s %s sweep of %d hosts: none ok, statuses %v, first error: %s", mode, kind, n, m.Statuses, m.FirstError)
				}
				if m.OK != n {
					// Reported in the table; a sweep with failed hosts is
					// kept only when no run of this mode succeeded fully.
					r.log().Warn("hosts failed", "kind", kind, "mode", mode, "hosts", n, "ok", m.OK, "statuses", m.Statuses, "first_error", m.FirstError)
				}
				r.log().Info("sweep", "kind", kind, "mode", mode, "hosts", n, "run", rep+1, "wall", m.Wall.Round(time.Millisecond),
					"cpu_per_host", (m.CPU / time.Duration(n)).Round(time.Microsecond), "peak_rss_mb", m.PeakRSS>>20)
				keep := map[Mode]**Measurement{Otsweep: &sr.Otsweep, Bare: &sr.Bare, Transport: &sr.Transport}[mode]
				if mode == Otsweep && rep == 0 && runs > 1 {
					keep = &sr.First
				}
				if *keep == nil || better(m, *keep) {
					*keep = m
				}
			}
		}
		out = append(out, sr)
	}
	return out, nil
}

// better reports whether run a is kept over run b: more hosts ok, then
// the shorter wall time.
func better(a, b *Measurement) bool {
	if a.OK != b.OK {
		return a.OK > b.OK
	}
	return a.Wall < b.Wall
}

// Failed lists the kept sweeps in which some hosts were not scanned ok.
func Failed(sweeps []SweepResult) []string {
	var out []string
	for _, s := range sweeps {
		for _, m := range []struct {
			mode Mode
			m    *Measurement
		}{{Otsweep, s.Otsweep}, {Bare, s.Bare}, {Transport, s.Transport}} {
			if m.m != nil && m.m.OK != m.m.Hosts {
				out = append(out, fmt.Sprintf("%s %s sweep of %d hosts: %d ok (statuses %v), first error: %s",
					m.mode, s.Kind, s.N, m.m.OK, m.m.Statuses, m.m.FirstError))
			}
		}
	}
	return out
}

func removeDB(path string) {
	if path == "" {
		return
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + s)
	}
}

// Templates scans a few simulated hosts of every kind in this process with
// the real runner and returns the scans it would have stored, to clone a
// storage fleet from: Linux (four recordings), Windows (four) and SNMP
// (one). Its hosts listen on a port free at the time (see serve), so it
// may run while server processes, of this run or another, hold theirs.
func (r *Runner) Templates(ctx context.Context, defs *scheduler.Definitions) ([]store.Scan, error) {
	c, err := newCreds()
	if err != nil {
		return nil, err
	}
	rec := &captureRecorder{}
	for _, k := range []struct {
		kind Kind
		n    int
	}{{SSH, len(linuxRecordings)}, {WinRM, len(windowsRecordings)}, {SNMP, 1}} {
		info, stop, err := serve(ServeSpec{Kind: k.kind, N: k.n, ClientKey: c.authorizedKey, User: c.user, Password: c.password})
		if err != nil {
			return nil, err
		}
		spec := ScanSpec{Kind: k.kind, Hosts: info.Endpoints, User: c.user, KeyPEM: c.keyPEM, Password: c.password, Community: info.Community}
		if k.kind == SSH {
			spec.KnownHosts = filepath.Join(r.Dir, "templates_known_hosts")
			if err := os.WriteFile(spec.KnownHosts, []byte(info.KnownHosts), 0o600); err != nil {
				stop()
				return nil, err
			}
		}
		err = func() error {
			defer stop()
			ts, err := targets(spec)
			if err != nil {
				return err
			}
			jobs, _, err := defs.Jobs(nil, ts, scheduler.ProbeOptions{KnownHosts: spec.KnownHosts, Timeout: hostTimeout}, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			run := &scheduler.Runner{Defs: defs, Store: rec, Concurrency: 4, DefaultTimeout: hostTimeout}
			_, err = run.Run(ctx, "templates", "manual", jobs)
			return err
		}()
		if err != nil {
			return nil, err
		}
	}
	if err := statusOK(rec.scans); err != nil {
		return nil, err
	}
	return rec.scans, nil
}

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/internal/cputime"
	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/snmp"
	"github.com/otsweep/otsweep/probes/ssh"
	"github.com/otsweep/otsweep/probes/windows"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// Mode is what a scanner process runs.
type Mode string

// Scanner modes.
const (
	// Otsweep is the product: scheduler.Definitions.Jobs and
	// scheduler.Runner with the real transports, parsers, checks, mapping
	// and store, as `otsweep scan` runs them.
	Otsweep Mode = "otsweep"
	// Bare is the limit: a plain protocol loop that connects,
	// authenticates, runs the bundle (or reads the OIDs) and reads the
	// answer, nothing else.
	Bare Mode = "bare"
	// Transport is otsweep's SSH transport alone (probes/ssh Dial and Run),
	// without parsing, checks or store: it splits otsweep's cost.
	Transport Mode = "transport"
)

// ScanSpec is one sweep for a scanner process. Credentials are generated at
// run time for simulated or lab hosts and reach the child on its standard
// input, never on a command line or in the environment.
type ScanSpec struct {
	Kind        Kind          `json:"kind"`
	Mode        Mode          `json:"mode"`
	Hosts       []Endpoint    `json:"hosts"`
	Concurrency int           `json:"concurrency"`
	Timeout     time.Duration `json:"timeout"` // per host
	User        string        `json:"user,omitempty"`
	KeyPEM      string        `json:"key_pem,omitempty"`  // SSH client key
	Password    string        `json:"password,omitempty"` // WinRM
	Community   string        `json:"community,omitempty"`
	KnownHosts  string        `json:"known_hosts,omitempty"` // file, SSH
	HostKey     string        `json:"host_key,omitempty"`    // SSH, bare: authorized_keys format
	DB          string        `json:"db,omitempty"`          // otsweep: SQLite file
}

// ScanResult is what a scanner process measured of its sweep.
type ScanResult struct {
	Hosts      int            `json:"hosts"`
	OK         int            `json:"ok"`
	Statuses   map[string]int `json:"statuses"`
	FirstError string         `json:"first_error,omitempty"`
	// Wall and CPU cover the sweep only (for otsweep: job building, store
	// open, Runner.Run and store close); Setup is the CPU spent before it
	// (loading the definitions).
	Wall  time.Duration `json:"wall_ns"`
	CPU   time.Duration `json:"cpu_ns"`
	Setup time.Duration `json:"setup_cpu_ns"`
	// TargetCPU is the mean CPU the bundle reported using on the hosts
	// (probes.Observation.Cost), over the hosts that reported one.
	TargetCPU       time.Duration `json:"target_cpu_ns,omitempty"`
	TargetProcesses float64       `json:"target_processes,omitempty"`
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	d, _ := cputime.Process()
	return d
}

// runScan runs spec in this process.
func runScan(ctx context.Context, spec ScanSpec) (*ScanResult, error) {
	if spec.Concurrency < 1 || spec.Timeout <= 0 || len(spec.Hosts) == 0 {
		return nil, fmt.Errorf("bench: scan spec needs hosts, concurrency and a timeout")
	}
	switch spec.Mode {
	case Otsweep:
		return runOtsweep(ctx, spec)
	case Bare, Transport:
		var job func(ctx context.Context, e Endpoint) error
		var err error
		switch {
		case spec.Kind == SSH && spec.Mode == Bare:
			job, err = bareSSH(spec)
		case spec.Kind == SSH && spec.Mode == Transport:
			job, err = transportSSH(spec)
		case spec.Kind == WinRM && spec.Mode == Bare:
			job, err = bareWinRM(spec)
		case spec.Kind == SNMP && spec.Mode == Bare:
			job, err = bareSNMP(spec)
		default:
			err = fmt.Errorf("bench: no %s mode for %s", spec.Mode, spec.Kind)
		}
		if err != nil {
			return nil, err
		}
		return loop(ctx, spec, job), nil
	}
	return nil, fmt.Errorf("bench: unknown mode %q", spec.Mode)
}

// loop runs job over every host with spec.Concurrency workers, each host
// under its own deadline.
func loop(ctx context.Context, spec ScanSpec, job func(context.Context, Endpoint) error) *ScanResult {
	res := &ScanResult{Hosts: len(spec.Hosts), Statuses: map[string]int{}}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan Endpoint)
	)
	cpu0, start := cpuTime(), time.Now()
	for range min(spec.Concurrency, len(spec.Hosts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range next {
				hctx, cancel := context.WithTimeout(ctx, spec.Timeout)
				err := job(hctx, e)
				cancel()
				mu.Lock()
				res.Statuses[string(probes.StatusOf(err))]++
				if err == nil {
					res.OK++
				} else if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				mu.Unlock()
			}
		}()
	}
	for _, e := range spec.Hosts {
		next <- e
	}
	close(next)
	wg.Wait()
	res.Wall, res.CPU = time.Since(start), cpuTime()-cpu0
	return res
}

// targets are spec's hosts as `otsweep scan` sees them: inventory assets
// with their resolved credentials.
func targets(spec ScanSpec) ([]scheduler.Target, error) {
	out := make([]scheduler.Target, len(spec.Hosts))
	for i, e := range spec.Hosts {
		t := scheduler.Target{Asset: inventories.Asset{Name: fmt.Sprintf("%s-%05d", spec.Kind, i), Address: e.Address, Port: e.Port,
			Zone: fmt.Sprintf("cell-%d", i%8)}}
		switch spec.Kind {
		case SSH:
			t.Asset.Platform, t.Asset.Transport, t.Asset.Role = probes.Linux, inventories.SSH, "linux-server"
			t.Secrets = inventories.Resolved{Username: spec.User, PrivateKey: probes.NewSecret(spec.KeyPEM)}
		case WinRM:
			t.Asset.Platform, t.Asset.Transport, t.Asset.Role = probes.Windows, inventories.WinRM, "hmi"
			t.Secrets = inventories.Resolved{Username: spec.User, Password: probes.NewSecret(spec.Password)}
			t.WinRM = &inventories.WinRMOptions{Auth: inventories.AuthNTLM}
		case SNMP:
			t.Asset.Platform, t.Asset.Transport, t.Asset.Role = probes.SNMP, inventories.SNMP, "network-switch"
			t.Secrets = inventories.Resolved{Community: probes.NewSecret(spec.Community)}
			t.SNMP = &inventories.SNMPOptions{Version: inventories.SNMPv2c}
		default:
			return nil, fmt.Errorf("bench: unknown endpoint kind %q", spec.Kind)
		}
		out[i] = t
	}
	return out, nil
}

// runOtsweep is `otsweep scan` over spec's hosts (drift recorded after
// each save and results summarized once stored, as the command does for its
// table), minus the printing.
func runOtsweep(ctx context.Context, spec ScanSpec) (*ScanResult, error) {
	cpu0 := cpuTime()
	defs, err := scheduler.LoadDefinitions("", scheduler.BundleFacts())
	if err != nil {
		return nil, err
	}
	targets, err := targets(spec)
	if err != nil {
		return nil, err
	}
	setup := cpuTime() - cpu0

	cpu0, start := cpuTime(), time.Now()
	log := slog.New(slog.DiscardHandler)
	jobs, failed, err := defs.Jobs(nil, targets, scheduler.ProbeOptions{KnownHosts: spec.KnownHosts, Timeout: spec.Timeout}, log)
	if err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("bench: %d targets failed to build, first: %s", len(failed), failed[0].Error)
	}
	st, err := store.Open(ctx, spec.DB)
	if err != nil {
		return nil, err
	}
	if _, err := st.RecoverIncomplete(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	drift := &scheduler.Drift{Store: st, Defs: defs, Logger: log}
	r := &scheduler.Runner{Defs: defs, Store: st, Concurrency: spec.Concurrency, DefaultTimeout: spec.Timeout, Logger: log,
		AfterSave: drift.AfterSave, Summarize: true}
	sweep, runErr := r.Run(ctx, "bench", "manual", jobs)
	if err := st.Close(); err != nil && runErr == nil {
		runErr = err
	}
	res := &ScanResult{Hosts: len(spec.Hosts), Statuses: map[string]int{}, Wall: time.Since(start), CPU: cpuTime() - cpu0, Setup: setup}
	if runErr != nil {
		return nil, runErr
	}
	var costs, procs, reported int64
	for _, a := range sweep.Assets {
		res.Statuses[string(a.Status)]++
		if a.Status == probes.StatusOK {
			res.OK++
		} else if res.FirstError == "" {
			res.FirstError = a.Error
		}
		if a.Cost.CPU > 0 {
			costs += int64(a.Cost.CPU)
			procs += int64(a.Cost.Processes)
			reported++
		}
	}
	if reported > 0 {
		res.TargetCPU = time.Duration(costs / reported)
		res.TargetProcesses = float64(procs) / float64(reported)
	}
	return res, nil
}

// errIncomplete: the answer read does not hold the whole bundle output.
var errIncomplete = fmt.Errorf("%w: incomplete answer", probes.ErrProtocol)

// bareSSH connects with golang.org/x/crypto/ssh, authenticates with the key,
// sends the Linux bundle (the same line and stdin otsweep sends) and reads
// the output; it checks only that the END marker arrived. The host key is
// checked against spec.HostKey (simulated hosts share one) or, without it,
// against spec.KnownHosts parsed once.
func bareSSH(spec ScanSpec) (func(context.Context, Endpoint) error, error) {
	signer, err := xssh.ParsePrivateKey([]byte(spec.KeyPEM))
	if err != nil {
		return nil, fmt.Errorf("bench: client key: %w", err)
	}
	cfg := &xssh.ClientConfig{User: spec.User, Auth: []xssh.AuthMethod{xssh.PublicKeys(signer)}}
	if spec.HostKey != "" {
		hostKey, _, _, _, err := xssh.ParseAuthorizedKey([]byte(spec.HostKey))
		if err != nil {
			return nil, fmt.Errorf("bench: host key: %w", err)
		}
		cfg.HostKeyCallback, cfg.HostKeyAlgorithms = xssh.FixedHostKey(hostKey), []string{hostKey.Type()}
	} else {
		if cfg.HostKeyCallback, err = knownhosts.New(spec.KnownHosts); err != nil {
			return nil, fmt.Errorf("bench: known_hosts: %w", err)
		}
		cfg.HostKeyAlgorithms = []string{xssh.KeyAlgoED25519} // the lab records its hosts' ed25519 keys
	}
	return func(ctx context.Context, e Endpoint) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", e.String())
		if err != nil {
			return fmt.Errorf("%s: %w: %w", e, probes.ErrUnreachable, err)
		}
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		sc, chans, reqs, err := xssh.NewClientConn(conn, e.String(), cfg)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", e, probes.ErrProtocol, err)
		}
		client := xssh.NewClient(sc, chans, reqs)
		defer client.Close()
		sess, err := client.NewSession()
		if err != nil {
			return fmt.Errorf("%s: session: %w: %w", e, probes.ErrProtocol, err)
		}
		defer sess.Close()
		nonce := probes.NewNonce()
		cmd := linux.Command(nonce, linux.Options{Timeout: spec.Timeout})
		var out bytes.Buffer
		sess.Stdin, sess.Stdout = bytes.NewReader(cmd.Stdin), &out
		if err := sess.Run(cmd.Line); err != nil {
			return fmt.Errorf("%s: run: %w: %w", e, probes.ErrProtocol, err)
		}
		if !bytes.Contains(out.Bytes(), []byte("@@OTSCAN "+nonce+" END")) {
			return fmt.Errorf("%s: %w", e, errIncomplete)
		}
		return nil
	}, nil
}

// transportSSH is otsweep's SSH transport without the rest of the product:
// probes/ssh Dial (known_hosts verification, key authentication) and Run.
func transportSSH(spec ScanSpec) (func(context.Context, Endpoint) error, error) {
	key := probes.NewSecret(spec.KeyPEM)
	hostKeys := ssh.NewKnownHostsCache() // shared by the sweep's Dials, as scheduler.Jobs shares one
	return func(ctx context.Context, e Endpoint) error {
		c, err := ssh.Dial(ctx, ssh.Config{Address: e.Address, Port: e.Port, User: spec.User, PrivateKey: key,
			KnownHostsFile: spec.KnownHosts, HostKeys: hostKeys, Retries: 3})
		if err != nil {
			return err
		}
		defer c.Close()
		nonce := probes.NewNonce()
		out, err := c.Run(ctx, linux.Command(nonce, linux.Options{Timeout: spec.Timeout}))
		if err != nil {
			return err
		}
		if !bytes.Contains(out.Stdout, []byte("@@OTSCAN "+nonce+" END")) {
			return fmt.Errorf("%s: %w", e, errIncomplete)
		}
		return nil
	}, nil
}

// bareWinRM runs the Windows bundle with github.com/masterzen/winrm: its
// request builders, response parsers and NTLM transport, one request after
// the other as otsweep sends them (Create shell, Command, Send stdin,
// Receive until done, Signal, Delete). The library's Run races its stdin
// against Receive and drops failed stdin writes (a few percent of hosts got
// a truncated script in a trial), and its message encryption does an NTLM
// handshake per request and fails against the WS-Management server; so the
// loop drives the library's pieces in order, and sends NTLM-authenticated
// SOAP in the clear, which the server accepts: less work than otsweep's
// sealed messages, so the ratio errs against otsweep.
func bareWinRM(spec ScanSpec) (func(context.Context, Endpoint) error, error) {
	return func(ctx context.Context, e Endpoint) error {
		params := *winrm.DefaultParameters
		var tr *winrm.ClientNTLM
		params.TransportDecorator = func() winrm.Transporter { tr = &winrm.ClientNTLM{}; return tr }
		client, err := winrm.NewClientWithParameters(winrm.NewEndpoint(e.Address, e.Port, false, false, nil, nil, nil, spec.Timeout),
			spec.User, spec.Password, &params)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", e, probes.ErrProtocol, err)
		}
		uri := "http://" + e.String() + "/wsman"
		post := func(op string, m *soap.SoapMessage) (string, error) {
			defer m.Free()
			if err := ctx.Err(); err != nil {
				return "", fmt.Errorf("%s: %s: %w: %w", e, op, probes.ErrTimeout, err)
			}
			resp, err := tr.Post(client, m)
			if err != nil {
				return "", fmt.Errorf("%s: %s: %w: %w", e, op, probes.ErrProtocol, err)
			}
			return resp, nil
		}
		resp, err := post("create", winrm.NewOpenShellRequest(uri, &params))
		if err != nil {
			return err
		}
		shell, err := winrm.ParseOpenShellResponse(resp)
		if err != nil {
			return fmt.Errorf("%s: create: %w: %w", e, probes.ErrProtocol, err)
		}
		nonce := probes.NewNonce()
		cmd := windows.Command(nonce)
		if resp, err = post("command", winrm.NewExecuteCommandRequest(uri, shell, cmd.Line, nil, &params)); err != nil {
			return err
		}
		id, err := winrm.ParseExecuteCommandResponse(resp)
		if err != nil {
			return fmt.Errorf("%s: command: %w: %w", e, probes.ErrProtocol, err)
		}
		if _, err := post("send", winrm.NewSendInputRequest(uri, shell, id, cmd.Stdin, true, &params)); err != nil {
			return err
		}
		var stdout, stderr bytes.Buffer
		code := -1
		for done := false; !done; {
			if resp, err = post("receive", winrm.NewGetOutputRequest(uri, shell, id, "stdout stderr", &params)); err != nil {
				return err
			}
			if done, code, err = winrm.ParseSlurpOutputErrResponse(resp, &stdout, &stderr); err != nil {
				return fmt.Errorf("%s: receive: %w: %w", e, probes.ErrProtocol, err)
			}
		}
		if _, err := post("signal", winrm.NewSignalRequest(uri, shell, id, &params)); err != nil {
			return err
		}
		if _, err := post("delete", winrm.NewDeleteShellRequest(uri, shell, &params)); err != nil {
			return err
		}
		if code != 0 || !bytes.Contains(stdout.Bytes(), []byte(nonce)) {
			return fmt.Errorf("%s: exit %d: %w", e, code, errIncomplete)
		}
		return nil
	}, nil
}

// snmpPlan is the GET and the walks otsweep's SNMP prober sends, read from
// its Plan.
type snmpPlan struct {
	scalars []string
	walks   []string
	// fallback[root] is walked only when root is empty.
	fallback map[string]string
}

// planOf reads the v2c scalar GET and the walks from an otsweep prober's
// plan ("v2c GET OID…", "v2c GETBULK walk ROOT", a fallback walk's body
// saying "only when ROOT is empty").
func planOf(p *snmp.Prober) (snmpPlan, error) {
	plan := snmpPlan{fallback: map[string]string{}}
	for _, pl := range p.Plan() {
		f := strings.Fields(pl.Request)
		switch {
		case len(f) > 2 && f[0] == "v2c" && f[1] == "GET":
			plan.scalars = f[2:]
		case len(f) == 4 && f[0] == "v2c" && f[1] == "GETBULK" && f[2] == "walk":
			if _, cond, ok := strings.Cut(pl.Body, " only when "); ok {
				if root, _, ok := strings.Cut(cond, " is empty"); ok {
					plan.fallback[root] = f[3]
					continue
				}
			}
			plan.walks = append(plan.walks, f[3])
		}
	}
	if len(plan.scalars) == 0 || len(plan.walks) == 0 {
		return plan, errors.New("bench: the SNMP prober's plan has no v2c scalar GET or walks")
	}
	return plan, nil
}

// bareSNMP reads the same scalars and tables as otsweep's SNMP prober with
// plain gosnmp: one GET and a BulkWalk per table (its fallback table when
// it is empty), SNMPv2c, no engine discovery and no version checks.
func bareSNMP(spec ScanSpec) (func(context.Context, Endpoint) error, error) {
	probe, err := snmp.New(snmp.Config{Address: "127.0.0.1", Version: snmp.Version2c, Community: probes.NewSecret(spec.Community)})
	if err != nil {
		return nil, err
	}
	plan, err := planOf(probe)
	if err != nil {
		return nil, err
	}
	cfg := probe.Config()
	return func(ctx context.Context, e Endpoint) error {
		g := &gosnmp.GoSNMP{Target: e.Address, Port: uint16(e.Port), Community: spec.Community, Version: gosnmp.Version2c,
			Context: ctx, Timeout: cfg.Timeout, Retries: cfg.Retries, MaxRepetitions: cfg.MaxRepetitions}
		if err := g.Connect(); err != nil {
			return fmt.Errorf("%s: %w: %w", e, probes.ErrUnreachable, err)
		}
		defer g.Conn.Close()
		if _, err := g.Get(plan.scalars); err != nil {
			return fmt.Errorf("%s: get: %w: %w", e, probes.ErrUnreachable, err)
		}
		rows := 0
		count := func(gosnmp.SnmpPDU) error { rows++; return nil }
		for _, root := range plan.walks {
			before := rows
			if err := g.BulkWalk(root, count); err != nil {
				return fmt.Errorf("%s: walk %s: %w: %w", e, root, probes.ErrProtocol, err)
			}
			if fb, ok := plan.fallback[root]; ok && rows == before {
				if err := g.BulkWalk(fb, count); err != nil {
					return fmt.Errorf("%s: walk %s: %w: %w", e, fb, probes.ErrProtocol, err)
				}
			}
		}
		if rows == 0 {
			return fmt.Errorf("%s: %w", e, errIncomplete)
		}
		return nil
	}, nil
}

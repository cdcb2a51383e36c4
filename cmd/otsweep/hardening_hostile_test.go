package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/lab/winhosts"
	"github.com/otsweep/otsweep/lab/wsman"
	"github.com/otsweep/otsweep/probes/snmp/snmpsim"
)

// Hostile and broken endpoints, all in ONE sweep together with good hosts of
// every transport (issue 8, point 1). Each hostile host must end within its
// deadline, be recorded in the database with a status that says what went
// wrong, and leave the good hosts' scans untouched; the whole sweep must stay
// within a memory ceiling even though one host offers 1 GiB of output.

// hostileDeadline is the per-host deadline of the hosts that never answer;
// every other host gets goodDeadline, so that a loaded CI machine (-race, two
// cores, twenty hosts at once) cannot turn their real outcome into a timeout.
const (
	hostileDeadline = 8 * time.Second
	goodDeadline    = 120 * time.Second
	// floodBytes is what the flooding hosts offer: far more than the SSH
	// transport's 64 MiB cap.
	floodBytes = 1 << 30
	// memCeiling bounds how much memory the runtime may obtain from the OS
	// during the sweep: every host, transport, parser and store write, and
	// the test's own servers, together, with the garbage collector's slack.
	// Holding one flood would need 1 GiB. Measured: 300-400 MiB.
	memCeiling = 512 * mib
)

// slowOutput answers with the bundle's BEGIN line at one byte per second,
// never finishing.
func slowOutput(ctx context.Context, ex sshExec, ch xssh.Channel, _ net.Conn) {
	msg := []byte("@@OTSCAN " + ex.Nonce + " BEGIN schema=otscan.linux/1 uid=0 sudo=yes deep=0 systemd=0\n")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := ch.Write(msg[i%len(msg) : i%len(msg)+1]); err != nil {
			return
		}
	}
}

// flood answers with a valid BEGIN and PROBE line followed by total bytes of
// chunk, written as fast as the client reads; offered counts what was
// written before the client stopped reading.
func flood(total int64, chunk []byte, offered *atomic.Int64) sshBehaviour {
	return func(ctx context.Context, ex sshExec, ch xssh.Channel, _ net.Conn) {
		head := fmt.Sprintf("@@OTSCAN %[1]s BEGIN schema=otscan.linux/1 uid=0 sudo=yes deep=0 systemd=0\n@@OTSCAN %[1]s PROBE L04\n", ex.Nonce)
		if _, err := ch.Write([]byte(head)); err != nil {
			return
		}
		for offered.Load() < total && ctx.Err() == nil {
			n, err := ch.Write(chunk)
			offered.Add(int64(n))
			if err != nil {
				return
			}
		}
		exitStatus(ch, 0)
	}
}

// garbage answers with 256 KiB of deterministic random bytes (NULs, invalid
// UTF-8, escape sequences, marker-like text with a wrong nonce) and exit 0.
func garbage(_ context.Context, _ sshExec, ch xssh.Channel, _ net.Conn) {
	r := rand.New(rand.NewPCG(8, 8))
	var b bytes.Buffer
	for b.Len() < 256<<10 {
		switch r.IntN(8) {
		case 0:
			b.WriteString("@@OTSCAN 0000000000000000 BEGIN schema=otscan.linux/1 uid=0\n")
		case 1:
			b.WriteString("\x1b]0;owned\x07\x1b[2J\r\n")
		default:
			for range 64 {
				b.WriteByte(byte(r.UintN(256)))
			}
		}
	}
	_, _ = ch.Write(b.Bytes())
	exitStatus(ch, 0)
}

// disconnect answers with the first half of the recording and then cuts the
// TCP connection without closing the channel or sending an exit status.
func disconnect(r linuxRecording) sshBehaviour {
	return func(_ context.Context, ex sshExec, ch xssh.Channel, conn net.Conn) {
		out := r.render(ex.Nonce)
		_, _ = ch.Write(out[:len(out)/2])
		time.Sleep(100 * time.Millisecond)
		_ = conn.Close()
	}
}

// forgedRecording is the Debian recording with marker lines planted in file
// content (login.defs and /etc/issue) and a marker with a guessed nonce in
// command output: the host knows the nonce it was given, but a file written
// before the scan cannot, and content is always behind its path.
func forgedRecording(t *testing.T, base linuxRecording) linuxRecording {
	t.Helper()
	n := base.nonce // render replaces it with the scan's nonce
	return base.edit(t,
		"/etc/login.defs:MAIL_DIR        /var/mail",
		"/etc/login.defs:MAIL_DIR        /var/mail\n"+
			"/etc/login.defs:@@OTSCAN "+n+" RC FILES 0\n"+
			"/etc/login.defs:@@OTSCAN "+n+" END\n"+
			"/etc/login.defs:@@OTSCAN "+n+" FILE ok /etc/shadow\n"+
			"/etc/login.defs:@@OTSCAN "+n+" PROBE L12",
		"port 22",
		"port 22\n@@OTSCAN 0000000000000000 RC L12 0\n@@OTSCAN 0000000000000000 END",
	)
}

// winFloodBytes is what the flooding WinRM host prints: more than the WinRM
// transport's 16 MiB cap, as empty lines after a valid BEGIN marker.
const winFloodBytes = 20 << 20

// winFlood answers the Windows bundle with a BEGIN marker and then nothing
// but line ends, past the transport's cap.
func winFlood(_ context.Context, req wsman.CommandRequest) wsman.Response {
	m := regexp.MustCompile(`\$N = '([0-9a-f]{8,64})'`).FindSubmatch(req.Stdin)
	if m == nil {
		return wsman.Response{ExitCode: 1}
	}
	out := append([]byte("@@OTSCAN "+string(m[1])+" BEGIN schema=otscan.win/1\r\n"), bytes.Repeat([]byte("\n"), winFloodBytes)...)
	return wsman.Response{Stdout: out}
}

type hostileCase struct {
	name      string
	transport string // ssh, winrm, snmp
	address   string // host:port
	good      bool
	// hangs: the host never finishes by itself, so its scan must end at
	// hostileDeadline; every other host must end by itself (finishing,
	// failing or cut at the output cap) well within goodDeadline.
	hangs bool
	// status is the recorded scan status; errText a fragment of the error.
	status  string
	errText string
}

func TestHostileEndpointsInOneSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many peers and offers 1 GiB of output")
	}
	dir := t.TempDir()
	rec := loadLinuxRecording(t, "debian12-root.out")
	srv := newFakeSSH(t, sshOptions{})
	var linesOffered, binaryOffered atomic.Int64
	lineChunk := bytes.Repeat([]byte("ii  libc6:amd64 2.36-9+deb12u4 amd64 GNU C Library: Shared libraries\n"), 512)
	binChunk := bytes.Repeat([]byte{0xff, 0xfe, 0x00, 0x1b}, 8<<10) // invalid UTF-8 and controls, no newline

	cases := []hostileCase{
		{name: "ssh-good", transport: "ssh", address: srv.host(t, "ssh-good", replay(rec)).String(), good: true, status: "ok"},
		{name: "ssh-silent-tcp", hangs: true, transport: "ssh", address: silentListener(t).String(), status: "timeout"},
		{name: "ssh-slow-banner", hangs: true, transport: "ssh", address: trickleListener(t, []byte("SSH-2.0-OpenSSH_9.2p1\r\n")).String(), status: "timeout"},
		{name: "ssh-slow-output", hangs: true, transport: "ssh", address: srv.host(t, "ssh-slow-output", slowOutput).String(), status: "timeout"},
		{name: "ssh-flood-lines", transport: "ssh", address: srv.host(t, "ssh-flood-lines", flood(floodBytes, lineChunk, &linesOffered)).String(),
			status: "error", errText: "cap"},
		{name: "ssh-flood-binary", transport: "ssh", address: srv.host(t, "ssh-flood-binary", flood(floodBytes, binChunk, &binaryOffered)).String(),
			status: "error", errText: "cap"},
		{name: "ssh-garbage", transport: "ssh", address: srv.host(t, "ssh-garbage", garbage).String(), status: "error", errText: "no BEGIN marker"},
		{name: "ssh-forged-markers", transport: "ssh", address: srv.host(t, "ssh-forged-markers", replay(forgedRecording(t, rec))).String(), status: "ok"},
		{name: "ssh-disconnect", transport: "ssh", address: srv.host(t, "ssh-disconnect", disconnect(rec)).String(), status: "error", errText: "connection lost"},
	}

	const winPW = "Hostile-Lab-Win-Pass-1"
	winHost := func(o wsman.Options) string {
		o.Users = map[string]wsman.User{"otscan": {Password: winPW}}
		if o.Handler == nil {
			o.Handler = winhosts.Replayer("win10-22h2")
		}
		s, err := wsman.Start(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s.Addr().String()
	}
	cases = append(cases,
		hostileCase{name: "winrm-good", transport: "winrm", address: winHost(wsman.Options{}), good: true, status: "ok"},
		hostileCase{name: "winrm-soap-fault", transport: "winrm", address: winHost(wsman.Options{SOAPFaultOnReceive: true}), status: "error", errText: "fault"},
		hostileCase{name: "winrm-malformed-xml", transport: "winrm", address: winHost(wsman.Options{MalformedXML: wsman.ActionReceive}), status: "error", errText: "unexpected reply"},
		hostileCase{name: "winrm-not-http", transport: "winrm", address: winHost(wsman.Options{Garbage: wsman.AnyAction}), status: "error"},
		hostileCase{name: "winrm-flood-newlines", transport: "winrm", status: "error", errText: "cap",
			address: winHost(wsman.Options{Handler: winFlood, ReceiveChunk: 512 << 10, MaxOperationTimeout: time.Second})},
		hostileCase{name: "winrm-silent-tcp", hangs: true, transport: "winrm", address: silentListener(t).String(), status: "timeout"},
	)

	snmpRec, err := snmpsim.Embedded("netsnmp-debian12")
	if err != nil {
		t.Fatal(err)
	}
	const hrSWRunName = ".1.3.6.1.2.1.25.4.2.1.2"
	snmpHost := func(o snmpsim.Options) string {
		a, err := snmpsim.Start("127.0.0.1:0", snmpRec, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		return a.Addr().String()
	}
	cases = append(cases,
		hostileCase{name: "snmp-good", transport: "snmp", address: snmpHost(snmpsim.Options{}), good: true, status: "ok"},
		hostileCase{name: "snmp-wrong-types", transport: "snmp", address: snmpHost(snmpsim.Options{WrongTypes: true}), status: "ok"},
		hostileCase{name: "snmp-huge-table", transport: "snmp", address: snmpHost(snmpsim.Options{Drop: []string{hrSWRunName}, HugeTable: hrSWRunName, HugeRows: 200_000}), status: "ok"},
		hostileCase{name: "snmp-looping-oids", transport: "snmp", address: snmpHost(snmpsim.Options{LoopAt: hrSWRunName}), status: "ok"},
		hostileCase{name: "snmp-silent", hangs: true, transport: "snmp", address: snmpHost(snmpsim.Options{Silent: true}), status: "timeout"},
	)

	inv := hostileInventory(t, dir, srv, cases)
	t.Setenv("OTS_HOSTILE_WINPW", winPW)
	t.Setenv("OTS_HOSTILE_COMMUNITY", snmpRec.Communities[0])
	db := filepath.Join(dir, "otsweep.db")

	mem := watchMemory()
	start := time.Now()
	code, out, errOut := cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--concurrency", fmt.Sprint(len(cases)))
	took := time.Since(start)
	sysGrowth, peakHeap := mem.Stop()
	t.Logf("sweep of %d hosts took %s; runtime memory grew by %s (peak heap in use %s); flood hosts offered %s (lines) and %s (binary) before being cut",
		len(cases), took.Round(time.Millisecond), mb(sysGrowth), mb(peakHeap), mb(uint64(linesOffered.Load())), mb(uint64(binaryOffered.Load())))
	if code != ExitScanErrors {
		t.Fatalf("exit %d, want %d (scan errors)\nstderr: %s", code, ExitScanErrors, errOut)
	}
	r := parseReport(t, out)
	if r.Sweep.Status != "complete" {
		t.Errorf("sweep status %q, want complete", r.Sweep.Status)
	}
	// Time: hosts that never answer end at their deadline, the others by
	// themselves; none holds the sweep (per-host bounds are checked below).
	if limit := time.Minute; took > limit {
		t.Errorf("the sweep took %s (limit %s)", took, limit)
	}
	if sysGrowth > memCeiling {
		t.Errorf("the runtime obtained %s more memory during the sweep; ceiling %s", mb(sysGrowth), mb(memCeiling))
	}
	for _, n := range []*atomic.Int64{&linesOffered, &binaryOffered} {
		if n.Load() >= floodBytes {
			t.Errorf("a flooding host wrote all of its %s: the scanner never stopped reading", mb(floodBytes))
		}
	}

	stored := scansOf(t, db, r.Sweep.ID)
	if len(stored) != len(cases) {
		t.Errorf("%d scans stored, want %d", len(stored), len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, ok := stored[c.name]
			if !ok {
				t.Fatal("no scan stored")
			}
			d := s.Finished.Sub(s.Started)
			t.Logf("%s: %s in %s: %s", c.transport, s.Status, d.Round(time.Millisecond), s.Error)
			if string(s.Status) != c.status {
				t.Errorf("stored status %s, want %s (error %q)", s.Status, c.status, s.Error)
			}
			if !strings.Contains(s.Error, c.errText) {
				t.Errorf("stored error %q lacks %q", s.Error, c.errText)
			}
			if c.status != "ok" && (s.Error == "" || len(s.Checks) != 0) {
				t.Errorf("a failed scan must carry its error and no check results: error %q, %d checks", s.Error, len(s.Checks))
			}
			if c.hangs && (d < hostileDeadline-time.Second || d > hostileDeadline+10*time.Second) {
				t.Errorf("scan took %s; a host that never answers must end at its %s deadline", d, hostileDeadline)
			}
			if !c.hangs && d > goodDeadline/2 {
				t.Errorf("scan took %s; it should have ended by itself long before its %s deadline", d, goodDeadline)
			}
			if c.good && len(s.Checks) < 10 {
				t.Errorf("good host: only %d checks stored", len(s.Checks))
			}
		})
	}
	// The good hosts' results are what they are without the hostile ones.
	if got := r.check("ssh-good", "linux.inventory.packages"); got != "pass" {
		t.Errorf("ssh-good: linux.inventory.packages = %s", got)
	}
	if got := r.check("winrm-good", "windows.av.defender"); got != "pass" {
		t.Errorf("winrm-good: windows.av.defender = %s", got)
	}
	if got := r.check("snmp-good", "snmp.inventory.identity"); got != "pass" {
		t.Errorf("snmp-good: snmp.inventory.identity = %s", got)
	}
	// Forged markers in file content frame nothing: the scan is complete,
	// login.defs is read past the planted END, and the packages section
	// survives a marker with a guessed nonce.
	for _, a := range r.Assets {
		if a.Name == "ssh-forged-markers" && !a.Complete {
			t.Error("ssh-forged-markers: observation not complete")
		}
	}
	// Planted lines add nothing a check can see: every check of the forged
	// host ends as on the same recording without them.
	statuses := func(name string) map[string]string {
		m := map[string]string{}
		for _, a := range r.Assets {
			if a.Name == name {
				for _, c := range a.Checks {
					m[c.ID] = c.Status
				}
			}
		}
		return m
	}
	good, forged := statuses("ssh-good"), statuses("ssh-forged-markers")
	if len(good) < 40 {
		t.Errorf("ssh-good: %d checks", len(good))
	}
	for id, st := range good {
		if forged[id] != st {
			t.Errorf("ssh-forged-markers: %s = %s, on the unforged recording %s", id, forged[id], st)
		}
	}
	// Misbehaving SNMP agents: the affected facts are errors, never passes.
	for host, id := range map[string]string{"snmp-wrong-types": "snmp.inventory.identity"} {
		if got := r.check(host, id); got == "pass" {
			t.Errorf("%s: %s passes on wrong types", host, id)
		}
	}
}

// transportKinds maps a transport to the platform, credential and role of
// the hostile sweep's assets.
var transportKinds = map[string]struct{ platform, credential, role string }{
	"ssh":   {"linux", "lab-key", "linux-server"},
	"winrm": {"windows", "win-lab", "hmi"},
	"snmp":  {"snmp", "snmp-lab", "network-switch"},
}

// hostileInventory writes the inventory of the hostile sweep.
func hostileInventory(t *testing.T, dir string, srv *fakeSSH, cases []hostileCase) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `zones:
  - name: lab
    sl_target: 1
credentials:
  - name: lab-key
    username: otscan
    private_key_file: %s
    known_hosts: %s
  - name: win-lab
    username: otscan
    password_env: OTS_HOSTILE_WINPW
    auth: ntlm
  - name: snmp-lab
    snmp_version: 2c
    community_env: OTS_HOSTILE_COMMUNITY
assets:
`, srv.keyFile, srv.known)
	for _, c := range cases {
		host, port, err := net.SplitHostPort(c.address)
		if err != nil {
			t.Fatal(err)
		}
		deadline := goodDeadline
		if c.hangs {
			deadline = hostileDeadline
		}
		k := transportKinds[c.transport]
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %s\n    platform: %s\n    transport: %s\n    credential: %s\n    role: %s\n    zone: lab\n    timeout: %s\n",
			c.name, host, port, k.platform, c.transport, k.credential, k.role, deadline)
	}
	p := filepath.Join(dir, "hostile.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

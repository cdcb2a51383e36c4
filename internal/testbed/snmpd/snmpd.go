// Package snmpd runs a real net-snmp snmpd on the loopback interface for
// tests: one agent per test, its own configuration, persistent directory and
// log in t.TempDir(), stopped by PID when the test ends.
package snmpd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// User is an SNMPv3 USM user created in the agent (createUser + rouser).
type User struct {
	Name      string
	AuthProto string // MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 (net-snmp spelling); empty for noauth
	AuthPass  string
	PrivProto string // DES, AES, AES-192, AES-256; empty for nopriv
	PrivPass  string
	// Level is the minimum level rouser grants: "authpriv" (default when a
	// priv protocol is set), "auth" or "noauth".
	Level string
}

// Spec describes one agent.
type Spec struct {
	ROCommunities []string // rocommunity <c> 127.0.0.1
	RWCommunities []string // rwcommunity <c> 127.0.0.1 (never written to by otsweep; for write-inference tests)
	Users         []User
	Location      string // sysLocation; net-snmp's default when empty
	Contact       string // sysContact; net-snmp's default when empty
	Extra         []string
}

// Agent is a running snmpd.
type Agent struct {
	Host    string // 127.0.0.1
	Port    int
	Dir     string // config, log and persistent state
	LogPath string
	PID     int
}

// Addr is "127.0.0.1:port".
func (a *Agent) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// Log returns the agent's log so far.
func (a *Agent) Log() string {
	b, _ := os.ReadFile(a.LogPath)
	return string(b)
}

const (
	startTimeout   = 5 * time.Second
	installTimeout = 3 * time.Minute
)

// Start writes a configuration from spec, starts snmpd in the foreground on
// a free UDP port of 127.0.0.1 and waits (at most 5 s) until it answers an
// SNMPv3 discovery probe. snmpd is installed with apt-get when missing and
// the test runs as root; otherwise the test fails when the environment
// variable CI is set and is skipped when not. The agent is stopped by PID in
// t.Cleanup.
func Start(t testing.TB, spec Spec) *Agent {
	t.Helper()
	bin := ensureInstalled(t)
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeUDPPort()
		if err != nil {
			t.Fatalf("snmpd: find a free port: %v", err)
		}
		a, err := start(t, bin, dir, port, spec)
		if err == nil {
			return a
		}
		lastErr = err
	}
	t.Fatalf("snmpd: %v", lastErr)
	return nil
}

func ensureInstalled(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("snmpd"); err == nil {
		return p
	}
	if p := "/usr/sbin/snmpd"; fileExists(p) {
		return p
	}
	if os.Geteuid() != 0 {
		msg := "snmpd (net-snmp) is not installed and the test is not root: apt-get install -y snmpd snmp"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120", "snmpd", "snmp")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install snmpd snmp: %w\n%s", err, tail(out))
		}
		return nil
	}
	if err := install(); err != nil {
		upd := exec.CommandContext(ctx, "apt-get", "update", "-o", "DPkg::Lock::Timeout=120")
		if out, uerr := upd.CombinedOutput(); uerr != nil {
			t.Fatalf("snmpd: apt-get update: %v\n%s", uerr, tail(out))
		}
		if err := install(); err != nil {
			t.Fatalf("snmpd: %v", err)
		}
	}
	p, err := exec.LookPath("snmpd")
	if err != nil {
		p = "/usr/sbin/snmpd"
		if !fileExists(p) {
			t.Fatalf("snmpd: installed but not found: %v", err)
		}
	}
	return p
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// config renders snmpd.conf for spec.
func config(port int, spec Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "agentAddress udp:127.0.0.1:%d\n", port)
	for _, c := range spec.ROCommunities {
		fmt.Fprintf(&b, "rocommunity %s 127.0.0.1\n", c)
	}
	for _, c := range spec.RWCommunities {
		fmt.Fprintf(&b, "rwcommunity %s 127.0.0.1\n", c)
	}
	for _, u := range spec.Users {
		line := "createUser " + u.Name
		if u.AuthProto != "" {
			line += fmt.Sprintf(" %s %q", u.AuthProto, u.AuthPass)
			if u.PrivProto != "" {
				line += fmt.Sprintf(" %s %q", u.PrivProto, u.PrivPass)
			}
		}
		b.WriteString(line + "\n")
		level := u.Level
		if level == "" {
			switch {
			case u.PrivProto != "":
				level = "authpriv"
			case u.AuthProto != "":
				level = "auth"
			default:
				level = "noauth"
			}
		}
		fmt.Fprintf(&b, "rouser -s usm %s %s .1\n", u.Name, level)
	}
	if spec.Location != "" {
		fmt.Fprintf(&b, "sysLocation %s\n", spec.Location)
	}
	if spec.Contact != "" {
		fmt.Fprintf(&b, "sysContact %s\n", spec.Contact)
	}
	for _, l := range spec.Extra {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func start(t testing.TB, bin, dir string, port int, spec Spec) (*Agent, error) {
	t.Helper()
	run := filepath.Join(dir, fmt.Sprintf("run-%d", port))
	persist := filepath.Join(run, "persist")
	if err := os.MkdirAll(persist, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(run, "snmpd.conf")
	if err := os.WriteFile(conf, []byte(config(port, spec)), 0o600); err != nil {
		return nil, err
	}
	a := &Agent{Host: "127.0.0.1", Port: port, Dir: run, LogPath: filepath.Join(run, "snmpd.log")}
	pidFile := filepath.Join(run, "snmpd.pid")
	// -f foreground, -C ignore /etc/snmp, -I -smux: no TCP 199 listener.
	cmd := exec.Command(bin, "-f", "-C", "-c", conf, "-Lf", a.LogPath, "-p", pidFile, "-I", "-smux")
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+persist, "MIBS=", "MIBDIRS=/nonexistent")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	a.PID = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(a.PID, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(a.PID, syscall.SIGKILL)
			<-exited
		}
	}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("snmpd on port %d exited early (%v): %s%s", port, err, stderr.String(), a.Log())
		default:
		}
		if answers(a) {
			t.Cleanup(stop)
			return a, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("snmpd on port %d not ready after %s: %s%s", port, startTimeout, stderr.String(), a.Log())
}

// answers sends one SNMPv3 discovery probe and reports whether a Report
// came back (it needs no credential, whatever the spec configures).
func answers(a *Agent) bool {
	probe := &gosnmp.SnmpPacket{
		Version:            gosnmp.Version3,
		MsgFlags:           gosnmp.NoAuthNoPriv | gosnmp.Reportable,
		SecurityModel:      gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{},
		PDUType:            gosnmp.GetRequest,
		MsgID:              uint32(time.Now().UnixNano() & 0x7fffffff),
		RequestID:          1,
		MsgMaxSize:         65507,
	}
	pkt, err := probe.MarshalMsg()
	if err != nil {
		return false
	}
	conn, err := net.DialTimeout("udp", a.Addr(), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	if _, err := conn.Write(pkt); err != nil {
		return false
	}
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	return err == nil && n > 0
}

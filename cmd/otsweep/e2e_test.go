package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/sshd"
)

// cli runs otsweep in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, args, out, errf)
	_ = out.Close()
	_ = errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return code, string(o), string(e)
}

// jsonReport is the part of `scan --format json` the tests read.
type jsonReport struct {
	Sweep struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"sweep"`
	Assets []struct {
		Name        string         `json:"name"`
		Status      string         `json:"status"`
		Error       string         `json:"error"`
		Elevated    bool           `json:"elevated"`
		Complete    bool           `json:"complete"`
		SLTarget    map[string]int `json:"sl_target"`
		SLAchieved  map[string]int `json:"sl_achieved"`
		SLPotential map[string]int `json:"sl_potential"`
		Checks      []struct {
			ID           string   `json:"id"`
			Status       string   `json:"status"`
			Requirements []string `json:"requirements"`
			Evidence     []string `json:"evidence"`
			Message      string   `json:"message"`
		} `json:"checks"`
		Requirements []struct {
			ID     string `json:"id"`
			State  string `json:"state"`
			Reason string `json:"reason"`
			Note   string `json:"note"`
		} `json:"requirements"`
	} `json:"assets"`
}

func parseReport(t *testing.T, out string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("scan output is not JSON: %v\n%s", err, out)
	}
	return r
}

func (r jsonReport) check(asset, id string) string {
	for _, a := range r.Assets {
		if a.Name == asset {
			for _, c := range a.Checks {
				if c.ID == id {
					return c.Status
				}
			}
		}
	}
	return "absent"
}

func (r jsonReport) requirement(asset, id string) (reason, note string) {
	for _, a := range r.Assets {
		if a.Name == asset {
			for _, q := range a.Requirements {
				if q.ID == id {
					return q.Reason, q.Note
				}
			}
		}
	}
	return "", ""
}

func (r jsonReport) state(asset, id string) string {
	for _, a := range r.Assets {
		if a.Name == asset {
			for _, q := range a.Requirements {
				if q.ID == id {
					return q.State
				}
			}
		}
	}
	return "absent"
}

const hardenedSSHD = `PermitRootLogin no
PasswordAuthentication no
PermitEmptyPasswords no
MaxAuthTries 3
HostbasedAuthentication no
IgnoreRhosts yes
ClientAliveInterval 300
ClientAliveCountMax 2
Banner /etc/issue.net
X11Forwarding no
AllowTcpForwarding no
PermitTunnel no
LogLevel VERBOSE
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512
UsePAM no
`

const weakSSHD = `PermitRootLogin yes
PasswordAuthentication yes
X11Forwarding yes
UsePAM no
`

var hardenedFiles = map[string]string{
	"/etc/login.defs":              "MAIL_DIR /var/mail\nPASS_MAX_DAYS 90\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 14\nUID_MIN 1000\nUMASK 027\nENCRYPT_METHOD SHA512\n",
	"/etc/security/pwquality.conf": "# Configuration for systemwide password quality limits\nminlen = 14\nminclass = 4\n",
	"/etc/pam.d/common-password": "password\trequisite\t\t\tpam_pwquality.so retry=3\n" +
		"password\trequired\t\t\tpam_pwhistory.so remember=24 use_authtok\n" +
		"password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt\n" +
		"password\trequisite\t\t\tpam_deny.so\npassword\trequired\t\t\tpam_permit.so\n",
	"/etc/pam.d/common-auth": "auth\trequired\t\t\tpam_faillock.so preauth\n" +
		"auth\t[success=1 default=ignore]\tpam_unix.so\n" +
		"auth\t[default=die]\t\t\tpam_faillock.so authfail\n" +
		"auth\trequisite\t\t\tpam_deny.so\nauth\trequired\t\t\tpam_permit.so\n" +
		"auth\tsufficient\t\t\tpam_faillock.so authsucc\n",
	"/etc/security/faillock.conf":      "deny = 3\nunlock_time = 900\n",
	"/etc/issue":                       "Authorized use only. All activity is monitored and recorded.\n",
	"/etc/issue.net":                   "Authorized use only. All activity is monitored and recorded.\n",
	"/etc/profile.d/tmout.sh":          "TMOUT=600\nreadonly TMOUT\nexport TMOUT\n",
	"/etc/security/limits.conf":        "*               hard    core            0\n",
	"/etc/modprobe.d/usb-storage.conf": "install usb-storage /bin/false\nblacklist usb-storage\n",
	"/etc/snmp/snmpd.conf":             "agentAddress udp:127.0.0.1:161\nrouser -s usm opsv3 authpriv .1\nsysLocation Cell 3\n",
}

var weakFiles = map[string]string{
	"/etc/login.defs": "MAIL_DIR /var/mail\nPASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 7\nUID_MIN 1000\nUMASK 022\nENCRYPT_METHOD MD5\n",
	"/etc/issue":      "Debian GNU/Linux 12 \\n \\l\n\n",
}

type linuxLab struct {
	lab        *sshd.Lab
	dir        string
	key        string
	knownHosts string
}

func startLinuxLab(t *testing.T, extra ...sshd.HostSpec) *linuxLab {
	t.Helper()
	specs := append([]sshd.HostSpec{
		{Name: "hardened", SSHDConfig: hardenedSSHD, Files: hardenedFiles, Sudo: true},
		{Name: "weak", SSHDConfig: weakSSHD, Files: weakFiles, Password: true},
	}, extra...)
	l := &linuxLab{lab: sshd.Start(t, specs...), dir: t.TempDir()}
	l.key = filepath.Join(l.dir, "id_ed25519")
	if err := os.WriteFile(l.key, l.lab.ClientKeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l.knownHosts = l.lab.WriteKnownHosts(t)
	return l
}

// inventory writes an inventory for the lab's hosts.
func (l *linuxLab) inventory(t *testing.T, hosts ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "zones:\n  - name: lab\n    sl_target: 2\ncredentials:\n  - name: lab-key\n    username: %s\n    private_key_file: %s\n    known_hosts: %s\n    sudo: true\nassets:\n",
		sshd.TestUser, l.key, l.knownHosts)
	for _, name := range hosts {
		h := l.lab.Host(name)
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n    port: %d\n    platform: linux\n    transport: ssh\n    credential: lab-key\n    role: linux-server\n    zone: lab\n", name, h.Address, h.Port)
	}
	p := filepath.Join(l.dir, "inventory.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanHardenedAndWeakHosts(t *testing.T) {
	l := startLinuxLab(t)
	inv := l.inventory(t, "hardened", "weak")
	db := filepath.Join(l.dir, "otsweep.db")
	code, out, errOut := cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--timeout", "60s")
	if code != ExitVariance {
		t.Fatalf("exit %d, want %d (variance)\nstderr: %s\nstdout: %s", code, ExitVariance, errOut, out)
	}
	r := parseReport(t, out)
	for _, a := range r.Assets {
		if a.Status != "ok" || !a.Complete {
			t.Fatalf("%s: status %s complete %v: %s", a.Name, a.Status, a.Complete, a.Error)
		}
	}
	want := map[string]map[string]string{
		"hardened": {
			"linux.ssh.root_login": "pass", "linux.ssh.empty_passwords": "pass", "linux.ssh.host_based": "pass", "linux.ssh.password_auth": "pass",
			"linux.ssh.max_auth_tries": "pass", "linux.ssh.banner": "pass", "linux.ssh.idle_timeout": "pass",
			"linux.ssh.x11_forwarding": "pass", "linux.ssh.forwarding": "pass", "linux.log.ssh_loglevel": "pass",
			"linux.ssh.ciphers": "pass", "linux.ssh.macs": "pass", "linux.ssh.kex": "pass",
			"linux.pw.max_age": "pass", "linux.pw.min_age": "pass", "linux.pw.warn_age": "pass", "linux.pw.hashing": "pass",
			"linux.pw.min_length": "pass", "linux.pw.complexity": "pass", "linux.pw.history": "pass", "linux.auth.lockout": "pass",
			"linux.banner.issue": "pass", "linux.session.tmout": "pass", "linux.acct.uid0_only_root": "pass",
			"linux.acct.no_empty_passwords": "pass",
		},
		"weak": {
			"linux.ssh.root_login": "fail", "linux.ssh.banner": "fail", "linux.ssh.idle_timeout": "fail", "linux.ssh.password_auth": "fail",
			"linux.ssh.x11_forwarding": "fail", "linux.pw.max_age": "fail", "linux.pw.min_age": "fail",
			"linux.pw.hashing": "fail", "linux.banner.issue": "fail", "linux.session.tmout": "fail",
			// Without root, sshd -T cannot run and the MACs compiled into
			// this OpenSSH are unknown: an error, never a pass.
			"linux.ssh.macs": "error",
			// /etc/shadow needs root, and the weak host grants no sudo: an error, never a pass.
			"linux.acct.no_empty_passwords": "error",
		},
	}
	for host, checks := range want {
		for id, st := range checks {
			if got := r.check(host, id); got != st {
				t.Errorf("%s: %s = %s, want %s", host, id, got, st)
			}
		}
	}
	for host, states := range map[string]map[string]string{
		"hardened": {"SR 1.12": "met", "SR 2.6": "met", "SR 1.7 RE 1": "met", "SR 1.11": "met", "SR 4.3": "met", "SR 1.1 RE 1": "met"},
		"weak":     {"SR 1.12": "not-met", "SR 2.6": "not-met", "SR 1.7 RE 1": "not-met", "SR 1.1 RE 1": "not-met", "SR 4.3": "not-met", "SR 1.4": "not-assessable"},
	} {
		for id, st := range states {
			if got := r.state(host, id); got != st {
				t.Errorf("%s: %s = %s, want %s", host, id, got, st)
			}
		}
	}
	if testing.Verbose() {
		for _, a := range r.Assets {
			for _, c := range a.Checks {
				if c.Status != "pass" {
					t.Logf("%s %s %s: %s", a.Name, c.ID, c.Status, c.Message)
				}
			}
			for _, q := range a.Requirements {
				if strings.HasPrefix(q.ID, "SR 1.") {
					t.Logf("%s %s %s", a.Name, q.ID, q.State)
				}
			}
		}
	}
	var hard, weak = r.Assets[0], r.Assets[1]
	if hard.Name != "hardened" {
		hard, weak = weak, hard
	}
	if !hard.Elevated || weak.Elevated {
		t.Errorf("elevated: hardened %v (sudo), weak %v (no sudo)", hard.Elevated, weak.Elevated)
	}
	// SR 1.12 (SL 1) is not met on the weak host: FR 1 cannot reach SL 1 even
	// if everything unassessed held; SR 2.5 (tmout) likewise for FR 2.
	if weak.SLPotential["FR 1"] != 0 || weak.SLPotential["FR 2"] != 0 || weak.SLAchieved["FR 1"] != 0 {
		t.Errorf("weak: SL-A %v potential %v", weak.SLAchieved, weak.SLPotential)
	}
	if hard.SLPotential["FR 1"] < 1 || hard.SLPotential["FR 1"] <= weak.SLPotential["FR 1"] {
		t.Errorf("hardened potential FR 1 = %d (weak %d)", hard.SLPotential["FR 1"], weak.SLPotential["FR 1"])
	}
	if hard.SLTarget["FR 1"] != 2 {
		t.Errorf("SL-T FR 1 = %d", hard.SLTarget["FR 1"])
	}
	// The database holds the sweep, and sweeps lists it.
	if code, out, errOut := cli(t, "sweeps", "--db", db, "--json"); code != ExitOK || !strings.Contains(out, `"status": "complete"`) {
		t.Errorf("sweeps --json: exit %d: %s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--asset", "hardened")
	if code != ExitVariance || parseReport(t, out).Sweep.ID != r.Sweep.ID+1 {
		t.Errorf("second sweep: exit %d, id %d after %d", code, parseReport(t, out).Sweep.ID, r.Sweep.ID)
	}
}

func TestScanFailures(t *testing.T) {
	l := startLinuxLab(t, sshd.HostSpec{Name: "hang", ForceCommand: "sleep 600", SSHDConfig: "UsePAM no\n"})
	db := filepath.Join(l.dir, "otsweep.db")
	weak := l.lab.Host("weak")

	t.Run("wrong password", func(t *testing.T) {
		t.Setenv("OTSWEEP_TEST_PW", "not-the-password")
		code, out, _ := cli(t, "scan", "--target", fmt.Sprintf("ssh://%s@%s:%d", sshd.TestUser, weak.Address, weak.Port),
			"--password-env", "OTSWEEP_TEST_PW", "--known-hosts", l.knownHosts, "--db", db, "--format", "json")
		r := parseReport(t, out)
		if code != ExitScanErrors || r.Assets[0].Status != "auth-failed" {
			t.Fatalf("exit %d status %s: %s", code, r.Assets[0].Status, r.Assets[0].Error)
		}
		if strings.Contains(out, "not-the-password") {
			t.Fatal("the password appears in the output")
		}
	})
	t.Run("right password", func(t *testing.T) {
		t.Setenv("OTSWEEP_TEST_PW", weak.Password.Reveal())
		code, out, _ := cli(t, "scan", "--target", fmt.Sprintf("ssh://%s@%s:%d", sshd.TestUser, weak.Address, weak.Port),
			"--password-env", "OTSWEEP_TEST_PW", "--known-hosts", l.knownHosts, "--db", db, "--format", "json")
		r := parseReport(t, out)
		if code != ExitVariance || r.Assets[0].Status != "ok" {
			t.Fatalf("exit %d status %s: %s", code, r.Assets[0].Status, r.Assets[0].Error)
		}
		if strings.Contains(out, weak.Password.Reveal()) {
			t.Fatal("the password appears in the output")
		}
		assertNotInFiles(t, weak.Password.Reveal(), db, db+"-wal")
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		code, out, _ := cli(t, "scan", "--target", fmt.Sprintf("ssh://%s@127.0.0.1:%d", sshd.TestUser, port),
			"--identity", l.key, "--known-hosts", l.knownHosts, "--db", db, "--format", "json")
		r := parseReport(t, out)
		if code != ExitScanErrors || r.Assets[0].Status != "unreachable" {
			t.Fatalf("exit %d status %s: %s", code, r.Assets[0].Status, r.Assets[0].Error)
		}
		for _, c := range r.Assets[0].Checks {
			if c.Status == "pass" {
				t.Fatalf("check %s passes on an unreachable host", c.ID)
			}
		}
	})
	t.Run("hanging script", func(t *testing.T) {
		inv := l.inventory(t, "hang")
		start := time.Now()
		code, out, _ := cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--timeout", "2s")
		r := parseReport(t, out)
		if code != ExitScanErrors || r.Assets[0].Status != "timeout" {
			t.Fatalf("exit %d status %s: %s", code, r.Assets[0].Status, r.Assets[0].Error)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("a 2 s deadline took %s", d)
		}
	})
	t.Run("changed host key", func(t *testing.T) {
		inv := l.inventory(t, "hardened")
		if code, _, errOut := cli(t, "scan", "-i", inv, "--db", db, "--format", "json"); code != ExitVariance {
			t.Fatalf("before the key change: exit %d: %s", code, errOut)
		}
		l.lab.Host("hardened").RotateHostKey(t)
		code, out, _ := cli(t, "scan", "-i", inv, "--db", db, "--format", "json")
		r := parseReport(t, out)
		if code != ExitScanErrors || r.Assets[0].Status != "host-key-mismatch" {
			t.Fatalf("exit %d status %s: %s", code, r.Assets[0].Status, r.Assets[0].Error)
		}
		// Trust on first use never accepts a changed key.
		code, out, _ = cli(t, "scan", "-i", inv, "--db", db, "--format", "json", "--trust-on-first-use")
		if r := parseReport(t, out); code != ExitScanErrors || r.Assets[0].Status != "host-key-mismatch" {
			t.Fatalf("with TOFU: exit %d status %s", code, r.Assets[0].Status)
		}
		// The refusal is recorded: hardened was reachable, now it is refused.
		code, out, errOut := cli(t, "drift", "--db", db, "--asset", "hardened", "--json")
		if code != ExitOK {
			t.Fatalf("drift: exit %d: %s", code, errOut)
		}
		var events []struct {
			Kind, After string
			Regression  bool
		}
		if err := json.Unmarshal([]byte(out), &events); err != nil {
			t.Fatalf("drift --json: %v\n%s", err, out)
		}
		found := false
		for _, e := range events {
			found = found || (e.Kind == "unreachable" && e.Regression && strings.Contains(e.After, "host-key-mismatch"))
		}
		if !found {
			t.Errorf("no unreachable drift event naming host-key-mismatch: %+v", events)
		}
	})
}

// assertNotInFiles fails if secret occurs in any of the files (the database
// and its WAL, logs, reports).
func assertNotInFiles(t *testing.T, secret string, files ...string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("secret found in %s", f)
		}
	}
}

func TestScanUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("assets:\n  - name: a\n    address: 192.0.2.1\n    platform: linux\n    transport: local\n    role: nosuchrole\n    colour: red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"malformed inventory", []string{"scan", "-i", bad}, []string{"bad.yaml:6", "nosuchrole", "bad.yaml:7", "colour"}},
		{"unknown role", []string{"scan", "--target", "local://", "--role", "nosuchrole", "--dry-run"}, []string{"unknown role \"nosuchrole\""}},
		{"no target", []string{"scan"}, []string{"--inventory"}},
		{"bad format", []string{"scan", "--target", "local://", "--format", "xml"}, []string{"--format"}},
		{"password in URL", []string{"scan", "--target", "ssh://u:secret@192.0.2.1"}, []string{"not allowed"}},
		{"bad flag", []string{"scan", "--nope"}, []string{"unknown flag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitUsage, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "secret") {
				t.Error("the password from the URL is echoed")
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			_ = c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	code, out, errOut := cli(t, "scan", "--target", fmt.Sprintf("ssh://otscan@127.0.0.1:%d", port), "--dry-run", "--known-hosts", "/dev/null")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"via ssh to 127.0.0.1:", "command: ", "@@OTSCAN", "schema=otscan.linux/1", "dry run: nothing was sent"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q", w)
		}
	}
	select {
	case <-accepted:
		t.Fatal("dry run connected to the host")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestScanLocal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "otsweep.db")
	code, out, errOut := cli(t, "scan", "--target", "local://", "--db", db, "--format", "json")
	if code != ExitVariance && code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	r := parseReport(t, out)
	a := r.Assets[0]
	if a.Status != "ok" || !a.Complete || len(a.Checks) < 40 {
		t.Fatalf("local scan: status %s complete %v, %d checks: %s", a.Status, a.Complete, len(a.Checks), a.Error)
	}
	if got := r.check(a.Name, "linux.inventory.packages"); got != "pass" {
		t.Errorf("package inventory on this machine: %s", got)
	}
}

package sshd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
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

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/internal/testbed/sshd"
)

// client logs in to h with the Lab's key (or h's password when usePassword)
// and verifies the host key against h.KnownHostsLine.
func client(t *testing.T, lab *sshd.Lab, h *sshd.Host, usePassword bool) *xssh.Client {
	t.Helper()
	kh := lab.WriteKnownHosts(t, h)
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &xssh.ClientConfig{
		User:              h.User,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: []string{xssh.KeyAlgoED25519},
		Timeout:           10 * time.Second,
	}
	if usePassword {
		cfg.Auth = []xssh.AuthMethod{xssh.Password(h.Password.Reveal())}
	} else {
		signer, err := xssh.ParsePrivateKey(h.ClientKeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Auth = []xssh.AuthMethod{xssh.PublicKeys(signer)}
	}
	c, err := xssh.Dial("tcp", h.Addr(), cfg)
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", h.Addr(), err, h.LogTail(10))
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// remote runs line on c and returns its stdout and exit status.
func remote(t *testing.T, c *xssh.Client, line string) (string, int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	s.Stdout = &out
	err = s.Run(line)
	var exit *xssh.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitStatus()
	default:
		t.Fatalf("%q: %v", line, err)
		return "", -1
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestLab(t *testing.T) {
	realFiles := []string{"/etc/login.defs", "/etc/ssh/sshd_config", "/etc/shadow", "/etc/hostname"}
	before := map[string][32]byte{}
	if err := sshd.Available(); err == nil {
		for _, f := range realFiles {
			before[f] = fileHash(t, f)
		}
	}
	var labN int
	var namespaces []string

	t.Run("hosts", func(t *testing.T) {
		lab := sshd.Start(t,
			sshd.HostSpec{
				Name: "hardened",
				Files: map[string]string{
					"/etc/login.defs":             "PASS_MAX_DAYS 60\nPASS_MIN_DAYS 1\n",
					"/etc/security/faillock.conf": "deny = 3\nunlock_time = 900\n",
				},
				SSHDConfig: "PermitRootLogin no\nMaxAuthTries 3\nUsePAM no\nX11Forwarding no\n",
				Sudo:       true,
			},
			sshd.HostSpec{Name: "weak", Password: true, SSHDConfig: "Port 2222\nUsePAM no\n"},
		)
		labN = lab.N
		for _, h := range lab.Hosts {
			namespaces = append(namespaces, h.Namespace)
		}
		hard, weak := lab.Host("hardened"), lab.Host("weak")
		hc, wc := client(t, lab, hard, false), client(t, lab, weak, true)

		tests := []struct {
			name     string
			c        *xssh.Client
			line     string
			want     string
			wantExit int
		}{
			{"own hostname", hc, "hostname", "hardened\n", 0},
			{"other hostname", wc, "hostname", "weak\n", 0},
			{"top-level /etc file overlaid", hc, "grep PASS_MAX_DAYS /etc/login.defs", "PASS_MAX_DAYS 60\n", 0},
			{"file in /etc subdirectory overlaid", hc, "cat /etc/security/faillock.conf", "deny = 3\nunlock_time = 900\n", 0},
			{"other host keeps the machine's file", wc, "grep -c '^deny = 3' /etc/security/faillock.conf", "0\n", 1},
			{"user", hc, "id -un", sshd.TestUser + "\n", 0},
			{"passwordless sudo", hc, "sudo -n id -u", "0\n", 0},
			{"no sudo without Sudo", wc, "sudo -n true 2>/dev/null", "", 1},
			{"sshd -T reports the spec", hc, "sudo -n /usr/sbin/sshd -T | grep -E '^(maxauthtries|permitrootlogin|x11forwarding) '", "maxauthtries 3\npermitrootlogin no\nx11forwarding no\n", 0},
			{"sshd_config in place", hc, "grep -c '^MaxAuthTries 3$' /etc/ssh/sshd_config", "1\n", 0},
			{"hostname resolves for sudo", hc, "getent hosts hardened | wc -l", "2\n", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, exit := remote(t, tt.c, tt.line)
				if got != tt.want || exit != tt.wantExit {
					t.Errorf("%q = %q exit %d, want %q exit %d", tt.line, got, exit, tt.want, tt.wantExit)
				}
			})
		}

		t.Run("address and known_hosts", func(t *testing.T) {
			if hard.Port != 22 || !strings.HasPrefix(hard.KnownHostsLine, hard.Address+" ssh-ed25519 ") {
				t.Errorf("port %d, known_hosts line %q", hard.Port, hard.KnownHostsLine)
			}
			if weak.Port != 2222 || !strings.HasPrefix(weak.KnownHostsLine, "["+weak.Address+"]:2222 ") {
				t.Errorf("port %d, known_hosts line %q", weak.Port, weak.KnownHostsLine)
			}
			if ip := net.ParseIP(hard.Address); ip == nil || ip.Equal(net.ParseIP(weak.Address)) {
				t.Errorf("addresses %s %s", hard.Address, weak.Address)
			}
		})

		t.Run("password is per host", func(t *testing.T) {
			if weak.Password.IsZero() || !hard.Password.IsZero() {
				t.Fatalf("Password set: weak %v, hardened %v", !weak.Password.IsZero(), !hard.Password.IsZero())
			}
			if got, _ := remote(t, hc, "sudo -n getent shadow "+sshd.TestUser+" | cut -d: -f2"); got != "*\n" {
				t.Errorf("hardened shadow field %q, want *", got)
			}
		})

		t.Run("processes and command", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			procs, err := hard.Processes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(procs) == 0 || procs[0].Comm != "sshd" {
				t.Errorf("processes %+v, want the sshd listener first", procs)
			}
			cmd, err := hard.Command(ctx, "cat", "/etc/hostname")
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.Output()
			if err != nil || string(out) != "hardened\n" {
				t.Errorf("Command: %q %v", out, err)
			}
		})

		t.Run("rotate host key", func(t *testing.T) {
			old := weak.HostPublicKey
			weak.RotateHostKey(t)
			if bytes.Equal(old.Marshal(), weak.HostPublicKey.Marshal()) {
				t.Fatal("key unchanged")
			}
			c := client(t, lab, weak, true) // verifies the new key
			if got, _ := remote(t, c, "hostname"); got != "weak\n" {
				t.Errorf("after rotation: %q", got)
			}
		})
	})

	t.Run("torn down", func(t *testing.T) {
		if labN == 0 {
			t.Skip("no lab ran")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ip", "-j", "netns", "list").Output()
		if err != nil {
			t.Fatal(err)
		}
		var live []struct{ Name string }
		if len(bytes.TrimSpace(out)) > 0 {
			if err := json.Unmarshal(out, &live); err != nil {
				t.Fatalf("ip -j netns list: %v", err)
			}
		}
		for _, ns := range namespaces {
			for _, l := range live {
				if l.Name == ns {
					t.Errorf("namespace %s left behind", ns)
				}
			}
			if _, err := os.Stat(filepath.Join("/etc/netns", ns)); err == nil {
				t.Errorf("overlay /etc/netns/%s left behind", ns)
			}
		}
		if _, err := net.InterfaceByName("otlbr" + strconv.Itoa(labN)); err == nil {
			t.Errorf("bridge otlbr%d left behind", labN)
		}
		routes, _ := exec.CommandContext(ctx, "ip", "route", "show", "exact", "10.231."+strconv.Itoa(labN)+".0/24").Output()
		if len(bytes.TrimSpace(routes)) > 0 {
			t.Errorf("route left behind: %s", routes)
		}
		if keys, err := os.ReadFile(filepath.Join("/home", sshd.TestUser, ".ssh/authorized_keys")); err == nil &&
			strings.Contains(string(keys), "otsweep-testbed-"+strconv.Itoa(labN)+"\n") {
			t.Errorf("authorized_keys line left behind")
		}
		for f, h := range before {
			if fileHash(t, f) != h {
				t.Errorf("the machine's %s changed", f)
			}
		}
	})
}

func TestLoopbackFallback(t *testing.T) {
	t.Setenv(sshd.EnvLoopback, "1")
	lab := sshd.Start(t,
		sshd.HostSpec{Name: "lo1", SSHDConfig: "Port 22\nListenAddress 0.0.0.0\nUsePAM no\n"},
		sshd.HostSpec{Name: "lo2", ForceCommand: "echo forced"},
	)
	if !lab.Loopback {
		t.Fatal("Loopback not set")
	}
	for _, h := range lab.Hosts {
		if !strings.HasPrefix(h.Address, "127.") || h.Port == 22 || h.Namespace != "" {
			t.Errorf("%s: %s port %d ns %q", h.Name, h.Address, h.Port, h.Namespace)
		}
		if !strings.HasPrefix(h.KnownHostsLine, "["+h.Address+"]:") {
			t.Errorf("%s: known_hosts line %q", h.Name, h.KnownHostsLine)
		}
	}
	c1 := client(t, lab, lab.Host("lo1"), false)
	if got, _ := remote(t, c1, "id -un"); got != sshd.TestUser+"\n" {
		t.Errorf("lo1: %q", got)
	}
	c2 := client(t, lab, lab.Host("lo2"), false)
	if got, _ := remote(t, c2, "id -un"); got != "forced\n" {
		t.Errorf("lo2 ForceCommand: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	procs, err := lab.Host("lo1").Processes(ctx)
	if err != nil || len(procs) == 0 || procs[0].Comm != "sshd" {
		t.Errorf("processes %+v %v", procs, err)
	}
}

func TestAvailable(t *testing.T) {
	err := sshd.Available()
	if os.Geteuid() != 0 && err == nil {
		t.Error("Available() = nil without root")
	}
	t.Logf("Available() = %v", err)
}

const crashHelperEnv = "OTSWEEP_TESTBED_CRASH_HELPER"

// TestCrashHelper is not a test on its own: TestKilledRunCleanedUp runs it in
// a subprocess that starts a lab and dies without cleanup.
func TestCrashHelper(t *testing.T) {
	out := os.Getenv(crashHelperEnv)
	if out == "" {
		t.Skip("helper for TestKilledRunCleanedUp")
	}
	lab := sshd.Start(t, sshd.HostSpec{Name: "doomed"})
	h := lab.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	procs, err := h.Processes(ctx)
	if err != nil || len(procs) == 0 {
		t.Fatalf("processes: %v", err)
	}
	state := strconv.Itoa(lab.N) + " " + h.Namespace + " " + strconv.Itoa(procs[0].PID)
	if err := os.WriteFile(out, []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
}

func TestKilledRunCleanedUp(t *testing.T) {
	if err := sshd.Available(); err != nil {
		t.Skip(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+state, sshd.EnvLoopback+"=")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("helper did not die: %v\n%s", err, out)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatalf("helper state: %v\n%s", err, out)
	}
	var (
		n, pid int
		ns     string
	)
	if _, err := fmt.Sscan(string(b), &n, &ns, &pid); err != nil {
		t.Fatalf("helper state %q: %v", b, err)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("the killed run's sshd %d is not running: nothing to clean up", pid)
	}
	// The next lab removes what the killed run left.
	sshd.Start(t, sshd.HostSpec{Name: "next"})
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("sshd %d of the killed run still running", pid)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
		t.Errorf("namespace %s still there", ns)
	}
	if _, err := os.Stat(filepath.Join("/etc/netns", ns)); err == nil {
		t.Errorf("overlay /etc/netns/%s still there", ns)
	}
	if _, err := net.InterfaceByName("otlbr" + strconv.Itoa(n)); err == nil {
		t.Errorf("bridge otlbr%d still there", n)
	}
}

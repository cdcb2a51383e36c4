package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// TestUser is the account every Lab host logs in as.
	TestUser = "otscan"

	stateDir   = "/run/otsweep-testbed"
	globalLock = stateDir + "/global.lock"
)

type tool struct{ cmd, pkg string }

// requiredTools lists the commands the test bed runs, with the Debian package
// that provides each.
func requiredTools() []tool {
	return []tool{
		{"ip", "iproute2"},
		{"sshd", "openssh-server"},
		{"sudo", "sudo"},
		{"unshare", "util-linux"},
		{"openssl", "openssl"},
		{"useradd", "passwd"},
	}
}

// Available reports whether Start can run here without installing anything:
// nil, or an error naming what is missing.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("testbed/sshd: needs root (network namespaces, sshd, useradd)")
	}
	if missing := missingTools(); len(missing) > 0 {
		return fmt.Errorf("testbed/sshd: missing commands %s", strings.Join(missing, ", "))
	}
	return nil
}

func missingTools() []string {
	var missing []string
	for _, tl := range requiredTools() {
		if _, err := lookPath(tl.cmd); err != nil {
			missing = append(missing, tl.cmd)
		}
	}
	return missing
}

// lookPath finds cmd in PATH or in the sbin directories a root shell has.
func lookPath(cmd string) (string, error) {
	if p, err := exec.LookPath(cmd); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, cmd)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", cmd, exec.ErrNotFound)
}

// requirePrereqs skips or fails t when the test bed cannot run, and installs
// missing packages when running as root.
func requirePrereqs(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		msg := "testbed/sshd: real-sshd tests need root (network namespaces, sshd, useradd); run the tests as root"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if len(missingTools()) == 0 {
		return
	}
	unlock := lockFile(t, globalLock)
	defer unlock()
	missing := missingTools()
	if len(missing) == 0 {
		return
	}
	pkgs := map[string]bool{}
	for _, tl := range requiredTools() {
		for _, m := range missing {
			if m == tl.cmd {
				pkgs[tl.pkg] = true
			}
		}
	}
	args := []string{"install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120"}
	for _, p := range []string{"openssh-server", "sudo", "iproute2", "openssl", "util-linux", "passwd"} {
		if pkgs[p] {
			args = append(args, p)
		}
	}
	t.Logf("testbed/sshd: missing %s; installing with apt-get %s", strings.Join(missing, ", "), strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "apt-get", args...).CombinedOutput(); err != nil {
		t.Logf("testbed/sshd: apt-get install failed (%v), running apt-get update first:\n%s", err, tail(out, 20))
		if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
			t.Fatalf("testbed/sshd: apt-get update: %v\n%s", err, tail(out, 20))
		}
		if out, err := exec.CommandContext(ctx, "apt-get", args...).CombinedOutput(); err != nil {
			t.Fatalf("testbed/sshd: apt-get install: %v\n%s", err, tail(out, 20))
		}
	}
	if missing := missingTools(); len(missing) > 0 {
		t.Fatalf("testbed/sshd: still missing after install: %s", strings.Join(missing, ", "))
	}
}

// lockFile takes an exclusive flock on path (blocking) and returns the
// unlock function.
func lockFile(t testing.TB, path string) func() {
	t.Helper()
	f, err := openLock(path)
	if err != nil {
		t.Fatalf("testbed/sshd: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("testbed/sshd: lock %s: %v", path, err)
	}
	return func() { f.Close() } // closing the descriptor releases the lock
}

func openLock(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return f, nil
}

// ensureUser creates the test user once and makes its password field "*"
// (no password, but not locked: sshd without PAM refuses even key login for
// a locked "!" account). Callers hold the global lock.
func ensureUser(ctx context.Context) (*user.User, error) {
	if _, err := user.Lookup(TestUser); err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return nil, fmt.Errorf("look up %s: %w", TestUser, err)
		}
		if _, err := run(ctx, "useradd", "-m", "-s", "/bin/sh", TestUser); err != nil {
			return nil, err
		}
	}
	out, err := run(ctx, "getent", "shadow", TestUser)
	if err != nil {
		return nil, err
	}
	fields := strings.Split(strings.TrimSpace(string(out)), ":")
	if len(fields) < 2 || fields[1] != "*" {
		if _, err := run(ctx, "usermod", "-p", "*", TestUser); err != nil {
			return nil, err
		}
	}
	u, err := user.Lookup(TestUser)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", TestUser, err)
	}
	return u, nil
}

// run runs a command and returns its standard output; the error carries the
// command line and its standard error.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return runInput(ctx, nil, name, args...)
}

func runInput(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	path, err := lookPath(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

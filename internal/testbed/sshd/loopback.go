package sshd

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// setupLoopback starts the host as an sshd on 127.231.N.(10+I) with a free
// port and its own -f config: the fallback when namespaces are unavailable.
func (h *Host) setupLoopback(ctx context.Context) error {
	l := h.lab
	name := fmt.Sprintf("h%d", h.index)
	dir := filepath.Join(l.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	h.Address = fmt.Sprintf("127.231.%d.%d", l.N, 10+h.index)
	port, err := freePort(h.Address)
	if err != nil {
		return err
	}
	h.Port = port
	h.keyDir = dir
	h.config = filepath.Join(dir, "sshd_config")
	h.logPath = filepath.Join(l.dir, name+".log")
	h.pidPath = filepath.Join(l.dir, name+".pid")
	if len(h.spec.Files) > 0 {
		l.t.Logf("testbed/sshd: host %s: loopback mode has no per-host /etc; Files ignored", h.Name)
	}
	keys, err := newHostKeys(h.Name)
	if err != nil {
		return err
	}
	if err := h.setKeys(keys); err != nil {
		return err
	}
	spec := h.spec.SSHDConfig
	if spec == "" {
		b, err := os.ReadFile("/etc/ssh/sshd_config")
		if err != nil {
			return fmt.Errorf("machine sshd_config: %w", err)
		}
		spec = string(b)
	}
	spec = commentOut(spec, "port", "listenaddress", "hostkey", "pidfile")
	forced := []directive{
		{"ListenAddress", h.Addr()},
		{"HostKey", filepath.Join(dir, "ssh_host_ed25519_key")},
		{"HostKey", filepath.Join(dir, "ssh_host_ecdsa_key")},
		{"PidFile", "none"},
	}
	if h.spec.ForceCommand != "" {
		forced = append(forced, directive{"ForceCommand", h.spec.ForceCommand})
	}
	cfg, err := composeConfig(spec, []directive{{"MaxStartups", "100:30:200"}}, forced)
	if err != nil {
		return err
	}
	h.SSHDConfig = cfg
	if err := writeFileMode(h.config, []byte(cfg), 0o600); err != nil {
		return err
	}
	if h.spec.Sudo && l.sudoers == "" {
		l.sudoers = loopbackSudoers(l.N)
		if err := writeFileMode(l.sudoers, []byte(TestUser+" ALL=(ALL:ALL) NOPASSWD: ALL\n"), 0o440); err != nil {
			return err
		}
		l.t.Logf("testbed/sshd: loopback mode: %s gets machine-wide sudo while the lab runs", TestUser)
	}
	sshd, err := lookPath("sshd")
	if err != nil {
		return err
	}
	if _, err := run(ctx, sshd, "-t", "-f", h.config); err != nil {
		return fmt.Errorf("sshd_config rejected: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.startLocked(ctx)
}

// freePort returns a TCP port that was free on addr a moment ago.
func freePort(addr string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("free port on %s: %w", addr, err)
	}
	defer ln.Close()
	_, p, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

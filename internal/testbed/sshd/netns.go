package sshd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/otsweep/otsweep/probes"
)

// setupBridge creates the safety route and the lab bridge, in that order.
func (l *Lab) setupBridge(ctx context.Context) error {
	l.routeSet = true
	if _, err := run(ctx, "ip", "route", "replace", "blackhole", l.subnet, "metric", "4000"); err != nil {
		return err
	}
	gw := fmt.Sprintf("10.231.%d.1/24", l.N)
	for _, args := range [][]string{
		{"link", "add", l.bridge, "type", "bridge"},
		{"addr", "add", gw, "dev", l.bridge},
		{"link", "set", l.bridge, "up"},
	} {
		if _, err := run(ctx, "ip", args...); err != nil {
			return err
		}
	}
	return nil
}

// removeNetwork deletes the bridge and the safety route if they exist.
func (l *Lab) removeNetwork(ctx context.Context) error {
	if _, err := net.InterfaceByName(l.bridge); err == nil {
		if _, err := run(ctx, "ip", "link", "del", l.bridge); err != nil {
			return err
		}
	}
	if !l.routeSet {
		return nil
	}
	out, err := run(ctx, "ip", "-j", "route", "show", "type", "blackhole", "exact", l.subnet)
	if err != nil {
		return err
	}
	var routes []map[string]any
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &routes); err != nil {
			return fmt.Errorf("ip route show: %w", err)
		}
	}
	for range routes {
		if _, err := run(ctx, "ip", "route", "del", "blackhole", l.subnet, "metric", "4000"); err != nil {
			return err
		}
	}
	return nil
}

// netnsAvailable checks that a network namespace can be created here.
func netnsAvailable(ctx context.Context, name string) error {
	if _, err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "netns", "del", name)
	return err
}

// setupNetns builds the host's /etc overlay, namespace and veth, checks the
// route, and starts sshd in the namespace.
func (h *Host) setupNetns(ctx context.Context) error {
	l := h.lab
	h.Namespace = fmt.Sprintf("otl%d-%d", l.N, h.index)
	h.Address = fmt.Sprintf("10.231.%d.%d", l.N, 10+h.index)
	h.Port = 22
	h.logPath = filepath.Join(l.dir, h.Namespace+".log")
	h.pidPath = filepath.Join(l.dir, h.Namespace+".pid")
	h.overlay = overlay{root: filepath.Join("/etc/netns", h.Namespace), etc: "/etc"}
	h.keyDir = filepath.Join(h.overlay.root, "ssh")

	if err := h.buildOverlay(ctx); err != nil {
		return err
	}
	veth := fmt.Sprintf("otl%dh%d", l.N, h.index)
	h.nsCreated = true
	if _, err := run(ctx, "ip", "netns", "add", h.Namespace); err != nil {
		h.nsCreated = false
		return err
	}
	for _, args := range [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.Namespace},
		{"link", "set", veth, "master", l.bridge, "up"},
		{"-n", h.Namespace, "addr", "add", h.Address + "/24", "dev", "eth0"},
		{"-n", h.Namespace, "link", "set", "eth0", "up"},
		{"-n", h.Namespace, "link", "set", "lo", "up"},
	} {
		if _, err := run(ctx, "ip", args...); err != nil {
			return err
		}
	}
	r, err := routeGet(ctx, h.Address)
	if err != nil {
		return err
	}
	if r.Dev != l.bridge {
		return fmt.Errorf("route to %s goes via %q, not the lab bridge %s: refusing to send traffic", h.Address, r.Dev, l.bridge)
	}
	sshd, err := lookPath("sshd")
	if err != nil {
		return err
	}
	if _, err := run(ctx, "ip", "netns", "exec", h.Namespace, sshd, "-t"); err != nil {
		return fmt.Errorf("sshd_config rejected: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.startLocked(ctx)
}

// buildOverlay writes the host's /etc changes under /etc/netns/NS.
func (h *Host) buildOverlay(ctx context.Context) error {
	o := h.overlay
	if err := os.RemoveAll(o.root); err != nil {
		return err
	}
	// /etc/ssh without the machine's own host keys.
	if err := o.prepare("ssh", func(rel string) bool { return strings.HasPrefix(rel, "ssh_host_") }); err != nil {
		return err
	}
	if _, err := os.Stat(h.keyDir); err != nil {
		if err := os.MkdirAll(h.keyDir, 0o755); err != nil {
			return err
		}
	}
	for path, content := range h.spec.Files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(path, "/etc/sudoers.d/") {
			mode = 0o440
		}
		if err := o.writeFile(path, []byte(content), mode); err != nil {
			return err
		}
	}
	spec := h.spec.SSHDConfig
	if spec == "" {
		b, err := os.ReadFile("/etc/ssh/sshd_config")
		if err != nil {
			return fmt.Errorf("machine sshd_config: %w", err)
		}
		spec = string(b)
	}
	if p := globalValue(spec, "port"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return fmt.Errorf("sshd_config Port %q", p)
		}
		h.Port = port
	}
	keys, err := newHostKeys(h.Name)
	if err != nil {
		return err
	}
	if err := h.setKeys(keys); err != nil {
		return err
	}
	var forced []directive
	if h.spec.ForceCommand != "" {
		forced = append(forced, directive{"ForceCommand", h.spec.ForceCommand})
	}
	cfg, err := composeConfig(spec, labDefaults("/etc/ssh"), forced)
	if err != nil {
		return err
	}
	h.SSHDConfig = cfg
	if err := o.writeFile("/etc/ssh/sshd_config", []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := o.editFile("/etc/hosts", 0o644, func(b []byte) ([]byte, error) {
		if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n")) {
			b = append(b, '\n')
		}
		return append(b, fmt.Sprintf("127.0.1.1\t%s\n%s\t%s\n", h.Name, h.Address, h.Name)...), nil
	}); err != nil {
		return err
	}
	if _, ok := h.spec.Files["/etc/hostname"]; !ok {
		if err := o.writeFile("/etc/hostname", []byte(h.Name+"\n"), 0o644); err != nil {
			return err
		}
	}
	if h.spec.Sudo {
		rule := TestUser + " ALL=(ALL:ALL) NOPASSWD: ALL\n"
		if err := o.writeFile("/etc/sudoers.d/otsweep-testbed", []byte(rule), 0o440); err != nil {
			return err
		}
	}
	if h.spec.Password {
		pw, err := randomPassword()
		if err != nil {
			return err
		}
		hash, err := runInput(ctx, []byte(pw+"\n"), "openssl", "passwd", "-6", "-stdin")
		if err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
		if err := o.editFile("/etc/shadow", 0o640, func(b []byte) ([]byte, error) {
			return setShadowHash(b, TestUser, strings.TrimSpace(string(hash)))
		}); err != nil {
			return err
		}
		h.Password = probes.NewSecret(pw)
	}
	return nil
}

// setShadowHash replaces user's password field in shadow content.
func setShadowHash(shadow []byte, user, hash string) ([]byte, error) {
	lines := strings.Split(string(shadow), "\n")
	for i, line := range lines {
		fields := strings.Split(line, ":")
		if len(fields) >= 2 && fields[0] == user {
			fields[1] = hash
			lines[i] = strings.Join(fields, ":")
			return []byte(strings.Join(lines, "\n")), nil
		}
	}
	return nil, fmt.Errorf("user %s not in /etc/shadow", user)
}

type route struct {
	Type    string `json:"type"`
	Dev     string `json:"dev"`
	Gateway string `json:"gateway"`
}

// routeGet asks the kernel how it would route to addr. A destination that is
// blackholed is reported as a route of type "blackhole".
func routeGet(ctx context.Context, addr string) (route, error) {
	out, err := run(ctx, "ip", "-j", "route", "get", addr)
	if err != nil {
		// `ip route get` fails (EINVAL) for a blackholed destination; ask
		// the routing table whether that is why.
		if bh, bhErr := run(ctx, "ip", "-j", "route", "show", "type", "blackhole", "match", addr); bhErr == nil {
			var rs []route
			if json.Unmarshal(bh, &rs) == nil && len(rs) > 0 {
				return route{Type: "blackhole"}, nil
			}
		}
		return route{}, err
	}
	var rs []route
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) == 0 {
		return route{}, fmt.Errorf("ip route get %s: unexpected output %q", addr, out)
	}
	return rs[0], nil
}

func netnsList(ctx context.Context) ([]string, error) {
	out, err := run(ctx, "ip", "-j", "netns", "list")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	var entries []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name)
	}
	return names, nil
}

func netnsPids(ctx context.Context, ns string) ([]int, error) {
	out, err := run(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("ip netns pids %s: %q", ns, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// deleteNamespace kills every process left in ns, then deletes it (which
// also removes its veth pair).
func deleteNamespace(ctx context.Context, ns string) error {
	for range 5 {
		pids, err := netnsPids(ctx, ns)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("kill %d in %s: %w", pid, ns, err)
			}
		}
		for _, pid := range pids {
			killAndWait(pid)
		}
	}
	if _, err := run(ctx, "ip", "netns", "del", ns); err != nil {
		return err
	}
	return nil
}

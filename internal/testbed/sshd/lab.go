package sshd

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/probes"
)

// EnvLoopback, set to "1", makes Start use the loopback fallback even where
// network namespaces work.
const EnvLoopback = "OTSWEEP_TESTBED_LOOPBACK"

const (
	setupTimeout = 2 * time.Minute
	readyTimeout = 10 * time.Second
	stopTimeout  = 3 * time.Second
	maxHosts     = 200
)

// HostSpec describes one host of a Lab.
type HostSpec struct {
	// Name is the host's name and hostname: lower-case letters, digits and
	// '-', unique within the Lab.
	Name string
	// Files maps absolute /etc paths to content, overlaid for this host only
	// (mode and owner of an existing file are kept; new files get 0644, or
	// 0440 under /etc/sudoers.d). /etc/ssh/sshd_config is set with SSHDConfig.
	Files map[string]string
	// SSHDConfig is the host's /etc/ssh/sshd_config (empty: the machine's
	// own). The lab prepends only keywords it leaves unset; see the package
	// documentation.
	SSHDConfig string
	// Sudo gives the test user passwordless sudo on this host.
	Sudo bool
	// ForceCommand, when set, is added as a global ForceCommand.
	ForceCommand string
	// Password gives the test user a random password on this host
	// (Host.Password).
	Password bool
}

// Lab is a set of running sshd hosts. It is torn down by t.Cleanup.
type Lab struct {
	// N is the lab number: subnet 10.231.N.0/24 in namespace mode,
	// 127.231.N.0/24 in loopback mode.
	N int
	// Hosts are the started hosts, in the order of the specs.
	Hosts []*Host
	// ClientKeyPEM is the test user's ed25519 private key (OpenSSH PEM),
	// authorized on every host of the Lab.
	ClientKeyPEM []byte
	// ClientKey is the same key, for an in-process agent.
	ClientKey crypto.Signer
	// Loopback is true when the Lab runs in the loopback fallback mode.
	Loopback bool

	t        testing.TB
	lock     *os.File
	dir      string // stateDir/N: logs, pid files, loopback configs
	bridge   string
	subnet   string
	authLine string // the line added to authorized_keys
	home     string
	uid, gid int
	sudoers  string // loopback mode: machine-wide sudoers file, if any
	routeSet bool
}

// Host is one running sshd of a Lab. Its exported fields are read-only for
// callers and change only in RotateHostKey.
type Host struct {
	Name    string
	Address string
	Port    int
	User    string
	// ClientKeyPEM is the Lab's client key.
	ClientKeyPEM []byte
	// Password is the test user's password on this host (zero unless
	// HostSpec.Password).
	Password probes.Secret
	// HostPublicKey is the host's ed25519 host key. The host also has an
	// ECDSA P-256 key, which is not in KnownHostsLine: a client that does not
	// restrict HostKeyAlgorithms to the known key types fails against it.
	HostPublicKey ssh.PublicKey
	// HostECDSAKey is the host's ECDSA host key.
	HostECDSAKey ssh.PublicKey
	// KnownHostsLine is the known_hosts line for HostPublicKey ("ADDR ..."
	// on port 22, "[ADDR]:PORT ..." otherwise).
	KnownHostsLine string
	// SSHDConfig is the exact /etc/ssh/sshd_config the host runs with.
	SSHDConfig string
	// Namespace is the network namespace ("" in loopback mode).
	Namespace string

	lab       *Lab
	spec      HostSpec
	index     int
	keys      hostKeys
	keyDir    string // where the host keys live on the machine's filesystem
	config    string // loopback: the -f config file
	logPath   string
	pidPath   string
	overlay   overlay
	nsCreated bool

	mu   sync.Mutex
	proc *sshdProc
}

var hostNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Start starts one sshd per spec and registers their teardown with t.Cleanup.
// It skips t (or fails it when CI is set) when not running as root, and fails
// t when a host cannot be started. Setup is bounded by two minutes.
func Start(t testing.TB, specs ...HostSpec) *Lab {
	t.Helper()
	requirePrereqs(t)
	if err := validateSpecs(specs); err != nil {
		t.Fatalf("testbed/sshd: %v", err)
	}
	loopback := os.Getenv(EnvLoopback) == "1"
	if loopback {
		skipUnsupportedLoopback(t, specs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	lab := &Lab{t: t}
	lab.allocate(ctx, t) // registers lab.close with t.Cleanup

	if !loopback {
		if err := netnsAvailable(ctx, fmt.Sprintf("otl%d-probe", lab.N)); err != nil {
			t.Logf("testbed/sshd: network namespaces unavailable (%v); using the loopback fallback", err)
			skipUnsupportedLoopback(t, specs)
			loopback = true
		}
	}
	lab.Loopback = loopback

	client, err := newKeyPair("ed25519", fmt.Sprintf("otsweep-testbed-%d", lab.N))
	if err != nil {
		t.Fatalf("testbed/sshd: %v", err)
	}
	lab.ClientKeyPEM, lab.ClientKey = client.PEM, client.Private
	if err := lab.authorize(ctx, client.Public); err != nil {
		t.Fatalf("testbed/sshd: %v", err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		t.Fatalf("testbed/sshd: %v", err)
	}
	if !loopback {
		if err := lab.setupBridge(ctx); err != nil {
			t.Fatalf("testbed/sshd: %v", err)
		}
	}
	for i, spec := range specs {
		h := &Host{
			Name:         spec.Name,
			User:         TestUser,
			ClientKeyPEM: lab.ClientKeyPEM,
			lab:          lab,
			spec:         spec,
			index:        i + 1,
		}
		lab.Hosts = append(lab.Hosts, h)
		if loopback {
			err = h.setupLoopback(ctx)
		} else {
			err = h.setupNetns(ctx)
		}
		if err != nil {
			t.Fatalf("testbed/sshd: host %s: %v", spec.Name, err)
		}
	}
	return lab
}

func validateSpecs(specs []HostSpec) error {
	if len(specs) == 0 {
		return errors.New("no hosts")
	}
	if len(specs) > maxHosts {
		return fmt.Errorf("%d hosts: at most %d per lab", len(specs), maxHosts)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if !hostNameRE.MatchString(s.Name) {
			return fmt.Errorf("host name %q: use lower-case letters, digits and '-'", s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("host name %q used twice", s.Name)
		}
		seen[s.Name] = true
		for p := range s.Files {
			clean := filepath.Clean(p)
			if !strings.HasPrefix(clean, "/etc/") || clean != p {
				return fmt.Errorf("host %s: file %q is not a clean absolute /etc path", s.Name, p)
			}
			if clean == "/etc/ssh/sshd_config" {
				return fmt.Errorf("host %s: set /etc/ssh/sshd_config with SSHDConfig", s.Name)
			}
			if strings.HasPrefix(clean, "/etc/netns/") {
				return fmt.Errorf("host %s: %s cannot be overlaid", s.Name, p)
			}
		}
		if strings.ContainsAny(s.ForceCommand, "\n\r") {
			return fmt.Errorf("host %s: ForceCommand must be one line", s.Name)
		}
	}
	return nil
}

func skipUnsupportedLoopback(t testing.TB, specs []HostSpec) {
	t.Helper()
	for _, s := range specs {
		if s.Password {
			t.Skipf("testbed/sshd: host %s needs a per-host password, which the loopback fallback cannot give (no /etc overlay)", s.Name)
		}
	}
}

// allocate takes the first free lab number, removes whatever a crashed run
// left behind under it, and registers the teardown.
func (l *Lab) allocate(ctx context.Context, t testing.TB) {
	t.Helper()
	if err := sweepStale(ctx, t); err != nil {
		t.Fatalf("testbed/sshd: removing leftovers of killed test runs: %v", err)
	}
	start := os.Getpid() % 254
	for k := range 254 {
		n := (start+k)%254 + 1
		f, err := openLock(filepath.Join(stateDir, fmt.Sprintf("lab-%d.lock", n)))
		if err != nil {
			t.Fatalf("testbed/sshd: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			t.Fatalf("testbed/sshd: lock lab %d: %v", n, err)
		}
		l.N, l.lock = n, f
		l.bridge = fmt.Sprintf("otlbr%d", n)
		l.subnet = fmt.Sprintf("10.231.%d.0/24", n)
		l.dir = filepath.Join(stateDir, strconv.Itoa(n))
		if err := l.removeStale(ctx); err != nil {
			t.Fatalf("testbed/sshd: lab %d: removing leftovers of an earlier run: %v", n, err)
		}
		if inUse, err := subnetInUse(ctx, fmt.Sprintf("10.231.%d.11", n)); err != nil {
			t.Fatalf("testbed/sshd: %v", err)
		} else if inUse {
			f.Close()
			continue
		}
		if err := os.MkdirAll(l.dir, 0o700); err != nil {
			t.Fatalf("testbed/sshd: %v", err)
		}
		t.Cleanup(l.close)
		return
	}
	t.Fatal("testbed/sshd: all 254 lab numbers are in use")
}

// sweepStale removes the leftovers of every lab whose test binary died
// without cleaning up: a lab number with a state directory or namespaces
// whose lock nobody holds.
func sweepStale(ctx context.Context, t testing.TB) error {
	names, err := netnsList(ctx)
	if err != nil {
		return err
	}
	locks, _ := filepath.Glob(filepath.Join(stateDir, "lab-*.lock"))
	for _, lock := range locks {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(lock), "lab-"), ".lock"))
		if err != nil || n < 1 || n > 254 {
			continue
		}
		_, dirErr := os.Stat(filepath.Join(stateDir, strconv.Itoa(n)))
		stale := dirErr == nil
		for _, ns := range names {
			stale = stale || strings.HasPrefix(ns, fmt.Sprintf("otl%d-", n))
		}
		if !stale {
			continue
		}
		f, err := openLock(lock)
		if err != nil {
			return err
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // a live lab
			continue
		}
		old := &Lab{t: t, N: n, bridge: fmt.Sprintf("otlbr%d", n), subnet: fmt.Sprintf("10.231.%d.0/24", n), dir: filepath.Join(stateDir, strconv.Itoa(n))}
		err = old.removeStale(ctx)
		f.Close()
		if err != nil {
			return fmt.Errorf("lab %d: %w", n, err)
		}
		t.Logf("testbed/sshd: removed leftovers of lab %d from a killed test run", n)
	}
	return nil
}

// subnetInUse reports whether addr is reached over a directly connected
// route that is not the lab's (some real network uses the subnet).
func subnetInUse(ctx context.Context, addr string) (bool, error) {
	r, err := routeGet(ctx, addr)
	if err != nil {
		return false, err
	}
	return r.Dev != "" && r.Gateway == "" && r.Type != "blackhole", nil
}

// authorize adds the client key to the test user's authorized_keys.
func (l *Lab) authorize(ctx context.Context, pub ssh.PublicKey) error {
	unlock := lockFile(l.t, globalLock)
	defer unlock()
	u, err := ensureUser(ctx)
	if err != nil {
		return err
	}
	l.uid, _ = strconv.Atoi(u.Uid)
	l.gid, _ = strconv.Atoi(u.Gid)
	l.home = u.HomeDir
	l.authLine = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + l.tag()
	return l.editAuthorizedKeys(func(lines []string) []string { return append(lines, l.authLine) })
}

func (l *Lab) tag() string { return fmt.Sprintf("otsweep-testbed-%d", l.N) }

// editAuthorizedKeys rewrites ~otscan/.ssh/authorized_keys. Callers hold the
// global lock.
func (l *Lab) editAuthorizedKeys(edit func([]string) []string) error {
	if l.home == "" {
		u, err := user.Lookup(TestUser)
		if err != nil {
			var unknown user.UnknownUserError
			if errors.As(err, &unknown) {
				return nil // nothing to clean
			}
			return fmt.Errorf("look up %s: %w", TestUser, err)
		}
		l.uid, _ = strconv.Atoi(u.Uid)
		l.gid, _ = strconv.Atoi(u.Gid)
		l.home = u.HomeDir
	}
	dir := filepath.Join(l.home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	if err := os.Chown(dir, l.uid, l.gid); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	path := filepath.Join(dir, "authorized_keys")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	var lines []string
	for _, line := range strings.Split(string(old), "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	lines = edit(lines)
	content := strings.Join(lines, "\n")
	if content != "" {
		content += "\n"
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	if err := os.Chown(tmp, l.uid, l.gid); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	return nil
}

// Host returns the host named name, or nil.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// KnownHosts returns known_hosts content with the lines of hosts (all hosts
// of the Lab when none are given).
func (l *Lab) KnownHosts(hosts ...*Host) string {
	if len(hosts) == 0 {
		hosts = l.Hosts
	}
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(h.KnownHostsLine + "\n")
	}
	return b.String()
}

// WriteKnownHosts writes KnownHosts(hosts...) to a new file in t.TempDir()
// and returns its path.
func (l *Lab) WriteKnownHosts(t testing.TB, hosts ...*Host) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(l.KnownHosts(hosts...)), 0o600); err != nil {
		t.Fatalf("testbed/sshd: %v", err)
	}
	return path
}

// Addr returns "address:port".
func (h *Host) Addr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// setKeys records freshly generated host keys and writes them to keyDir.
func (h *Host) setKeys(keys hostKeys) error {
	for _, k := range []struct {
		name string
		kp   keyPair
	}{{"ssh_host_ed25519_key", keys.ed25519}, {"ssh_host_ecdsa_key", keys.ecdsa}} {
		if err := writeFileMode(filepath.Join(h.keyDir, k.name), k.kp.PEM, 0o600); err != nil {
			return err
		}
		if err := writeFileMode(filepath.Join(h.keyDir, k.name+".pub"), ssh.MarshalAuthorizedKey(k.kp.Public), 0o644); err != nil {
			return err
		}
	}
	h.keys = keys
	h.HostPublicKey = keys.ed25519.Public
	h.HostECDSAKey = keys.ecdsa.Public
	h.KnownHostsLine = knownhosts.Line([]string{knownhosts.Normalize(h.Addr())}, h.HostPublicKey)
	return nil
}

func writeFileMode(path string, content []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, content, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}

// labDefaults are the sshd_config lines the lab adds where the spec is silent.
func labDefaults(keyDir string) []directive {
	return []directive{
		{"HostKey", filepath.Join(keyDir, "ssh_host_ed25519_key")},
		{"HostKey", filepath.Join(keyDir, "ssh_host_ecdsa_key")},
		{"PidFile", "none"},
		{"MaxStartups", "100:30:200"},
	}
}

// RotateHostKey replaces the host's keys with new ones and restarts its sshd,
// as a re-imaged host would. Fields HostPublicKey, HostECDSAKey and
// KnownHostsLine change; existing sessions keep running.
func (h *Host) RotateHostKey(t testing.TB) {
	t.Helper()
	keys, err := newHostKeys(h.Name)
	if err != nil {
		t.Fatalf("testbed/sshd: %v", err)
	}
	if err := h.setKeys(keys); err != nil {
		t.Fatalf("testbed/sshd: host %s: %v", h.Name, err)
	}
	if err := h.Restart(); err != nil {
		t.Fatalf("testbed/sshd: host %s: %v", h.Name, err)
	}
}

// Restart stops the host's sshd listener and starts it again.
func (h *Host) Restart() error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc != nil {
		if err := h.proc.stop(); err != nil {
			return err
		}
		h.proc = nil
	}
	return h.startLocked(ctx)
}

// startLocked starts sshd and waits until it answers with an SSH banner.
func (h *Host) startLocked(ctx context.Context) error {
	sshd, err := lookPath("sshd")
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	if h.Namespace != "" {
		ip, err := lookPath("ip")
		if err != nil {
			return err
		}
		unshare, err := lookPath("unshare")
		if err != nil {
			return err
		}
		// ip netns exec, unshare and sh all exec: the child's PID is sshd's.
		cmd = exec.Command(ip, "netns", "exec", h.Namespace, unshare, "--uts", "/bin/sh", "-c",
			`hostname "$1" && exec "$2" -D -E "$3"`, "sh", h.Name, sshd, h.logPath)
	} else {
		cmd = exec.Command(sshd, "-D", "-f", h.config, "-E", h.logPath)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: sshd's session processes inherit stderr, and a
	// pipe would keep Wait from returning until the last session ends.
	stderr, err := os.OpenFile(h.logPath+".stderr", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("sshd stderr: %w", err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	p := &sshdProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.proc = p
	if err := os.WriteFile(h.pidPath, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			log, _ := os.ReadFile(h.logPath)
			errOut, _ := os.ReadFile(h.logPath + ".stderr")
			return fmt.Errorf("sshd exited: %v: %s\n%s", p.err, strings.TrimSpace(string(errOut)), tail(log, 20))
		case <-ctx.Done():
			return fmt.Errorf("waiting for sshd: %w", ctx.Err())
		default:
		}
		if bannerOK(h.Addr()) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(h.logPath)
	return fmt.Errorf("sshd on %s not ready after %s\n%s", h.Addr(), readyTimeout, tail(log, 20))
}

// bannerOK reports whether addr answers with an SSH version banner.
func bannerOK(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4)
	n, _ := conn.Read(buf)
	return string(buf[:n]) == "SSH-"
}

// sshdProc is a running sshd listener started by the lab.
type sshdProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// pid returns the listener's process ID.
func (p *sshdProc) pid() int { return p.cmd.Process.Pid }

// stop ends sshd with SIGTERM, then SIGKILL, and waits until it is gone.
func (p *sshdProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("sshd pid %d did not exit", p.pid())
	}
}

// Process is a process running on a host.
type Process struct {
	PID  int
	Comm string   // /proc/PID/comm
	Args []string // /proc/PID/cmdline
}

// Processes lists the processes of the host: every process in its network
// namespace, or in loopback mode every descendant of its sshd listener.
func (h *Host) Processes(ctx context.Context) ([]Process, error) {
	var pids []int
	if h.Namespace != "" {
		var err error
		if pids, err = netnsPids(ctx, h.Namespace); err != nil {
			return nil, err
		}
	} else {
		h.mu.Lock()
		p := h.proc
		h.mu.Unlock()
		if p == nil {
			return nil, nil
		}
		pids = descendants(p.pid())
	}
	var procs []Process
	for _, pid := range pids {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue // exited meanwhile
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		procs = append(procs, Process{
			PID:  pid,
			Comm: strings.TrimSpace(string(comm)),
			Args: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"),
		})
	}
	return procs, nil
}

// Command returns a command that runs inside the host: in the namespaces
// (network, mount with the /etc overlay, hostname) of its sshd in namespace
// mode, plainly on the machine in loopback mode.
func (h *Host) Command(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	if h.Namespace == "" {
		return exec.CommandContext(ctx, name, args...), nil
	}
	h.mu.Lock()
	p := h.proc
	h.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("host %s: sshd not running", h.Name)
	}
	nsenter, err := lookPath("nsenter")
	if err != nil {
		return nil, err
	}
	full := append([]string{"--target", strconv.Itoa(p.pid()), "--mount", "--uts", "--net", "--", name}, args...)
	return exec.CommandContext(ctx, nsenter, full...), nil
}

// LogTail returns the last lines of the host's sshd log.
func (h *Host) LogTail(lines int) string {
	b, err := os.ReadFile(h.logPath)
	if err != nil {
		return fmt.Sprintf("(no sshd log: %v)", err)
	}
	return tail(b, lines)
}

// randomPassword returns a random password that is safe on a chpasswd or
// openssl stdin line.
func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// close tears the Lab down; it runs from t.Cleanup, also after failures.
func (l *Lab) close() {
	t := l.t
	for _, h := range l.Hosts {
		if t.Failed() {
			t.Logf("testbed/sshd: host %s sshd log:\n%s", h.Name, h.LogTail(30))
		}
		h.mu.Lock()
		if h.proc != nil {
			if err := h.proc.stop(); err != nil {
				t.Errorf("testbed/sshd: host %s: %v", h.Name, err)
			}
			h.proc = nil
		}
		h.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	for _, h := range l.Hosts {
		if h.Namespace != "" && h.nsCreated {
			if err := deleteNamespace(ctx, h.Namespace); err != nil {
				t.Errorf("testbed/sshd: %v", err)
			}
		}
		if h.overlay.root != "" {
			if err := os.RemoveAll(h.overlay.root); err != nil {
				t.Errorf("testbed/sshd: %v", err)
			}
		}
	}
	if err := l.removeNetwork(ctx); err != nil {
		t.Errorf("testbed/sshd: %v", err)
	}
	if l.sudoers != "" {
		if err := os.Remove(l.sudoers); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("testbed/sshd: %v", err)
		}
	}
	if l.authLine != "" {
		unlock := lockFile(t, globalLock)
		err := l.editAuthorizedKeys(func(lines []string) []string { return without(lines, l.tag()) })
		unlock()
		if err != nil {
			t.Errorf("testbed/sshd: %v", err)
		}
	}
	if err := os.RemoveAll(l.dir); err != nil {
		t.Errorf("testbed/sshd: %v", err)
	}
	l.lock.Close()
}

// without drops the lines that end with the given tag.
func without(lines []string, tag string) []string {
	var keep []string
	for _, line := range lines {
		if !strings.HasSuffix(line, " "+tag) {
			keep = append(keep, line)
		}
	}
	return keep
}

// removeStale removes what an earlier, killed run left under this lab number.
// The caller holds the lab's lock, so no live Lab uses any of it.
func (l *Lab) removeStale(ctx context.Context) error {
	// sshd listeners recorded in pid files (loopback mode; namespace mode
	// processes go with their namespace below).
	pidFiles, _ := filepath.Glob(filepath.Join(l.dir, "*.pid"))
	for _, pf := range pidFiles {
		b, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "sshd" {
			killAndWait(pid)
		}
	}
	names, err := netnsList(ctx)
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("otl%d-", l.N)
	for _, ns := range names {
		if strings.HasPrefix(ns, prefix) {
			if err := deleteNamespace(ctx, ns); err != nil {
				return err
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join("/etc/netns", prefix+"*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	l.routeSet = true // remove any leftover route too
	if err := l.removeNetwork(ctx); err != nil {
		return err
	}
	l.routeSet = false
	if err := os.Remove(loopbackSudoers(l.N)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	unlock := lockFile(l.t, globalLock)
	err = l.editAuthorizedKeys(func(lines []string) []string { return without(lines, l.tag()) })
	unlock()
	if err != nil {
		return err
	}
	return os.RemoveAll(l.dir)
}

func loopbackSudoers(n int) string { return fmt.Sprintf("/etc/sudoers.d/otsweep-testbed-%d", n) }

// killAndWait sends SIGTERM, then SIGKILL, to a process that is not our
// child and waits (kill -0) until it is gone.
func killAndWait(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 150; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if i == 100 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// descendants returns pid and all its descendants, from /proc.
func descendants(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name may contain spaces and parentheses: fields
		// start after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(fields[1])
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

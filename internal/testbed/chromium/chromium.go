// Package chromium runs a real headless Chromium for tests: it loads a page
// (file:// or a server on loopback), dumps the DOM after scripts ran, takes
// screenshots and prints PDFs, and records every request the browser tries
// to make to any host other than 127.0.0.1, so a test can prove a page loads
// nothing from outside.
//
// How external requests are caught: Chromium runs with
// --proxy-server=http://127.0.0.1:PORT, where PORT is a recording proxy this
// package starts, and --host-resolver-rules="MAP * ~NOTFOUND , EXCLUDE
// 127.0.0.1", so no name resolves and no packet leaves the machine. Chromium
// never proxies loopback, so a dashboard on 127.0.0.1 is reached directly;
// every other http, https (CONNECT) or ws request goes to the proxy, which
// records it and answers 403. QUIC and background networking are off.
//
// Every browser run is bounded in time (30 s by default) and runs in its own
// process group, which is killed when the run ends.
package chromium

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// fontFile is shipped by fonts-dejavu-core; without a font Chromium renders
// no text in screenshots.
const fontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// DefaultTimeout bounds one browser run.
const DefaultTimeout = 30 * time.Second

// ErrBrowser: Chromium failed, timed out or produced nothing.
var ErrBrowser = errors.New("chromium failed")

// Request is one request the browser tried to send off loopback.
type Request struct {
	Method string // GET, CONNECT, ...
	Host   string
	URL    string
}

func (r Request) String() string { return r.Method + " " + r.URL }

// Browser runs headless Chromium. It is safe for concurrent use; each run
// gets its own profile directory.
type Browser struct {
	path    string
	proxy   *recorder
	dir     string
	Timeout time.Duration // per run; DefaultTimeout when zero
	// Size is the window size for screenshots, "W,H" (default "1280,2000").
	Size string
}

// New returns a Browser for t: it finds Chromium at Path, installing the
// Debian packages chromium and fonts-dejavu-core with apt-get when it is
// missing and the test runs as root. Without root it fails the test when the
// environment variable CI is set and skips it otherwise. The recording proxy
// is stopped when t ends.
func New(t testing.TB) *Browser {
	t.Helper()
	ensureInstalled(t)
	rec, err := startRecorder()
	if err != nil {
		t.Fatalf("testbed/chromium: %v", err)
	}
	t.Cleanup(rec.close)
	return &Browser{path: Path, proxy: rec, dir: t.TempDir()}
}

// Available reports whether Chromium and its font are installed.
func Available() bool {
	for _, f := range []string{Path, fontFile} {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

func ensureInstalled(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	if os.Geteuid() != 0 {
		msg := "testbed/chromium: " + Path + " or its fonts are missing and installing them needs root (apt-get install chromium fonts-dejavu-core)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	unlock, err := lock("/run/otsweep-testbed/chromium.lock")
	if err != nil {
		t.Fatalf("testbed/chromium: %v", err)
	}
	defer unlock()
	if Available() {
		return
	}
	args := []string{"install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120", "chromium", "fonts-dejavu-core"}
	t.Logf("testbed/chromium: Chromium is missing; installing Debian's chromium and fonts-dejavu-core: apt-get %s", strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	apt := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	if out, err := apt(args...); err != nil {
		t.Logf("testbed/chromium: apt-get install failed (%v); running apt-get update first:\n%s", err, tail(out, 20))
		if out, err := apt("update"); err != nil {
			t.Fatalf("testbed/chromium: apt-get update: %v\n%s", err, tail(out, 20))
		}
		if out, err := apt(args...); err != nil {
			t.Fatalf("testbed/chromium: apt-get install: %v\n%s", err, tail(out, 20))
		}
	}
	if !Available() {
		t.Fatalf("testbed/chromium: %s or %s still missing after apt-get install", Path, fontFile)
	}
}

// lock takes an exclusive flock on path so that test binaries running in
// parallel install only once.
func lock(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// flags are the command-line switches of every run: headless, no sandbox
// (tests run as root), nothing in the background, no QUIC, every name
// unresolvable except 127.0.0.1, and every non-loopback request through the
// recording proxy. Pages never reach the closed port 9 on loopback used
// below: it only silences the browser's own services.
func (b *Browser) flags(profile string) []string {
	size := b.Size
	if size == "" {
		size = "1280,2000"
	}
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-dev-shm-usage", "--disable-breakpad", "--disable-domain-reliability",
		"--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
		// Chromium's own services still call home despite the switches above
		// (measured with Chromium 156: network time, the component updater's
		// update2/json, accounts.google.com). Their requests would go through
		// the recording proxy and fail every test, so they are turned off or
		// pointed at a closed loopback port, where they end at once.
		"--disable-features=NetworkTimeServiceQuerying,Translate,MediaRouter,OptimizationHints",
		"--component-updater=url-source=http://127.0.0.1:9/",
		"--gaia-url=http://127.0.0.1:9/",
		"--user-data-dir=" + profile,
		"--window-size=" + size,
		"--proxy-server=http://" + b.proxy.addr,
		"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
	}
}

// run starts Chromium with the common flags plus extra and url, waits for it
// within the timeout and returns its standard output. The whole process
// group is killed when the run ends, however it ends.
func (b *Browser) run(ctx context.Context, url string, extra ...string) ([]byte, error) {
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	profile, err := os.MkdirTemp(b.dir, "profile-")
	if err != nil {
		return nil, fmt.Errorf("chromium %s: profile: %w", url, err)
	}
	defer os.RemoveAll(profile)
	args := append(b.flags(profile), extra...)
	args = append(args, url)
	cmd := exec.CommandContext(ctx, b.path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+profile)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chromium %s: start: %w: %w", url, ErrBrowser, err)
	}
	err = cmd.Wait()
	// Renderer and utility processes can outlive the browser process.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("chromium %s: no result within %s: %w: %w", url, timeout, ErrBrowser, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("chromium %s: %w: %w\n%s", url, ErrBrowser, err, tail(stderr.Bytes(), 15))
	}
	return stdout.Bytes(), nil
}

// DumpDOM loads url and returns the serialised DOM after the page loaded
// and its scripts (if any) ran.
func (b *Browser) DumpDOM(ctx context.Context, url string) (string, error) {
	out, err := b.run(ctx, url, "--dump-dom")
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return "", fmt.Errorf("chromium %s: empty DOM: %w", url, ErrBrowser)
	}
	return string(out), nil
}

// Screenshot loads url and writes a PNG of the window to out.
func (b *Browser) Screenshot(ctx context.Context, url, out string) error {
	return b.file(ctx, url, out, "--screenshot", []byte("\x89PNG\r\n\x1a\n"))
}

// PrintPDF loads url and prints it to out as PDF with the page's print
// style sheet, without the browser's own header and footer.
func (b *Browser) PrintPDF(ctx context.Context, url, out string) error {
	return b.file(ctx, url, out, "--print-to-pdf", []byte("%PDF-"), "--no-pdf-header-footer")
}

// file runs Chromium with flag=out (an output file) and checks that out
// begins with magic.
func (b *Browser) file(ctx context.Context, url, out, flag string, magic []byte, extra ...string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	_ = os.Remove(abs)
	if _, err := b.run(ctx, url, append([]string{flag + "=" + abs}, extra...)...); err != nil {
		return err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return fmt.Errorf("chromium %s: no output file: %w: %w", url, ErrBrowser, err)
	}
	if !bytes.HasPrefix(data, magic) {
		return fmt.Errorf("chromium %s: %s is not the expected file type: %w", url, abs, ErrBrowser)
	}
	return nil
}

// External returns every request the browser tried to send off loopback so
// far, in order.
func (b *Browser) External() []Request { return b.proxy.requests() }

// AssertNoExternalRequests fails t if the browser tried to reach any host
// other than 127.0.0.1.
func (b *Browser) AssertNoExternalRequests(t testing.TB) {
	t.Helper()
	if reqs := b.External(); len(reqs) > 0 {
		t.Errorf("the browser tried %d external request(s):", len(reqs))
		for _, r := range reqs {
			t.Errorf("  %s", r)
		}
	}
}

// ArtifactDir returns the directory for screenshots and other test output:
// $OTSWEEP_ARTIFACTS/<test name> when that variable is set, else a temporary
// directory of t.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("OTSWEEP_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// recorder is an HTTP proxy on loopback that records every request and
// forwards none.
type recorder struct {
	addr string
	srv  *http.Server
	mu   sync.Mutex
	seen []Request
	done chan struct{}
}

func startRecorder() (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("recording proxy: %w", err)
	}
	r := &recorder{addr: ln.Addr().String(), done: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	u := req.URL.String()
	if req.Method == http.MethodConnect {
		u = "https://" + req.Host
	}
	r.mu.Lock()
	r.seen = append(r.seen, Request{Method: req.Method, Host: req.Host, URL: u})
	r.mu.Unlock()
	http.Error(w, "blocked by the otsweep test bed: no external requests", http.StatusForbidden)
}

func (r *recorder) requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.seen...)
}

func (r *recorder) close() {
	_ = r.srv.Close()
	<-r.done
}

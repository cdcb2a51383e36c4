package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/store"
)

// Test peers for the hardening tests (issue 8): an in-process SSH server
// whose hosts misbehave on purpose, TCP listeners that never speak or speak
// one byte a second, and the recorded Linux bundle output a good host
// answers with. Everything listens on 127.0.0.1 and ends with the test.

// sshBundleNonce finds the nonce in the Linux bundle's command line
// (probes/linux.Command quotes it inside the sh -c word).
var sshBundleNonce = regexp.MustCompile(`sh -s -- '\\''([0-9a-f]{8,64})'\\''`)

// sshExec is one exec request a fake host received.
type sshExec struct {
	Host  string
	Line  string
	Stdin []byte
	Nonce string
}

// sshBehaviour answers one exec request. It owns ch until it returns; the
// server then closes the channel. conn is the TCP connection, for behaviours
// that cut it. ctx ends when the test's server closes.
type sshBehaviour func(ctx context.Context, ex sshExec, ch xssh.Channel, conn net.Conn)

// fakeSSH is an in-process SSH server (golang.org/x/crypto/ssh) playing any
// number of Linux hosts, one listener each, with one host key. Clients
// authenticate with the test's key or its password. Every exec request is
// recorded with its command line and complete standard input.
type fakeSSH struct {
	hostKey  xssh.Signer
	cfg      *xssh.ServerConfig
	keyFile  string // the client's private key, mode 0600
	password string
	known    string // known_hosts path

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	execs []sshExec
	lns   []net.Listener
	conns map[net.Conn]bool
	addrs map[string]string // host name -> address
}

// sshOptions configure newFakeSSH.
type sshOptions struct {
	Password string // accepted for password authentication; "" = none
	// Passphrase encrypts the client key file; "" writes it unencrypted.
	Passphrase string
}

func newFakeSSH(t *testing.T, o sshOptions) *fakeSSH {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSSH{password: o.Password, conns: map[net.Conn]bool{}, addrs: map[string]string{}}
	if f.hostKey, err = xssh.NewSignerFromKey(hostPriv); err != nil {
		t.Fatal(err)
	}
	sshPub, err := xssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	var blk *pem.Block
	if o.Passphrase != "" {
		blk, err = xssh.MarshalPrivateKeyWithPassphrase(clientPriv, "otsweep-test", []byte(o.Passphrase))
	} else {
		blk, err = xssh.MarshalPrivateKey(clientPriv, "otsweep-test")
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f.keyFile = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(f.keyFile, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	f.known = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f.known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg = &xssh.ServerConfig{
		PublicKeyCallback: func(_ xssh.ConnMetadata, key xssh.PublicKey) (*xssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), sshPub.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		PasswordCallback: func(_ xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			if f.password != "" && string(pw) == f.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	f.cfg.AddHostKey(f.hostKey)
	f.ctx, f.cancel = context.WithCancel(context.Background())
	t.Cleanup(f.close)
	return f
}

// host starts a listener for a host called name that answers exec requests
// with b, records it in known_hosts and returns its address.
func (f *fakeSSH) host(t *testing.T, name string, b sshBehaviour) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	f.mu.Lock()
	f.lns = append(f.lns, ln)
	f.addrs[name] = addr.String()
	f.mu.Unlock()
	line := knownhosts.Line([]string{knownhosts.Normalize(addr.String())}, f.hostKey.PublicKey())
	kh, err := os.OpenFile(f.known, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintln(kh, line)
	if cerr := kh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !f.track(c) {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer f.untrack(c)
				f.serve(name, c, b)
			}()
		}
	}()
	return addr
}

func (f *fakeSSH) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		_ = c.Close()
		return false
	}
	f.conns[c] = true
	return true
}

func (f *fakeSSH) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	_ = c.Close()
}

func (f *fakeSSH) close() {
	f.cancel()
	f.mu.Lock()
	for _, ln := range f.lns {
		_ = ln.Close()
	}
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// Execs returns the exec requests received so far.
func (f *fakeSSH) Execs() []sshExec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sshExec(nil), f.execs...)
}

func (f *fakeSSH) serve(name string, c net.Conn, b sshBehaviour) {
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute)) // no test peer lives longer
	sconn, chans, reqs, err := xssh.NewServerConn(c, f.cfg)
	if err != nil {
		return
	}
	defer sconn.Close()
	go xssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(xssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.session(name, c, ch, creqs, b)
		}()
	}
}

// session answers the first exec request of a session with b; everything
// else (shells, subsystems, env, pty) is refused. Signals are accepted and
// ignored, as a host whose command does not react to SIGTERM.
func (f *fakeSSH) session(name string, c net.Conn, ch xssh.Channel, reqs <-chan *xssh.Request, b sshBehaviour) {
	defer ch.Close()
	execs := make(chan string, 1)
	go func() {
		for req := range reqs {
			if req.Type == "exec" && len(execs) == 0 {
				var p struct{ Command string }
				if xssh.Unmarshal(req.Payload, &p) == nil {
					_ = req.Reply(true, nil)
					execs <- p.Command
					continue
				}
			}
			if req.WantReply {
				_ = req.Reply(req.Type == "signal", nil)
			}
		}
	}()
	var line string
	select {
	case line = <-execs:
	case <-f.ctx.Done():
		return
	}
	// The scanner writes the script and closes stdin; read it all (bounded).
	stdin, _ := io.ReadAll(io.LimitReader(ch, 4<<20))
	ex := sshExec{Host: name, Line: line, Stdin: stdin}
	if m := sshBundleNonce.FindStringSubmatch(line); m != nil {
		ex.Nonce = m[1]
	}
	f.mu.Lock()
	f.execs = append(f.execs, ex)
	f.mu.Unlock()
	b(f.ctx, ex, ch, c)
}

// exitStatus sends the exit-status request that ends a command.
func exitStatus(ch xssh.Channel, code uint32) {
	_, _ = ch.SendRequest("exit-status", false, xssh.Marshal(struct{ Status uint32 }{code}))
}

// linuxRecording is a recorded bundle output from probes/linux/testdata
// (real Debian 12 unless named otherwise), with its own nonce.
type linuxRecording struct {
	out   []byte
	nonce string
}

var beginNonce = regexp.MustCompile(`(?m)^@@OTSCAN ([0-9a-f]{8,64}) BEGIN `)

func loadLinuxRecording(t *testing.T, name string) linuxRecording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "probes", "linux", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m := beginNonce.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no BEGIN line", name)
	}
	return linuxRecording{out: b, nonce: string(m[1])}
}

// render returns the recording framed by nonce.
func (r linuxRecording) render(nonce string) []byte {
	return bytes.ReplaceAll(r.out, []byte(r.nonce), []byte(nonce))
}

// edit returns a copy of the recording with each old line replaced by the
// lines of new (old must be a whole line of the recording).
func (r linuxRecording) edit(t *testing.T, pairs ...string) linuxRecording {
	t.Helper()
	out := r.out
	for i := 0; i+1 < len(pairs); i += 2 {
		old := []byte("\n" + pairs[i] + "\n")
		if !bytes.Contains(out, old) {
			t.Fatalf("recording has no line %q", pairs[i])
		}
		out = bytes.Replace(out, old, []byte("\n"+pairs[i+1]+"\n"), 1)
	}
	return linuxRecording{out: out, nonce: r.nonce}
}

// replay answers the bundle with the recording, nonce filled in, exit 0.
func replay(r linuxRecording) sshBehaviour {
	return func(_ context.Context, ex sshExec, ch xssh.Channel, _ net.Conn) {
		if ex.Nonce == "" {
			_, _ = ch.Stderr().Write([]byte("sh: 1: not found\n"))
			exitStatus(ch, 127)
			return
		}
		_, _ = ch.Write(r.render(ex.Nonce))
		exitStatus(ch, 0)
	}
}

// silentListener accepts TCP connections and never sends a byte.
func silentListener(t *testing.T) *net.TCPAddr {
	t.Helper()
	return trickleListener(t, nil)
}

// trickleListener accepts TCP connections and sends them msg one byte per
// second (nil: nothing), holding each open until the test ends.
func trickleListener(t *testing.T, msg []byte) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() { _, _ = io.Copy(io.Discard, c) }()
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					case <-tick.C:
					}
					if msg == nil {
						continue
					}
					if _, err := c.Write(msg[i%len(msg) : i%len(msg)+1]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr)
}

// memWatch samples the Go runtime's memory while a test step runs. Sys (all
// memory the runtime obtained from the OS) never shrinks, so its growth is
// an upper bound of the step's peak heap, stacks and buffers together, even
// between samples; HeapInuse is sampled for the report.
type memWatch struct {
	baseSys  uint64
	peakHeap atomic.Uint64
	stop     chan struct{}
	done     chan struct{}
}

func watchMemory() *memWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &memWatch{baseSys: ms.Sys, stop: make(chan struct{}), done: make(chan struct{})}
	w.peakHeap.Store(ms.HeapInuse)
	go func() {
		defer close(w.done)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > w.peakHeap.Load() {
				w.peakHeap.Store(ms.HeapInuse)
			}
		}
	}()
	return w
}

// Stop ends sampling and returns the growth of Sys since the start and the
// peak HeapInuse seen, in bytes.
func (w *memWatch) Stop() (sysGrowth, peakHeap uint64) {
	close(w.stop)
	<-w.done
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.Sys > w.baseSys {
		sysGrowth = ms.Sys - w.baseSys
	}
	return sysGrowth, w.peakHeap.Load()
}

// scansOf reads back the scans of a sweep, by asset name.
func scansOf(t *testing.T, db string, sweepID int64) map[string]store.Scan {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scans, err := st.ScansOfSweep(ctx, sweepID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Scan{}
	for _, s := range scans {
		out[s.Asset.Name] = s
	}
	return out
}

const mib = 1 << 20

func mb(n uint64) string { return fmt.Sprintf("%.0f MiB", float64(n)/mib) }

package ssh_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/probes"
	otssh "github.com/otsweep/otsweep/probes/ssh"
)

// fakeServer is an in-process SSH server on 127.0.0.1 whose exec handling is
// up to the test: it stands in for hosts that misbehave, which a real sshd
// will not do on request.
type fakeServer struct {
	addr    string
	hostKey xssh.Signer
	// exec handles an accepted exec request on ch; it owns the TCP
	// connection conn for disconnect tests.
	exec func(conn net.Conn, ch xssh.Channel)
	// clientKey, if set, is accepted for public key authentication.
	clientKey xssh.PublicKey
	// drop, if set, is called for each new TCP connection; returning true
	// closes it before the SSH handshake (a MaxStartups reset).
	drop func() bool

	wg sync.WaitGroup
}

func startFakeServer(t *testing.T, fs *fakeServer) *fakeServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fs.hostKey, err = xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &xssh.ServerConfig{
		PasswordCallback: func(_ xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			if string(pw) == "right" {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
	}
	cfg.PublicKeyCallback = func(_ xssh.ConnMetadata, key xssh.PublicKey) (*xssh.Permissions, error) {
		if fs.clientKey != nil && bytes.Equal(key.Marshal(), fs.clientKey.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("unknown key")
	}
	cfg.AddHostKey(fs.hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs.addr = ln.Addr().String()
	done := make(chan struct{})
	var conns sync.Map
	t.Cleanup(func() {
		close(done)
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		fs.wg.Wait()
	})
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(conn, true)
			if fs.drop != nil && fs.drop() {
				conn.Close()
				continue
			}
			fs.wg.Add(1)
			go func() {
				defer fs.wg.Done()
				fs.serve(conn, cfg, done)
			}()
		}
	}()
	return fs
}

func (fs *fakeServer) serve(conn net.Conn, cfg *xssh.ServerConfig, done <-chan struct{}) {
	defer conn.Close()
	_, chans, reqs, err := xssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go xssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(xssh.UnknownChannelType, "no")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range creqs {
				if req.Type == "exec" {
					if fs.exec == nil { // never answers the exec request
						<-done
						return
					}
					_ = req.Reply(true, nil)
					go fs.exec(conn, ch)
					continue
				}
				if req.WantReply {
					_ = req.Reply(false, nil)
				}
			}
		}()
	}
}

// knownHosts writes a known_hosts file for the fake server.
func (fs *fakeServer) knownHosts(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(fs.addr)}, fs.hostKey.PublicKey())
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (fs *fakeServer) config(t *testing.T) otssh.Config {
	host, port, _ := net.SplitHostPort(fs.addr)
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return otssh.Config{
		Address:        host,
		Port:           p,
		User:           "scanner",
		Password:       probes.NewSecret("right"),
		KnownHostsFile: fs.knownHosts(t),
		ConnectTimeout: 5 * time.Second,
	}
}

func dialFake(t *testing.T, fs *fakeServer, mutate func(*otssh.Config)) *otssh.Client {
	t.Helper()
	cfg := fs.config(t)
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := otssh.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSilentListener: a TCP listener that accepts and never speaks must not
// hold Dial past its context or its connect timeout.
func TestSilentListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.Map
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held.Store(c, true)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		held.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	addr := ln.Addr().(*net.TCPAddr)

	tests := []struct {
		name           string
		ctxTimeout     time.Duration
		connectTimeout time.Duration
		max            time.Duration
	}{
		{name: "context deadline", ctxTimeout: time.Second, connectTimeout: time.Minute, max: 2 * time.Second},
		{name: "connect timeout", ctxTimeout: time.Minute, connectTimeout: 800 * time.Millisecond, max: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctxTimeout)
			defer cancel()
			start := time.Now()
			c, err := otssh.Dial(ctx, otssh.Config{
				Address: "127.0.0.1", Port: addr.Port, User: "u",
				Password:       probes.NewSecret("pw"),
				KnownHostsFile: filepath.Join(t.TempDir(), "known_hosts"),
				ConnectTimeout: tt.connectTimeout,
				Retries:        -1,
			})
			elapsed := time.Since(start)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded against a silent listener")
			}
			if !errors.Is(err, probes.ErrTimeout) || probes.StatusOf(err) != probes.StatusTimeout {
				t.Errorf("Dial error = %v (status %s), want ErrTimeout", err, probes.StatusOf(err))
			}
			if elapsed > tt.max {
				t.Errorf("Dial returned after %s, want under %s", elapsed, tt.max)
			}
			if !strings.Contains(err.Error(), addr.String()) {
				t.Errorf("error %q does not name %s", err, addr)
			}
		})
	}
}

func TestHostileServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		exec     func(conn net.Conn, ch xssh.Channel)
		deadline time.Duration
		maxOut   int64
		check    func(t *testing.T, out *probes.Output, err error, elapsed time.Duration)
	}{
		{
			name: "disconnects mid-command",
			exec: func(conn net.Conn, ch xssh.Channel) {
				_, _ = ch.Write([]byte("partial output\n"))
				time.Sleep(100 * time.Millisecond)
				conn.Close()
			},
			deadline: 10 * time.Second,
			check: func(t *testing.T, out *probes.Output, err error, elapsed time.Duration) {
				if !errors.Is(err, probes.ErrProtocol) || probes.StatusOf(err) != probes.StatusError {
					t.Errorf("Run = %v, %v; want ErrProtocol", out, err)
				}
				if err != nil && !strings.Contains(err.Error(), "connection lost") {
					t.Errorf("error %q does not say the connection was lost", err)
				}
				if elapsed > 5*time.Second {
					t.Errorf("Run took %s", elapsed)
				}
			},
		},
		{
			name: "trickles one byte a second",
			exec: func(_ net.Conn, ch xssh.Channel) {
				for range 60 {
					if _, err := ch.Write([]byte(".")); err != nil {
						return
					}
					time.Sleep(time.Second)
				}
			},
			deadline: 2 * time.Second,
			check: func(t *testing.T, out *probes.Output, err error, elapsed time.Duration) {
				if !errors.Is(err, probes.ErrTimeout) {
					t.Errorf("Run = %v, %v; want ErrTimeout", out, err)
				}
				if elapsed > 3*time.Second {
					t.Errorf("Run returned %s after start, want within 1 s of the 2 s deadline", elapsed)
				}
			},
		},
		{
			name:     "never answers exec",
			exec:     nil,
			deadline: time.Second,
			check: func(t *testing.T, out *probes.Output, err error, elapsed time.Duration) {
				if !errors.Is(err, probes.ErrTimeout) {
					t.Errorf("Run = %v, %v; want ErrTimeout", out, err)
				}
				if elapsed > 2*time.Second {
					t.Errorf("Run returned %s after start, want within 1 s of the deadline", elapsed)
				}
			},
		},
		{
			name: "endless output",
			exec: func(_ net.Conn, ch xssh.Channel) {
				buf := make([]byte, 32<<10)
				for range 100000 {
					if _, err := ch.Write(buf); err != nil {
						return
					}
				}
			},
			deadline: 20 * time.Second,
			maxOut:   1 << 20,
			check: func(t *testing.T, out *probes.Output, err error, elapsed time.Duration) {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if !out.Truncated || len(out.Stdout) != 1<<20 || out.ExitCode != -1 {
					t.Errorf("Truncated=%v len=%d exit=%d; want true, %d, -1", out.Truncated, len(out.Stdout), out.ExitCode, 1<<20)
				}
				if elapsed > 5*time.Second {
					t.Errorf("Run took %s", elapsed)
				}
			},
		},
		{
			name: "exit status then close",
			exec: func(_ net.Conn, ch xssh.Channel) {
				_, _ = ch.Write([]byte("ok\n"))
				_, _ = ch.SendRequest("exit-status", false, []byte{0, 0, 0, 7})
				ch.Close()
			},
			deadline: 10 * time.Second,
			check: func(t *testing.T, out *probes.Output, err error, _ time.Duration) {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if out.ExitCode != 7 || string(out.Stdout) != "ok\n" {
					t.Errorf("Output = %d %q, want 7 \"ok\\n\"", out.ExitCode, out.Stdout)
				}
			},
		},
		{
			name: "close without exit status",
			exec: func(_ net.Conn, ch xssh.Channel) {
				_, _ = ch.Write([]byte("ok\n"))
				ch.Close()
			},
			deadline: 10 * time.Second,
			check: func(t *testing.T, out *probes.Output, err error, _ time.Duration) {
				if !errors.Is(err, probes.ErrProtocol) {
					t.Errorf("Run = %v, %v; want ErrProtocol (no exit status is never success)", out, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := startFakeServer(t, &fakeServer{exec: tt.exec})
			c := dialFake(t, fs, func(c *otssh.Config) { c.MaxOutput = tt.maxOut })
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			out, err := c.Run(ctx, probes.Command{Line: "probe"})
			tt.check(t, out, err, time.Since(start))
			if err != nil && !strings.Contains(err.Error(), fs.addr) {
				t.Errorf("error %q does not name %s", err, fs.addr)
			}
		})
	}
}

// TestHandshakeResetRetried: sshd's MaxStartups closes connections before
// the handshake under load; Dial retries those, a bounded number of times.
func TestHandshakeResetRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		drops    int32
		retries  int
		wantErr  error
		wantConn int32
	}{
		{name: "recovers after two resets", drops: 2, retries: 3, wantConn: 3},
		{name: "no retries", drops: 1, retries: -1, wantErr: probes.ErrProtocol, wantConn: 1},
		{name: "gives up after retries", drops: 100, retries: 2, wantErr: probes.ErrProtocol, wantConn: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var seen atomic.Int32
			fs := startFakeServer(t, &fakeServer{
				drop: func() bool { return seen.Add(1) <= tt.drops },
				exec: func(_ net.Conn, ch xssh.Channel) {
					_, _ = ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
					ch.Close()
				},
			})
			cfg := fs.config(t)
			cfg.Retries = tt.retries
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := otssh.Dial(ctx, cfg)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				c.Close()
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Dial = %v, want %v", err, tt.wantErr)
			}
			if got := seen.Load(); got != tt.wantConn {
				t.Errorf("server saw %d connections, want %d", got, tt.wantConn)
			}
		})
	}
}

func TestRunAfterContextDone(t *testing.T) {
	t.Parallel()
	fs := startFakeServer(t, &fakeServer{exec: func(_ net.Conn, ch xssh.Channel) { ch.Close() }})
	c := dialFake(t, fs, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Run(ctx, probes.Command{Line: "x"}); !errors.Is(err, probes.ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	tests := []struct {
		name string
		cfg  otssh.Config
	}{
		{name: "no known_hosts", cfg: otssh.Config{Address: "127.0.0.1", User: "u", Password: probes.NewSecret("p")}},
		{name: "no known_hosts even with TOFU", cfg: otssh.Config{Address: "127.0.0.1", User: "u", Password: probes.NewSecret("p"), TOFU: true}},
		{name: "no credentials", cfg: otssh.Config{Address: "127.0.0.1", User: "u", KnownHostsFile: kh}},
		{name: "no user", cfg: otssh.Config{Address: "127.0.0.1", Password: probes.NewSecret("p"), KnownHostsFile: kh}},
		{name: "no address", cfg: otssh.Config{User: "u", Password: probes.NewSecret("p"), KnownHostsFile: kh}},
		{name: "agent without socket", cfg: otssh.Config{Address: "127.0.0.1", User: "u", Agent: true, AgentSocket: filepath.Join(t.TempDir(), "none.sock"), KnownHostsFile: kh}},
		{name: "unparsable key", cfg: otssh.Config{Address: "127.0.0.1", User: "u", PrivateKey: probes.NewSecret("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretmaterial\n-----END OPENSSH PRIVATE KEY-----\n"), KnownHostsFile: kh}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := otssh.Dial(ctx, tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if strings.Contains(err.Error(), "secretmaterial") {
				t.Errorf("error leaks key material: %v", err)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	// A port that was just free on loopback: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = otssh.Dial(ctx, otssh.Config{
		Address: "127.0.0.1", Port: port, User: "u", Password: probes.NewSecret("pw"),
		KnownHostsFile: filepath.Join(t.TempDir(), "known_hosts"),
	})
	if !errors.Is(err, probes.ErrUnreachable) || probes.StatusOf(err) != probes.StatusUnreachable {
		t.Fatalf("Dial = %v, want ErrUnreachable", err)
	}
	var he *probes.HostError
	if !errors.As(err, &he) || he.Host != net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) {
		t.Errorf("error %v does not carry host 127.0.0.1:%d", err, port)
	}
}

// TestAgentFromEnvironment: with Agent set and no AgentSocket, the agent is
// found through SSH_AUTH_SOCK. (Not parallel: it sets the environment.)
func TestAgentFromEnvironment(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	fs := startFakeServer(t, &fakeServer{
		clientKey: signer.PublicKey(),
		exec: func(_ net.Conn, ch xssh.Channel) {
			_, _ = ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
			ch.Close()
		},
	})
	t.Setenv("SSH_AUTH_SOCK", startAgent(t, priv))
	dialFake(t, fs, func(c *otssh.Config) { c.Password, c.Agent = probes.Secret{}, true })

	t.Setenv("SSH_AUTH_SOCK", "")
	cfg := fs.config(t)
	cfg.Password, cfg.Agent = probes.Secret{}, true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := otssh.Dial(ctx, cfg); !errors.Is(err, probes.ErrAuthFailed) {
		t.Errorf("Dial without SSH_AUTH_SOCK = %v, want ErrAuthFailed", err)
	}
}

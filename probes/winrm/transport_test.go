package winrm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otsweep/otsweep/lab/wsman"
	"github.com/otsweep/otsweep/probes"
)

// TestNoBasicFallback: a host that offers only Basic must not receive the
// password when NTLM was configured (go-ntlmssp would fall back to Basic).
func TestNoBasicFallback(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="WSMAN"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	c, err := Dial(t.Context(), Config{
		Address: "127.0.0.1", Port: addr.Port, HTTPS: true, User: "otscan",
		Password: probes.NewSecret("S3cret-Pa55word!"), Fingerprint: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Run(t.Context(), probes.Command{Line: PowerShellStdin})
	if !errors.Is(err, probes.ErrAuthFailed) || !errors.Is(err, errBasicFallback) {
		t.Fatalf("err = %v, want the refused Basic fallback", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if strings.HasPrefix(a, "Basic") {
			t.Errorf("password sent as Basic")
		}
	}
}

func TestPacer(t *testing.T) {
	p := pacer{min: 30 * time.Millisecond}
	start := time.Now()
	for range 5 {
		if err := p.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		p.done()
	}
	if took := time.Since(start); took < 4*30*time.Millisecond {
		t.Errorf("5 requests in %v", took)
	}
}

// lateWriteConn returns from the Writes that late selects (numbered from 1
// over the whole test) only after a delay, once the bytes are already on
// their way: what a loaded scanner does to the goroutine that wrote a
// request when it is not scheduled again for a while (1.5 to 1.9 s in a
// loaded stress run of 32 concurrent clients). The reply can then arrive,
// and be read, before the write has returned.
type lateWriteConn struct {
	net.Conn
	writes *atomic.Int32
	late   func(n int32) bool
}

const lateBy = 80 * time.Millisecond

func (c lateWriteConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.late(c.writes.Add(1)) {
		time.Sleep(lateBy)
	}
	return n, err
}

// sealedPair starts a host that requires message encryption, whose
// commands print "done", and a client for it; both end with the test.
func sealedPair(t *testing.T) (*wsman.Server, *Client) {
	t.Helper()
	srv, err := wsman.Start(wsman.Options{RequireEncryption: true, Users: map[string]wsman.User{"otscan": {Password: "S3cret-Pa55word!"}},
		Handler: func(context.Context, wsman.CommandRequest) wsman.Response {
			return wsman.Response{Stdout: []byte("done\r\n")}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := Dial(t.Context(), Config{Address: "127.0.0.1", Port: srv.Addr().Port, User: "otscan",
		Password: probes.NewSecret("S3cret-Pa55word!"), MinRequestInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

// TestSealedSessionStaysOnItsConnection: NTLM authenticates the TCP
// connection, so the handshake and every sealed request of the session must
// use one connection however the scanner's goroutines are scheduled. (The
// pooled net/http transport gave up a connection whose request write had
// not returned 50 ms after the reply was read, and sent the next request on
// a new connection, where the host answered 401: after the AUTHENTICATE leg
// that was "host rejected the sealed session", one host in a thousand in a
// loaded sweep.)
func TestSealedSessionStaysOnItsConnection(t *testing.T) {
	tests := []struct {
		name string
		late func(n int32) bool
	}{
		{"every write late", func(int32) bool { return true }},
		{"NEGOTIATE leg late", func(n int32) bool { return n == 1 }},
		{"AUTHENTICATE leg late", func(n int32) bool { return n == 2 }},
		{"Create late", func(n int32) bool { return n == 3 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := sealedPair(t)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var dials, writes atomic.Int32
			dial := c.tr.dial
			c.tr.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				conn, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return lateWriteConn{Conn: conn, writes: &writes, late: tc.late}, nil
			}
			out, err := c.Run(ctx, probes.Command{Line: PowerShellStdin, Stdin: []byte("exit 0")})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if string(out.Stdout) != "done\r\n" || out.ExitCode != 0 {
				t.Errorf("output %q, exit %d", out.Stdout, out.ExitCode)
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d connections for one run, want 1", n)
			}
			if n := srv.AuthFailures(); n != 0 {
				t.Errorf("%d authentication failures on the host", n)
			}
		})
	}
}

// closingConn reads EOF once closed is set: the host closed the connection.
type closingConn struct {
	net.Conn
	closed *atomic.Bool
}

func (c closingConn) Read(b []byte) (int, error) {
	if c.closed.Load() {
		return 0, io.EOF
	}
	return c.Conn.Read(b)
}

// TestSealedSessionAfterIdleClose: a host that closed the idle connection
// took the session with it; the next run authenticates again on a new
// connection instead of sending a sealed request nobody can read.
func TestSealedSessionAfterIdleClose(t *testing.T) {
	srv, c := sealedPair(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var conns []*atomic.Bool
	dial := c.tr.dial
	c.tr.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		closed := &atomic.Bool{}
		conns = append(conns, closed)
		return closingConn{Conn: conn, closed: closed}, nil
	}
	for i := range 2 {
		if _, err := c.Run(ctx, probes.Command{Line: PowerShellStdin, Stdin: []byte("exit 0")}); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if len(conns) != i+1 {
			t.Fatalf("after run %d: %d connections, want %d", i, len(conns), i+1)
		}
		conns[i].Store(true)
	}
	if n := srv.AuthFailures(); n != 0 {
		t.Errorf("%d authentication failures on the host", n)
	}
	// Create, Command, Send, Receive, Signal, Delete per run, all sealed.
	for _, r := range srv.Requests() {
		if !r.Encrypted {
			t.Errorf("%s request in clear", r.Action)
		}
	}
}

package winrm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otsweep/otsweep/lab/wsman"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/winrm"
)

const (
	user     = "otscan"
	password = "S3cret-Pa55word!"
)

// hmiHandler is a stand-in for powershell.exe: it echoes the SHA-256 and
// length of stdin, and "exit N" in stdin sets the exit code.
func hmiHandler(_ context.Context, req wsman.CommandRequest) wsman.Response {
	sum := sha256.Sum256(req.Stdin)
	code := 0
	if _, rest, ok := strings.Cut(string(req.Stdin), "exit "); ok {
		code, _ = strconv.Atoi(strings.TrimSpace(rest))
	}
	return wsman.Response{
		Stdout:   []byte(hex.EncodeToString(sum[:]) + " " + strconv.Itoa(len(req.Stdin)) + "\r\n" + req.Command + "\r\n"),
		ExitCode: code,
	}
}

func startServer(t *testing.T, opts wsman.Options) *wsman.Server {
	t.Helper()
	if opts.Users == nil {
		opts.Users = map[string]wsman.User{user: {Password: password}}
	}
	if opts.Handler == nil {
		opts.Handler = hmiHandler
	}
	srv, err := wsman.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func configFor(srv *wsman.Server) winrm.Config {
	return winrm.Config{
		Address:  "127.0.0.1",
		Port:     srv.Addr().Port,
		HTTPS:    srv.CertPEM != nil,
		User:     user,
		Password: probes.NewSecret(password),
	}
}

func caFile(t *testing.T, pemBytes []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, cfg winrm.Config, cmd probes.Command, timeout time.Duration) (*probes.Output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	c, err := winrm.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Run(ctx, cmd)
}

func TestRun(t *testing.T) {
	script := make([]byte, 150<<10)
	if _, err := rand.Read(script); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	tests := []struct {
		name   string
		opts   wsman.Options
		config func(*winrm.Config, *wsman.Server)
		stdin  []byte
		want   string
		code   int
		sealed bool
		scheme wsman.Scheme
	}{
		{
			name: "https basic verified by CA file", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, s *wsman.Server) { c.Auth = winrm.AuthBasic; c.CAFile = caFile(t, s.CertPEM) },
			stdin:  []byte("Get-Date\r\nexit 0"), code: 0, scheme: wsman.SchemeBasic,
		},
		{
			name: "https ntlm pinned by fingerprint", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, s *wsman.Server) { c.Fingerprint = strings.ToUpper(s.Fingerprint) },
			stdin:  []byte("exit 3"), code: 3, scheme: wsman.SchemeNTLM,
		},
		{
			name: "http ntlm sealed to a host requiring encryption", opts: wsman.Options{RequireEncryption: true},
			config: func(*winrm.Config, *wsman.Server) {},
			stdin:  []byte("exit 1"), code: 1, sealed: true, scheme: wsman.SchemeNTLM,
		},
		{
			name: "150 KB of stdin arrives intact, sealed", opts: wsman.Options{RequireEncryption: true},
			config: func(*winrm.Config, *wsman.Server) {},
			stdin:  script, want: hex.EncodeToString(sum[:]) + " 153600", sealed: true, scheme: wsman.SchemeNTLM,
		},
		{
			name: "150 KB of stdin arrives intact, https", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, s *wsman.Server) { c.CAFile = caFile(t, s.CertPEM) },
			stdin:  script, want: hex.EncodeToString(sum[:]) + " 153600", scheme: wsman.SchemeNTLM,
		},
		{
			name: "exit -1 arrives as a DWORD", opts: wsman.Options{RequireEncryption: true},
			config: func(*winrm.Config, *wsman.Server) {},
			stdin:  []byte("exit -1"), code: -1, sealed: true, scheme: wsman.SchemeNTLM,
		},
		{
			name: "output over many receives", opts: wsman.Options{RequireEncryption: true, ReceiveChunk: 16},
			config: func(*winrm.Config, *wsman.Server) {},
			stdin:  []byte("exit 7"), code: 7, sealed: true, scheme: wsman.SchemeNTLM,
		},
		{
			name: "domain user", opts: wsman.Options{RequireEncryption: true},
			config: func(c *winrm.Config, _ *wsman.Server) { c.User = `PLANT\` + user },
			stdin:  []byte("exit 0"), sealed: true, scheme: wsman.SchemeNTLM,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			cfg := configFor(srv)
			tc.config(&cfg, srv)
			out, err := run(t, cfg, probes.Command{Line: winrm.PowerShellStdin, Stdin: tc.stdin}, 10*time.Second)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			inSum := sha256.Sum256(tc.stdin)
			want := hex.EncodeToString(inSum[:]) + " " + strconv.Itoa(len(tc.stdin)) + "\r\n" + winrm.PowerShellStdin + "\r\n"
			if string(out.Stdout) != want || out.ExitCode != tc.code || out.Truncated {
				t.Fatalf("got stdout %q code %d truncated %v; want %q code %d", out.Stdout, out.ExitCode, out.Truncated, want, tc.code)
			}
			if tc.want != "" && !strings.HasPrefix(string(out.Stdout), tc.want) {
				t.Fatalf("stdout %q", out.Stdout)
			}
			if open := srv.OpenShells(); len(open) != 0 {
				t.Errorf("shells left open: %v", open)
			}
			for _, a := range []wsman.Action{wsman.ActionCreate, wsman.ActionCommand, wsman.ActionSignal, wsman.ActionDelete} {
				if n := srv.Count(a); n != 1 {
					t.Errorf("%s requests = %d, want 1", a, n)
				}
			}
			for _, r := range srv.Requests() {
				if r.Scheme != tc.scheme || r.Encrypted != tc.sealed || r.Status != 200 {
					t.Errorf("request %+v: want scheme %s sealed %v status 200", r, tc.scheme, tc.sealed)
				}
				if r.Size > 153600 {
					t.Errorf("%s envelope of %d bytes exceeds the 150 KB WinRM 2.0 default", r.Action, r.Size)
				}
			}
		})
	}
}

func TestRefused(t *testing.T) {
	other := startServer(t, wsman.Options{TLS: true}) // a different certificate
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	tests := []struct {
		name     string
		opts     wsman.Options
		config   func(*winrm.Config, *wsman.Server)
		want     error
		requests bool // whether the server may have processed a SOAP request
		lost     bool // the shell ID never reached the client, so it cannot be deleted
	}{
		{
			name: "wrong pin", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, _ *wsman.Server) { c.Fingerprint = other.Fingerprint },
			want:   probes.ErrHostKeyMismatch,
		},
		{
			name: "certificate from another CA", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, _ *wsman.Server) { c.CAFile = caFile(t, other.CertPEM) },
			want:   probes.ErrHostKeyMismatch,
		},
		{
			name: "system roots do not know a self-signed host", opts: wsman.Options{TLS: true},
			config: func(*winrm.Config, *wsman.Server) {}, want: probes.ErrHostKeyMismatch,
		},
		{
			name: "right CA but wrong pin", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, s *wsman.Server) {
				c.CAFile = caFile(t, s.CertPEM)
				c.Fingerprint = other.Fingerprint
			},
			want: probes.ErrHostKeyMismatch,
		},
		{
			name: "wrong password, https basic", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, s *wsman.Server) {
				c.Auth, c.Fingerprint, c.Password = winrm.AuthBasic, s.Fingerprint, probes.NewSecret("Winter2023!")
			},
			want: probes.ErrAuthFailed,
		},
		{
			name: "wrong password, https ntlm", opts: wsman.Options{TLS: true},
			config: func(c *winrm.Config, s *wsman.Server) {
				c.Fingerprint, c.Password = s.Fingerprint, probes.NewSecret("Winter2023!")
			},
			want: probes.ErrAuthFailed,
		},
		{
			name: "wrong password, sealed http", opts: wsman.Options{RequireEncryption: true},
			config: func(c *winrm.Config, _ *wsman.Server) { c.Password = probes.NewSecret("Winter2023!") },
			want:   probes.ErrAuthFailed,
		},
		{
			name: "account not allowed to use ntlm", opts: wsman.Options{TLS: true, Users: map[string]wsman.User{
				user: {Password: password, Schemes: []wsman.Scheme{wsman.SchemeBasic}}}},
			config: func(c *winrm.Config, s *wsman.Server) { c.Fingerprint = s.Fingerprint },
			want:   probes.ErrAuthFailed,
		},
		{
			name: "nothing listening", opts: wsman.Options{},
			config: func(c *winrm.Config, _ *wsman.Server) { c.Port = closedPort },
			want:   probes.ErrUnreachable,
		},
		{
			name: "https client to an http listener", opts: wsman.Options{},
			config: func(c *winrm.Config, s *wsman.Server) { c.HTTPS, c.Fingerprint = true, other.Fingerprint },
			want:   probes.ErrProtocol,
		},
		{
			name: "not a WinRM service", opts: wsman.Options{Garbage: wsman.AnyAction},
			config: func(*winrm.Config, *wsman.Server) {}, want: probes.ErrProtocol,
		},
		{
			name: "malformed create reply", opts: wsman.Options{MalformedXML: wsman.ActionCreate},
			config: func(*winrm.Config, *wsman.Server) {}, want: probes.ErrProtocol, requests: true, lost: true,
		},
		{
			name: "malformed receive reply", opts: wsman.Options{MalformedXML: wsman.ActionReceive},
			config: func(*winrm.Config, *wsman.Server) {}, want: probes.ErrProtocol, requests: true,
		},
		{
			name: "garbage instead of a receive reply", opts: wsman.Options{Garbage: wsman.ActionReceive},
			config: func(*winrm.Config, *wsman.Server) {}, want: probes.ErrProtocol, requests: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			cfg := configFor(srv)
			tc.config(&cfg, srv)
			start := time.Now()
			_, err := run(t, cfg, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit 0")}, 10*time.Second)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			var he *probes.HostError
			if !errors.As(err, &he) || he.Host != net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)) {
				t.Errorf("error does not name host:port: %v", err)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "Winter2023") {
				t.Errorf("error reveals the password: %v", err)
			}
			if n := srv.Count(wsman.AnyAction); !tc.requests && n != 0 {
				t.Errorf("server processed %d requests", n)
			}
			if tc.requests && !tc.lost {
				if open := srv.OpenShells(); len(open) != 0 {
					t.Errorf("shells left open: %v", open)
				}
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  winrm.Config
		want error
	}{
		{"basic over http", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), Auth: "basic"}, winrm.ErrConfig},
		{"kerberos", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), Auth: "kerberos", HTTPS: true}, winrm.ErrKerberosUnsupported},
		{"unknown auth", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), Auth: "digest"}, winrm.ErrConfig},
		{"no password", winrm.Config{Address: "10.0.0.5", User: "u"}, winrm.ErrConfig},
		{"url as address", winrm.Config{Address: "https://10.0.0.5:5986/wsman", User: "u", Password: probes.NewSecret("p")}, winrm.ErrConfig},
		{"port in address", winrm.Config{Address: "hmi01:5986", User: "u", Password: probes.NewSecret("p")}, winrm.ErrConfig},
		{"pin on http", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), Fingerprint: strings.Repeat("ab", 32)}, winrm.ErrConfig},
		{"short pin", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), HTTPS: true, Fingerprint: "abcd"}, winrm.ErrConfig},
		{"missing CA file", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), HTTPS: true, CAFile: "/nonexistent/ca.pem"}, winrm.ErrConfig},
		{"negative interval", winrm.Config{Address: "10.0.0.5", User: "u", Password: probes.NewSecret("p"), MinRequestInterval: -1}, winrm.ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := winrm.Dial(t.Context(), tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := winrm.Dial(t.Context(), winrm.Config{Address: "::1", User: "u", Password: probes.NewSecret("p")}); err != nil {
		t.Errorf("IPv6 address refused: %v", err)
	}
}

// TestHungCommand: a command that never finishes must end at the deadline,
// be terminated, and have its shell deleted.
func TestHungCommand(t *testing.T) {
	hang := func(context.Context, wsman.CommandRequest) wsman.Response { return wsman.Response{Hang: true} }
	tests := []struct {
		name string
		opts wsman.Options
	}{
		{"receive held by the host", wsman.Options{RequireEncryption: true, Handler: hang}},
		{"receive held by the host, https", wsman.Options{TLS: true, Handler: hang}},
		{"host answers w:TimedOut quickly", wsman.Options{RequireEncryption: true, Handler: hang, MaxOperationTimeout: time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			cfg := configFor(srv)
			cfg.Fingerprint = srv.Fingerprint
			const deadline = time.Second
			start := time.Now()
			_, err := run(t, cfg, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("Start-Sleep 3600")}, deadline)
			took := time.Since(start)
			if !errors.Is(err, probes.ErrTimeout) || probes.StatusOf(err) != probes.StatusTimeout {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if took > deadline+time.Second {
				t.Errorf("returned after %v, deadline %v", took, deadline)
			}
			if open := srv.OpenShells(); len(open) != 0 {
				t.Errorf("shell not deleted: %v", open)
			}
			if srv.Count(wsman.ActionSignal) != 1 || srv.Count(wsman.ActionDelete) != 1 {
				t.Errorf("signal %d, delete %d; want 1 each", srv.Count(wsman.ActionSignal), srv.Count(wsman.ActionDelete))
			}
			// The polling rate stays within the pacing bound.
			if n, limit := srv.Count(wsman.ActionReceive), int(deadline/winrm.DefaultMinRequestInterval)+1; n > limit {
				t.Errorf("%d receives in %v, more than %d", n, deadline, limit)
			}
		})
	}
}

func TestQuotaRecovered(t *testing.T) {
	srv := startServer(t, wsman.Options{RequireEncryption: true, QuotaFaultOnCreate: 2})
	out, err := run(t, configFor(srv), probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit 4")}, 10*time.Second)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out.ExitCode != 4 {
		t.Errorf("exit code %d", out.ExitCode)
	}
	if n := srv.Count(wsman.ActionCreate); n != 3 {
		t.Errorf("%d creates, want 3", n)
	}
	if open := srv.OpenShells(); len(open) != 0 {
		t.Errorf("shells left open: %v", open)
	}

	// A host whose quota never frees up is given up on after bounded retries.
	stuck := startServer(t, wsman.Options{RequireEncryption: true, QuotaFaultOnCreate: 1000})
	_, err = run(t, configFor(stuck), probes.Command{Line: winrm.PowerShellStdin}, 10*time.Second)
	var fault *winrm.FaultError
	if !errors.As(err, &fault) || !fault.QuotaExceeded() || !errors.Is(err, probes.ErrProtocol) {
		t.Fatalf("err = %v, want the quota fault", err)
	}
	if n := stuck.Count(wsman.ActionCreate); n != 4 {
		t.Errorf("%d creates, want 4", n)
	}
}

// TestFaultOnEveryReceive: the library would poll in a tight loop here.
func TestFaultOnEveryReceive(t *testing.T) {
	srv := startServer(t, wsman.Options{RequireEncryption: true, SOAPFaultOnReceive: true})
	cfg := configFor(srv)
	cfg.MinRequestInterval = 100 * time.Millisecond
	start := time.Now()
	_, err := run(t, cfg, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit 0")}, 5*time.Second)
	var fault *winrm.FaultError
	if !errors.Is(err, probes.ErrProtocol) || !errors.As(err, &fault) || fault.WSMan != 2150858843 || fault.Op != "Receive" {
		t.Fatalf("err = %v, want the shell-not-found fault on Receive", err)
	}
	if !strings.Contains(err.Error(), "failed because the shell was not found on the server") {
		t.Errorf("error lacks the host's reason: %v", err)
	}
	// Create, Command, Send, one Receive, Signal, Delete, 100 ms apart.
	if n := srv.Count(wsman.AnyAction); n != 6 || srv.Count(wsman.ActionReceive) != 1 {
		t.Errorf("%d requests, %d receives", n, srv.Count(wsman.ActionReceive))
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("6 requests in %v despite a 100 ms interval", took)
	}
	// Pacing runs from the end of one request to the start of the next, so
	// arrivals are at least the interval apart however loaded the machine.
	reqs := srv.Requests()
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < 100*time.Millisecond {
			t.Errorf("requests %d and %d only %v apart", i-1, i, gap)
		}
	}
	if span := reqs[len(reqs)-1].Time.Sub(reqs[0].Time); span < 450*time.Millisecond {
		t.Errorf("6 requests within %v", span)
	}
	if open := srv.OpenShells(); len(open) != 0 {
		t.Errorf("shells left open: %v", open)
	}
}

func TestOutputCapped(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 1000)
	srv := startServer(t, wsman.Options{TLS: true, ReceiveChunk: 1000, Handler: func(context.Context, wsman.CommandRequest) wsman.Response {
		return wsman.Response{Stdout: big, Stderr: big}
	}})
	cfg := configFor(srv)
	cfg.Fingerprint = srv.Fingerprint
	cfg.MaxOutput = 2500
	out, err := run(t, cfg, probes.Command{Line: "ipconfig /all"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Truncated || len(out.Stdout) != 2500 || !bytes.Equal(out.Stdout, big[:2500]) || out.ExitCode != -1 {
		t.Errorf("truncated %v, %d bytes, exit %d", out.Truncated, len(out.Stdout), out.ExitCode)
	}
	if n := srv.Count(wsman.ActionReceive); n > 3 {
		t.Errorf("%d receives after the cap was reached", n)
	}
	if open := srv.OpenShells(); len(open) != 0 {
		t.Errorf("shells left open: %v", open)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv, err := wsman.Start(wsman.Options{RequireEncryption: true, Handler: hmiHandler,
			Users: map[string]wsman.User{user: {Password: password}}})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cfg := configFor(srv)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, err := winrm.Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 3 {
			if _, err := c.Run(ctx, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit " + strconv.Itoa(i))}); err != nil {
				t.Fatal(err)
			}
		}
		hctx, hcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer hcancel()
		hung, err := wsman.Start(wsman.Options{Handler: func(context.Context, wsman.CommandRequest) wsman.Response { return wsman.Response{Hang: true} },
			Users: map[string]wsman.User{user: {Password: password}}})
		if err != nil {
			t.Fatal(err)
		}
		defer hung.Close()
		hc, err := winrm.Dial(ctx, configFor(hung))
		if err != nil {
			t.Fatal(err)
		}
		defer hc.Close()
		if _, err := hc.Run(hctx, probes.Command{Line: winrm.PowerShellStdin}); !errors.Is(err, probes.ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want <= %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSealedSessionRenewed: a new connection (after an idle close) carries
// no NTLM session on the host; the client must authenticate again.
func TestSealedSessionRenewed(t *testing.T) {
	srv := startServer(t, wsman.Options{RequireEncryption: true})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := winrm.Dial(ctx, configFor(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		out, err := c.Run(ctx, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit " + strconv.Itoa(i))})
		if err != nil || out.ExitCode != i {
			t.Fatalf("run %d: %v %+v", i, err, out)
		}
		c.Close() // drop the connection the session is bound to
	}
	if n := srv.AuthFailures(); n != 0 {
		t.Errorf("%d authentication failures", n)
	}
}

// TestSealedRepliesVerified puts a man in the middle of a sealed session:
// the NTLM handshake passes through, then the sealed request is answered in
// clear, or the sealed reply is altered. Both must be refused.
func TestSealedRepliesVerified(t *testing.T) {
	plainCreate := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action></s:Header><s:Body><x:ResourceCreated><a:ReferenceParameters><w:SelectorSet><w:Selector Name="ShellId">11111111-2222-3333-4444-555555555555</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated></s:Body></s:Envelope>`
	tests := []struct {
		name   string
		why    string
		tamper func(w http.ResponseWriter, resp *http.Response, body []byte)
	}{
		{"clear reply on a sealed session", "unsealed HTTP 200 reply", func(w http.ResponseWriter, _ *http.Response, _ []byte) {
			w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
			_, _ = io.WriteString(w, plainCreate)
		}},
		{"altered sealed reply", "checksum does not match", func(w http.ResponseWriter, resp *http.Response, body []byte) {
			body[len(body)-40] ^= 0x01 // inside the sealed payload
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			_, _ = w.Write(body)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, wsman.Options{RequireEncryption: true})
			backend := &http.Transport{MaxConnsPerHost: 1}
			defer backend.CloseIdleConnections()
			mitm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				req, _ := http.NewRequestWithContext(r.Context(), r.Method, srv.URL(), bytes.NewReader(body))
				req.Header = r.Header.Clone()
				resp, err := backend.RoundTrip(req)
				if err != nil {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				reply, _ := io.ReadAll(resp.Body)
				if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/encrypted") {
					tc.tamper(w, resp, reply)
					return
				}
				for k, v := range resp.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(resp.StatusCode)
				_, _ = w.Write(reply)
			}))
			defer mitm.Close()
			cfg := configFor(srv)
			cfg.Port = mitm.Listener.Addr().(*net.TCPAddr).Port
			_, err := run(t, cfg, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit 0")}, 5*time.Second)
			if !errors.Is(err, probes.ErrProtocol) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v, want ErrProtocol: %s", err, tc.why)
			}
		})
	}
}

// TestStaleShellDeletedOnQuota: a shell whose Delete was lost counts against
// the host's shell quota; the next Create that hits the quota deletes it
// and retries.
func TestStaleShellDeletedOnQuota(t *testing.T) {
	srv := startServer(t, wsman.Options{RequireEncryption: true, MaxShellsPerUser: 1,
		Garbage: wsman.ActionDelete, GarbageCount: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := winrm.Dial(ctx, configFor(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Run(ctx, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit 0")}); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if open := srv.OpenShells(); len(open) != 1 {
		t.Fatalf("open shells after the lost Delete: %v", open)
	}
	out, err := c.Run(ctx, probes.Command{Line: winrm.PowerShellStdin, Stdin: []byte("exit 5")})
	if err != nil || out.ExitCode != 5 {
		t.Fatalf("second run: %v %+v", err, out)
	}
	if open := srv.OpenShells(); len(open) != 0 {
		t.Errorf("shells left open: %v", open)
	}
	// Create, (Delete lost); Create refused, Delete stale, Create, Delete.
	if c, d := srv.Count(wsman.ActionCreate), srv.Count(wsman.ActionDelete); c != 3 || d != 3 {
		t.Errorf("%d creates, %d deletes; want 3 and 3", c, d)
	}
}

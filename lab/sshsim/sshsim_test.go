package sshsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/ssh"
)

// clientKey generates a client key pair at test time.
func clientKey(t *testing.T) (pemKey probes.Secret, pub xssh.PublicKey) {
	t.Helper()
	pk, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err = xssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return probes.NewSecret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))), pub
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func knownHostsFile(t *testing.T, s *Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(s.KnownHosts()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func dialConfig(t *testing.T, s *Server, addr net.Addr, key probes.Secret) ssh.Config {
	t.Helper()
	ta := addr.(*net.TCPAddr)
	return ssh.Config{Address: ta.IP.String(), Port: ta.Port, User: "otscan", PrivateKey: key,
		KnownHostsFile: knownHostsFile(t, s), Retries: -1, ConnectTimeout: 5 * time.Second}
}

func run(t *testing.T, cfg ssh.Config, cmd probes.Command) (*probes.Output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := ssh.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Run(ctx, cmd)
}

// TestRecordingsAreFixtureCopies keeps the embedded recordings identical to
// the Linux bundle's fixtures they were copied from.
func TestRecordingsAreFixtureCopies(t *testing.T) {
	names := Recordings()
	if len(names) == 0 || names[0] == "" {
		t.Fatalf("no recordings embedded: %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "..", "probes", "linux", "testdata", name+".out"))
			if err != nil {
				t.Fatalf("fixture of recording %s: %v", name, err)
			}
			got, err := recordingFiles.ReadFile("recordings/" + name + ".out")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("recordings/%s.out differs from probes/linux/testdata/%s.out: copy it again", name, name)
			}
		})
	}
}

// TestBundleThroughTransport runs the real bundle command over the real SSH
// transport and parses the answer with the real parser.
func TestBundleThroughTransport(t *testing.T) {
	key, pub := clientKey(t)
	cases := []struct {
		name      string
		recording string
		opts      linux.Options
		uid       string
	}{
		{"debian root sudo", "debian12-root", linux.Options{Sudo: true}, "0"},
		{"debian nonroot", "debian12-nonroot", linux.Options{}, "65534"},
		{"busybox deep", "busybox-root-deep", linux.Options{Deep: true, Timeout: 30 * time.Second}, "0"},
		{"rhel root", "rhel9-root", linux.Options{Sudo: true, Timeout: 7 * time.Second}, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{AuthorizedKeys: []xssh.PublicKey{pub}, Recordings: []string{tc.recording}})
			nonce := probes.NewNonce()
			out, err := run(t, dialConfig(t, s, s.Addr(), key), linux.Command(nonce, tc.opts))
			if err != nil {
				t.Fatal(err)
			}
			if out.ExitCode != 0 || len(out.Stderr) != 0 {
				t.Fatalf("exit %d, stderr %q", out.ExitCode, out.Stderr)
			}
			want, err := Output(tc.recording, nonce)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Stdout, want) {
				t.Fatalf("stdout is not the recording framed with the nonce")
			}
			obs, err := linux.Parse(nonce, out.Stdout)
			if err != nil {
				t.Fatal(err)
			}
			if !obs.Complete || obs.Meta["uid"] != tc.uid {
				t.Errorf("complete=%v uid=%q, want complete uid %s", obs.Complete, obs.Meta["uid"], tc.uid)
			}
			if _, err := linux.Parse(probes.NewNonce(), out.Stdout); err == nil {
				t.Errorf("the output parses under another nonce too: the recorded nonce was not replaced")
			}
			if st := s.Stats(); st.Bundles != 1 || st.NotFound != 0 || st.AuthFailures != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestOtherCommands: anything but the bundle gets a shell's "not found".
func TestOtherCommands(t *testing.T) {
	key, pub := clientKey(t)
	s := start(t, Options{AuthorizedKeys: []xssh.PublicKey{pub}})
	cfg := dialConfig(t, s, s.Addr(), key)
	bundle := linux.Command("00c0ffee00c0ffee", linux.Options{})
	cases := []struct {
		name, line, word string
	}{
		{"plain command", "uname -a", "uname"},
		{"quoted program", `'cat' /etc/shadow`, "cat"},
		{"bundle line with an extra argument", bundle.Line + " x", "sh"},
		{"bundle under bash -c", "bash -c " + strings.TrimPrefix(bundle.Line, "sh -c "), "bash"},
		{"upper-case nonce", strings.ReplaceAll(bundle.Line, "00c0ffee00c0ffee", "00C0FFEE00C0FFEE"), "sh"},
		{"unterminated quote", "sh -c 'echo", "sh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, cfg, probes.Command{Line: tc.line, Stdin: bundle.Stdin})
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("sh: 1: %s: not found\n", tc.word)
			if out.ExitCode != 127 || string(out.Stderr) != want || len(out.Stdout) != 0 {
				t.Errorf("exit %d stdout %d bytes stderr %q; want exit 127, stderr %q", out.ExitCode, len(out.Stdout), out.Stderr, want)
			}
		})
	}
	if st := s.Stats(); st.Bundles != 0 || st.NotFound != int64(len(cases)) {
		t.Errorf("stats %+v", st)
	}
}

func TestAuthentication(t *testing.T) {
	key, pub := clientKey(t)
	other, _ := clientKey(t)
	cases := []struct {
		name    string
		opts    Options
		user    string
		key     probes.Secret
		pw      probes.Secret
		wantErr error
	}{
		{"authorized key", Options{AuthorizedKeys: []xssh.PublicKey{pub}}, "otscan", key, probes.Secret{}, nil},
		{"unknown key", Options{AuthorizedKeys: []xssh.PublicKey{pub}}, "otscan", other, probes.Secret{}, probes.ErrAuthFailed},
		{"wrong user", Options{AuthorizedKeys: []xssh.PublicKey{pub}, User: "svc-scan"}, "otscan", key, probes.Secret{}, probes.ErrAuthFailed},
		{"right user", Options{AuthorizedKeys: []xssh.PublicKey{pub}, User: "svc-scan"}, "svc-scan", key, probes.Secret{}, nil},
		{"password", Options{Password: probes.NewSecret("s3cret-pw")}, "otscan", probes.Secret{}, probes.NewSecret("s3cret-pw"), nil},
		{"wrong password", Options{Password: probes.NewSecret("s3cret-pw")}, "otscan", probes.Secret{}, probes.NewSecret("guess"), probes.ErrAuthFailed},
		{"password not enabled", Options{AuthorizedKeys: []xssh.PublicKey{pub}}, "otscan", probes.Secret{}, probes.NewSecret("s3cret-pw"), probes.ErrAuthFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			cfg := dialConfig(t, s, s.Addr(), tc.key)
			cfg.User, cfg.Password = tc.user, tc.pw
			nonce := probes.NewNonce()
			out, err := run(t, cfg, linux.Command(nonce, linux.Options{}))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && out.ExitCode != 0 {
				t.Errorf("exit %d", out.ExitCode)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	_, pub := clientKey(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		opts Options
		want error
	}{
		{"no credential", Options{}, nil},
		{"unknown recording", Options{AuthorizedKeys: []xssh.PublicKey{pub}, Recordings: []string{"windows-xp"}}, ErrUnknownRecording},
		{"path as recording", Options{AuthorizedKeys: []xssh.PublicKey{pub}, Recordings: []string{"../testdata/x"}}, ErrUnknownRecording},
		{"address in use", Options{AuthorizedKeys: []xssh.PublicKey{pub}, Addrs: []string{"127.0.0.1:0", busy.Addr().String()}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("Start succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestManyHosts: one server, several loopback addresses, each its own
// recording, all verified against the server's known_hosts.
func TestManyHosts(t *testing.T) {
	key, pub := clientKey(t)
	recs := []string{"debian12-root", "busybox-nonroot", "ubuntu2204-root"}
	var addrs []string
	for i := range 6 {
		addrs = append(addrs, fmt.Sprintf("127.77.0.%d:0", i+1))
	}
	s := start(t, Options{AuthorizedKeys: []xssh.PublicKey{pub}, Addrs: addrs, Recordings: recs})
	if n := strings.Count(s.KnownHosts(), "\n"); n != len(addrs) {
		t.Fatalf("known_hosts has %d lines, want %d", n, len(addrs))
	}
	for i, a := range s.Addrs() {
		if ip := a.(*net.TCPAddr).IP.String(); ip != fmt.Sprintf("127.77.0.%d", i+1) {
			t.Fatalf("listener %d on %s", i, a)
		}
		nonce := probes.NewNonce()
		out, err := run(t, dialConfig(t, s, a, key), linux.Command(nonce, linux.Options{Sudo: true}))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Output(recs[i%len(recs)], nonce)
		if !bytes.Equal(out.Stdout, want) {
			t.Errorf("host %d (%s) did not serve %s", i, a, recs[i%len(recs)])
		}
	}
	if got := s.Stats().Connections; got != int64(len(addrs)) {
		t.Errorf("connections %d, want %d", got, len(addrs))
	}
}

// TestCloseEndsSessions: a client that never finishes its input does not
// keep Close waiting, and its Run fails.
func TestCloseEndsSessions(t *testing.T) {
	key, pub := clientKey(t)
	s, err := Start(Options{AuthorizedKeys: []xssh.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := xssh.ParsePrivateKey([]byte(key.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := xssh.Dial("tcp", s.Addr().String(), &xssh.ClientConfig{User: "u", Auth: []xssh.AuthMethod{xssh.PublicKeys(signer)},
		HostKeyCallback: xssh.FixedHostKey(s.HostKey()), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.StdinPipe(); err != nil { // held open: stdin never ends
		t.Fatal(err)
	}
	if err := sess.Start(linux.Command(probes.NewNonce(), linux.Options{}).Line); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err := <-waited:
		if err == nil {
			t.Error("session ended cleanly after the server closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session still open after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestShellWords(t *testing.T) {
	cases := []struct {
		name string
		line string
		want []string
		ok   bool
	}{
		{"blanks", " a  b\tc ", []string{"a", "b", "c"}, true},
		{"single quotes", `sh -c 'a b'`, []string{"sh", "-c", "a b"}, true},
		{"escaped quote in single quotes", `'it'\''s'`, []string{"it's"}, true},
		{"double quotes", `"a \"b\" \$c \x"`, []string{`a "b" $c \x`}, true},
		{"backslash", `a\ b`, []string{"a b"}, true},
		{"adjacent parts", `a'b'"c"`, []string{"abc"}, true},
		{"empty quoted", `''`, []string{""}, true},
		{"unterminated single", `'a`, nil, false},
		{"unterminated double", `"a`, nil, false},
		{"trailing backslash", `a\`, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := shellWords(tc.line)
			if ok != tc.ok || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("shellWords(%q) = %q, %v; want %q, %v", tc.line, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestBundleNonce: the nonce is found in every shape of the bundle's line.
func TestBundleNonce(t *testing.T) {
	const nonce = "0123456789abcdef"
	for _, o := range []linux.Options{{}, {Sudo: true}, {Deep: true}, {Sudo: true, Deep: true, Timeout: time.Hour}} {
		line := linux.Command(nonce, o).Line
		if got, ok := bundleNonce(line); !ok || got != nonce {
			t.Errorf("options %+v: bundleNonce = %q, %v", o, got, ok)
		}
	}
}

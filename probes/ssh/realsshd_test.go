package ssh_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/otsweep/otsweep/internal/testbed/sshd"
	"github.com/otsweep/otsweep/probes"
	otssh "github.com/otsweep/otsweep/probes/ssh"
)

// TestRealSSHD runs the transport against OpenSSH hosts of the test bed. The
// subtests share one Lab and run in parallel.
func TestRealSSHD(t *testing.T) {
	t.Parallel()
	lab := sshd.Start(t,
		sshd.HostSpec{Name: "plain"},
		sshd.HostSpec{Name: "pw", Password: true, SSHDConfig: "UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n"},
		sshd.HostSpec{Name: "kbd", Password: true, SSHDConfig: "UsePAM yes\nPasswordAuthentication no\nKbdInteractiveAuthentication yes\n"},
		sshd.HostSpec{Name: "forced", ForceCommand: "sleep 600"},
		sshd.HostSpec{Name: "rotate"},
		sshd.HostSpec{Name: "tofu"},
	)
	plain, pw, kbd, forced := lab.Host("plain"), lab.Host("pw"), lab.Host("kbd"), lab.Host("forced")

	keyCfg := func(t *testing.T, h *sshd.Host) otssh.Config {
		return otssh.Config{
			Address: h.Address, Port: h.Port, User: h.User,
			PrivateKey:     probes.NewSecret(string(h.ClientKeyPEM)),
			KnownHostsFile: lab.WriteKnownHosts(t, h),
			ConnectTimeout: 10 * time.Second,
		}
	}
	dial := func(t *testing.T, cfg otssh.Config) *otssh.Client {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c, err := otssh.Dial(ctx, cfg)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	run := func(t *testing.T, c *otssh.Client, cmd probes.Command) *probes.Output {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := c.Run(ctx, cmd)
		if err != nil {
			t.Fatalf("Run %q: %v", cmd.Line, err)
		}
		return out
	}

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		agentSock := startAgent(t, lab.ClientKey)
		encrypted := encryptKey(t, lab.ClientKey, "correct horse")
		tests := []struct {
			name    string
			host    *sshd.Host
			mutate  func(*otssh.Config)
			wantErr error
			secret  string // must not appear in the error
		}{
			{name: "public key", host: plain},
			{name: "encrypted key", host: plain, mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Passphrase = probes.NewSecret(string(encrypted)), probes.NewSecret("correct horse")
			}},
			{name: "encrypted key, wrong passphrase", host: plain, wantErr: probes.ErrAuthFailed, secret: "battery staple", mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Passphrase = probes.NewSecret(string(encrypted)), probes.NewSecret("battery staple")
			}},
			{name: "encrypted key, no passphrase", host: plain, wantErr: probes.ErrAuthFailed, mutate: func(c *otssh.Config) {
				c.PrivateKey = probes.NewSecret(string(encrypted))
			}},
			{name: "agent", host: plain, mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Agent, c.AgentSocket = probes.Secret{}, true, agentSock
			}},
			{name: "unauthorized key", host: plain, wantErr: probes.ErrAuthFailed, mutate: func(c *otssh.Config) {
				c.PrivateKey = probes.NewSecret(string(newKeyPEM(t)))
			}},
			{name: "password", host: pw, mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Password = probes.Secret{}, pw.Password
			}},
			{name: "wrong password", host: pw, wantErr: probes.ErrAuthFailed, secret: "Wr0ng-pa55word", mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Password = probes.Secret{}, probes.NewSecret("Wr0ng-pa55word")
			}},
			{name: "keyboard-interactive", host: kbd, mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Password = probes.Secret{}, kbd.Password
			}},
			{name: "keyboard-interactive, wrong password", host: kbd, wantErr: probes.ErrAuthFailed, secret: "Wr0ng-pa55word", mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Password = probes.Secret{}, probes.NewSecret("Wr0ng-pa55word")
			}},
			{name: "key refused, password accepted", host: pw, mutate: func(c *otssh.Config) {
				c.PrivateKey, c.Password = probes.NewSecret(string(newKeyPEM(t))), pw.Password
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				cfg := keyCfg(t, tt.host)
				if tt.mutate != nil {
					tt.mutate(&cfg)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				c, err := otssh.Dial(ctx, cfg)
				if tt.wantErr != nil {
					if err == nil {
						c.Close()
						t.Fatal("Dial succeeded")
					}
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Dial = %v, want %v", err, tt.wantErr)
					}
					t.Logf("Dial error: %v", err)
					if probes.StatusOf(err) != probes.StatusAuthFailed {
						t.Errorf("StatusOf = %s, want auth-failed", probes.StatusOf(err))
					}
					if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
						t.Errorf("error leaks the secret: %v", err)
					}
					if !strings.Contains(err.Error(), tt.host.Addr()) {
						t.Errorf("error %q does not name %s", err, tt.host.Addr())
					}
					return
				}
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				out := run(t, c, probes.Command{Line: "id -un"})
				if got := strings.TrimSpace(string(out.Stdout)); got != sshd.TestUser {
					t.Errorf("id -un = %q, want %s", got, sshd.TestUser)
				}
			})
		}
	})

	t.Run("host key", func(t *testing.T) {
		t.Parallel()
		c := dial(t, keyCfg(t, plain))
		// The host also has an ECDSA key, which the library prefers:
		// only offering the recorded type makes the ed25519 entry match.
		algo, fp := c.HostKey()
		if algo != xssh.KeyAlgoED25519 || fp != xssh.FingerprintSHA256(plain.HostPublicKey) {
			t.Errorf("HostKey = %s %s, want %s %s", algo, fp, xssh.KeyAlgoED25519, xssh.FingerprintSHA256(plain.HostPublicKey))
		}
	})

	t.Run("unknown host refused", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name    string
			content *string
		}{
			{name: "missing file"},
			{name: "other hosts only", content: ptr(lab.KnownHosts(pw, kbd))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := keyCfg(t, plain)
				cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
				if tc.content != nil {
					if err := os.WriteFile(cfg.KnownHostsFile, []byte(*tc.content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				_, err := otssh.Dial(ctx, cfg)
				var uh *otssh.UnknownHostError
				if !errors.As(err, &uh) || !errors.Is(err, probes.ErrHostKeyMismatch) {
					t.Fatalf("Dial = %v, want *UnknownHostError", err)
				}
				if probes.StatusOf(err) != probes.StatusHostKeyMismatch {
					t.Errorf("StatusOf = %s", probes.StatusOf(err))
				}
				msg := err.Error()
				t.Logf("Dial error: %s", msg)
				if !strings.Contains(msg, "host key not in known_hosts "+cfg.KnownHostsFile) || !strings.Contains(msg, "trust-on-first-use") {
					t.Errorf("message %q", msg)
				}
				if _, err := os.Stat(cfg.KnownHostsFile); tc.content == nil && err == nil {
					t.Error("known_hosts was created without TOFU")
				}
			})
		}
	})

	t.Run("TOFU", func(t *testing.T) {
		t.Parallel()
		h := lab.Host("tofu")
		kh := filepath.Join(t.TempDir(), "known_hosts")
		// Some other host is already recorded, without a final newline.
		other := strings.TrimSuffix(lab.KnownHosts(pw), "\n")
		if err := os.WriteFile(kh, []byte(other), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := keyCfg(t, h)
		cfg.KnownHostsFile, cfg.TOFU = kh, true
		// The Dials share a known_hosts cache, as a sweep's do: each sees
		// what the others learned.
		cfg.HostKeys = otssh.NewKnownHostsCache()
		// Concurrent first contacts must record the host exactly once.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c, err := otssh.Dial(ctx, cfg)
				if err == nil {
					c.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Dial %d: %v", i, err)
			}
		}
		b, err := os.ReadFile(kh)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != other {
			t.Fatalf("known_hosts after TOFU:\n%s", b)
		}
		_, hosts, key, _, _, err := xssh.ParseKnownHosts([]byte(lines[1]))
		if err != nil {
			t.Fatalf("recorded line %q: %v", lines[1], err)
		}
		if len(hosts) != 1 || hosts[0] != knownhosts.Normalize(h.Addr()) {
			t.Errorf("recorded hosts %v, want %s", hosts, knownhosts.Normalize(h.Addr()))
		}
		if !bytes.Equal(key.Marshal(), h.HostPublicKey.Marshal()) && !bytes.Equal(key.Marshal(), h.HostECDSAKey.Marshal()) {
			t.Errorf("recorded key %s is not the host's", xssh.FingerprintSHA256(key))
		}
		// The recorded key now verifies without TOFU.
		cfg.TOFU = false
		dial(t, cfg)
	})

	t.Run("changed key refused", func(t *testing.T) {
		t.Parallel()
		h := lab.Host("rotate")
		oldFP := xssh.FingerprintSHA256(h.HostPublicKey)
		recorded := lab.WriteKnownHosts(t, h)
		rsaLine := filepath.Join(t.TempDir(), "known_hosts_rsa")
		if err := os.WriteFile(rsaLine, []byte(knownhosts.Line([]string{knownhosts.Normalize(h.Addr())}, newRSAPublicKey(t))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		h.RotateHostKey(t)
		// Through a cache that holds the files as recorded (old enough to
		// be served from its index), and without one.
		old := time.Now().Add(-time.Hour)
		for _, f := range []string{recorded, rsaLine} {
			if err := os.Chtimes(f, old, old); err != nil {
				t.Fatal(err)
			}
		}
		cache := otssh.NewKnownHostsCache()
		for _, tc := range []struct {
			name      string
			file      string
			presented bool
			cache     *otssh.KnownHostsCache
		}{
			{name: "same key type", file: recorded, presented: true},
			// The host has no RSA key at all: nothing it can present
			// matches, which is a change too.
			{name: "recorded type no longer offered", file: rsaLine},
			{name: "same key type, cached", file: recorded, presented: true, cache: cache},
			{name: "same key type, cached again", file: recorded, presented: true, cache: cache},
			{name: "recorded type no longer offered, cached", file: rsaLine, cache: cache},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := keyCfg(t, h)
				cfg.KnownHostsFile, cfg.TOFU, cfg.HostKeys = tc.file, true, tc.cache
				before, _ := os.ReadFile(tc.file)
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				_, err := otssh.Dial(ctx, cfg)
				var ch *otssh.HostKeyChangedError
				if !errors.As(err, &ch) || probes.StatusOf(err) != probes.StatusHostKeyMismatch {
					t.Fatalf("Dial = %v, want *HostKeyChangedError", err)
				}
				t.Logf("Dial error: %v", err)
				if tc.presented {
					if len(ch.Presented) != 1 || ch.Presented[0] != xssh.FingerprintSHA256(h.HostPublicKey) {
						t.Errorf("Presented = %v, want the new key %s", ch.Presented, xssh.FingerprintSHA256(h.HostPublicKey))
					}
					if len(ch.Expected) != 1 || ch.Expected[0] != oldFP {
						t.Errorf("Expected = %v, want the old key %s", ch.Expected, oldFP)
					}
				} else if len(ch.Presented) != 0 || len(ch.Offered) == 0 {
					t.Errorf("Presented = %v, Offered = %v; want none presented and the offered algorithms", ch.Presented, ch.Offered)
				}
				after, _ := os.ReadFile(tc.file)
				if !bytes.Equal(before, after) {
					t.Errorf("known_hosts changed on a refused key:\n%s", after)
				}
			})
		}
	})

	t.Run("exit codes", func(t *testing.T) {
		t.Parallel()
		c := dial(t, keyCfg(t, plain))
		for _, tc := range []struct {
			line string
			want int
		}{
			{"true", 0}, {"false", 1}, {"exit 3", 3}, {"exit 255", 255}, {"kill -TERM $$", 143}, {"no-such-command-here", 127},
		} {
			out := run(t, c, probes.Command{Line: tc.line})
			if out.ExitCode != tc.want {
				t.Errorf("%q: ExitCode = %d, want %d", tc.line, out.ExitCode, tc.want)
			}
		}
	})

	t.Run("stdin and stderr", func(t *testing.T) {
		t.Parallel()
		c := dial(t, keyCfg(t, plain))
		data := make([]byte, 200<<10)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out := run(t, c, probes.Command{Line: "sha256sum | cut -d' ' -f1; echo note >&2", Stdin: data})
		if got := strings.TrimSpace(string(out.Stdout)); got != hex.EncodeToString(sum[:]) {
			t.Errorf("remote sha256 = %s, want %s", got, hex.EncodeToString(sum[:]))
		}
		if string(out.Stderr) != "note\n" {
			t.Errorf("Stderr = %q", out.Stderr)
		}
		// The probe bundle shape: a script on stdin with an argument.
		out = run(t, c, probes.Command{Line: "sh -s -- n0nce", Stdin: []byte("printf '%s\\n' \"$1\"\nexit 5\n")})
		if string(out.Stdout) != "n0nce\n" || out.ExitCode != 5 {
			t.Errorf("script: %q exit %d", out.Stdout, out.ExitCode)
		}
		out = run(t, c, probes.Command{Line: "head -c 3000000 /dev/zero >&2; echo done"})
		if len(out.Stderr) != otssh.MaxStderr || string(out.Stdout) != "done\n" {
			t.Errorf("stderr cap: len %d, stdout %q", len(out.Stderr), out.Stdout)
		}
	})

	t.Run("output cap", func(t *testing.T) {
		t.Parallel()
		cfg := keyCfg(t, plain)
		cfg.MaxOutput = 1 << 20
		c := dial(t, cfg)
		start := time.Now()
		out := run(t, c, probes.Command{Line: "exec yes otsweep-cap-test"})
		if !out.Truncated || len(out.Stdout) != 1<<20 || out.ExitCode != -1 {
			t.Errorf("Truncated=%v len=%d exit=%d", out.Truncated, len(out.Stdout), out.ExitCode)
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("Run took %s", elapsed)
		}
		waitNoProcess(t, plain, "otsweep-cap-test")
		// The connection survives a truncated command.
		if out := run(t, c, probes.Command{Line: "echo still here"}); string(out.Stdout) != "still here\n" {
			t.Errorf("after truncation: %q", out.Stdout)
		}
	})

	t.Run("timeout ends remote command", func(t *testing.T) {
		t.Parallel()
		c := dial(t, keyCfg(t, plain))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		// Ignores stdin and SIGHUP; only the signal request ends it.
		_, err := c.Run(ctx, probes.Command{Line: "exec sleep 601"})
		elapsed := time.Since(start)
		if !errors.Is(err, probes.ErrTimeout) || probes.StatusOf(err) != probes.StatusTimeout {
			t.Fatalf("Run = %v, want ErrTimeout", err)
		}
		if elapsed > 2*time.Second {
			t.Errorf("Run returned %s after start, want within 1 s of the deadline", elapsed)
		}
		waitNoProcess(t, plain, "sleep 601")
	})

	t.Run("timeout with ForceCommand", func(t *testing.T) {
		t.Parallel()
		c := dial(t, keyCfg(t, forced))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Run(ctx, probes.Command{Line: "sh -s -- ignored"})
		elapsed := time.Since(start)
		if !errors.Is(err, probes.ErrTimeout) {
			t.Fatalf("Run = %v, want ErrTimeout", err)
		}
		if elapsed > 3*time.Second {
			t.Errorf("Run returned %s after start, want within 3 s", elapsed)
		}
		// The session is torn down on the server. OpenSSH refuses signal
		// requests for forced-command sessions ("refusing to send signal
		// TERM to forced-command session") and leaves a non-pty command
		// running after the connection closes, so the forced `sleep 600`
		// itself is outside the client's reach; the lab kills it at cleanup.
		waitNoProcess(t, forced, "otscan@notty")
	})
}

// waitNoProcess waits (bounded) until no process on h has an argument
// containing needle.
func waitNoProcess(t *testing.T, h *sshd.Host, needle string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	var left []sshd.Process
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		procs, err := h.Processes(ctx)
		cancel()
		if err != nil {
			t.Fatalf("processes on %s: %v", h.Name, err)
		}
		left = left[:0]
		for _, p := range procs {
			if strings.Contains(strings.Join(p.Args, " "), needle) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("still running on %s: %+v", h.Name, left)
}

// startAgent serves an in-process ssh-agent holding key on a unix socket.
func startAgent(t *testing.T, key any) string {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			})
		}
	})
	return sock
}

func encryptKey(t *testing.T, key any, passphrase string) []byte {
	t.Helper()
	block, err := xssh.MarshalPrivateKeyWithPassphrase(key, "", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func newKeyPEM(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := xssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func newRSAPublicKey(t *testing.T) xssh.PublicKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := xssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func ptr[T any](v T) *T { return &v }

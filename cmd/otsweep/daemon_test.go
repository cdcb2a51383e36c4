package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otsweep/otsweep/internal/testbed/smtpd"
	"github.com/otsweep/otsweep/store"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitFor polls cond every 50 ms for up to limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDaemonCLI runs `otsweep daemon` on this machine (local transport) on
// a real clock: sweeps every second, SIGHUP reload, /metrics, SIGTERM-like
// stop through ctx, then `otsweep drift` over what it stored.
func TestDaemonCLI(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	writeFile(t, filepath.Join(dir, "inventory.yaml"), `zones:
  - name: lab
    sl_target: 1
assets:
  - name: this-host
    platform: linux
    transport: local
    role: linux-server
    zone: lab
`)
	config := fmt.Sprintf(`inventory: inventory.yaml
db: otsweep.db
listen: 127.0.0.1:%d
grace_period: 20s
sweeps:
  - name: every-second
    schedule: "@every 1s"
    timeout: 30s
`, port)
	cfgPath := filepath.Join(dir, "otsweep-daemon.yaml")
	writeFile(t, cfgPath, config)
	db := filepath.Join(dir, "otsweep.db")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"daemon", "--config", cfgPath}, out, errf) }()
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(errf.Name())
			t.Logf("daemon stderr:\n%s", b)
		}
	}()

	waitFor(t, "/healthz", 10*time.Second, func() bool {
		c, _, err := httpGet(base + "/healthz")
		return err == nil && c == 200
	})
	sweeps := func() []store.Sweep {
		st, err := store.Open(ctx, db)
		if err != nil {
			return nil
		}
		defer st.Close()
		sw, _ := st.Sweeps(ctx, 0)
		return sw
	}
	waitFor(t, "two finished sweeps", 30*time.Second, func() bool {
		n := 0
		for _, s := range sweeps() {
			if s.Status == store.SweepComplete {
				n++
			}
		}
		return n >= 2
	})

	// SIGHUP: a second sweep appears in the config in force.
	writeFile(t, cfgPath, config+"  - name: hourly\n    schedule: \"@hourly\"\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", 10*time.Second, func() bool {
		_, body, _ := httpGet(base + "/healthz")
		var hz struct{ Sweeps int }
		return json.Unmarshal([]byte(body), &hz) == nil && hz.Sweeps == 2
	})
	_, metrics, err := httpGet(base + "/metrics")
	if err != nil || !strings.Contains(metrics, `otsweep_config_reloads_total{result="ok"} 1`) ||
		!strings.Contains(metrics, `otsweep_sweeps_total{status="complete",sweep="every-second"}`) {
		t.Errorf("metrics (%v):\n%s", err, metrics)
	}

	cancel() // what SIGTERM does through main's signal.NotifyContext
	select {
	case c := <-code:
		if c != ExitOK {
			t.Errorf("daemon exit code %d", c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop")
	}
	for _, s := range sweeps() {
		if s.Status == store.SweepRunning {
			t.Errorf("sweep %d left running", s.ID)
		}
	}

	c, stdout, stderr := cli(t, "drift", "--db", db, "--since", "0", "--json")
	var evs []store.DriftEvent
	if c != ExitOK || json.Unmarshal([]byte(stdout), &evs) != nil || len(evs) == 0 ||
		evs[0].Kind != store.DriftNewAsset || evs[0].Asset != "this-host" {
		t.Errorf("drift --json = %d %s %s", c, stdout, stderr)
	}
	if c, stdout, _ := cli(t, "drift", "--db", db, "--since", "0"); c != ExitOK || !strings.Contains(stdout, "new-asset") {
		t.Errorf("drift table = %d\n%s", c, stdout)
	}
	if c, _, stderr := cli(t, "drift", "--db", db, "--since", "yesterday"); c != ExitUsage || !strings.Contains(stderr, "--since") {
		t.Errorf("bad --since = %d %s", c, stderr)
	}
	if c, stdout, _ := cli(t, "daemon", "missed", "--db", db, "--json"); c != ExitOK || !strings.HasPrefix(stdout, "[") {
		t.Errorf("daemon missed = %d %s", c, stdout)
	}
}

func TestDaemonCLIRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "d.yaml")
	writeFile(t, cfg, "inventory: inv.yaml\ndb: o.db\nsweeps:\n  - name: x\n    schedule: \"0 25 * * *\"\n")
	code, _, stderr := cli(t, "daemon", "--config", cfg)
	if code != ExitUsage || !strings.Contains(stderr, "d.yaml:5: sweep x: cron spec") {
		t.Errorf("daemon with a bad config = %d %s", code, stderr)
	}
	if code, _, stderr := cli(t, "daemon"); code != ExitUsage || !strings.Contains(stderr, "--config") {
		t.Errorf("daemon without --config = %d %s", code, stderr)
	}
}

func TestAlertTestCLI(t *testing.T) {
	srv := smtpd.Start(t, smtpd.Config{Username: "alerts", Password: "cli-test-pw"})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.pem"), string(srv.CertPEM))
	cfg := filepath.Join(dir, "d.yaml")
	writeFile(t, cfg, fmt.Sprintf(`inventory: inv.yaml
db: otsweep.db
sweeps:
  - name: nightly
    schedule: "@daily"
smtp:
  host: 127.0.0.1
  port: %d
  username: alerts
  password_env: OTSWEEP_TEST_SMTP_PW
  from: otsweep@plant.example
  ca_file: ca.pem
alerts:
  to: [ot@plant.example]
  zones:
    cell-3: [line3@plant.example]
`, srv.Port))
	t.Setenv("OTSWEEP_TEST_SMTP_PW", "cli-test-pw")
	code, stdout, stderr := cli(t, "alert", "test", "--config", cfg)
	if code != ExitOK || !strings.Contains(stdout, "Test message sent to line3@plant.example, ot@plant.example") {
		t.Fatalf("alert test = %d %s %s", code, stdout, stderr)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS || len(msgs[0].To) != 2 {
		t.Errorf("messages %+v", msgs)
	}
	code, stdout, _ = cli(t, "alert", "deliveries", "--db", filepath.Join(dir, "otsweep.db"), "--json")
	var dels []store.Delivery
	if code != ExitOK || json.Unmarshal([]byte(stdout), &dels) != nil || len(dels) != 1 || dels[0].Status != store.DeliverySent {
		t.Errorf("alert deliveries = %d %s", code, stdout)
	}

	srv.Stop()
	writeFile(t, cfg, strings.Replace(mustRead(t, cfg), "ca_file: ca.pem", "ca_file: ca.pem\n  retry: {attempts: 2, initial: 10ms}", 1))
	code, _, stderr = cli(t, "alert", "test", "--config", cfg)
	if code != ExitUsage || !strings.Contains(stderr, "attempt 2 of 2") || strings.Contains(stderr, "cli-test-pw") {
		t.Errorf("alert test with the server down = %d %s", code, stderr)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

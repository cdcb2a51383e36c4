package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	xssh "golang.org/x/crypto/ssh"

	"github.com/otsweep/otsweep/store"
)

// Crash safety with two writers (issue 8, point 2): a `scan` process and a
// `daemon` process write the same database at once, and the daemon is then
// killed with SIGKILL in the middle of a sweep while a scan runs. The
// database stays consistent, no live sweep is taken for dead, the dead one
// is marked incomplete at the next start, and every sweep stays readable.

// otsweepLogged starts otsweep as a separate process (like otsweepProcess)
// with its output in a file under dir.
func otsweepLogged(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "OTSWEEP_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		_ = log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("%s output:\n%s", name, tailLines(string(b), 30))
		}
	})
	return cmd
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// exitCode waits for cmd and returns its exit code (-1 when killed).
func exitCode(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not end within %s", cmd.Args[1], limit)
		return -1
	}
}

// checkConsistent runs SQLite's integrity and foreign key checks on db.
func checkConsistent(t *testing.T, db string) {
	t.Helper()
	conn, err := sqlx.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var integrity string
	if err := conn.Get(&integrity, "PRAGMA integrity_check"); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	var fk int
	if err := conn.Get(&fk, "SELECT count(*) FROM pragma_foreign_key_check"); err != nil || fk != 0 {
		t.Fatalf("foreign key violations %d, %v", fk, err)
	}
}

// allSweeps reads every sweep and its scans back.
func allSweeps(t *testing.T, db string) ([]store.Sweep, map[int64][]store.Scan) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sweeps, err := st.Sweeps(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	scans := map[int64][]store.Scan{}
	for _, sw := range sweeps {
		s, err := st.ScansOfSweep(ctx, sw.ID)
		if err != nil {
			t.Fatalf("sweep %d: %v", sw.ID, err)
		}
		scans[sw.ID] = s
	}
	return sweeps, scans
}

func TestScanAndDaemonShareTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs otsweep processes")
	}
	dir := t.TempDir()
	rec := loadLinuxRecording(t, "debian12-root.out")
	srv := newFakeSSH(t, sshOptions{})
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	var assets strings.Builder
	for i := range 4 {
		name := fmt.Sprintf("good-%d", i)
		a := srv.host(t, name, replay(rec))
		fmt.Fprintf(&assets, "  - {name: %s, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: lab-key, role: linux-server, zone: lab}\n", name, a.Port)
	}
	hung := srv.host(t, "hung", func(ctx context.Context, _ sshExec, _ xssh.Channel, _ net.Conn) {
		select {
		case <-hang:
		case <-ctx.Done():
		}
	})
	head := fmt.Sprintf("zones:\n  - {name: lab, sl_target: 1}\ncredentials:\n  - {name: lab-key, username: otscan, private_key_file: %s, known_hosts: %s}\nassets:\n",
		srv.keyFile, srv.known)
	good := filepath.Join(dir, "good.yaml")
	withHung := filepath.Join(dir, "with-hung.yaml")
	writeFile(t, good, head+assets.String())
	writeFile(t, withHung, head+assets.String()+
		fmt.Sprintf("  - {name: hung, address: 127.0.0.1, port: %d, platform: linux, transport: ssh, credential: lab-key, role: linux-server, zone: lab, timeout: 10m}\n", hung.Port))
	db := filepath.Join(dir, "otsweep.db")
	daemonConfig := func(name, inventory string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, fmt.Sprintf("inventory: %s\ndb: %s\nlisten: 127.0.0.1:%d\ngrace_period: 1s\nsweeps:\n  - {name: every-second, schedule: \"@every 1s\", timeout: 60s, concurrency: 5}\n",
			inventory, db, freePort(t)))
		return p
	}

	// Phase 1: the daemon sweeps every second while scan processes write
	// their sweeps to the same file, back to back.
	daemon := otsweepLogged(t, dir, "daemon-1", "daemon", "--config", daemonConfig("d1.yaml", good), "--log-level", "info")
	// Three scan processes at a time, twice, while the daemon sweeps.
	const rounds, parallel = 2, 3
	const scans = rounds * parallel
	for r := range rounds {
		var procs []*exec.Cmd
		for i := range parallel {
			procs = append(procs, otsweepLogged(t, dir, fmt.Sprintf("scan-%d-%d", r, i), "scan", "-i", good, "--db", db,
				"--format", "json", "--timeout", "60s", "--concurrency", "4"))
		}
		for i, p := range procs {
			if code := exitCode(t, p, 2*time.Minute); code != ExitVariance {
				t.Fatalf("scan %d-%d: exit %d", r, i, code)
			}
		}
	}
	waitFor(t, "three daemon sweeps", 2*time.Minute, func() bool {
		n := 0
		for _, sw := range readSweeps(t, db) {
			if sw.Trigger != "manual" && sw.Status == store.SweepComplete {
				n++
			}
		}
		return n >= 3
	})
	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, daemon, time.Minute); code != ExitOK {
		t.Errorf("daemon: exit %d after SIGTERM", code)
	}
	checkConsistent(t, db)
	sweeps, byID := allSweeps(t, db)
	manual, scheduled := 0, 0
	for _, sw := range sweeps {
		if sw.Trigger == "manual" {
			manual++
		} else {
			scheduled++
		}
		switch {
		case sw.Status == store.SweepIncomplete || sw.Status == store.SweepRunning:
			t.Errorf("sweep %d (%s) is %s: a live writer was taken for dead", sw.ID, sw.Trigger, sw.Status)
		case sw.Status == store.SweepComplete && len(byID[sw.ID]) != 4:
			t.Errorf("sweep %d (%s): %d scans, want 4", sw.ID, sw.Trigger, len(byID[sw.ID]))
		}
		for _, sc := range byID[sw.ID] {
			if sc.Status != "ok" || len(sc.Checks) == 0 {
				t.Errorf("sweep %d: %s %s with %d checks: %s", sw.ID, sc.Asset.Name, sc.Status, len(sc.Checks), sc.Error)
			}
		}
	}
	if manual != scans || scheduled < 3 {
		t.Errorf("%d manual and %d scheduled sweeps, want %d and at least 3", manual, scheduled, scans)
	}
	// The writers really overlapped: sweeps of different processes ran at
	// the same time.
	overlaps := 0
	for i, a := range sweeps {
		for _, b := range sweeps[i+1:] {
			if a.Started.Before(b.Finished) && b.Started.Before(a.Finished) {
				overlaps++
			}
		}
	}
	if overlaps == 0 {
		t.Error("no two sweeps overlapped in time: the test proves nothing")
	}
	t.Logf("phase 1: %d scan and %d daemon sweeps in one database, %d pairs running at the same time", manual, scheduled, overlaps)

	// Phase 2: kill -9 the daemon while its sweep waits on a hung host and
	// a scan process is writing.
	daemon = otsweepLogged(t, dir, "daemon-2", "daemon", "--config", daemonConfig("d2.yaml", withHung), "--log-level", "info")
	var dying store.Sweep
	waitFor(t, "a daemon sweep held by the hung host", time.Minute, func() bool {
		for _, sw := range readSweeps(t, db) {
			if sw.Trigger != "manual" && sw.Status == store.SweepRunning {
				dying = sw
				return hungStarted(srv)
			}
		}
		return false
	})
	scan := otsweepLogged(t, dir, "scan-during-kill", "scan", "-i", good, "--db", db, "--format", "json", "--timeout", "60s")
	time.Sleep(300 * time.Millisecond)
	if err := daemon.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = exitCode(t, daemon, 30*time.Second)
	if code := exitCode(t, scan, 2*time.Minute); code != ExitVariance {
		t.Errorf("scan while the daemon was killed: exit %d", code)
	}
	checkConsistent(t, db)
	// The next start (here a scan) marks the dead sweep incomplete; every
	// sweep before it is intact.
	code, _, errOut := cli(t, "scan", "-i", good, "--db", db, "--format", "json", "--timeout", "60s", "--log-level", "warn")
	if code != ExitVariance || !strings.Contains(errOut, "marked incomplete") {
		t.Errorf("scan after the kill: exit %d, stderr %q", code, errOut)
	}
	checkConsistent(t, db)
	after, byID := allSweeps(t, db)
	for _, sw := range after {
		want := store.SweepComplete
		if sw.ID == dying.ID {
			want = store.SweepIncomplete
		}
		if sw.Status != want {
			t.Errorf("sweep %d (%s): %s, want %s", sw.ID, sw.Trigger, sw.Status, want)
		}
		if sw.Status == store.SweepComplete && len(byID[sw.ID]) != 4 {
			t.Errorf("sweep %d: %d scans after the kill", sw.ID, len(byID[sw.ID]))
		}
	}
	if len(after) != len(sweeps)+3 {
		t.Errorf("%d sweeps after phase 2, want %d", len(after), len(sweeps)+3)
	}
}

// hungStarted reports whether the hung host received its command.
func hungStarted(srv *fakeSSH) bool {
	for _, e := range srv.Execs() {
		if e.Host == "hung" {
			return true
		}
	}
	return false
}

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3"

	"github.com/otsweep/otsweep/internal/testbed/sshd"
	"github.com/otsweep/otsweep/store"
)

// TestMain lets a test run the real otsweep binary: the test binary re-runs
// itself with OTSWEEP_TEST_MAIN=1 and the arguments of a command line.
func TestMain(m *testing.M) {
	if os.Getenv("OTSWEEP_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// otsweepProcess starts otsweep as a separate process.
func otsweepProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "OTSWEEP_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// kill -9 during a sweep leaves a consistent database; the next start marks
// the dead sweep incomplete; nothing stored before is lost.
func TestKillDuringSweep(t *testing.T) {
	l := startLinuxLab(t, sshd.HostSpec{Name: "hang", ForceCommand: "sleep 600", SSHDConfig: "UsePAM no\n"})
	db := filepath.Join(l.dir, "otsweep.db")
	// A first, completed sweep whose results must survive.
	if code, _, errOut := cli(t, "scan", "-i", l.inventory(t, "hardened"), "--db", db, "--format", "json"); code != ExitVariance {
		t.Fatalf("first sweep: exit %d: %s", code, errOut)
	}
	inv := l.inventory(t, "hang", "weak")
	proc := otsweepProcess(t, "scan", "-i", inv, "--db", db, "--timeout", "120s", "--concurrency", "1", "--format", "json")
	// Wait until the hung host's sweep is running, then kill -9.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if sweeps := readSweeps(t, db); len(sweeps) == 2 && sweeps[0].Status == store.SweepRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second sweep never started")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = proc.Wait()

	// The database is consistent after the kill.
	conn, err := sqlx.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := conn.Get(&integrity, "PRAGMA integrity_check"); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	var fkViolations int
	if err := conn.Get(&fkViolations, "SELECT count(*) FROM pragma_foreign_key_check"); err != nil || fkViolations != 0 {
		t.Fatalf("foreign key violations %d, %v", fkViolations, err)
	}
	_ = conn.Close()

	// The next start marks the dead sweep incomplete and keeps the first.
	if code, _, errOut := cli(t, "scan", "-i", l.inventory(t, "weak"), "--db", db, "--format", "json", "--log-level", "warn"); code != ExitVariance {
		t.Fatalf("after the kill: exit %d: %s", code, errOut)
	} else if !strings.Contains(errOut, "marked incomplete") {
		t.Errorf("no warning about the recovered sweep: %q", errOut)
	}
	sweeps := readSweeps(t, db)
	if len(sweeps) != 3 {
		t.Fatalf("%d sweeps", len(sweeps))
	}
	// Sweeps are newest first.
	if sweeps[1].Status != store.SweepIncomplete || sweeps[2].Status != store.SweepComplete || sweeps[0].Status != store.SweepComplete {
		t.Errorf("statuses %s, %s, %s", sweeps[2].Status, sweeps[1].Status, sweeps[0].Status)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first, err := st.ScansOfSweep(context.Background(), sweeps[2].ID)
	if err != nil || len(first) != 1 || len(first[0].Checks) == 0 {
		t.Fatalf("first sweep after the crash: %d scans, err %v", len(first), err)
	}
}

func readSweeps(t *testing.T, db string) []store.Sweep {
	t.Helper()
	if _, err := os.Stat(db); err != nil {
		return nil
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		return nil
	}
	defer st.Close()
	sw, err := st.Sweeps(context.Background(), 10)
	if err != nil {
		return nil
	}
	return sw
}

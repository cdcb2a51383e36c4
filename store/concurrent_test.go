package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

const concurrentScans = 40

// concurrentScan is scan i of writer who: both writers scan the same assets,
// so their interval updates interleave on the same rows.
func concurrentScan(base *Scan, who string, sweepID int64, i int) *Scan {
	sc := cloneScan(base)
	sc.SweepID = sweepID
	sc.Asset.Name = fmt.Sprintf("hmi-%02d", i%5)
	sc.Started = t0.Add(time.Duration(i) * time.Second)
	sc.Checks[0].Actual = fmt.Sprintf("LockoutBadCount = %d", i%3)
	if i%4 == 0 {
		sc.Checks[1].Status = checks.Pass
	}
	sc.Facts["writer"] = strconv.Quote(who)
	if i%7 == 3 {
		sc.Status, sc.Error = probes.StatusTimeout, who+": winrm: timeout"
		sc.Checks, sc.Requirements, sc.Facts = nil, nil, nil
	}
	return sc
}

// writeSweep begins a sweep on s, waits until the other writer's sweep is
// running too, saves concurrentScans scans and finishes it. It returns the
// sweep ID and the scans by ID.
func writeSweep(ctx context.Context, s *Store, base *Scan, who string) (int64, map[int64]*Scan, error) {
	sw, err := s.BeginSweep(ctx, who, "test")
	if err != nil {
		return 0, nil, err
	}
	for i := 0; ; i++ {
		var running int
		if err := s.r.GetContext(ctx, &running, `SELECT count(*) FROM sweeps WHERE status = 'running'`); err != nil {
			return 0, nil, err
		}
		if running == 2 {
			break
		}
		if i == 10000 {
			return 0, nil, fmt.Errorf("%s: the other writer did not begin within 10 s", who)
		}
		time.Sleep(time.Millisecond)
	}
	saved := map[int64]*Scan{}
	for i := range concurrentScans {
		sc := concurrentScan(base, who, sw.ID, i)
		if _, err := s.SaveScan(ctx, sc); err != nil {
			return 0, nil, fmt.Errorf("%s scan %d: %w", who, i, err)
		}
		saved[sc.ID] = sc
		time.Sleep(time.Millisecond) // scans arrive spaced out, as over a network
	}
	return sw.ID, saved, s.FinishSweep(ctx, sw.ID, SweepComplete)
}

// verifyDatabase checks SQLite's integrity and every reconstructed scan.
func verifyDatabase(t *testing.T, s *Store, want map[int64]*Scan) {
	t.Helper()
	ctx := testCtx(t)
	var integrity string
	if err := s.r.GetContext(ctx, &integrity, `PRAGMA integrity_check`); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	var fk []struct {
		Table  string `db:"table"`
		RowID  *int64 `db:"rowid"`
		Parent string `db:"parent"`
		FKID   int64  `db:"fkid"`
	}
	if err := s.r.SelectContext(ctx, &fk, `PRAGMA foreign_key_check`); err != nil || len(fk) > 0 {
		t.Fatalf("foreign_key_check = %+v, %v", fk, err)
	}
	if n := count(t, s, "scans"); n != len(want) {
		t.Fatalf("%d scans stored, want %d", n, len(want))
	}
	var switches int
	if err := s.r.GetContext(ctx, &switches, `SELECT count(*) FROM scans s JOIN scans p ON p.id = (SELECT max(id) FROM scans WHERE id < s.id)
		WHERE p.sweep_id != s.sweep_id`); err != nil {
		t.Fatal(err)
	}
	t.Logf("the two writers' scans alternate %d times", switches)
	for id, sc := range want {
		got, err := s.Scan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		w := *sc
		assertScanEqual(t, *got, w)
	}
}

func TestConcurrentStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openAt(t, path), openAt(t, path)
	base := loadScan(t, "scan_windows10_en_hmi.json", 0, t0)
	ctx := testCtx(t)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		all  = map[int64]*Scan{}
		errs []error
	)
	for _, w := range []struct {
		s    *Store
		name string
	}{{a, "scan"}, {b, "daemon"}} {
		wg.Go(func() {
			_, saved, err := writeSweep(ctx, w.s, base, w.name)
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
			for id, sc := range saved {
				all[id] = sc
			}
		})
	}
	// A reader runs alongside, on both stores' read pools.
	stop := make(chan struct{})
	var readErr error
	var rg sync.WaitGroup
	rg.Go(func() {
		for i := 0; i < 500; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.Sweeps(ctx, 5); err != nil {
				readErr = err
				return
			}
			if _, err := a.AssetHistory(ctx, "hmi-00", time.Time{}); err != nil && !isNotFound(err) {
				readErr = err
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	rg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if readErr != nil {
		t.Fatalf("concurrent read: %v", readErr)
	}
	verifyDatabase(t, a, all)
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }

// TestConcurrentProcesses runs a second OS process writing the same file
// while this one writes, as a scan command and the daemon would.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	s := openAt(t, path)
	base := loadScan(t, "scan_windows10_en_hmi.json", 0, t0)
	ctx := testCtx(t)

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperWriterProcess$", "-test.count=1")
	child.Env = append(os.Environ(), helperEnv+"="+path)
	out := make(chan error, 1)
	var childOut []byte
	go func() {
		var err error
		childOut, err = child.CombinedOutput()
		out <- err
	}()
	_, mine, err := writeSweep(ctx, s, base, "scan")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-out; err != nil {
		t.Fatalf("writer process: %v\n%s", err, childOut)
	}

	sweeps, err := s.Sweeps(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sweeps) != 2 {
		t.Fatalf("%d sweeps, want 2", len(sweeps))
	}
	all := mine
	for _, sw := range sweeps {
		if sw.Status != SweepComplete || sw.Hosts != concurrentScans {
			t.Errorf("sweep %d (%s): status %s hosts %d", sw.ID, sw.Name, sw.Status, sw.Hosts)
		}
		if sw.Name != "daemon" {
			continue
		}
		// Rebuild what the other process saved, in its save order.
		scans, err := s.ScansOfSweep(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, got := range scans {
			want := concurrentScan(base, "daemon", sw.ID, i)
			want.ID = got.ID
			all[got.ID] = want
		}
	}
	verifyDatabase(t, s, all)
}

const helperEnv = "OTSWEEP_STORE_WRITER_DB"

// TestHelperWriterProcess is the second process of TestConcurrentProcesses;
// it does nothing unless started by it.
func TestHelperWriterProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestConcurrentProcesses")
	}
	s := openAt(t, path)
	base := loadScan(t, "scan_windows10_en_hmi.json", 0, t0)
	if _, _, err := writeSweep(testCtx(t), s, base, "daemon"); err != nil {
		t.Fatal(err)
	}
}

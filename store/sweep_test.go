package store

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

func TestSweepLifecycle(t *testing.T) {
	clock := newTestClock()
	s := openTest(t, WithClock(clock.Now))
	ctx := testCtx(t)

	if _, err := s.LatestSweep(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LatestSweep on an empty store = %v, want ErrNotFound", err)
	}
	first, err := s.BeginSweep(ctx, "nightly", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	sw, err := s.BeginSweep(ctx, "audit-prep", "on-demand")
	if err != nil {
		t.Fatal(err)
	}
	if sw.Status != SweepRunning || !sw.Started.Equal(clock.Now()) {
		t.Fatalf("BeginSweep = %+v", sw)
	}
	for i, st := range []probes.ScanStatus{probes.StatusOK, probes.StatusTimeout, probes.StatusOK} {
		sc := &Scan{SweepID: sw.ID, Asset: Asset{Name: string(rune('a' + i))}, Status: st, Started: clock.Now()}
		if _, err := s.SaveScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.Sweep(ctx, sw.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hosts != 3 || got.Counts[probes.StatusOK] != 2 || got.Counts[probes.StatusTimeout] != 1 || len(got.Counts) != 2 {
		t.Errorf("running sweep: hosts %d counts %v, want 3 and ok:2 timeout:1", got.Hosts, got.Counts)
	}
	if err := s.SetSweepHosts(ctx, sw.ID, 5); err != nil {
		t.Fatal(err)
	}
	clock.Add(10 * time.Minute)
	if err := s.FinishSweep(ctx, sw.ID, SweepPartial); err != nil {
		t.Fatal(err)
	}
	got, err = s.LatestSweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sw.ID || got.Status != SweepPartial || got.Hosts != 5 || !got.Finished.Equal(clock.Now()) ||
		got.Name != "audit-prep" || got.Trigger != "on-demand" {
		t.Errorf("finished sweep = %+v", got)
	}

	errTests := []struct {
		name string
		call func() error
		want error
	}{
		{"finish twice", func() error { return s.FinishSweep(ctx, sw.ID, SweepComplete) }, ErrNotRunning},
		{"scan into finished sweep", func() error {
			_, err := s.SaveScan(ctx, &Scan{SweepID: sw.ID, Asset: Asset{Name: "late"}, Status: probes.StatusOK, Started: clock.Now()})
			return err
		}, ErrNotRunning},
		{"heartbeat of finished sweep", func() error { return s.Heartbeat(ctx, sw.ID) }, ErrNotRunning},
		{"finish as running", func() error { return s.FinishSweep(ctx, first.ID, SweepRunning) }, ErrInvalid},
		{"finish unknown", func() error { return s.FinishSweep(ctx, 999, SweepComplete) }, ErrNotFound},
		{"hosts of unknown", func() error { return s.SetSweepHosts(ctx, 999, 1) }, ErrNotFound},
		{"sweep unknown", func() error { _, err := s.Sweep(ctx, 999); return err }, ErrNotFound},
		{"begin without name", func() error { _, err := s.BeginSweep(ctx, "", "schedule"); return err }, ErrInvalid},
		{"heartbeat of running sweep", func() error { return s.Heartbeat(ctx, first.ID) }, nil},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if n := count(t, s, "assets", "name = 'late'"); n != 0 {
		t.Errorf("refused scan created its asset")
	}

	t.Run("list", func(t *testing.T) {
		all, err := s.Sweeps(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != sw.ID || all[1].ID != first.ID || all[0].Counts[probes.StatusOK] != 2 || len(all[1].Counts) != 0 {
			t.Errorf("Sweeps(0) = %+v", all)
		}
		one, err := s.Sweeps(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != 1 || one[0].ID != sw.ID {
			t.Errorf("Sweeps(1) = %+v", one)
		}
	})
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestRecoverIncomplete(t *testing.T) {
	clock := newTestClock()
	s := openTest(t, WithClock(clock.Now), WithStaleAfter(30*time.Minute))
	ctx := testCtx(t)
	me := s.self
	if me.host == "" || !lookupProcess(me.pid).known {
		t.Skip("this platform cannot inspect processes: liveness is by heartbeat only")
	}

	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Skipf("cannot start a second process: %v", err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	other := lookupProcess(sleeper.Process.Pid)

	tests := []struct {
		name      string
		owner     owner
		heartbeat time.Duration // before now
		finished  bool
		wantAlive bool
	}{
		{"this process", me, 0, false, true},
		{"another live process here", owner{me.host, me.boot, sleeper.Process.Pid, other.start}, 2 * time.Hour, false, true},
		{"dead process here", owner{me.host, me.boot, deadPID(t), 12345}, 0, false, false},
		{"pid reused", owner{me.host, me.boot, me.pid, me.start + 1}, 0, false, me.start == 0},
		{"host rebooted", owner{me.host, "d2f4c1e0-0000-4000-8000-000000000000", me.pid, me.start}, 0, false, me.boot == ""},
		{"other host, recent heartbeat", owner{"scanner-2", "", 4242, 99}, 5 * time.Minute, false, true},
		{"other host, stale heartbeat", owner{"scanner-2", "", 4242, 99}, 2 * time.Hour, false, false},
		{"finished sweep", owner{"scanner-2", "", 4242, 99}, 2 * time.Hour, true, true},
	}
	ids := make([]int64, len(tests))
	wantN := 0
	for i, tt := range tests {
		sw, err := s.BeginSweep(ctx, tt.name, "schedule")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = sw.ID
		if _, err := s.w.ExecContext(ctx, `UPDATE sweeps SET owner_host = ?, owner_boot = ?, owner_pid = ?, owner_start = ?, heartbeat_at = ? WHERE id = ?`,
			tt.owner.host, tt.owner.boot, tt.owner.pid, tt.owner.start, clock.Now().Add(-tt.heartbeat).UnixNano(), sw.ID); err != nil {
			t.Fatal(err)
		}
		if tt.finished {
			if err := s.FinishSweep(ctx, sw.ID, SweepComplete); err != nil {
				t.Fatal(err)
			}
		} else if !tt.wantAlive {
			wantN++
		}
	}

	n, err := s.RecoverIncomplete(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != wantN {
		t.Errorf("RecoverIncomplete = %d, want %d", n, wantN)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw, err := s.Sweep(ctx, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			want := SweepRunning
			switch {
			case tt.finished:
				want = SweepComplete
			case !tt.wantAlive:
				want = SweepIncomplete
			}
			if sw.Status != want {
				t.Fatalf("status %s, want %s", sw.Status, want)
			}
			if want == SweepIncomplete && !sw.Finished.Equal(clock.Now().Add(-tt.heartbeat)) {
				t.Errorf("finished %v, want the last heartbeat %v", sw.Finished, clock.Now().Add(-tt.heartbeat))
			}
		})
	}
	if n, err := s.RecoverIncomplete(ctx); err != nil || n != 0 {
		t.Errorf("second RecoverIncomplete = %d, %v; want 0", n, err)
	}
}

func TestMarkAssetsRemoved(t *testing.T) {
	clock := newTestClock()
	s := openTest(t, WithClock(clock.Now))
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hmi-01", "hist-01", "plc-07"} {
		if _, err := s.SaveScan(ctx, &Scan{SweepID: sw.ID, Asset: Asset{Name: name}, Status: probes.StatusOK, Started: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		present []string
		rescan  string // saved after marking
		want    []string
	}{
		{"one gone", []string{"hmi-01", "hist-01", "new-asset"}, "", []string{"hist-01", "hmi-01"}},
		{"back in inventory", []string{"hmi-01", "hist-01", "plc-07"}, "", []string{"hist-01", "hmi-01", "plc-07"}},
		{"empty inventory", nil, "", nil},
		{"scanned again", nil, "plc-07", []string{"plc-07"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Add(time.Hour)
			if err := s.MarkAssetsRemoved(ctx, st.present); err != nil {
				t.Fatal(err)
			}
			if st.rescan != "" {
				if _, err := s.SaveScan(ctx, &Scan{SweepID: sw.ID, Asset: Asset{Name: st.rescan}, Status: probes.StatusOK, Started: clock.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			present, err := s.Assets(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range present {
				names = append(names, a.Name)
				if !a.Removed.IsZero() {
					t.Errorf("%s listed as present but removed at %v", a.Name, a.Removed)
				}
			}
			if len(names) != len(st.want) || !slices.Equal(names, st.want) {
				t.Errorf("present assets %v, want %v", names, st.want)
			}
			all, err := s.Assets(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 3 {
				t.Errorf("%d assets in all, want 3", len(all))
			}
			for _, a := range all {
				if a.FirstSeen.IsZero() || a.LastSeen.IsZero() {
					t.Errorf("%s: first/last seen not set: %+v", a.Name, a)
				}
			}
		})
	}
}

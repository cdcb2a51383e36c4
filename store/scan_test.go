package store

import (
	"errors"
	"testing"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

var t0 = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	s := openTest(t, WithClock(newTestClock().Now))
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "nightly", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	local := time.FixedZone("CET", 3600)
	failed := &Scan{SweepID: sw.ID, Asset: Asset{Name: "plc-07", Address: "10.20.1.70", Role: "plc", Zone: "cell-1", Platform: "snmp", Transport: "snmp"},
		Status: probes.StatusTimeout, Error: "10.20.1.70: snmp get: timeout", Started: t0.Add(time.Minute).In(local),
		Finished: t0.Add(time.Minute + 10*time.Second), Target: mapping.Vector{1, 1, 1, 1, 1, 1, 1}}
	unfinished := &Scan{SweepID: sw.ID, Asset: Asset{Name: "ews-02", Platform: "windows", Transport: "winrm"},
		Status: probes.StatusUnreachable, Error: "dial tcp 10.20.1.30:5986: connect: no route to host", Started: t0}

	tests := []struct {
		name string
		scan *Scan
	}{
		{"windows hmi", loadScan(t, "scan_windows10_en_hmi.json", sw.ID, t0)},
		{"linux historian", loadScan(t, "scan_debian12_historian.json", sw.ID, t0.Add(3*time.Second))},
		{"timed out plc", failed},
		{"unreachable without finish time", unfinished},
		{"ok scan with nothing tracked", &Scan{SweepID: sw.ID, Asset: Asset{Name: "sw-01", Platform: "snmp"}, Status: probes.StatusOK,
			Started: t0, Target: mapping.Vector{2, 2, 2, 2, 2, 2, 2}, Achieved: mapping.Vector{0, 1, 2, 3, 4, 0, 1}}},
	}
	var want []Scan
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SaveScan(ctx, tt.scan)
			if err != nil {
				t.Fatalf("SaveScan: %v", err)
			}
			if id != tt.scan.ID || id == 0 {
				t.Fatalf("SaveScan returned id %d, scan has %d", id, tt.scan.ID)
			}
			got, err := s.Scan(ctx, id)
			if err != nil {
				t.Fatalf("Scan(%d): %v", id, err)
			}
			assertScanEqual(t, *got, *tt.scan)
			want = append(want, *tt.scan)
		})
	}

	t.Run("scans of sweep", func(t *testing.T) {
		got, err := s.ScansOfSweep(ctx, sw.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d scans, want %d", len(got), len(want))
		}
		for i := range got {
			assertScanEqual(t, got[i], want[i])
		}
	})
	t.Run("evidence deduplicated", func(t *testing.T) {
		again := loadScan(t, "scan_windows10_en_hmi.json", sw.ID, t0.Add(time.Hour))
		again.Asset.Name = "hmi-02" // a twin built from the same image
		before := count(t, s, "evidence")
		if _, err := s.SaveScan(ctx, again); err != nil {
			t.Fatal(err)
		}
		if after := count(t, s, "evidence"); after != before {
			t.Errorf("identical twin added %d evidence documents", after-before)
		}
	})
	t.Run("not found", func(t *testing.T) {
		if _, err := s.Scan(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("Scan(9999) = %v, want ErrNotFound", err)
		}
		if _, err := s.ScansOfSweep(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("ScansOfSweep(9999) = %v, want ErrNotFound", err)
		}
	})
}

// tableCounts counts the rows of every interval table.
func tableCounts(t *testing.T, s *Store) [3]int {
	return [3]int{count(t, s, "check_states"), count(t, s, "requirement_states"), count(t, s, "fact_states")}
}

func TestIntervals(t *testing.T) {
	s := openTest(t)
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	base := loadScan(t, "scan_windows10_en_hmi.json", sw.ID, t0)
	nc, nr, nf := len(base.Checks), len(base.Requirements), len(base.Facts)

	steps := []struct {
		name     string
		change   func(sc *Scan) // applied to the previous step's scan
		newRows  [3]int         // check, requirement, fact rows added
		open     [3]int         // current rows afterwards
		wantSame int            // index of an earlier step whose results this one must equal; -1 none
	}{
		{"first scan", func(*Scan) {}, [3]int{nc, nr, nf}, [3]int{nc, nr, nf}, -1},
		{"unchanged", func(*Scan) {}, [3]int{}, [3]int{nc, nr, nf}, 0},
		{"check fixed, port opened, requirement met", func(sc *Scan) {
			sc.Checks[5].Status, sc.Checks[5].Actual, sc.Checks[5].Message = checks.Pass, "MinimumPasswordLength = 14", ""
			sc.Checks[5].Evidence = []string{"[System Access]", "MinimumPasswordLength = 14"}
			sc.Requirements[2].State, sc.Requirements[2].Reason = mapping.Met, ""
			sc.Facts["listening.tcp_ports"] = `[135,139,445,3389,5985]`
		}, [3]int{1, 1, 1}, [3]int{nc, nr, nf}, -1},
		{"evidence changed, status not", func(sc *Scan) {
			sc.Checks[3].Actual = "av.signature_age_days = 2"
		}, [3]int{1, 0, 0}, [3]int{nc, nr, nf}, -1},
		{"unreachable", func(sc *Scan) {
			sc.Status, sc.Error = probes.StatusUnreachable, "dial tcp 10.20.1.11:5985: i/o timeout"
			sc.Checks, sc.Requirements, sc.Facts = nil, nil, nil
			sc.Achieved, sc.Potential = mapping.Vector{}, mapping.Vector{}
		}, [3]int{}, [3]int{nc, nr, nf}, -1},
		{"back, unchanged since before the failure", func(*Scan) {}, [3]int{}, [3]int{nc, nr, nf}, 3},
		{"check dropped, check added, fact gone", func(sc *Scan) {
			sc.Checks = append(sc.Checks[:6:6], sc.Checks[7:]...) // drop win.rdp.nla
			sc.Checks = append(sc.Checks, checks.Result{ID: "win.usb.storage_disabled", Title: "USB mass storage disabled",
				Status: checks.Fail, Probe: "W16", Expected: "USBSTOR Start = 4", Actual: "USBSTOR Start = 3",
				Evidence: []string{"HKLM\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR: Start REG_DWORD 0x3"}})
			delete(sc.Facts, "software")
		}, [3]int{1, 0, 0}, [3]int{nc, nr, nf - 1}, -1},
		{"check returns with its old result", func(sc *Scan) {
			sc.Checks = append(sc.Checks, base.Checks[6])
		}, [3]int{1, 0, 0}, [3]int{nc + 1, nr, nf - 1}, -1},
	}

	prev := base
	var saved []*Scan
	for i, st := range steps {
		sc := cloneScan(prev)
		st.change(sc)
		sc.Started = t0.Add(time.Duration(i) * 24 * time.Hour)
		sc.Finished = sc.Started.Add(2 * time.Second)
		before := tableCounts(t, s)
		if _, err := s.SaveScan(ctx, sc); err != nil {
			t.Fatalf("step %q: SaveScan: %v", st.name, err)
		}
		after := tableCounts(t, s)
		for k := range after {
			if d := after[k] - before[k]; d != st.newRows[k] {
				t.Errorf("step %q: table %d grew by %d rows, want %d", st.name, k, d, st.newRows[k])
			}
		}
		open := [3]int{count(t, s, "check_states", "to_scan IS NULL"), count(t, s, "requirement_states", "to_scan IS NULL"),
			count(t, s, "fact_states", "to_scan IS NULL")}
		if open != st.open {
			t.Errorf("step %q: current rows %v, want %v", st.name, open, st.open)
		}
		saved = append(saved, sc)
		if sc.Status == probes.StatusOK {
			prev = sc // a failed scan changes nothing the next one is compared with
		}
	}

	// Every scan, old or new, reads back as it was saved.
	for i, st := range steps {
		t.Run("reconstruct "+st.name, func(t *testing.T) {
			got, err := s.Scan(ctx, saved[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *saved[i]
			if want.Status != probes.StatusOK {
				want.Checks, want.Requirements, want.Facts = nil, nil, nil
			}
			assertScanEqual(t, *got, want)
			if st.wantSame >= 0 {
				ref, err := s.Scan(ctx, saved[st.wantSame].ID)
				if err != nil {
					t.Fatal(err)
				}
				ref.ID, ref.Started, ref.Finished = got.ID, got.Started, got.Finished
				assertScanEqual(t, *got, *ref)
			}
		})
	}
	t.Run("history", func(t *testing.T) {
		h, err := s.AssetHistory(ctx, "hmi-01", t0.Add(36*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != len(steps)-2 {
			t.Fatalf("%d scans since day 2, want %d", len(h), len(steps)-2)
		}
		for i, sc := range h {
			if sc.ID != saved[i+2].ID || sc.Checks != nil || sc.Facts != nil || sc.Target != base.Target {
				t.Errorf("history[%d] = scan %d (checks %d, target %v), want scan %d without results", i, sc.ID, len(sc.Checks), sc.Target, saved[i+2].ID)
			}
		}
		if sc := h[2]; sc.Status != probes.StatusUnreachable || sc.Achieved != (mapping.Vector{}) {
			t.Errorf("failed scan in history: status %s achieved %v", sc.Status, sc.Achieved)
		}
		if _, err := s.AssetHistory(ctx, "nosuch", time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("history of unknown asset: %v, want ErrNotFound", err)
		}
	})
}

func TestPreviousScan(t *testing.T) {
	s := openTest(t)
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	ok1 := loadScan(t, "scan_debian12_historian.json", sw.ID, t0)
	other := loadScan(t, "scan_windows10_en_hmi.json", sw.ID, t0)
	fail := &Scan{SweepID: sw.ID, Asset: ok1.Asset, Status: probes.StatusAuthFailed, Error: "ssh: handshake failed: unable to authenticate", Started: t0.Add(time.Hour)}
	ok2 := cloneScan(ok1)
	ok2.Started = t0.Add(2 * time.Hour)
	ok2.Checks[1].Status = checks.Pass
	for _, sc := range []*Scan{ok1, other, fail, ok2} {
		if _, err := s.SaveScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		asset  string
		before int64
		onlyOK bool
		want   *Scan // nil: ErrNotFound
	}{
		{"latest of all", "hist-01", 0, false, ok2},
		{"before latest, any status", "hist-01", ok2.ID, false, fail},
		{"before latest, ok only", "hist-01", ok2.ID, true, ok1},
		{"before failure", "hist-01", fail.ID, false, ok1},
		{"before first", "hist-01", ok1.ID, false, nil},
		{"other asset not mixed in", "hmi-01", ok2.ID, false, other},
		{"unknown asset", "nosuch", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.PreviousScan(ctx, tt.asset, tt.before, tt.onlyOK)
			if tt.want == nil {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("PreviousScan = %v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := *tt.want
			if want.Status != probes.StatusOK {
				want.Checks, want.Requirements, want.Facts = nil, nil, nil
			}
			assertScanEqual(t, *got, want)
		})
	}
}

func TestAssetRevisions(t *testing.T) {
	s := openTest(t)
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	first := loadScan(t, "scan_debian12_historian.json", sw.ID, t0)
	moved := cloneScan(first)
	moved.Asset.Zone, moved.Asset.Address = "level-3", "10.30.0.5"
	back := cloneScan(first)
	for _, sc := range []*Scan{first, moved, back} {
		if _, err := s.SaveScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range []*Scan{first, moved, back} {
		got, err := s.Scan(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Asset != sc.Asset {
			t.Errorf("scan %d asset %+v, want %+v", sc.ID, got.Asset, sc.Asset)
		}
	}
	if n := count(t, s, "asset_revisions"); n != 2 {
		t.Errorf("%d revisions, want 2", n)
	}
}

func TestSaveScanInvalid(t *testing.T) {
	s := openTest(t)
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "daily", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	good := loadScan(t, "scan_debian12_historian.json", sw.ID, t0)
	tests := []struct {
		name   string
		change func(*Scan)
	}{
		{"no asset name", func(sc *Scan) { sc.Asset.Name = "" }},
		{"no sweep", func(sc *Scan) { sc.SweepID = 0 }},
		{"unknown status", func(sc *Scan) { sc.Status = "fine" }},
		{"no start time", func(sc *Scan) { sc.Started = time.Time{} }},
		{"failed scan with results", func(sc *Scan) { sc.Status = probes.StatusTimeout }},
		{"repeated check", func(sc *Scan) { sc.Checks = append(sc.Checks, sc.Checks[0]) }},
		{"check without status", func(sc *Scan) { sc.Checks[0].Status = "" }},
		{"check without id", func(sc *Scan) { sc.Checks[0].ID = "" }},
		{"repeated requirement", func(sc *Scan) { sc.Requirements = append(sc.Requirements, sc.Requirements[0]) }},
		{"requirement without state", func(sc *Scan) { sc.Requirements[0].State = "" }},
		{"fact not JSON", func(sc *Scan) { sc.Facts["os.release"] = "Debian GNU/Linux 12" }},
		{"level out of range", func(sc *Scan) { sc.Achieved[3] = 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := cloneScan(good)
			tt.change(sc)
			if _, err := s.SaveScan(ctx, sc); !errors.Is(err, ErrInvalid) {
				t.Fatalf("SaveScan = %v, want ErrInvalid", err)
			}
			if n := count(t, s, "scans"); n != 0 {
				t.Fatalf("%d scans written", n)
			}
		})
	}
	t.Run("sweep unknown", func(t *testing.T) {
		sc := cloneScan(good)
		sc.SweepID = 4242
		if _, err := s.SaveScan(ctx, sc); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SaveScan = %v, want ErrNotFound", err)
		}
		if n := count(t, s, "assets"); n != 0 {
			t.Fatalf("%d assets written by a refused scan", n)
		}
	})
}

package store

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
)

// failedScan is a scan that did not reach its host.
func failedScan(sweepID int64, name, zone string, started time.Time) *Scan {
	return &Scan{SweepID: sweepID, Asset: Asset{Name: name, Address: "192.0.2.7", Role: "linux-server", Zone: zone,
		Platform: "linux", Transport: "ssh"}, Status: probes.StatusUnreachable,
		Error: "dial tcp 192.0.2.7:22: connect: no route to host", Started: started, Target: mapping.Vector{2, 2, 2, 2, 2, 2, 2}}
}

func TestRecordDrift(t *testing.T) {
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	ctx := testCtx(t)
	sw, err := s.BeginSweep(ctx, "nightly", "schedule")
	if err != nil {
		t.Fatal(err)
	}
	hist := loadScan(t, "scan_debian12_historian.json", sw.ID, t0)
	if _, err := s.SaveScan(ctx, hist); err != nil {
		t.Fatal(err)
	}
	down := failedScan(sw.ID, "plc-09", "cell-3", t0.Add(time.Second))
	if _, err := s.SaveScan(ctx, down); err != nil {
		t.Fatal(err)
	}

	ids, err := s.ScansWithoutDrift(ctx, 0, 0)
	if err != nil || !reflect.DeepEqual(ids, []int64{hist.ID, down.ID}) {
		t.Fatalf("ScansWithoutDrift = %v, %v; want both scans", ids, err)
	}

	events := []DriftEvent{
		{At: t0, ScanID: hist.ID, Asset: hist.Asset.Name, Zone: hist.Asset.Zone, Kind: DriftCheckFailing,
			Subject: "linux.pw.max_age", Title: "Password maximum age", FR: "FR 1", Requirements: []string{"SR 1.7"},
			Before: "pass; actual 90", After: "fail; actual 99999", Regression: true},
		{At: t0, ScanID: hist.ID, Asset: hist.Asset.Name, Zone: hist.Asset.Zone, Kind: DriftLevel, Subject: "FR 1",
			Before: "SL-A 2", After: "SL-A 1", Regression: true},
	}
	tests := []struct {
		name     string
		scan     int64
		events   []DriftEvent
		want     bool
		wantErr  error
		wantRows int
	}{
		{"first record", hist.ID, events, true, nil, 2},
		{"recomputed scan is not recorded twice", hist.ID, events, false, nil, 2},
		{"scan without events", down.ID, nil, true, nil, 2},
		{"unknown scan", 9999, nil, false, ErrNotFound, 2},
		{"event of another scan", hist.ID + 100, []DriftEvent{{ScanID: 1, Asset: "x", Kind: DriftFact}}, false, ErrNotFound, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := append([]DriftEvent(nil), tt.events...)
			got, err := s.RecordDrift(ctx, tt.scan, evs)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("RecordDrift = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if got {
				for _, e := range evs {
					if e.ID == 0 || e.SweepID != sw.ID {
						t.Errorf("event %s: id %d sweep %d", e.Kind, e.ID, e.SweepID)
					}
				}
			}
			if n := count(t, s, "drift_events"); n != tt.wantRows {
				t.Errorf("%d drift_events rows, want %d", n, tt.wantRows)
			}
		})
	}
	t.Run("invalid event rolls back", func(t *testing.T) {
		sc := failedScan(sw.ID, "plc-10", "cell-3", t0.Add(2*time.Second))
		if _, err := s.SaveScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
		_, err := s.RecordDrift(ctx, sc.ID, []DriftEvent{{ScanID: sc.ID + 1, Asset: "plc-10", Kind: DriftUnreachable}})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("RecordDrift = %v, want ErrInvalid", err)
		}
		if ids, _ := s.ScansWithoutDrift(ctx, 0, 0); !reflect.DeepEqual(ids, []int64{sc.ID}) {
			t.Errorf("after a failed record, scans without drift = %v, want [%d]", ids, sc.ID)
		}
		if ids, _ := s.ScansWithoutDrift(ctx, sc.ID, 0); len(ids) != 0 {
			t.Errorf("after ID %d: %v", sc.ID, ids)
		}
	})

	t.Run("query", func(t *testing.T) {
		all, err := s.DriftEvents(ctx, DriftFilter{})
		if err != nil || len(all) != 2 {
			t.Fatalf("DriftEvents = %d events, %v", len(all), err)
		}
		want := events[0]
		want.ID, want.SweepID = all[0].ID, sw.ID
		if !reflect.DeepEqual(all[0], want) {
			t.Errorf("read back\n got %+v\nwant %+v", all[0], want)
		}
		for _, tt := range []struct {
			name string
			f    DriftFilter
			n    int
		}{
			{"by asset", DriftFilter{Asset: hist.Asset.Name}, 2},
			{"other asset", DriftFilter{Asset: "plc-09"}, 0},
			{"by sweep", DriftFilter{SweepID: sw.ID}, 2},
			{"other sweep", DriftFilter{SweepID: sw.ID + 1}, 0},
			{"since before", DriftFilter{Since: t0}, 2},
			{"since after", DriftFilter{Since: t0.Add(time.Nanosecond)}, 0},
			{"newest one", DriftFilter{Limit: 1}, 1},
		} {
			got, err := s.DriftEvents(ctx, tt.f)
			if err != nil || len(got) != tt.n {
				t.Errorf("%s: %d events, %v; want %d", tt.name, len(got), err, tt.n)
			}
		}
		if last, _ := s.DriftEvents(ctx, DriftFilter{Limit: 1}); len(last) == 1 && last[0].Kind != DriftLevel {
			t.Errorf("limit keeps %s, want the newest (%s)", last[0].Kind, DriftLevel)
		}
	})
}

func TestRecordRemovedAssets(t *testing.T) {
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	ctx := testCtx(t)
	sw, _ := s.BeginSweep(ctx, "nightly", "schedule")
	for i, n := range []string{"a", "b", "c"} {
		if _, err := s.SaveScan(ctx, failedScan(sw.ID, n, "z"+n, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		present []string
		removed []string // events expected from this call
	}{
		{"all present", []string{"a", "b", "c"}, nil},
		{"b gone", []string{"a", "c"}, []string{"b"}},
		{"b still gone: no second event", []string{"a", "c"}, nil},
		{"b back, a and c gone", []string{"b"}, []string{"a", "c"}},
		{"b gone again", nil, []string{"b"}},
	}
	for _, st := range steps {
		clk.Add(time.Hour)
		evs, err := s.RecordRemovedAssets(ctx, st.present, sw.ID)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Asset)
			if e.Kind != DriftAssetRemoved || e.SweepID != sw.ID || e.ID == 0 || !e.At.Equal(clk.Now()) || e.Zone != "z"+e.Asset {
				t.Errorf("%s: event %+v", st.name, e)
			}
		}
		if !reflect.DeepEqual(got, st.removed) {
			t.Errorf("%s: removed %v, want %v", st.name, got, st.removed)
		}
	}
	recs, _ := s.Assets(ctx, false)
	if len(recs) != 0 {
		t.Errorf("assets still present: %v", recs)
	}
	if n := count(t, s, "drift_events", "kind = 'asset-removed'"); n != 4 {
		t.Errorf("%d removal events, want 4", n)
	}
}

func TestDeliveriesAndMissedRuns(t *testing.T) {
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	ctx := testCtx(t)
	sw, _ := s.BeginSweep(ctx, "nightly", "schedule")

	t.Run("deliveries", func(t *testing.T) {
		good := &Delivery{SweepID: sw.ID, Kind: DeliveryDigest, Recipients: []string{"ot@plant.example"}, Subject: "[otsweep] 2 regressions",
			Events: []int64{4, 5}, Status: DeliverySent, Attempts: 2, Error: "", Started: t0, Finished: t0.Add(time.Second)}
		test := &Delivery{Kind: DeliveryTest, Recipients: []string{"a@plant.example", "b@plant.example"}, Subject: "test",
			Status: DeliveryFailed, Attempts: 5, Error: "dial tcp 127.0.0.1:2525: connection refused", Started: t0, Finished: t0.Add(time.Minute)}
		for _, d := range []*Delivery{good, test} {
			if err := s.RecordDelivery(ctx, d); err != nil || d.ID == 0 {
				t.Fatalf("RecordDelivery: %v (id %d)", err, d.ID)
			}
		}
		for _, bad := range []Delivery{
			{Kind: "sms", Recipients: []string{"x"}, Status: DeliverySent, Started: t0, Finished: t0},
			{Kind: DeliveryTest, Recipients: []string{"x"}, Status: "queued", Started: t0, Finished: t0},
			{Kind: DeliveryTest, Status: DeliverySent, Started: t0, Finished: t0},
		} {
			if err := s.RecordDelivery(ctx, &bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("RecordDelivery(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
		all, err := s.Deliveries(ctx, 0, 0)
		if err != nil || len(all) != 2 || !reflect.DeepEqual(all[0], *good) || !reflect.DeepEqual(all[1], *test) {
			t.Fatalf("Deliveries = %+v, %v", all, err)
		}
		if of, _ := s.Deliveries(ctx, sw.ID, 0); len(of) != 1 || of[0].ID != good.ID {
			t.Errorf("deliveries of sweep %d = %+v", sw.ID, of)
		}
	})

	t.Run("missed runs", func(t *testing.T) {
		for i, r := range []string{MissedOverlap, MissedBlackout, MissedDowntime} {
			m := &MissedRun{Sweep: "nightly", Scheduled: t0.Add(time.Duration(i) * time.Hour), Reason: r, Detail: "why"}
			if err := s.RecordMissedRun(ctx, m); err != nil || m.ID == 0 || !m.Recorded.Equal(clk.Now()) {
				t.Fatalf("RecordMissedRun(%s): %v %+v", r, err, m)
			}
		}
		if err := s.RecordMissedRun(ctx, &MissedRun{Sweep: "nightly", Scheduled: t0, Reason: "bored"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown reason: %v", err)
		}
		got, err := s.MissedRuns(ctx, t0.Add(time.Hour), 0)
		if err != nil || len(got) != 2 || got[0].Reason != MissedBlackout || got[1].Reason != MissedDowntime {
			t.Fatalf("MissedRuns = %+v, %v", got, err)
		}
	})

	t.Run("schedule marks", func(t *testing.T) {
		if _, ok, err := s.ScheduleMark(ctx, "nightly"); ok || err != nil {
			t.Fatalf("mark before any: %v %v", ok, err)
		}
		for _, at := range []time.Time{t0, t0.Add(24 * time.Hour)} {
			if err := s.SetScheduleMark(ctx, "nightly", at); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.ScheduleMark(ctx, "nightly")
			if !ok || err != nil || !got.Equal(at) {
				t.Errorf("mark = %v %v %v, want %v", got, ok, err, at)
			}
		}
	})
}

// TestDriftMigrationKeepsHistory: scans recorded before migration 002 are
// not replayed as drift.
func TestDriftMigrationKeepsHistory(t *testing.T) {
	s := bareStore(t)
	ctx := testCtx(t)
	all, err := migrationFS()
	if err != nil {
		t.Fatal(err)
	}
	first, err := fs.ReadFile(all, "001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx, fstest.MapFS{"001_init.sql": {Data: first}}); err != nil {
		t.Fatal(err)
	}
	s.self = currentOwner()
	sw, err := s.BeginSweep(ctx, "old", "manual")
	if err != nil {
		t.Fatal(err)
	}
	old := failedScan(sw.ID, "plc-01", "cell-1", t0)
	if _, err := s.SaveScan(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx, all); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.ScansWithoutDrift(ctx, 0, 0); err != nil || len(ids) != 0 {
		t.Errorf("scans without drift after migration = %v, %v; want none", ids, err)
	}
	newer := failedScan(sw.ID, "plc-01", "cell-1", t0.Add(time.Hour))
	if _, err := s.SaveScan(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.ScansWithoutDrift(ctx, 0, 0); !reflect.DeepEqual(ids, []int64{newer.ID}) {
		t.Errorf("scans without drift = %v, want [%d]", ids, newer.ID)
	}
}

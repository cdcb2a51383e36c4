package store

import (
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// TestSaveScanUnchanged: SaveScan reports a scan that changed nothing in the
// asset's history, and only such a scan; PreviousScanHead then reads the
// previous scan's row, which PreviousScan reads whole.
func TestSaveScanUnchanged(t *testing.T) {
	ctx := testCtx(t)
	s := openTest(t)
	sw, err := s.BeginSweep(ctx, "nightly", "manual")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	base := loadScan(t, "scan_windows10_en_hmi.json", sw.ID, t0)
	save := func(sc *Scan) *Scan {
		t.Helper()
		c := cloneScan(sc)
		if _, err := s.SaveScan(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	changedCheck := cloneScan(base)
	changedCheck.Checks[0].Message += " (changed)"
	droppedFact := cloneScan(base)
	for k := range droppedFact.Facts {
		delete(droppedFact.Facts, k)
		break
	}
	failed := &Scan{SweepID: sw.ID, Asset: base.Asset, Status: probes.StatusUnreachable, Error: "dial: no route", Started: t0, Target: base.Target}
	for i, step := range []struct {
		name string
		scan *Scan
		want bool
	}{
		{"first scan", base, false},
		{"the same again", base, true},
		{"a check's message changed", changedCheck, false},
		{"the same again", changedCheck, true},
		{"back to the first", base, false},
		{"a fact dropped", droppedFact, false},
		{"unreachable", failed, false},
		{"the same as before unreachable", droppedFact, true},
	} {
		got := save(step.scan)
		if got.Unchanged != step.want {
			t.Errorf("step %d (%s): Unchanged = %v, want %v", i, step.name, got.Unchanged, step.want)
		}
		head, err := s.PreviousScanHead(ctx, base.Asset.Name, got.ID+1, false)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := s.PreviousScan(ctx, base.Asset.Name, got.ID+1, false)
		if err != nil {
			t.Fatal(err)
		}
		if head.ID != got.ID || head.Status != whole.Status || head.Achieved != whole.Achieved || head.Error != whole.Error ||
			!head.Started.Equal(whole.Started) || len(head.Checks) != 0 || len(head.Facts) != 0 {
			t.Errorf("step %d: head %+v does not match the scan %d", i, head, whole.ID)
		}
	}
}

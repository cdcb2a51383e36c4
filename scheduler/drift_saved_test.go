package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/otsweep/otsweep/lab/sshsim"
	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/store"
)

// TestRecordSavedMatchesReadBack proves that drift computed from the scan in
// memory right after SaveScan (what the runner hands to AfterSave) is exactly
// the drift computed from the scan read back from the store, through a
// sequence that produces every kind of transition: first scan, weakening,
// unreachable (with an error that is not valid UTF-8), reachable again,
// hardening, and administrators whose names are not valid UTF-8.
func TestRecordSavedMatchesReadBack(t *testing.T) {
	defs := testDefs(t)
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "otsweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	hardened := hostState{maxDays: 90, ports: []int{22}, admins: []string{"alice"}}
	weak := hostState{maxDays: 99999, ports: []int{22, 5432}, admins: []string{"alice", "m\xffallory"}}
	down := hostState{err: fmt.Errorf("dial 192.0.2.10:22 \xfe\xff: %w", probes.ErrUnreachable)}
	// Recorded hosts change many checks and requirements at once, so the
	// order of events matters; the banner carries bytes that are not UTF-8.
	recorded := func(name, banner string) probes.Prober {
		const nonce = "0123456789abcdef0123456789abcdef"
		out, err := sshsim.Output(name, nonce)
		if err != nil {
			t.Fatal(err)
		}
		obs, err := linux.Parse(nonce, out)
		if err != nil {
			t.Fatal(err)
		}
		obs.Facts.Set("ssh.banner", "L16", banner, "banner "+banner)
		return &stubProber{obs: obs}
	}
	debian, ubuntu := recorded("debian12-root", "/etc/issue.net"), recorded("ubuntu2204-root", "none\xff\xfe")
	// Repeats change nothing in the history: drift then reads only the
	// previous scan's row (store.Scan.Unchanged), and must still match.
	sequence := []probes.Prober{hardened.prober(), hardened.prober(), weak.prober(), weak.prober(), down.prober(), weak.prober(),
		hardened.prober(), down.prober(), down.prober(), hardened.prober(), debian, debian, debian, ubuntu, down.prober(),
		ubuntu, debian, ubuntu, ubuntu}

	bp, _ := defs.Blueprints.Get("linux-server")
	d := &Drift{Store: st, Defs: defs}
	compared, inMemory, events, unchanged := 0, 0, 0, 0
	for i, p := range sequence {
		job := Job{Asset: store.Asset{Name: "hmi-01", Address: "192.0.2.10", Role: "linux-server", Zone: "cell-3",
			Platform: "linux", Transport: "ssh"}, Prober: p, Blueprint: bp}
		r := &Runner{Defs: defs, Store: st, Concurrency: 1, DefaultTimeout: 5 * time.Second,
			AfterSave: func(ctx context.Context, ar AssetResult) error {
				if ar.saved != nil {
					inMemory++
					if ar.saved.Unchanged {
						unchanged++
					}
				}
				got, recorded, err := d.RecordAfterSave(ctx, ar)
				if err != nil || !recorded {
					return fmt.Errorf("in memory: recorded %v: %v", recorded, err)
				}
				want, recorded, err := d.Record(ctx, ar.ScanID)
				if err != nil || recorded {
					return fmt.Errorf("read back: recorded %v: %v", recorded, err)
				}
				if !reflect.DeepEqual(comparable(got), comparable(want)) {
					t.Errorf("sweep %d: from memory\n%+v\nread back\n%+v", i, got, want)
				}
				compared++
				events += len(got)
				return nil
			}}
		if _, err := r.Run(t.Context(), "nightly", "schedule", []Job{job}); err != nil {
			t.Fatal(err)
		}
	}
	if compared != len(sequence) || inMemory != len(sequence) {
		t.Fatalf("compared %d, in memory %d, of %d scans", compared, inMemory, len(sequence))
	}
	// hardened, weak, debian ×2 and ubuntu repeat right after an ok scan;
	// the repeat after an unreachable one takes the full path.
	if unchanged < 5 {
		t.Fatalf("%d scans changed nothing: the sequence does not test that path", unchanged)
	}
	if events < len(sequence)/2 {
		t.Fatalf("only %d events over %d transitions: the sequence tests nothing", events, len(sequence))
	}
}

// comparable drops what only recording sets (event IDs) and the monotonic
// clock and location of event times, which the store does not keep.
func comparable(evs []store.DriftEvent) []store.DriftEvent {
	out := make([]store.DriftEvent, len(evs))
	for i, e := range evs {
		e.ID, e.At = 0, time.Unix(0, e.At.UnixNano()).UTC()
		out[i] = e
	}
	return out
}

// TestAsStored: the in-memory form drift compares is what the store reads
// back, also for text that is not valid UTF-8 and results out of ID order.
func TestAsStored(t *testing.T) {
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "otsweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	sw, err := st.BeginSweep(t.Context(), "nightly", "manual")
	if err != nil {
		t.Fatal(err)
	}
	sc := &store.Scan{SweepID: sw.ID, Asset: store.Asset{Name: "hmi-01", Platform: "linux", Transport: "ssh"},
		Status: probes.StatusOK, Started: time.Unix(1_800_000_000, 0),
		Checks: []checks.Result{
			{ID: "linux.z", Title: "Z \xff", Status: checks.Fail, Expected: "a\xfe\xffb", Actual: "x=\xc3", Message: "found \xed\xa0\x80"},
			{ID: "linux.a", Title: "A", Status: checks.Pass, Expected: "ok", Actual: "y=1"},
		},
		Requirements: []mapping.RequirementResult{
			{ID: "SR 7.6", FR: "FR 7", State: mapping.NotMet, Reason: "linux.z: found \xff"},
			{ID: "SR 1.1", FR: "FR 1", State: mapping.Met, Reason: "met by linux.a", Countermeasure: "cm\xfe", Note: "n\xff"},
		},
		Facts: map[string]string{"net.tcp_listen": "[22]"},
	}
	if _, err := st.SaveScan(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
	back, err := st.Scan(t.Context(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	mem := asStored(sc)
	if !reflect.DeepEqual(mem.Checks, back.Checks) {
		t.Errorf("checks:\nmemory    %q\nread back %q", mem.Checks, back.Checks)
	}
	if !reflect.DeepEqual(mem.Requirements, back.Requirements) {
		t.Errorf("requirements:\nmemory    %q\nread back %q", mem.Requirements, back.Requirements)
	}
	if sc.Checks[0].ID != "linux.z" || sc.Checks[0].Title != "Z \xff" {
		t.Error("asStored modified its input")
	}
}

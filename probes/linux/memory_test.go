package linux

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

// allocated returns the bytes fn allocates on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A host that prints one endless line of bytes that are not UTF-8 must not
// make the parser allocate several times the line: only maxLineLen bytes of
// a line are ever kept, so only those are cleaned. (Cleaning the whole line
// cost about 5 times its size.)
func TestParseLongLineCost(t *testing.T) {
	full, nonce := loadFixture(t, "busybox-root")
	line := bytes.Repeat([]byte{0xff, 0xfe, 0x00, 0x1b}, 8<<20) // 32 MiB, no newline
	head := []byte("@@OTSCAN " + nonce + " PROBE L03\n")
	out := bytes.Replace(full, head, append(append(append([]byte{}, head...), line...), '\n'), 1)
	var obs *probes.Observation
	n := allocated(func() {
		var err error
		if obs, err = Parse(nonce, out); err != nil {
			t.Fatal(err)
		}
	})
	if n > 8<<20 {
		t.Errorf("parsing a 32 MiB line allocated %d MiB", n>>20)
	}
	for _, r := range obs.Probes {
		if r.ID == "L03" && (r.Err == "" || r.Bytes < len(line)) {
			t.Errorf("L03 with a 32 MiB line: %+v, want it marked capped with its real size", r)
		}
	}
}

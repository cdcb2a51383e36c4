package windows

import (
	"bytes"
	"runtime"
	"testing"
)

// A host that prints millions of empty lines must not make the parser
// allocate per line: splitting 16 MiB of line ends into a slice of lines
// cost 24 bytes per line, 384 MiB.
func TestParseManyLinesCost(t *testing.T) {
	const nonce = "0123456789abcdef"
	out := append([]byte("@@OTSCAN "+nonce+" BEGIN schema="+Schema+"\r\n"), bytes.Repeat([]byte("\n"), 16<<20)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	obs, err := Parse(nonce, out)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Complete {
		t.Error("an output without END is complete")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("parsing 16 Mi empty lines allocated %d MiB", n>>20)
	}
}

package windows

import (
	"testing"

	"github.com/otsweep/otsweep/lab/winhosts"
)

// BenchmarkParse parses each recording; BenchmarkParse/sweep-mix parses the
// four hosts the WinRM sweep benchmark (BENCHMARKS.md) replays, in turn, so
// its ns/op is the parser's share of scanner CPU per host.
func BenchmarkParse(b *testing.B) {
	sweep := []string{"win10-22h2", "ws2019-dc", "ws2016", "win11-23h2"}
	outs := map[string][]byte{}
	for _, h := range winhosts.Hosts() {
		out, err := winhosts.Output(h.Name, testNonce)
		if err != nil {
			b.Fatal(err)
		}
		outs[h.Name] = out
	}
	b.Run("sweep-mix", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := Parse(testNonce, outs[sweep[i%len(sweep)]]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, h := range winhosts.Hosts() {
		b.Run(h.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(outs[h.Name])))
			for b.Loop() {
				if _, err := Parse(testNonce, outs[h.Name]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

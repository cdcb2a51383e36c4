package linux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParse parses each fixture; BenchmarkParse/sweep-mix parses the
// four fixtures the SSH sweep benchmark (BENCHMARKS.md) replays, in turn, so
// its ns/op is the parser's share of scanner CPU per host.
func BenchmarkParse(b *testing.B) {
	sweep := []string{"debian12-root", "ubuntu2204-root", "rhel9-root", "busybox-root"}
	paths, err := filepath.Glob(filepath.Join("testdata", "*.out"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no fixtures: %v", err)
	}
	type fixture struct {
		name, nonce string
		out         []byte
	}
	var all []fixture
	byName := map[string]fixture{}
	for _, p := range paths {
		out, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		f := fixture{strings.TrimSuffix(filepath.Base(p), ".out"), fixtureNonce(b, out), out}
		all = append(all, f)
		byName[f.name] = f
	}
	b.Run("sweep-mix", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f := byName[sweep[i%len(sweep)]]
			if _, err := Parse(f.nonce, f.out); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, f := range all {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.out)))
			for b.Loop() {
				if _, err := Parse(f.nonce, f.out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

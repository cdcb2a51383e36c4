package linux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/internal/golden"
)

// goldenCases returns every fixture whole and cut in half (a scan whose
// output ended early), so the golden files pin both the value paths and the
// not-collected paths of every probe parser.
func goldenCases(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.out"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	cases := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(n), ".out")
		cases[name] = b
		cases[name+"-cut"] = b[:len(b)/2]
	}
	return cases
}

// TestGolden compares the observation Parse makes of every recording with
// testdata/golden/<case>.json, Go types of fact values included, so a change
// meant to make the parser cheaper cannot change a fact unnoticed.
// `go test ./probes/linux -run TestGolden -update` rewrites the files.
func TestGolden(t *testing.T) {
	for name, b := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			obs, err := Parse(fixtureNonce(t, b), b)
			if err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, filepath.Join("testdata", "golden", name+".json"), obs, *update)
		})
	}
}

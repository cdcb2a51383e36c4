package windows

import (
	"path/filepath"
	"testing"

	"github.com/otsweep/otsweep/internal/golden"
	"github.com/otsweep/otsweep/lab/winhosts"
)

// goldenCases returns every recording whole and cut in half (a scan whose
// output ended early), so the golden files pin both the value paths and the
// not-collected paths of every handler.
func goldenCases(t testing.TB) map[string][]byte {
	t.Helper()
	cases := map[string][]byte{}
	for _, h := range winhosts.Hosts() {
		b, err := winhosts.Output(h.Name, testNonce)
		if err != nil {
			t.Fatal(err)
		}
		cases[h.Name] = b
		cases[h.Name+"-cut"] = b[:len(b)/2]
	}
	return cases
}

// TestGolden compares the observation Parse makes of every recording with
// testdata/golden/<case>.json, Go types of fact values included, so a change
// meant to make the parser cheaper cannot change a fact unnoticed.
// `go test ./probes/windows -run TestGolden -update` rewrites the files.
func TestGolden(t *testing.T) {
	for name, b := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			obs, err := Parse(testNonce, b)
			if err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, filepath.Join("testdata", "golden", name+".json"), obs, *update)
		})
	}
}

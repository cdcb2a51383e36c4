package linux

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/probes"
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
			got, err := goldenJSON(obs)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("observation differs from %s; diff it against the output of -update", path)
			}
		})
	}
}

// goldenFact is a fact with the Go type of every value spelled out: JSON
// alone would not tell an int from a float64 or a []string from a []any.
type goldenFact struct {
	Source string   `json:"source"`
	Err    string   `json:"error,omitempty"`
	Raw    []string `json:"raw,omitempty"`
	Value  any      `json:"value"`
}

type goldenObs struct {
	Platform probes.Platform   `json:"platform"`
	Schema   string            `json:"schema"`
	Elevated bool              `json:"elevated"`
	Complete bool              `json:"complete"`
	Meta     map[string]string `json:"meta"`
	Cost     probes.Cost       `json:"cost"`
	Probes   []probes.ProbeRun `json:"probes"`
}

// goldenJSON renders obs as JSON with one fact per line, sorted, so a diff
// against the golden file names the facts that changed.
func goldenJSON(obs *probes.Observation) ([]byte, error) {
	head, err := json.Marshal(goldenObs{Platform: obs.Platform, Schema: obs.Schema, Elevated: obs.Elevated,
		Complete: obs.Complete, Meta: obs.Meta, Cost: obs.Cost, Probes: obs.Probes})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("{\"observation\": ")
	buf.Write(head)
	buf.WriteString(",\n\"facts\": {")
	for i, n := range slices.Sorted(maps.Keys(obs.Facts)) {
		f := obs.Facts[n]
		b, err := json.Marshal(goldenFact{Source: f.Source, Err: f.Err, Raw: f.Raw, Value: typed(f.Value)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		buf.WriteString("\n")
		buf.Write(k)
		buf.WriteString(": ")
		buf.Write(b)
	}
	buf.WriteString("\n}}\n")
	if !json.Valid(buf.Bytes()) {
		return nil, fmt.Errorf("golden rendering is not JSON")
	}
	return buf.Bytes(), nil
}

// typed wraps v, and every value inside its []any and map[string]any, with
// its Go type.
func typed(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = typed(e)
		}
		return map[string]any{"T": "[]any", "V": l}
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = typed(e)
		}
		return map[string]any{"T": "map[string]any", "V": m}
	}
	return map[string]any{"T": fmt.Sprintf("%T", v), "V": v}
}

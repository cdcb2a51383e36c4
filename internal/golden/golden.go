// Package golden renders observations for golden-file tests and compares
// them with the files: a parser made cheaper must not change a fact
// unnoticed. It is for tests only.
package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

// fact is a fact with the Go type of every value spelled out: JSON alone
// would not tell an int from a float64 or a []string from a []any.
type fact struct {
	Source string   `json:"source"`
	Err    string   `json:"error,omitempty"`
	Raw    []string `json:"raw,omitempty"`
	Value  any      `json:"value"`
}

type observation struct {
	Platform probes.Platform   `json:"platform"`
	Schema   string            `json:"schema"`
	Elevated bool              `json:"elevated"`
	Complete bool              `json:"complete"`
	Meta     map[string]string `json:"meta"`
	Cost     probes.Cost       `json:"cost"`
	Probes   []probes.ProbeRun `json:"probes"`
}

// Observation renders obs as JSON with one fact per line, sorted, so a diff
// against the golden file names the facts that changed.
func Observation(obs *probes.Observation) ([]byte, error) {
	head, err := json.Marshal(observation{Platform: obs.Platform, Schema: obs.Schema, Elevated: obs.Elevated,
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
		b, err := json.Marshal(fact{Source: f.Source, Err: f.Err, Raw: f.Raw, Value: typed(f.Value)})
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

// Compare renders obs and compares it with the file at path, or, with
// update, writes the file.
func Compare(t testing.TB, path string, obs *probes.Observation, update bool) {
	t.Helper()
	got, err := Observation(obs)
	if err != nil {
		t.Fatal(err)
	}
	if update {
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
}

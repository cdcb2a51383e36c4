package snmp

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

var update = flag.Bool("update", false, "rewrite docs/facts-snmp.md")

// checkDocumented fails for every emitted fact missing from Facts, and for
// a fact whose value does not have its documented type.
func checkDocumented(t *testing.T, obs *probes.Observation) {
	t.Helper()
	docs := map[string]FactDoc{}
	for _, d := range Facts {
		docs[d.Name] = d
	}
	for name, f := range obs.Facts {
		d, ok := docs[name]
		if !ok {
			t.Errorf("fact %s emitted but not documented in Facts", name)
			continue
		}
		if f.Source != d.Probe {
			t.Errorf("fact %s: source %q, documented probe %q", name, f.Source, d.Probe)
		}
		if f.Value == nil {
			continue
		}
		ok = false
		switch d.Type {
		case "string":
			_, ok = f.Value.(string)
		case "int":
			_, ok = f.Value.(int)
		case "bool":
			_, ok = f.Value.(bool)
		case "[]string":
			_, ok = f.Value.([]string)
		case "[]int":
			_, ok = f.Value.([]int)
		case "[]object":
			var l []any
			if l, ok = f.Value.([]any); ok {
				for _, e := range l {
					if _, isMap := e.(map[string]any); !isMap {
						ok = false
					}
				}
			}
		}
		if !ok {
			t.Errorf("fact %s: value %#v is not of the documented type %s", name, f.Value, d.Type)
		}
	}
}

func TestFactsCatalogue(t *testing.T) {
	name := regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)
	probe := regexp.MustCompile(`^S(0[1-9]|1[0-6])$`)
	seen := map[string]bool{}
	probesSeen := map[string]bool{}
	for _, d := range Facts {
		if !name.MatchString(d.Name) {
			t.Errorf("fact name %q is not dotted lowercase", d.Name)
		}
		if seen[d.Name] {
			t.Errorf("fact %s documented twice", d.Name)
		}
		seen[d.Name] = true
		if !probe.MatchString(d.Probe) {
			t.Errorf("fact %s: probe %q", d.Name, d.Probe)
		}
		probesSeen[d.Probe] = true
		switch d.Type {
		case "string", "int", "bool", "[]string", "[]int", "[]object":
		default:
			t.Errorf("fact %s: type %q", d.Name, d.Type)
		}
		if d.Description == "" {
			t.Errorf("fact %s: no description", d.Name)
		}
	}
	if len(probesSeen) < 12 {
		t.Errorf("only %d probes of table C have facts", len(probesSeen))
	}
}

// TestFactsDoc keeps docs/facts-snmp.md generated from Facts; -update
// rewrites it.
func TestFactsDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "facts-snmp.md")
	want := FactsMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./probes/snmp -run TestFactsDoc -update)", err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date: run go test ./probes/snmp -run TestFactsDoc -update", path)
	}
}

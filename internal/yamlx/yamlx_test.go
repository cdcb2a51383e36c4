package yamlx

import (
	"bytes"
	"testing"

	"github.com/goccy/go-yaml"
)

func TestDecodeNeverPanics(t *testing.T) {
	var v struct {
		Requirements []string `yaml:"requirements"`
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte("requirements: !x\n")), yaml.Strict())
	if err := Decode(dec, &v); err == nil {
		t.Log("decoded without error") // either an error or a value, never a panic
	}
}

func TestLineOf(t *testing.T) {
	data := []byte("- id: a\n- id: b\n  title: x\n")
	for path, want := range map[string]int{"$[0].id": 1, "$[1].title": 3, "$[5]": 0, "not a path": 0} {
		if got := LineOf(data, path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

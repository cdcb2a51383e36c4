package snmpsim

import (
	"embed"
	"fmt"
	"slices"
	"strings"
)

// The recorded walks of representative agents, embedded so the tests and the
// demo lab serve the same data. Each file's provenance field says whether it
// is a real capture or shaped after public samples.
//
//go:embed recordings/*.json
var recordingFiles embed.FS

// Recordings lists the embedded recordings by name (file name without .json).
func Recordings() []string {
	entries, _ := recordingFiles.ReadDir("recordings")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(out)
	return out
}

// Embedded parses one embedded recording; name may carry the .json suffix.
func Embedded(name string) (*Recording, error) {
	name = strings.TrimSuffix(name, ".json")
	if !slices.Contains(Recordings(), name) {
		return nil, fmt.Errorf("snmpsim: no embedded recording %q (have %v)", name, Recordings())
	}
	b, err := recordingFiles.ReadFile("recordings/" + name + ".json")
	if err != nil {
		return nil, err
	}
	return ParseRecording(b)
}

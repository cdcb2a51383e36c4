package sshsim

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The recordings are byte-for-byte copies of the Linux bundle fixtures in
// probes/linux/testdata (a test keeps them identical). Each is the standard
// output of one bundle run, framed with the nonce of that run.
//
//go:embed recordings/*.out
var recordingFiles embed.FS

// DefaultRecording is served when Options.Recordings is empty: the bundle
// run as root on a Debian 12 machine, recorded.
const DefaultRecording = "debian12-root"

// ErrUnknownRecording is wrapped when a recording name is not embedded.
var ErrUnknownRecording = errors.New("unknown recording")

// beginLine finds the nonce of a recording in its BEGIN marker.
var beginLine = regexp.MustCompile(`(?m)^@@OTSCAN ([0-9a-f]{8,64}) BEGIN `)

// recording is one bundle output split around its nonce's marker prefix, so
// that rendering it for another nonce is one allocation.
type recording struct {
	name     string
	segments [][]byte // the output between "@@OTSCAN <nonce> " prefixes
	size     int      // bytes of all segments
}

// Recordings returns the names of the embedded recordings, sorted.
func Recordings() []string {
	entries, err := recordingFiles.ReadDir("recordings")
	if err != nil { // the directory is embedded; it cannot be missing
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".out"))
	}
	slices.Sort(names)
	return names
}

// loadRecording reads and splits one embedded recording.
func loadRecording(name string) (*recording, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || !slices.Contains(Recordings(), name) {
		return nil, fmt.Errorf("sshsim: recording %q: %w (have %v)", name, ErrUnknownRecording, Recordings())
	}
	raw, err := recordingFiles.ReadFile(path.Join("recordings", name+".out"))
	if err != nil {
		return nil, fmt.Errorf("sshsim: recording %q: %w", name, err)
	}
	m := beginLine.FindSubmatch(raw)
	if m == nil {
		return nil, fmt.Errorf("sshsim: recording %q has no BEGIN marker", name)
	}
	r := &recording{name: name, segments: bytes.Split(raw, []byte("@@OTSCAN "+string(m[1])+" "))}
	for _, s := range r.segments {
		r.size += len(s)
	}
	return r, nil
}

// render returns the recording framed with nonce.
func (r *recording) render(nonce string) []byte {
	prefix := "@@OTSCAN " + nonce + " "
	out := make([]byte, 0, r.size+len(prefix)*(len(r.segments)-1))
	for i, s := range r.segments {
		if i > 0 {
			out = append(out, prefix...)
		}
		out = append(out, s...)
	}
	return out
}

// Output returns the named recording framed with nonce: exactly what the
// server sends for a bundle run with that nonce.
func Output(name, nonce string) ([]byte, error) {
	r, err := loadRecording(name)
	if err != nil {
		return nil, err
	}
	return r.render(nonce), nil
}

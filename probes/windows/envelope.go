package windows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/otsweep/otsweep/probes"
)

// errNoBegin is returned when stdout holds no BEGIN marker for the nonce.
var errNoBegin = errors.New("no BEGIN marker for this nonce")

// probeLine is one NDJSON line of the envelope.
type probeLine struct {
	ID        string
	OK        bool
	MS        int
	Data      json.RawMessage
	Err       string
	Malformed string // why the line could not be decoded; empty when it could
	Bytes     int
}

// envelope is the framing of one bundle run: the lines between the markers
// for one nonce, in the order they appeared.
type envelope struct {
	Schema   string
	Complete bool // END marker seen
	Lines    map[string]*probeLine
	Order    []string
}

// wireLine is the strict shape of a probe line.
type wireLine struct {
	ID   *string         `json:"id"`
	OK   *bool           `json:"ok"`
	MS   *int            `json:"ms"`
	Data json.RawMessage `json:"data"`
	Err  *string         `json:"err"`
}

var idInBrokenLine = regexp.MustCompile(`"id"\s*:\s*"([A-Za-z0-9_]{1,16})"`)

// parseEnvelope extracts the probe lines framed by this nonce's markers.
// Everything outside the markers, marker lines of other nonces and non-JSON
// noise between the markers are ignored. A line that starts like JSON but does
// not decode is kept as malformed under the id it names, when it names one.
// The first line for an id wins; later duplicates are ignored.
func parseEnvelope(nonce string, stdout []byte, dec *strictDecoder) (*envelope, error) {
	if !validNonce(nonce) {
		return nil, fmt.Errorf("windows bundle: invalid nonce: %w", probes.ErrProtocol)
	}
	begin := "@@OTSCAN " + nonce + " BEGIN"
	end := "@@OTSCAN " + nonce + " END"
	env := &envelope{Lines: map[string]*probeLine{}}
	inside, seen := false, false
	// bytes.Lines, not bytes.Split: a host that prints millions of empty
	// lines must not make the parser allocate a slice header per line. Lines
	// stay []byte: only the lines kept are copied.
	for raw := range bytes.Lines(stdout) {
		line := bytes.TrimRight(raw, "\n\r \t")
		trimmed := bytes.TrimLeft(line, " \t\ufeff")
		switch {
		case !inside && !seen && (string(trimmed) == begin || hasPrefixSpace(trimmed, begin)):
			inside, seen = true, true
			env.Schema = markerAttr(string(trimmed[len(begin):]), "schema")
			if env.Schema != Schema {
				return nil, fmt.Errorf("windows bundle: schema %q, want %q: %w", env.Schema, Schema, probes.ErrProtocol)
			}
		case inside && string(trimmed) == end:
			env.Complete = true
			return env, nil
		case inside && len(trimmed) > 0 && trimmed[0] == '{':
			l := decodeLine(dec, trimmed)
			// Only a line cut short can have lost its id; a whole line
			// that names no probe is nobody's and is dropped.
			if l != nil && l.ID == "" && l.Malformed != "" {
				l.ID = env.next(bundleOrder())
			}
			env.add(l)
		}
	}
	if !seen {
		return nil, fmt.Errorf("windows bundle: %w: %w", errNoBegin, probes.ErrProtocol)
	}
	return env, nil
}

// hasPrefixSpace reports whether b starts with prefix followed by a space.
func hasPrefixSpace(b []byte, prefix string) bool {
	return len(b) > len(prefix) && b[len(prefix)] == ' ' && string(b[:len(prefix)]) == prefix
}

func (e *envelope) add(l *probeLine) {
	if l == nil || l.ID == "" {
		return
	}
	if _, dup := e.Lines[l.ID]; dup {
		return
	}
	e.Lines[l.ID] = l
	e.Order = append(e.Order, l.ID)
}

// next returns the probe the bundle prints after the last line seen, which is
// where a line that no longer names its probe (cut short: "id" sorts last)
// came from; "" when that probe already has a line.
func (e *envelope) next(order []string) string {
	at := 0
	if n := len(e.Order); n > 0 {
		for i, id := range order {
			if id == e.Order[n-1] {
				at = i + 1
			}
		}
	}
	if at >= len(order) {
		return ""
	}
	if _, dup := e.Lines[order[at]]; dup {
		return ""
	}
	return order[at]
}

// bundleOrder returns the probe ids in the order bundle.ps1 runs them. They
// are read from the embedded script once, on first use; the slice is shared
// and must not be modified.
var bundleOrder = sync.OnceValue(func() []string {
	var ids []string
	for _, m := range bundleProbe.FindAllStringSubmatch(bundle, -1) {
		ids = append(ids, m[1])
	}
	return ids
})

var bundleProbe = regexp.MustCompile(`(?m)^P '([A-Za-z0-9_]+)' \{`)

// decodeLine decodes one JSON line strictly. A line that does not decode is
// returned as malformed, with the id it names when it still names one.
func decodeLine(dec *strictDecoder, s []byte) *probeLine {
	var w wireLine
	more, err := dec.decode(s, &w)
	if more {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil && (w.ID == nil || w.OK == nil) {
		err = errors.New(`missing "id" or "ok"`)
	}
	if err != nil {
		l := &probeLine{Malformed: err.Error(), Bytes: len(s)}
		if m := idInBrokenLine.FindSubmatch(s); m != nil {
			l.ID = string(m[1])
		}
		return l
	}
	l := &probeLine{ID: *w.ID, OK: *w.OK, Data: w.Data, Bytes: len(s)}
	if w.MS != nil {
		l.MS = *w.MS
	}
	if w.Err != nil {
		l.Err = *w.Err
	}
	if !l.OK && l.Err == "" {
		l.Err = "probe failed without an error text"
	}
	if l.OK && (len(w.Data) == 0 || string(w.Data) == "null") {
		l.OK, l.Malformed = false, "ok line without data"
	}
	return l
}

// markerAttr returns the value of key=value in the attribute part of a marker.
func markerAttr(attrs, key string) string {
	for _, f := range strings.Fields(attrs) {
		if k, v, ok := strings.Cut(f, "="); ok && k == key {
			return v
		}
	}
	return ""
}

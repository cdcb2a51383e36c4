package store

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes/checks"
)

// encodeVector writes v as seven digits, FR 1 first: {1 2 2 1 1 1 2} is "1221112".
func encodeVector(v mapping.Vector) (string, error) {
	var b [mapping.FRCount]byte
	for i, l := range v {
		if l < 0 || l > mapping.MaxLevel {
			return "", fmt.Errorf("%s level %d out of range 0..%d: %w", mapping.FRID(i), l, mapping.MaxLevel, ErrInvalid)
		}
		b[i] = byte('0' + l)
	}
	return string(b[:]), nil
}

// decodeVector reads what encodeVector wrote; NULL is the zero vector.
func decodeVector(s sql.NullString) (mapping.Vector, error) {
	var v mapping.Vector
	if !s.Valid {
		return v, nil
	}
	if len(s.String) != mapping.FRCount {
		return v, fmt.Errorf("security-level vector %q: want %d digits", s.String, mapping.FRCount)
	}
	for i := range v {
		c := s.String[i]
		if c < '0' || c > '0'+mapping.MaxLevel {
			return v, fmt.Errorf("security-level vector %q: bad digit %q", s.String, c)
		}
		v[i] = int(c - '0')
	}
	return v, nil
}

// checkDoc is the stored evidence of a check result: everything but its ID
// and status, which are columns of check_states. TestDocsKeepEveryField fails
// when checks.Result gains a field this does not carry.
type checkDoc struct {
	Title    string   `json:"title"`
	Probe    string   `json:"probe,omitempty"`
	Expected string   `json:"expected"`
	Actual   string   `json:"actual"`
	Message  string   `json:"message,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

func newCheckDoc(r checks.Result) checkDoc {
	return checkDoc{Title: r.Title, Probe: r.Probe, Expected: r.Expected, Actual: r.Actual, Message: r.Message, Evidence: r.Evidence}
}

func (d checkDoc) result(id string, status checks.Status) checks.Result {
	return checks.Result{ID: id, Title: d.Title, Status: status, Probe: d.Probe, Expected: d.Expected,
		Actual: d.Actual, Message: d.Message, Evidence: d.Evidence}
}

// requirementDoc is the stored detail of a requirement result: everything but
// its ID and state. TestDocsKeepEveryField fails when
// mapping.RequirementResult gains a field this does not carry.
type requirementDoc struct {
	FR             string   `json:"fr"`
	Reason         string   `json:"reason,omitempty"`
	Controls       []string `json:"controls,omitempty"`
	Checks         []string `json:"checks,omitempty"`
	Countermeasure string   `json:"countermeasure,omitempty"`
	Note           string   `json:"note,omitempty"`
}

func newRequirementDoc(r mapping.RequirementResult) requirementDoc {
	return requirementDoc{FR: r.FR, Reason: r.Reason, Controls: r.Controls, Checks: r.Checks,
		Countermeasure: r.Countermeasure, Note: r.Note}
}

func (d requirementDoc) result(id string, state mapping.State) mapping.RequirementResult {
	return mapping.RequirementResult{ID: id, FR: d.FR, State: state, Reason: d.Reason, Controls: d.Controls,
		Checks: d.Checks, Countermeasure: d.Countermeasure, Note: d.Note}
}

// marshalDoc encodes v deterministically (struct field order, no HTML
// escaping, no trailing newline), so equal content has equal bytes and hash.
func marshalDoc(v any) ([]byte, error) { return newDocEncoder().encode(v) }

// docEncoder encodes documents as marshalDoc does, reusing one buffer and
// encoder for the ~150 documents of a scan. It is not safe for concurrent
// use.
type docEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newDocEncoder() *docEncoder {
	e := &docEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// encode returns v's document in a new slice.
func (e *docEncoder) encode(v any) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))), nil
}

// item is one value of one named thing (a check, a requirement, a fact) of one
// scan, ready to be compared with the asset's current interval.
type item struct {
	name  string
	state string // "" for facts
	doc   []byte
	hash  [sha256.Size]byte
}

func newItem(name, state string, doc []byte) item {
	return item{name: name, state: state, doc: doc, hash: sha256.Sum256(doc)}
}

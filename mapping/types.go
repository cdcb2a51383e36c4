// Package mapping holds otsweep's IEC 62443 knowledge and arithmetic: the
// 62443-3-3 catalog, the controls that tie checks to system requirements (SR)
// and requirement enhancements (RE), role blueprints with their target security
// levels (SL-T), compensating countermeasures, and the engine that computes the
// achieved security level (SL-A) per foundational requirement (FR).
//
// Everything here is a pure function of data: the package does no I/O beyond
// reading definition files it is asked to load, and it imports nothing of
// probes, store or scheduler. Check outcomes come in as plain values.
package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FRCount is the number of foundational requirements.
const FRCount = 7

// MaxLevel is the highest security level.
const MaxLevel = 4

// FRIDs are the foundational requirement identifiers, in vector order.
var frIDs = [FRCount]string{"FR 1", "FR 2", "FR 3", "FR 4", "FR 5", "FR 6", "FR 7"}

// FRID returns the identifier ("FR 3") of the FR at vector index i (0-based).
func FRID(i int) string { return frIDs[i] }

// FRIndex returns the vector index of an FR identifier, or -1.
func FRIndex(id string) int {
	for i, f := range frIDs {
		if f == id {
			return i
		}
	}
	return -1
}

// Vector is a security-level vector {IAC UC SI DC RDF TRE RA}, one level 0..4
// per FR. It marshals as an object keyed "FR 1".."FR 7".
type Vector [FRCount]int

// MarshalJSON writes {"FR 1":n,...}.
func (v Vector) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", frIDs[i], l)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// UnmarshalJSON reads {"FR 1":n,...}; missing FRs are 0.
func (v *Vector) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*v = Vector{}
	for k, l := range m {
		i := FRIndex(k)
		if i < 0 {
			return fmt.Errorf("unknown foundational requirement %q", k)
		}
		if l < 0 || l > MaxLevel {
			return fmt.Errorf("%s: level %d out of range 0..4", k, l)
		}
		v[i] = l
	}
	return nil
}

// String renders the vector in the customary form {1 2 2 1 1 1 2}.
func (v Vector) String() string {
	parts := make([]string, FRCount)
	for i, l := range v {
		parts[i] = fmt.Sprint(l)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// Max returns the per-FR maximum of a and b.
func Max(a, b Vector) Vector {
	var out Vector
	for i := range a {
		out[i] = max(a[i], b[i])
	}
	return out
}

// Variance is SL-T − SL-A per FR; a positive value is a shortfall.
type Variance [FRCount]int

// MarshalJSON writes {"FR 1":n,...}.
func (v Variance) MarshalJSON() ([]byte, error) { return Vector(v).MarshalJSON() }

// UnmarshalJSON reads {"FR 1":n,...}.
func (v *Variance) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*v = Variance{}
	for k, l := range m {
		i := FRIndex(k)
		if i < 0 {
			return fmt.Errorf("unknown foundational requirement %q", k)
		}
		v[i] = l
	}
	return nil
}

// Shortfall reports whether any FR is below target.
func (v Variance) Shortfall() bool {
	for _, d := range v {
		if d > 0 {
			return true
		}
	}
	return false
}

// VarianceOf returns target − achieved per FR.
func VarianceOf(target, achieved Vector) Variance {
	var out Variance
	for i := range target {
		out[i] = target[i] - achieved[i]
	}
	return out
}

// CheckStatus is the outcome of one check, as mapping sees it.
type CheckStatus string

// Check outcomes. They carry the same words as the probes' check results.
const (
	CheckPass          CheckStatus = "pass"
	CheckFail          CheckStatus = "fail"
	CheckError         CheckStatus = "error"
	CheckNotApplicable CheckStatus = "not-applicable"
)

// Outcome is one check's result handed to the engine.
type Outcome struct {
	Status CheckStatus
	Reason string // why it failed, errored or does not apply
}

// State is the assessed state of one SR or RE on one asset.
type State string

// Requirement states.
const (
	Met           State = "met"
	NotMet        State = "not-met"
	Compensated   State = "compensated"
	NotApplicable State = "not-applicable"
	NotAssessable State = "not-assessable"
	Unknown       State = "unknown"
)

// Holds reports whether the state counts towards a security level.
func (s State) Holds() bool { return s == Met || s == Compensated || s == NotApplicable }

// Unassessed reports whether the state says nothing either way.
func (s State) Unassessed() bool { return s == NotAssessable || s == Unknown }

// RequirementResult is the assessed state of one SR/RE on one asset.
type RequirementResult struct {
	ID             string   `json:"id"`
	FR             string   `json:"fr"`
	State          State    `json:"state"`
	Reason         string   `json:"reason,omitempty"`
	Controls       []string `json:"controls,omitempty"`       // controls that were evaluated for it
	Checks         []string `json:"checks,omitempty"`         // checks behind those controls
	Countermeasure string   `json:"countermeasure,omitempty"` // id of the countermeasure that compensates or attests it
	Note           string   `json:"note,omitempty"`           // the blueprint's note for this requirement
}

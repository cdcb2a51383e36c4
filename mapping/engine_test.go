package mapping

import (
	"strings"
	"testing"
	"time"
)

var day = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func testBlueprint() *Blueprint {
	return &Blueprint{Name: "hmi", Target: Vector{2, 2, 2, 1, 2, 1, 2},
		NotApplicable: map[string]string{"SR 1.6": "wired only"}, Notes: map[string]string{"SR 2.5": "review against essential functions"}}
}

func stateOf(a Assessment, id string) RequirementResult {
	for _, r := range a.Requirements {
		if r.ID == id {
			return r
		}
	}
	return RequirementResult{}
}

func TestRequirementStates(t *testing.T) {
	cat := DefaultCatalog()
	controls := []Control{
		{ID: "C-ALL", AllOf: []string{"a", "b"}, Requirements: []string{"SR 1.7"}},
		{ID: "C-ANY", AnyOf: []string{"av.defender", "av.thirdparty", "appctl"}, Requirements: []string{"SR 3.2"}},
		{ID: "C-LOCK", AllOf: []string{"lock"}, Requirements: []string{"SR 2.5"}},
		{ID: "C-WIN-ONLY", AllOf: []string{"win.only"}, Requirements: []string{"SR 1.12"}},
		{ID: "C-NA", AllOf: []string{"na"}, Requirements: []string{"SR 1.13"}},
		{ID: "C-WIRELESS", AllOf: []string{"wifi"}, Requirements: []string{"SR 1.6"}},
	}
	p := func(s CheckStatus) Outcome { return Outcome{Status: s, Reason: string(s) + " because"} }
	for _, tc := range []struct {
		name     string
		outcomes map[string]Outcome
		cms      []Countermeasure
		req      string
		want     State
		reason   string
	}{
		{"all-of all pass", map[string]Outcome{"a": p(CheckPass), "b": p(CheckPass)}, nil, "SR 1.7", Met, ""},
		{"all-of one fails", map[string]Outcome{"a": p(CheckPass), "b": p(CheckFail)}, nil, "SR 1.7", NotMet, "b: fail because"},
		{"all-of fail beats error", map[string]Outcome{"a": p(CheckError), "b": p(CheckFail)}, nil, "SR 1.7", NotMet, "b: fail"},
		{"all-of error is unknown", map[string]Outcome{"a": p(CheckPass), "b": p(CheckError)}, nil, "SR 1.7", Unknown, "b: error"},
		{"all-of with one N/A and one pass", map[string]Outcome{"a": p(CheckNotApplicable), "b": p(CheckPass)}, nil, "SR 1.7", Met, ""},
		{"all-of only one check evaluated", map[string]Outcome{"a": p(CheckPass)}, nil, "SR 1.7", Met, ""},
		{"any-of one alternative passes", map[string]Outcome{"av.defender": p(CheckFail), "av.thirdparty": p(CheckPass), "appctl": p(CheckError)}, nil, "SR 3.2", Met, "met by av.thirdparty"},
		{"any-of with no alternative present fails", map[string]Outcome{"av.defender": p(CheckNotApplicable), "av.thirdparty": p(CheckNotApplicable)}, nil, "SR 3.2", NotMet, "none of the alternatives is present"},
		{"any-of error beats fail", map[string]Outcome{"av.defender": p(CheckFail), "appctl": p(CheckError)}, nil, "SR 3.2", Unknown, "appctl: error"},
		{"any-of all fail", map[string]Outcome{"av.defender": p(CheckFail), "av.thirdparty": p(CheckFail)}, nil, "SR 3.2", NotMet, "av.defender: fail"},
		{"unknown status never passes", map[string]Outcome{"a": {Status: "bogus"}, "b": p(CheckPass)}, nil, "SR 1.7", Unknown, ""},
		{"no control on platform", map[string]Outcome{"a": p(CheckPass)}, nil, "SR 1.12", NotAssessable, "no automated control"},
		{"no control at all", nil, nil, "SR 7.5", NotAssessable, ""},
		{"all checks N/A", map[string]Outcome{"na": p(CheckNotApplicable)}, nil, "SR 1.13", NotApplicable, "na: not-applicable because"},
		{"blueprint N/A wins over failing check", map[string]Outcome{"wifi": p(CheckFail)}, nil, "SR 1.6", NotApplicable, "wired only"},
		{"compensated failure", map[string]Outcome{"lock": p(CheckFail)},
			[]Countermeasure{{ID: "CM-1", Requirement: "SR 2.5", Asset: "hmi-01", Kind: KindCompensating, Justification: "control room access", Owner: "ops", Expires: day.AddDate(0, 1, 0)}},
			"SR 2.5", Compensated, "not-met without countermeasure; compensated by CM-1"},
		{"compensated unknown", map[string]Outcome{"lock": p(CheckError)},
			[]Countermeasure{{ID: "CM-1", Requirement: "SR 2.5", Role: "hmi", Kind: KindCompensating, Expires: day}},
			"SR 2.5", Compensated, "unknown without countermeasure"},
		{"expiry day still counts", map[string]Outcome{"lock": p(CheckFail)},
			[]Countermeasure{{ID: "CM-1", Requirement: "SR 2.5", Zone: "cell-3", Kind: KindCompensating, Expires: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}},
			"SR 2.5", Compensated, ""},
		{"expired countermeasure stops counting", map[string]Outcome{"lock": p(CheckFail)},
			[]Countermeasure{{ID: "CM-1", Requirement: "SR 2.5", Asset: "hmi-01", Kind: KindCompensating, Expires: day.AddDate(0, 0, -1)}},
			"SR 2.5", NotMet, "lock: fail"},
		{"countermeasure for another asset", map[string]Outcome{"lock": p(CheckFail)},
			[]Countermeasure{{ID: "CM-1", Requirement: "SR 2.5", Asset: "hmi-02", Kind: KindCompensating, Expires: day.AddDate(1, 0, 0)}},
			"SR 2.5", NotMet, ""},
		{"met is not overridden by a countermeasure", map[string]Outcome{"lock": p(CheckPass)},
			[]Countermeasure{{ID: "CM-1", Requirement: "SR 2.5", Asset: "hmi-01", Kind: KindCompensating, Expires: day.AddDate(1, 0, 0)}},
			"SR 2.5", Met, ""},
		{"attestation covers not assessable", nil,
			[]Countermeasure{{ID: "AT-1", Requirement: "SR 7.3", Zone: "cell-3", Kind: KindAttestation, Justification: "weekly image backup", Owner: "ops", Expires: day.AddDate(0, 6, 0)}},
			"SR 7.3", Met, "attested by AT-1"},
		{"attestation does not override a failing check", map[string]Outcome{"lock": p(CheckFail)},
			[]Countermeasure{{ID: "AT-1", Requirement: "SR 2.5", Asset: "hmi-01", Kind: KindAttestation, Expires: day.AddDate(0, 6, 0)}},
			"SR 2.5", NotMet, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(Input{Catalog: cat, Controls: controls, Blueprint: testBlueprint(), Asset: "hmi-01", Role: "hmi", Zone: "cell-3",
				Outcomes: tc.outcomes, Countermeasures: tc.cms, Now: day})
			got := stateOf(a, tc.req)
			if got.State != tc.want {
				t.Fatalf("%s = %s (%s), want %s", tc.req, got.State, got.Reason, tc.want)
			}
			if tc.reason != "" && !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", got.Reason, tc.reason)
			}
		})
	}
}

func TestExpiredCountermeasuresReported(t *testing.T) {
	a := Assess(Input{Catalog: DefaultCatalog(), Blueprint: testBlueprint(), Asset: "hmi-01", Role: "hmi", Zone: "z", Now: day,
		Countermeasures: []Countermeasure{
			{ID: "OLD", Requirement: "SR 2.5", Asset: "hmi-01", Kind: KindCompensating, Expires: day.AddDate(0, -1, 0)},
			{ID: "OTHER", Requirement: "SR 2.5", Asset: "hmi-99", Kind: KindCompensating, Expires: day.AddDate(0, -1, 0)},
		}})
	if len(a.Expired) != 1 || a.Expired[0].ID != "OLD" {
		t.Fatalf("expired = %+v, want only OLD", a.Expired)
	}
	if got := stateOf(a, "SR 2.5"); got.Note == "" {
		t.Error("blueprint note for SR 2.5 not attached")
	}
}

// allHolding builds outcomes and controls so that every requirement of the
// catalog has one control with a passing check, then lets a test flip some.
func allHolding(cat *Catalog) ([]Control, map[string]Outcome) {
	var cs []Control
	out := map[string]Outcome{}
	for _, r := range cat.Items {
		id := "chk:" + r.ID
		cs = append(cs, Control{ID: "ctl:" + r.ID, AllOf: []string{id}, Requirements: []string{r.ID}})
		out[id] = Outcome{Status: CheckPass}
	}
	return cs, out
}

func TestSecurityLevels(t *testing.T) {
	cat := DefaultCatalog()
	for _, tc := range []struct {
		name          string
		flip          map[string]CheckStatus // requirement -> outcome of its check
		remove        []string               // requirements left without a control
		zone          *Vector
		achieved, pot Vector
		target        Vector
	}{
		{name: "everything holds", achieved: Vector{4, 4, 4, 4, 4, 4, 4}, pot: Vector{4, 4, 4, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "an SL1 SR fails", flip: map[string]CheckStatus{"SR 1.1": CheckFail},
			achieved: Vector{0, 4, 4, 4, 4, 4, 4}, pot: Vector{0, 4, 4, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "an SL2 RE fails", flip: map[string]CheckStatus{"SR 1.1 RE 1": CheckFail},
			achieved: Vector{1, 4, 4, 4, 4, 4, 4}, pot: Vector{1, 4, 4, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "an SL4-only RE fails", flip: map[string]CheckStatus{"SR 3.9 RE 1": CheckFail},
			achieved: Vector{4, 4, 3, 4, 4, 4, 4}, pot: Vector{4, 4, 3, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "unknown lowers automated SL-A only", flip: map[string]CheckStatus{"SR 2.8": CheckError},
			achieved: Vector{4, 0, 4, 4, 4, 4, 4}, pot: Vector{4, 4, 4, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "not assessable lowers automated SL-A only", remove: []string{"SR 7.3 RE 1"},
			achieved: Vector{4, 4, 4, 4, 4, 4, 1}, pot: Vector{4, 4, 4, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "N/A counts as holding", flip: map[string]CheckStatus{"SR 5.3": CheckNotApplicable},
			achieved: Vector{4, 4, 4, 4, 4, 4, 4}, pot: Vector{4, 4, 4, 4, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "fail below an unknown", flip: map[string]CheckStatus{"SR 4.1": CheckError, "SR 4.2": CheckFail},
			achieved: Vector{4, 4, 4, 0, 4, 4, 4}, pot: Vector{4, 4, 4, 1, 4, 4, 4}, target: Vector{2, 2, 2, 1, 2, 1, 2}},
		{name: "zone raises the target", zone: &Vector{3, 1, 1, 3, 1, 1, 1},
			achieved: Vector{4, 4, 4, 4, 4, 4, 4}, pot: Vector{4, 4, 4, 4, 4, 4, 4}, target: Vector{3, 2, 2, 3, 2, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, out := allHolding(cat)
			for req, st := range tc.flip {
				out["chk:"+req] = Outcome{Status: st}
			}
			for _, req := range tc.remove {
				delete(out, "chk:"+req)
			}
			a := Assess(Input{Catalog: cat, Controls: cs, Blueprint: &Blueprint{Target: Vector{2, 2, 2, 1, 2, 1, 2}}, ZoneTarget: tc.zone, Outcomes: out, Now: day})
			if a.Achieved != tc.achieved {
				t.Errorf("SL-A = %v, want %v", a.Achieved, tc.achieved)
			}
			if a.Potential != tc.pot {
				t.Errorf("potential SL-A = %v, want %v", a.Potential, tc.pot)
			}
			if a.Target != tc.target {
				t.Errorf("SL-T = %v, want %v", a.Target, tc.target)
			}
			if want := VarianceOf(tc.target, tc.achieved); a.Variance != want {
				t.Errorf("variance = %v, want %v", a.Variance, want)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	cat := DefaultCatalog()
	// Nothing automated: every level has zero assessed items and SL-A 0.
	a := Assess(Input{Catalog: cat, Blueprint: &Blueprint{}, Now: day})
	want := []LevelCoverage{{1, 37, 0, 0}, {2, 60, 0, 0}, {3, 90, 0, 0}, {4, 100, 0, 0}}
	for i, lc := range a.Coverage {
		if lc != want[i] {
			t.Errorf("coverage[%d] = %+v, want %+v", i, lc, want[i])
		}
	}
	if a.Achieved != (Vector{}) || a.Potential != (Vector{4, 4, 4, 4, 4, 4, 4}) {
		t.Errorf("nothing assessed: SL-A %v potential %v", a.Achieved, a.Potential)
	}
	if !a.Variance.Shortfall() && a.Target != (Vector{}) {
		t.Error("shortfall not reported")
	}
}

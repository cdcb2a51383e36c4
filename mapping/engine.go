package mapping

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Input is everything the engine needs to assess one asset. Outcomes holds
// the checks evaluated on this asset (its platform's checks); controls with no
// evaluated check are not relevant to it.
type Input struct {
	Catalog         *Catalog
	Controls        []Control
	Blueprint       *Blueprint
	ZoneTarget      *Vector // nil when the asset's zone sets no SL-T
	Asset           string
	Role            string
	Zone            string
	Outcomes        map[string]Outcome
	Countermeasures []Countermeasure
	Now             time.Time
}

// LevelCoverage counts, for one security level, the requirements selected at
// or below it and how many of them were assessed and hold.
type LevelCoverage struct {
	Level    int `json:"level"`
	Selected int `json:"selected"`
	Assessed int `json:"assessed"` // not unknown and not not-assessable
	Holding  int `json:"holding"`  // met, compensated or not applicable
}

// Assessment is the engine's result for one asset.
type Assessment struct {
	Target       Vector              `json:"sl_target"`
	Achieved     Vector              `json:"sl_achieved"`  // automated SL-A: unassessed items count as not holding
	Potential    Vector              `json:"sl_potential"` // SL-A if every unassessed requirement held
	Variance     Variance            `json:"variance"`     // Target − Achieved
	Requirements []RequirementResult `json:"requirements"`
	Coverage     []LevelCoverage     `json:"coverage"`
	Expired      []Countermeasure    `json:"expired_countermeasures,omitempty"`
	Applied      []Countermeasure    `json:"applied_countermeasures,omitempty"`
}

// Assess computes requirement states, SL-A per FR and the variance to SL-T.
//
// A requirement is not applicable when the blueprint says so; otherwise it is
// judged from the controls relevant to the asset: not met when one fails,
// unknown when none fails but one could not be evaluated, met when all pass,
// not applicable when every relevant check said so, and not assessable when
// no control automates it. A valid compensating countermeasure turns not met,
// unknown and not assessable into compensated; an attestation turns not
// assessable into met. Expired countermeasures do not count and are listed.
//
// SL-A(FR) is the highest n in 0..4 such that every SR/RE of that FR selected
// at a level ≤ n holds (met, compensated or not applicable). Potential is the
// same with unassessed requirements taken as holding.
func Assess(in Input) Assessment {
	var a Assessment
	a.Target = in.Blueprint.Target
	if in.ZoneTarget != nil {
		a.Target = Max(a.Target, *in.ZoneTarget)
	}
	var valid []Countermeasure
	for _, cm := range in.Countermeasures {
		if !cm.Covers(in.Asset, in.Role, in.Zone) {
			continue
		}
		if cm.Expired(in.Now) {
			a.Expired = append(a.Expired, cm)
			continue
		}
		valid = append(valid, cm)
	}
	for _, req := range in.Catalog.Items {
		rr := judge(in, req)
		if note, ok := in.Blueprint.Notes[req.ID]; ok {
			rr.Note = note
		}
		if cm, ok := coveringCountermeasure(valid, req.ID, rr.State); ok {
			switch cm.Kind {
			case KindAttestation:
				rr.Reason = fmt.Sprintf("attested by %s (%s, owner %s, expires %s)", cm.ID, cm.Justification, cm.Owner, cm.Expires.Format(time.DateOnly))
				rr.State = Met
			default:
				rr.Reason = fmt.Sprintf("%s without countermeasure; compensated by %s (%s, owner %s, expires %s)", rr.State, cm.ID, cm.Justification, cm.Owner, cm.Expires.Format(time.DateOnly))
				rr.State = Compensated
			}
			rr.Countermeasure = cm.ID
			if !slices.ContainsFunc(a.Applied, func(c Countermeasure) bool { return c.ID == cm.ID }) {
				a.Applied = append(a.Applied, cm)
			}
		}
		a.Requirements = append(a.Requirements, rr)
	}
	a.Achieved = levels(in.Catalog, a.Requirements, State.Holds)
	a.Potential = levels(in.Catalog, a.Requirements, func(s State) bool { return s.Holds() || s.Unassessed() })
	a.Variance = VarianceOf(a.Target, a.Achieved)
	a.Coverage = coverage(in.Catalog, a.Requirements)
	return a
}

func coveringCountermeasure(valid []Countermeasure, req string, s State) (Countermeasure, bool) {
	for _, cm := range valid {
		if cm.Requirement != req {
			continue
		}
		switch {
		case cm.Kind == KindAttestation && s == NotAssessable:
			return cm, true
		case cm.Kind == KindCompensating && (s == NotMet || s == Unknown || s == NotAssessable):
			return cm, true
		}
	}
	return Countermeasure{}, false
}

// controlStatus folds a control's check outcomes. ok is false when none of its
// checks was evaluated on this asset.
func controlStatus(c Control, outcomes map[string]Outcome) (st CheckStatus, reasons []string, ok bool) {
	var pass, fail, errs, na int
	for _, id := range c.Checks() {
		o, present := outcomes[id]
		if !present {
			continue
		}
		ok = true
		switch o.Status {
		case CheckPass:
			pass++
		case CheckFail:
			fail++
			reasons = append(reasons, id+": "+o.Reason)
		case CheckNotApplicable:
			na++
			reasons = append(reasons, id+": "+o.Reason)
		default: // error, or anything unexpected: never a pass
			errs++
			reasons = append(reasons, id+": "+o.Reason)
		}
	}
	if !ok {
		return "", nil, false
	}
	if len(c.AnyOf) > 0 {
		switch {
		case pass > 0:
			return CheckPass, passing(c, outcomes), true
		case errs > 0:
			return CheckError, reasons, true
		case fail > 0:
			return CheckFail, reasons, true
		}
		// Alternatives that all do not apply mean that none of them is in
		// place: no AV, no whitelisting. That fails the control.
		return CheckFail, append([]string{"none of the alternatives is present"}, reasons...), true
	}
	switch {
	case fail > 0:
		return CheckFail, reasons, true
	case errs > 0:
		return CheckError, reasons, true
	case pass > 0:
		return CheckPass, nil, true
	}
	return CheckNotApplicable, reasons, true
}

// passing names the alternatives of an any-of control that passed: the
// evidence says which one met it.
func passing(c Control, outcomes map[string]Outcome) []string {
	var out []string
	for _, id := range c.AnyOf {
		if o, ok := outcomes[id]; ok && o.Status == CheckPass {
			out = append(out, id)
		}
	}
	return out
}

func judge(in Input, req Requirement) RequirementResult {
	rr := RequirementResult{ID: req.ID, FR: req.FR}
	if reason, ok := in.Blueprint.NotApplicable[req.ID]; ok {
		rr.State, rr.Reason = NotApplicable, reason
		return rr
	}
	var pass, fail, errs, na int
	var reasons, metBy []string
	for _, c := range in.Controls {
		if !slices.Contains(c.Requirements, req.ID) {
			continue
		}
		st, why, ok := controlStatus(c, in.Outcomes)
		if !ok {
			continue
		}
		rr.Controls = append(rr.Controls, c.ID)
		for _, id := range c.Checks() {
			if _, present := in.Outcomes[id]; present && !slices.Contains(rr.Checks, id) {
				rr.Checks = append(rr.Checks, id)
			}
		}
		switch st {
		case CheckPass:
			pass++
			metBy = append(metBy, why...)
		case CheckFail:
			fail++
			reasons = append(reasons, why...)
		case CheckError:
			errs++
			reasons = append(reasons, why...)
		case CheckNotApplicable:
			na++
			reasons = append(reasons, why...)
		}
	}
	switch {
	case len(rr.Controls) == 0:
		rr.State, rr.Reason = NotAssessable, "no automated control on this platform; assess manually and record an attestation or countermeasure"
	case fail > 0:
		rr.State = NotMet
	case errs > 0:
		rr.State = Unknown
	case pass > 0:
		rr.State = Met
	default:
		rr.State = NotApplicable
		_ = na
	}
	switch {
	case rr.State == Met && len(metBy) > 0:
		rr.Reason = "met by " + strings.Join(metBy, ", ")
	case rr.State != Met && rr.State != NotAssessable:
		rr.Reason = strings.Join(reasons, "; ")
	}
	return rr
}

func levels(cat *Catalog, rs []RequirementResult, holds func(State) bool) Vector {
	var v Vector
	for fr := range FRCount {
		frID := FRID(fr)
		level := 0
		for n := 1; n <= MaxLevel; n++ {
			ok := true
			for _, r := range rs {
				if r.FR != frID {
					continue
				}
				req, _ := cat.Lookup(r.ID)
				if req.MinLevel() <= n && !holds(r.State) {
					ok = false
					break
				}
			}
			if !ok {
				break
			}
			level = n
		}
		v[fr] = level
	}
	return v
}

func coverage(cat *Catalog, rs []RequirementResult) []LevelCoverage {
	out := make([]LevelCoverage, 0, MaxLevel)
	for n := 1; n <= MaxLevel; n++ {
		lc := LevelCoverage{Level: n}
		for _, r := range rs {
			req, _ := cat.Lookup(r.ID)
			if req.MinLevel() > n {
				continue
			}
			lc.Selected++
			if !r.State.Unassessed() {
				lc.Assessed++
			}
			if r.State.Holds() {
				lc.Holding++
			}
		}
		out = append(out, lc)
	}
	return out
}

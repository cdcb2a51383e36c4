package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/scheduler"
	"github.com/otsweep/otsweep/store"
)

// DefaultHistoryDays is the drift window when Options.HistoryDays is 0.
const DefaultHistoryDays = 30

// ErrInvalid: Build was called with options or dependencies it cannot use.
var ErrInvalid = errors.New("invalid report options")

// Options selects and shapes a report.
type Options struct {
	// SweepID is the sweep to report on; 0 means the latest.
	SweepID int64
	// Now is the report's clock: its generation time and the day against
	// which countermeasure expiry is judged. Zero means time.Now(). Golden
	// files fix it.
	Now time.Time
	// HistoryDays is the drift window, counted back from the sweep's start;
	// 0 means DefaultHistoryDays.
	HistoryDays int
	// Countermeasures are the inventory's compensating countermeasures and
	// attestations (optional). Without them, countermeasures still appear as
	// stored requirement states name them, without details.
	Countermeasures []mapping.Countermeasure
}

// Build reads one sweep and the drift window before it from st and returns
// the report model. It only reads. ctx bounds every query; when it ends,
// Build returns its error. A sweep that does not exist (or, for SweepID 0,
// an empty database) is an error wrapping store.ErrNotFound. Build is safe to
// call concurrently.
func Build(ctx context.Context, st *store.Store, defs *scheduler.Definitions, opts Options) (*Report, error) {
	if st == nil || defs == nil || defs.Catalog == nil {
		return nil, fmt.Errorf("report: build: store and definitions are required: %w", ErrInvalid)
	}
	if opts.HistoryDays < 0 {
		return nil, fmt.Errorf("report: build: history of %d days: %w", opts.HistoryDays, ErrInvalid)
	}
	if opts.HistoryDays == 0 {
		opts.HistoryDays = DefaultHistoryDays
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var (
		sw  store.Sweep
		err error
	)
	if opts.SweepID == 0 {
		sw, err = st.LatestSweep(ctx)
	} else {
		sw, err = st.Sweep(ctx, opts.SweepID)
	}
	if err != nil {
		return nil, fmt.Errorf("report: build: %w", err)
	}
	since := sw.Started.AddDate(0, 0, -opts.HistoryDays)
	// The drift histories are read while the sweep loads: one query for
	// every asset of the sweep.
	type prefetched struct {
		hist map[string][]store.Scan
		err  error
	}
	pre := make(chan prefetched, 1)
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		h, err := st.SweepHistories(hctx, sw.ID, since)
		pre <- prefetched{h, err}
	}()
	scans, err := st.ScansOfSweep(ctx, sw.ID)
	if err != nil {
		cancel()
		<-pre
		return nil, fmt.Errorf("report: build sweep %d: %w", sw.ID, err)
	}
	scans = latestPerAsset(scans)
	p := <-pre
	if p.err != nil {
		return nil, fmt.Errorf("report: build sweep %d: history: %w", sw.ID, p.err)
	}
	history := make([][]store.Scan, len(scans))
	for i, sc := range scans {
		history[i] = p.hist[sc.Asset.Name]
	}

	b := builder{cat: defs.Catalog, defs: defs, now: opts.Now, cms: opts.Countermeasures}
	r := &Report{
		Schema:      SchemaVersion,
		Generated:   opts.Now.UTC(),
		Standard:    defs.Catalog.Standard,
		HistoryDays: opts.HistoryDays,
		Sweep: Sweep{ID: sw.ID, Name: sw.Name, Trigger: sw.Trigger, Status: sw.Status,
			Started: sw.Started, Finished: sw.Finished, Hosts: sw.Hosts},
		Assets: make([]Asset, len(scans)),
	}
	for _, fr := range defs.Catalog.FRs {
		r.FRs = append(r.FRs, FR{ID: fr.ID, Abbrev: fr.Abbrev, Title: fr.Title})
	}
	b.assets(r.Assets, scans)
	r.Summary = summarize(r.Assets)
	r.Zones = groups(r.Assets, func(a *Asset) string { return a.Zone })
	r.Roles = groups(r.Assets, func(a *Asset) string { return a.Role })
	r.Countermeasures = b.countermeasures(r.Assets)
	r.Coverage = b.coverage(r.Assets)
	r.Drift = drift(since, r.Assets, history)
	return r, nil
}

// latestPerAsset keeps one scan per asset (the last saved) sorted by name.
func latestPerAsset(scans []store.Scan) []store.Scan {
	slices.SortStableFunc(scans, func(a, b store.Scan) int {
		return cmp.Or(strings.Compare(a.Asset.Name, b.Asset.Name), cmp.Compare(a.ID, b.ID))
	})
	out := scans[:0]
	for i, sc := range scans {
		if i+1 < len(scans) && scans[i+1].Asset.Name == sc.Asset.Name {
			continue
		}
		out = append(out, sc)
	}
	return out
}

// builder holds what assembling one report needs.
type builder struct {
	cat  *mapping.Catalog
	defs *scheduler.Definitions
	now  time.Time
	cms  []mapping.Countermeasure
}

func vec(v mapping.Vector) *mapping.Vector { return &v }

// assets fills out[i] from scans[i], on up to GOMAXPROCS goroutines for a
// large sweep: each asset is independent of the others.
func (b *builder) assets(out []Asset, scans []store.Scan) {
	workers := min(runtime.GOMAXPROCS(0), 8, max(1, len(scans)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(scans); i += workers {
				out[i] = b.asset(&scans[i])
			}
		})
	}
	wg.Wait()
}

func (b *builder) asset(sc *store.Scan) Asset {
	a := Asset{Name: sc.Asset.Name, Address: sc.Asset.Address, Role: sc.Asset.Role, Zone: sc.Asset.Zone,
		Platform: sc.Asset.Platform, Transport: sc.Asset.Transport, Status: sc.Status, Error: sc.Error,
		ScanID: sc.ID, Started: sc.Started, Finished: sc.Finished, Elevated: sc.Elevated, Target: sc.Target,
		Checks: map[checks.Status]int{}, Findings: []Finding{}, Applied: []string{}, Expired: []string{}}
	if b.defs.Blueprints != nil {
		if bp, ok := b.defs.Blueprints.Get(a.Role); ok {
			a.RoleTitle = bp.Title
		}
	}
	for _, cm := range b.cms {
		if cm.Covers(a.Name, a.Role, a.Zone) && cm.Expired(b.now) && !slices.Contains(a.Expired, cm.ID) {
			a.Expired = append(a.Expired, cm.ID)
		}
	}
	slices.Sort(a.Expired)

	if !a.Assessed() {
		reason := fmt.Sprintf("not assessed: the scan ended with status %s", a.Status)
		a.Requirements = make([]Requirement, len(b.cat.Items))
		for i, req := range b.cat.Items {
			a.Requirements[i] = Requirement{ID: req.ID, FR: req.FR, Title: req.Title, Level: req.MinLevel(),
				State: mapping.Unknown, Reason: reason}
		}
		a.Coverage = b.levelCoverage(a.Requirements)
		return a
	}

	a.Achieved, a.Potential = vec(sc.Achieved), vec(sc.Potential)
	v := mapping.VarianceOf(sc.Target, sc.Achieved)
	a.Variance, a.BelowTarget = &v, v.Shortfall()

	reqsOfCheck := map[string][]string{}
	// Requirements go in catalog order: each catalog item has one slot;
	// ids the catalog does not know follow, by id.
	all := make([]Requirement, 0, len(sc.Requirements))
	slot := make([]int32, len(b.cat.Items)) // 1 + index into all; 0 = none
	var extra []Requirement
	for _, rr := range sc.Requirements {
		r := Requirement{ID: rr.ID, FR: rr.FR, State: rr.State, Reason: rr.Reason,
			Countermeasure: rr.Countermeasure, Note: rr.Note, Checks: rr.Checks}
		if i := b.cat.Index(rr.ID); i >= 0 && slot[i] == 0 {
			req := &b.cat.Items[i]
			r.Title, r.Level = req.Title, req.MinLevel()
			all = append(all, r)
			slot[i] = int32(len(all))
		} else {
			extra = append(extra, r)
		}
		if rr.Countermeasure != "" && !slices.Contains(a.Applied, rr.Countermeasure) {
			a.Applied = append(a.Applied, rr.Countermeasure)
		}
	}
	a.Requirements = make([]Requirement, 0, len(sc.Requirements))
	for _, k := range slot {
		if k > 0 {
			a.Requirements = append(a.Requirements, all[k-1])
		}
	}
	slices.SortFunc(extra, func(x, y Requirement) int { return strings.Compare(x.ID, y.ID) })
	a.Requirements = append(a.Requirements, extra...)
	for _, r := range a.Requirements {
		for _, c := range r.Checks {
			reqsOfCheck[c] = append(reqsOfCheck[c], r.ID)
		}
	}
	slices.Sort(a.Applied)
	a.Coverage = b.levelCoverage(a.Requirements)

	for _, c := range sc.Checks {
		a.Checks[c.Status]++
		if c.Status != checks.Fail && c.Status != checks.Error {
			continue
		}
		reqs, ok := reqsOfCheck[c.ID]
		if !ok {
			reqs = b.defs.Requirements(c.ID)
		}
		if reqs == nil {
			reqs = []string{}
		}
		a.Findings = append(a.Findings, Finding{Result: c, Requirements: reqs})
	}
	return a
}

// order sorts requirement ids in catalog order, unknown ids last by name.
func (b *builder) order(x, y string) int {
	ix, iy := b.cat.Index(x), b.cat.Index(y)
	switch {
	case ix >= 0 && iy >= 0:
		return cmp.Compare(ix, iy)
	case ix >= 0:
		return -1
	case iy >= 0:
		return 1
	}
	return strings.Compare(x, y)
}

// levelCoverage counts, per level, the requirements selected at it and how
// many were assessed and hold (as mapping.Assess does).
func (b *builder) levelCoverage(reqs []Requirement) []mapping.LevelCoverage {
	out := make([]mapping.LevelCoverage, mapping.MaxLevel)
	for n := range out {
		out[n].Level = n + 1
	}
	for _, r := range reqs {
		if r.Level < 1 {
			continue
		}
		for n := r.Level; n <= mapping.MaxLevel; n++ {
			lc := &out[n-1]
			lc.Selected++
			if !r.State.Unassessed() {
				lc.Assessed++
			}
			if r.State.Holds() {
				lc.Holding++
			}
		}
	}
	return out
}

func summarize(assets []Asset) Summary {
	s := Summary{Assets: len(assets), ByStatus: map[probes.ScanStatus]int{},
		Checks: map[checks.Status]int{}, Requirements: map[mapping.State]int{}}
	for i := range assets {
		a := &assets[i]
		s.ByStatus[a.Status]++
		s.Target = mapping.Max(s.Target, a.Target)
		if !a.Assessed() {
			s.NotAssessed++
			continue
		}
		if a.BelowTarget {
			s.BelowTarget++
		} else {
			s.AtTarget++
		}
		for st, n := range a.Checks {
			s.Checks[st] += n
		}
		for _, r := range a.Requirements {
			s.Requirements[r.State]++
		}
		s.Achieved = minVec(s.Achieved, *a.Achieved)
		s.Potential = minVec(s.Potential, *a.Potential)
	}
	return s
}

// minVec returns the per-FR minimum of *acc and v; a nil acc is v.
func minVec(acc *mapping.Vector, v mapping.Vector) *mapping.Vector {
	if acc == nil {
		return &v
	}
	for i := range v {
		acc[i] = min(acc[i], v[i])
	}
	return acc
}

func groups(assets []Asset, key func(*Asset) string) []Group {
	idx := map[string]int{}
	var out []Group
	for i := range assets {
		a := &assets[i]
		k := key(a)
		gi, ok := idx[k]
		if !ok {
			gi = len(out)
			idx[k] = gi
			out = append(out, Group{Name: k})
		}
		g := &out[gi]
		g.Assets++
		g.Target = mapping.Max(g.Target, a.Target)
		if !a.Assessed() {
			continue
		}
		g.Assessed++
		if a.BelowTarget {
			g.BelowTarget++
		}
		g.Achieved = minVec(g.Achieved, *a.Achieved)
		g.Potential = minVec(g.Potential, *a.Potential)
	}
	for i := range out {
		if out[i].Achieved != nil {
			v := mapping.VarianceOf(out[i].Target, *out[i].Achieved)
			out[i].Variance = &v
		}
	}
	slices.SortFunc(out, func(x, y Group) int { return strings.Compare(x.Name, y.Name) })
	if out == nil {
		out = []Group{}
	}
	return out
}

// days returns the whole days from the UTC date of a to the UTC date of b.
func days(a, b time.Time) int {
	da := time.Date(a.UTC().Year(), a.UTC().Month(), a.UTC().Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.UTC().Year(), b.UTC().Month(), b.UTC().Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

func (b *builder) countermeasures(assets []Asset) []Countermeasure {
	out := []Countermeasure{}
	byID := map[string]int{}
	for _, cm := range b.cms {
		c := Countermeasure{ID: cm.ID, Requirement: cm.Requirement, Kind: cm.Kind, Justification: cm.Justification,
			Owner: cm.Owner, Evidence: cm.Evidence, Expires: cm.Expires, Expired: cm.Expired(b.now),
			DaysLeft: days(b.now, cm.Expires), Known: true, AppliedTo: []string{}, InScope: []string{}}
		switch {
		case cm.Asset != "":
			c.ScopeKind, c.Scope = "asset", cm.Asset
		case cm.Role != "":
			c.ScopeKind, c.Scope = "role", cm.Role
		case cm.Zone != "":
			c.ScopeKind, c.Scope = "zone", cm.Zone
		}
		for i := range assets {
			if cm.Covers(assets[i].Name, assets[i].Role, assets[i].Zone) {
				c.InScope = append(c.InScope, assets[i].Name)
			}
		}
		if _, dup := byID[c.ID]; !dup {
			byID[c.ID] = len(out)
			out = append(out, c)
		}
	}
	for i := range assets {
		a := &assets[i]
		for _, r := range a.Requirements {
			if r.Countermeasure == "" {
				continue
			}
			ci, ok := byID[r.Countermeasure]
			if !ok {
				ci = len(out)
				byID[r.Countermeasure] = ci
				out = append(out, Countermeasure{ID: r.Countermeasure, Requirement: r.ID, AppliedTo: []string{}, InScope: []string{}})
			}
			if !slices.Contains(out[ci].AppliedTo, a.Name) {
				out[ci].AppliedTo = append(out[ci].AppliedTo, a.Name)
			}
		}
	}
	for i := range out {
		if req, ok := b.cat.Lookup(out[i].Requirement); ok {
			out[i].RequirementTitle = req.Title
		}
	}
	slices.SortFunc(out, func(x, y Countermeasure) int { return strings.Compare(x.ID, y.ID) })
	return out
}

func (b *builder) coverage(assets []Asset) Coverage {
	c := Coverage{Levels: make([]mapping.LevelCoverage, mapping.MaxLevel), Manual: []Pending{}, Unknown: []Pending{}}
	for n := range c.Levels {
		c.Levels[n].Level = n + 1
	}
	manual, unknown := map[string]int{}, map[string]int{}
	add := func(list *[]Pending, idx map[string]int, r *Requirement, asset string) {
		i, ok := idx[r.ID]
		if !ok {
			i = len(*list)
			idx[r.ID] = i
			*list = append(*list, Pending{ID: r.ID, FR: r.FR, Title: r.Title, Level: r.Level})
		}
		(*list)[i].Assets = append((*list)[i].Assets, asset)
	}
	for i := range assets {
		a := &assets[i]
		if !a.Assessed() {
			continue
		}
		for n, lc := range a.Coverage {
			c.Levels[n].Selected += lc.Selected
			c.Levels[n].Assessed += lc.Assessed
			c.Levels[n].Holding += lc.Holding
		}
		for j := range a.Requirements {
			r := &a.Requirements[j]
			switch r.State {
			case mapping.NotAssessable:
				add(&c.Manual, manual, r, a.Name)
			case mapping.Unknown:
				add(&c.Unknown, unknown, r, a.Name)
			}
		}
	}
	for _, l := range [][]Pending{c.Manual, c.Unknown} {
		slices.SortFunc(l, func(x, y Pending) int { return b.order(x.ID, y.ID) })
	}
	return c
}

// drift assembles the fleet minimum per sweep and each asset's points and
// SL-A changes from the histories (history[i] belongs to assets[i]).
func drift(since time.Time, assets []Asset, history [][]store.Scan) Drift {
	d := Drift{Since: since.UTC(), Fleet: []FleetPoint{}, Assets: make([]AssetDrift, len(assets))}
	fleet := map[int64]*FleetPoint{}
	for i := range assets {
		ad := AssetDrift{Name: assets[i].Name, Points: make([]Point, 0, len(history[i])), Changes: []SLChange{}}
		var prev *Point
		for _, sc := range history[i] {
			p := Point{SweepID: sc.SweepID, ScanID: sc.ID, Started: sc.Started, Status: sc.Status}
			fp := fleet[sc.SweepID]
			if fp == nil {
				fp = &FleetPoint{SweepID: sc.SweepID, Started: sc.Started}
				fleet[sc.SweepID] = fp
			}
			if sc.Started.Before(fp.Started) {
				fp.Started = sc.Started
			}
			fp.Target = mapping.Max(fp.Target, sc.Target)
			if sc.Status == probes.StatusOK {
				p.Achieved = vec(sc.Achieved)
				fp.Assessed++
				fp.Achieved = minVec(fp.Achieved, sc.Achieved)
			} else {
				fp.Failed++
			}
			ad.Points = append(ad.Points, p)
			if p.Achieved == nil {
				continue
			}
			if prev != nil {
				for fr := range mapping.FRCount {
					if prev.Achieved[fr] != p.Achieved[fr] {
						ad.Changes = append(ad.Changes, SLChange{FR: mapping.FRID(fr), From: prev.Achieved[fr],
							To: p.Achieved[fr], SweepID: p.SweepID, At: p.Started})
					}
				}
			}
			prev = &ad.Points[len(ad.Points)-1]
		}
		d.Assets[i] = ad
	}
	for _, fp := range fleet {
		d.Fleet = append(d.Fleet, *fp)
	}
	slices.SortFunc(d.Fleet, func(x, y FleetPoint) int { return cmp.Compare(x.SweepID, y.SweepID) })
	return d
}

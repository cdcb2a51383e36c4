package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
	"github.com/otsweep/otsweep/store"
)

// DriftStore is what drift computation needs of the store; *store.Store
// implements it.
type DriftStore interface {
	Scan(ctx context.Context, id int64) (*store.Scan, error)
	PreviousScan(ctx context.Context, asset string, beforeScanID int64, onlyOK bool) (*store.Scan, error)
	PreviousScanHead(ctx context.Context, asset string, beforeScanID int64, onlyOK bool) (*store.Scan, error)
	RecordDrift(ctx context.Context, scanID int64, events []store.DriftEvent) (bool, error)
	ScansWithoutDrift(ctx context.Context, afterID int64, limit int) ([]int64, error)
}

// Drift computes and records the drift of stored scans. Everything it
// compares is read back from the store, never taken from memory, so a
// restart between two scans loses nothing, and each scan's drift is recorded
// exactly once (store.RecordDrift). A Drift is safe for concurrent use; its
// fields must not change after first use.
type Drift struct {
	Store  DriftStore
	Defs   *Definitions // requirement ids and titles of checks; nil: none
	Logger *slog.Logger
	// OnRecorded, if set, is called with the events of each scan whose drift
	// this Drift recorded (not with those another caller recorded first).
	OnRecorded func([]store.DriftEvent)

	mu        sync.Mutex
	watermark int64 // every scan up to this ID has its drift recorded
}

func (d *Drift) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Record computes the drift of scan scanID against the asset's previous
// scans and records it. It returns the events and whether this call recorded
// them (false: the scan's drift was recorded before, and the events returned
// are what this call computed, not stored).
func (d *Drift) Record(ctx context.Context, scanID int64) ([]store.DriftEvent, bool, error) {
	cur, err := d.Store.Scan(ctx, scanID)
	if err != nil {
		return nil, false, fmt.Errorf("drift of scan %d: %w", scanID, err)
	}
	return d.record(ctx, cur)
}

// RecordSaved is Record for a scan this process has just saved: saved is
// the scan as passed to store.SaveScan, which set its ID. It compares saved
// as the store reads it back (results in ID order, text as stored) without
// reading it back; the previous scans are read from the store as in Record.
// saved is not modified.
func (d *Drift) RecordSaved(ctx context.Context, saved *store.Scan) ([]store.DriftEvent, bool, error) {
	if saved == nil || saved.ID <= 0 {
		return nil, false, errors.New("drift: scan not saved")
	}
	cur := asStored(saved)
	if !saved.Unchanged || saved.Status != probes.StatusOK {
		return d.record(ctx, cur)
	}
	// Nothing changed in the asset's history: when the previous scan has
	// status ok, it holds exactly cur's results, and only its row (status,
	// times, security levels) needs reading.
	prev, err := d.Store.PreviousScanHead(ctx, cur.Asset.Name, cur.ID, false)
	if errors.Is(err, store.ErrNotFound) || (err == nil && prev.Status != probes.StatusOK) {
		return d.record(ctx, cur)
	}
	if err != nil {
		return nil, false, fmt.Errorf("drift of %s scan %d: previous scan: %w", cur.Asset.Name, cur.ID, err)
	}
	prev.Checks, prev.Requirements, prev.Facts = cur.Checks, cur.Requirements, cur.Facts
	return d.finish(ctx, cur, CompareScans(cur, prev, prev, d.Defs))
}

func (d *Drift) record(ctx context.Context, cur *store.Scan) ([]store.DriftEvent, bool, error) {
	prevAny, err := d.previous(ctx, cur, false)
	if err != nil {
		return nil, false, err
	}
	prevOK := prevAny
	if prevAny != nil && prevAny.Status != probes.StatusOK {
		if prevOK, err = d.previous(ctx, cur, true); err != nil {
			return nil, false, err
		}
	}
	return d.finish(ctx, cur, CompareScans(cur, prevAny, prevOK, d.Defs))
}

// finish records the events computed for cur.
func (d *Drift) finish(ctx context.Context, cur *store.Scan, events []store.DriftEvent) ([]store.DriftEvent, bool, error) {
	scanID := cur.ID
	recorded, err := d.Store.RecordDrift(ctx, scanID, events)
	if err != nil {
		return nil, false, fmt.Errorf("drift of %s scan %d: %w", cur.Asset.Name, scanID, err)
	}
	if recorded && d.OnRecorded != nil {
		d.OnRecorded(events)
	}
	if recorded && len(events) > 0 {
		d.logger().Info("drift recorded", "host", cur.Asset.Name, "scan", scanID, "events", len(events))
	}
	return events, recorded, nil
}

func (d *Drift) previous(ctx context.Context, cur *store.Scan, onlyOK bool) (*store.Scan, error) {
	p, err := d.Store.PreviousScan(ctx, cur.Asset.Name, cur.ID, onlyOK)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drift of %s scan %d: previous scan: %w", cur.Asset.Name, cur.ID, err)
	}
	return p, nil
}

// Skip records that scan scanID has no drift (a scan cut short by a
// shutdown says nothing about the host).
func (d *Drift) Skip(ctx context.Context, scanID int64) error {
	if _, err := d.Store.RecordDrift(ctx, scanID, nil); err != nil {
		return fmt.Errorf("skip drift of scan %d: %w", scanID, err)
	}
	return nil
}

// AfterSave is a Runner.AfterSave hook: it records the drift of the scan
// just saved.
func (d *Drift) AfterSave(ctx context.Context, ar AssetResult) error {
	_, _, err := d.RecordAfterSave(ctx, ar)
	return err
}

// RecordAfterSave records the drift of the scan a Runner has just saved for
// ar: from the scan in memory when the runner handed it over, else read back
// by ar.ScanID.
func (d *Drift) RecordAfterSave(ctx context.Context, ar AssetResult) ([]store.DriftEvent, bool, error) {
	if ar.saved != nil && ar.saved.ID == ar.ScanID {
		return d.RecordSaved(ctx, ar.saved)
	}
	return d.Record(ctx, ar.ScanID)
}

// asStored returns a copy of sc as the store reads it back, as far as drift
// compares it: checks and requirements sorted by ID, and their text with
// each invalid UTF-8 byte replaced by U+FFFD, as the store's JSON encoding
// does. Tracked facts are canonical JSON already.
func asStored(sc *store.Scan) *store.Scan {
	out := *sc
	out.Checks = slices.Clone(sc.Checks)
	for i := range out.Checks {
		c := &out.Checks[i]
		c.Title, c.Expected, c.Actual, c.Message = validText(c.Title), validText(c.Expected), validText(c.Actual), validText(c.Message)
	}
	slices.SortFunc(out.Checks, func(a, b checks.Result) int { return strings.Compare(a.ID, b.ID) })
	out.Requirements = slices.Clone(sc.Requirements)
	for i := range out.Requirements {
		r := &out.Requirements[i]
		r.Reason, r.Countermeasure, r.Note = validText(r.Reason), validText(r.Countermeasure), validText(r.Note)
	}
	slices.SortFunc(out.Requirements, func(a, b mapping.RequirementResult) int { return strings.Compare(a.ID, b.ID) })
	return &out
}

// validText replaces each byte of s that is not valid UTF-8 with U+FFFD, as
// encoding/json does when it encodes a string.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// catchUpBatch bounds how many scans CatchUp reads per query.
const catchUpBatch = 500

// CatchUp records the drift of every stored scan that lacks it: scans saved
// by `otsweep scan`, or by a daemon that stopped between saving a scan and
// recording its drift. It returns how many scans it recorded. It stops at
// the first error, and at ctx's end.
func (d *Drift) CatchUp(ctx context.Context) (int, error) {
	d.mu.Lock()
	after := d.watermark
	d.mu.Unlock()
	n := 0
	for {
		ids, err := d.Store.ScansWithoutDrift(ctx, after, catchUpBatch)
		if err != nil {
			return n, fmt.Errorf("drift catch-up: %w", err)
		}
		for _, id := range ids {
			if _, rec, err := d.Record(ctx, id); err != nil {
				return n, fmt.Errorf("drift catch-up: %w", err)
			} else if rec {
				n++
			}
			after = id
		}
		d.mu.Lock()
		d.watermark = max(d.watermark, after)
		d.mu.Unlock()
		if len(ids) < catchUpBatch {
			return n, nil
		}
	}
}

// CompareScans returns the drift of cur against the asset's previous scan of
// any status (prevAny, for reachability) and its previous successful scan
// (prevOK, for content); either may be nil. Only differences between values
// both scans collected are reported: a fact one scan could not read is not a
// change. defs, if not nil, names the requirements behind each check.
//
// Order: reachability and new-asset first, then SL-A per FR, requirements,
// checks and facts, each sorted by subject.
func CompareScans(cur, prevAny, prevOK *store.Scan, defs *Definitions) []store.DriftEvent {
	base := store.DriftEvent{At: cur.Started, ScanID: cur.ID, SweepID: cur.SweepID, Asset: cur.Asset.Name, Zone: cur.Asset.Zone}
	ev := func(kind, subject, title string, regression bool, before, after string) store.DriftEvent {
		e := base
		e.Kind, e.Subject, e.Title, e.Regression, e.Before, e.After = kind, subject, title, regression, before, after
		return e
	}
	ok := cur.Status == probes.StatusOK
	switch {
	case prevAny == nil:
		return []store.DriftEvent{ev(store.DriftNewAsset, "", "first scan of the asset", false, "", firstScanSummary(cur))}
	case !ok && prevAny.Status == probes.StatusOK:
		return []store.DriftEvent{ev(store.DriftUnreachable, string(cur.Status), "asset newly not scannable", true,
			scanStatusText(prevAny), scanStatusText(cur))}
	case !ok:
		return nil // still failing: not a transition
	}
	var out []store.DriftEvent
	if prevAny.Status != probes.StatusOK {
		after := scanStatusText(cur)
		if prevOK == nil {
			after += "; first complete scan: " + firstScanSummary(cur)
		}
		out = append(out, ev(store.DriftReachable, string(prevAny.Status), "asset scannable again", false, scanStatusText(prevAny), after))
	}
	if prevOK == nil {
		return out
	}

	// Requirements (needed for SL-A events too).
	prevReq := map[string]mapping.RequirementResult{}
	for _, r := range prevOK.Requirements {
		prevReq[r.ID] = r
	}
	changedByFR := map[string][]string{}
	var reqEvents []store.DriftEvent
	for _, r := range cur.Requirements {
		p, had := prevReq[r.ID]
		if !had || p.State == r.State {
			continue
		}
		e := ev(store.DriftRequirement, r.ID, requirementTitle(defs, r.ID), p.State.Holds() && !r.State.Holds(),
			requirementText(p), requirementText(r))
		e.FR, e.Requirements = r.FR, []string{r.ID}
		reqEvents = append(reqEvents, e)
		changedByFR[r.FR] = append(changedByFR[r.FR], r.ID)
	}

	for i := range mapping.FRCount {
		was, is := prevOK.Achieved[i], cur.Achieved[i]
		if was == is {
			continue
		}
		fr := mapping.FRID(i)
		e := ev(store.DriftLevel, fr, frTitle(defs, fr), is < was,
			fmt.Sprintf("SL-A %d (SL-T %d)", was, prevOK.Target[i]), fmt.Sprintf("SL-A %d (SL-T %d)", is, cur.Target[i]))
		e.FR, e.Requirements = fr, changedByFR[fr]
		out = append(out, e)
	}
	out = append(out, reqEvents...)

	prevChecks := map[string]checks.Result{}
	for _, c := range prevOK.Checks {
		prevChecks[c.ID] = c
	}
	for _, c := range cur.Checks {
		p, had := prevChecks[c.ID]
		var kind string
		switch {
		case c.Status == checks.Fail && (!had || p.Status != checks.Fail):
			kind = store.DriftCheckFailing
		case !had:
			continue // a check new to the definitions, not failing
		case c.Status == checks.Pass && (p.Status == checks.Fail || p.Status == checks.Error):
			kind = store.DriftCheckPassing
		case c.Status != p.Status:
			kind = store.DriftCheckChanged
		default:
			continue
		}
		before := "not evaluated"
		if had {
			before = checkText(p)
		}
		e := ev(kind, c.ID, c.Title, kind == store.DriftCheckFailing, before, checkText(c))
		if defs != nil {
			e.Requirements = defs.Requirements(c.ID)
			e.FR = frsOf(defs, e.Requirements)
		}
		out = append(out, e)
	}

	names := make([]string, 0, len(cur.Facts))
	for name := range cur.Facts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		was, had := prevOK.Facts[name]
		is := cur.Facts[name]
		if !had || was == is {
			continue
		}
		cat := categoryOf(name)
		before, after, added := factChange(was, is)
		out = append(out, ev(store.DriftFact, name, cat.title, cat.always || (cat.growth && added), before, after))
	}
	return out
}

// factCategory groups tracked facts for titles and for telling a
// regression: a change of host identity is one, and so is a list of
// administrators, listening ports or SUID files that grew.
type factCategory struct {
	title  string
	growth bool // elements added are a regression
	always bool // any change is a regression
}

func categoryOf(name string) factCategory {
	switch name {
	case "packages.list", "software", "host.sw_installed", "patch.hotfixes", "features.enabled":
		return factCategory{title: "installed software"}
	case "net.tcp_listen", "net.udp_listen", "listening.tcp_ports", "listening.udp_ports":
		return factCategory{title: "listening ports", growth: true}
	case "accounts.uid0", "accounts.admin_group_members", "acct.local_admins":
		return factCategory{title: "administrators", growth: true}
	case "accounts.login_shell":
		return factCategory{title: "accounts with a login shell", growth: true}
	case "services.running":
		return factCategory{title: "running services"}
	case "services.flagged_active":
		return factCategory{title: "unneeded services active", growth: true}
	case "os.pretty_name", "kernel.release", "os.build_full", "sys.descr", "sys.firmware",
		"entity.chassis_firmware", "entity.chassis_software":
		return factCategory{title: "firmware / OS build"}
	case "ssh.host_key", "snmp.v3.engine_id", "entity.chassis_serial":
		return factCategory{title: "host identity", always: true}
	case "tls.certificate":
		return factCategory{title: "TLS certificate", always: true}
	case "fs.suid_sgid_files":
		return factCategory{title: "SUID/SGID files", growth: true}
	case "snmp.v3.engine_boots":
		return factCategory{title: "SNMP engine restarted"}
	}
	return factCategory{title: "tracked fact"}
}

// maxListed bounds the elements a fact event lists on either side.
const maxListed = 25

// factChange renders a fact's change. For two JSON arrays, before lists the
// elements removed and after those added (added reports whether any were);
// other values are shown whole.
func factChange(was, is string) (before, after string, added bool) {
	var a, b []any
	if json.Unmarshal([]byte(was), &a) == nil && json.Unmarshal([]byte(is), &b) == nil && a != nil && b != nil {
		removed, gained := multisetDiff(a, b)
		return "removed: " + listText(removed), "added: " + listText(gained), len(gained) > 0
	}
	return valueText(was), valueText(is), false
}

func multisetDiff(a, b []any) (removed, added []string) {
	count := map[string]int{}
	for _, x := range a {
		count[elementText(x)]++
	}
	for _, x := range b {
		k := elementText(x)
		if count[k] > 0 {
			count[k]--
			continue
		}
		added = append(added, k)
	}
	for _, x := range a {
		k := elementText(x)
		if count[k] > 0 {
			count[k]--
			removed = append(removed, k)
		}
	}
	slices.Sort(removed)
	slices.Sort(added)
	return removed, added
}

// elementText renders one list element: strings bare, numbers as numbers,
// objects with a name (and version) as "name version", others as JSON.
func elementText(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case map[string]any:
		if n, ok := v["name"].(string); ok {
			if ver, ok := v["version"].(string); ok && ver != "" {
				return n + " " + ver
			}
		}
	}
	b, _ := json.Marshal(x)
	return string(b)
}

func listText(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	s := fmt.Sprintf("(%d) %s", len(xs), strings.Join(xs[:min(len(xs), maxListed)], ", "))
	if len(xs) > maxListed {
		s += fmt.Sprintf(", … and %d more", len(xs)-maxListed)
	}
	return s
}

func valueText(j string) string {
	var v any
	if err := json.Unmarshal([]byte(j), &v); err == nil {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return j
}

func scanStatusText(sc *store.Scan) string {
	s := fmt.Sprintf("%s (scan %d", sc.Status, sc.ID)
	if !sc.Started.IsZero() {
		s += " at " + sc.Started.UTC().Format("2006-01-02 15:04:05Z")
	}
	s += ")"
	if sc.Error != "" {
		s += ": " + sc.Error
	}
	return s
}

func firstScanSummary(sc *store.Scan) string {
	if sc.Status != probes.StatusOK {
		return scanStatusText(sc)
	}
	failing := 0
	for _, c := range sc.Checks {
		if c.Status == checks.Fail {
			failing++
		}
	}
	return fmt.Sprintf("ok; SL-A %s, SL-T %s; %d of %d checks failing", sc.Achieved, sc.Target, failing, len(sc.Checks))
}

// maxEvidenceLines bounds the raw lines a check's evidence text carries.
const maxEvidenceLines = 5

func checkText(c checks.Result) string {
	parts := []string{string(c.Status)}
	if c.Expected != "" {
		parts = append(parts, "expected "+c.Expected)
	}
	if c.Actual != "" {
		parts = append(parts, "actual "+c.Actual)
	}
	if c.Message != "" {
		parts = append(parts, c.Message)
	}
	if len(c.Evidence) > 0 {
		ev := c.Evidence[:min(len(c.Evidence), maxEvidenceLines)]
		s := "evidence: " + strings.Join(ev, " | ")
		if len(c.Evidence) > maxEvidenceLines {
			s += fmt.Sprintf(" | … %d more lines", len(c.Evidence)-maxEvidenceLines)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func requirementText(r mapping.RequirementResult) string {
	s := string(r.State)
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	if r.Countermeasure != "" {
		s += " (countermeasure " + r.Countermeasure + ")"
	}
	return s
}

func requirementTitle(defs *Definitions, id string) string {
	if defs == nil {
		return ""
	}
	if r, ok := defs.Catalog.Lookup(id); ok {
		return r.Title
	}
	return ""
}

func frTitle(defs *Definitions, fr string) string {
	if defs == nil {
		return ""
	}
	for _, f := range defs.Catalog.FRs {
		if f.ID == fr {
			return f.Title
		}
	}
	return ""
}

// frsOf returns the FRs of requirement ids, in FR order, comma-separated.
func frsOf(defs *Definitions, ids []string) string {
	var frs []string
	for _, id := range ids {
		if r, ok := defs.Catalog.Lookup(id); ok && !slices.Contains(frs, r.FR) {
			frs = append(frs, r.FR)
		}
	}
	slices.SortFunc(frs, func(a, b string) int { return mapping.FRIndex(a) - mapping.FRIndex(b) })
	return strings.Join(frs, ", ")
}

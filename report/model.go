package report

import (
	"time"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// SchemaVersion names the JSON document WriteJSON produces. It changes when a
// field is removed or changes meaning; adding a field keeps it.
const SchemaVersion = "otsweep.report/v1"

// Report is the one model every renderer reads: HTML, JSON, CSV and the
// dashboard. It is built by Build and not changed afterwards; a Report is
// safe for concurrent reads. Its JSON form is documented in
// docs/report-schema.md.
type Report struct {
	Schema      string    `json:"schema"`
	Generated   time.Time `json:"generated"`
	Standard    string    `json:"standard"`
	HistoryDays int       `json:"history_days"`
	Sweep       Sweep     `json:"sweep"`
	FRs         []FR      `json:"frs"`
	Summary     Summary   `json:"summary"`
	// Zones and Roles hold the variance per group, sorted by name; assets
	// without a zone form the group "".
	Zones           []Group          `json:"zones"`
	Roles           []Group          `json:"roles"`
	Assets          []Asset          `json:"assets"` // sorted by name
	Countermeasures []Countermeasure `json:"countermeasures"`
	Coverage        Coverage         `json:"coverage"`
	Drift           Drift            `json:"drift"`
}

// Sweep is the sweep the report describes.
type Sweep struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Trigger  string    `json:"trigger"`
	Status   string    `json:"status"` // running | complete | partial | incomplete
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"` // zero while running
	Hosts    int       `json:"hosts"`    // planned hosts, else scans saved
}

// FR is one foundational requirement, in vector order.
type FR struct {
	ID     string `json:"id"`
	Abbrev string `json:"abbrev"`
	Title  string `json:"title"`
}

// Summary is the fleet at a glance.
type Summary struct {
	Assets   int                       `json:"assets"`
	ByStatus map[probes.ScanStatus]int `json:"by_status"`
	// AtTarget and BelowTarget count assets scanned successfully whose SL-A
	// reaches, or misses in at least one FR, their SL-T. NotAssessed counts
	// assets whose scan failed: they are neither.
	AtTarget     int                   `json:"at_target"`
	BelowTarget  int                   `json:"below_target"`
	NotAssessed  int                   `json:"not_assessed"`
	Checks       map[checks.Status]int `json:"checks"`
	Requirements map[mapping.State]int `json:"requirements"`
	// Fleet vectors: the highest SL-T, and the lowest SL-A and potential
	// SL-A of the assessed assets (null when no asset was assessed).
	Target    mapping.Vector  `json:"sl_target"`
	Achieved  *mapping.Vector `json:"sl_achieved"`
	Potential *mapping.Vector `json:"sl_potential"`
}

// Group is the variance of a zone or a role: the lowest SL-A per FR across
// its assessed assets against the highest SL-T of its assets.
type Group struct {
	Name        string            `json:"name"`
	Assets      int               `json:"assets"`
	Assessed    int               `json:"assessed"` // assets scanned successfully
	BelowTarget int               `json:"below_target"`
	Target      mapping.Vector    `json:"sl_target"`
	Achieved    *mapping.Vector   `json:"sl_achieved"` // null when no asset was assessed
	Potential   *mapping.Vector   `json:"sl_potential"`
	Variance    *mapping.Variance `json:"variance"` // sl_target − sl_achieved
}

// Asset is one asset's section: its scan in the sweep, requirement states,
// findings and countermeasures.
type Asset struct {
	Name      string            `json:"name"`
	Address   string            `json:"address"`
	Role      string            `json:"role"`
	RoleTitle string            `json:"role_title,omitempty"`
	Zone      string            `json:"zone"`
	Platform  string            `json:"platform"`
	Transport string            `json:"transport"`
	Status    probes.ScanStatus `json:"status"`
	Error     string            `json:"error,omitempty"`
	ScanID    int64             `json:"scan_id"`
	Started   time.Time         `json:"started"`
	Finished  time.Time         `json:"finished"`
	Elevated  bool              `json:"elevated"`
	Target    mapping.Vector    `json:"sl_target"`
	// Achieved, Potential and Variance are null when the scan failed:
	// nothing was assessed, so no level is claimed.
	Achieved    *mapping.Vector         `json:"sl_achieved"`
	Potential   *mapping.Vector         `json:"sl_potential"`
	Variance    *mapping.Variance       `json:"variance"`
	BelowTarget bool                    `json:"below_target"`
	Coverage    []mapping.LevelCoverage `json:"coverage"`
	Checks      map[checks.Status]int   `json:"checks"`
	// Requirements lists every SR/RE in catalog order. For a failed scan each
	// is unknown, with the scan failure as reason.
	Requirements []Requirement `json:"requirements"`
	Findings     []Finding     `json:"findings"` // failing and errored checks
	// Applied names the countermeasures that compensate or attest one of its
	// requirements; Expired those covering it that have expired.
	Applied []string `json:"applied_countermeasures"`
	Expired []string `json:"expired_countermeasures"`
}

// Assessed reports whether the asset's scan succeeded.
func (a Asset) Assessed() bool { return a.Status == probes.StatusOK }

// Requirement is the state of one SR/RE on one asset.
type Requirement struct {
	ID             string        `json:"id"`
	FR             string        `json:"fr"`
	Title          string        `json:"title"`
	Level          int           `json:"level"` // lowest SL that selects it
	State          mapping.State `json:"state"`
	Reason         string        `json:"reason,omitempty"`
	Countermeasure string        `json:"countermeasure,omitempty"`
	Note           string        `json:"note,omitempty"`
	Checks         []string      `json:"checks,omitempty"`
}

// Finding is a check that failed or could not be evaluated, with its
// evidence and the requirements it supports.
type Finding struct {
	checks.Result
	Requirements []string `json:"requirements"`
}

// Countermeasure is a compensating countermeasure or attestation, as given
// to Build or as referenced by a stored requirement state.
type Countermeasure struct {
	ID               string    `json:"id"`
	Requirement      string    `json:"requirement"`
	RequirementTitle string    `json:"requirement_title"`
	Kind             string    `json:"kind"`       // compensating | attestation; "" when not Known
	ScopeKind        string    `json:"scope_kind"` // asset | role | zone; "" when not Known
	Scope            string    `json:"scope"`
	Justification    string    `json:"justification"`
	Owner            string    `json:"owner"`
	Evidence         string    `json:"evidence"`
	Expires          time.Time `json:"expires"` // the last day it counts
	Expired          bool      `json:"expired"`
	DaysLeft         int       `json:"days_left"` // until expiry (negative: days since)
	// Known is false for an id found in stored requirement states but not
	// in the countermeasures handed to Build (no inventory given).
	Known bool `json:"known"`
	// AppliedTo lists the assets where it compensates or attests a
	// requirement in this sweep; InScope the assets of the sweep it covers.
	AppliedTo []string `json:"applied_to"`
	InScope   []string `json:"in_scope"`
}

// Coverage tells how much of each level was assessed across the fleet and
// what needs manual assessment.
type Coverage struct {
	// Levels sums the per-asset coverage of the assessed assets.
	Levels []mapping.LevelCoverage `json:"levels"`
	// Manual lists the requirements not assessable on at least one assessed
	// asset: no control automates them there. Unknown lists those that could
	// not be evaluated because collection failed on an assessed asset.
	Manual  []Pending `json:"manual"`
	Unknown []Pending `json:"unknown"`
}

// Pending is a requirement that awaits assessment on the listed assets.
type Pending struct {
	ID     string   `json:"id"`
	FR     string   `json:"fr"`
	Title  string   `json:"title"`
	Level  int      `json:"level"`
	Assets []string `json:"assets"`
}

// Drift is SL-A over time: the scans of the report's assets from Since up
// to and including the report's sweep.
type Drift struct {
	Since  time.Time    `json:"since"`
	Fleet  []FleetPoint `json:"fleet"` // one per sweep, oldest first
	Assets []AssetDrift `json:"assets"`
}

// FleetPoint is the fleet minimum SL-A of one sweep over the report's assets
// that it assessed.
type FleetPoint struct {
	SweepID  int64           `json:"sweep_id"`
	Started  time.Time       `json:"started"` // earliest scan of the sweep
	Assessed int             `json:"assessed"`
	Failed   int             `json:"failed"`
	Target   mapping.Vector  `json:"sl_target"`   // highest SL-T
	Achieved *mapping.Vector `json:"sl_achieved"` // null when none was assessed
}

// AssetDrift is one asset's SL-A per scan and its changes.
type AssetDrift struct {
	Name    string     `json:"name"`
	Points  []Point    `json:"points"`
	Changes []SLChange `json:"changes"`
}

// Point is one scan of an asset.
type Point struct {
	SweepID  int64             `json:"sweep_id"`
	ScanID   int64             `json:"scan_id"`
	Started  time.Time         `json:"started"`
	Status   probes.ScanStatus `json:"status"`
	Achieved *mapping.Vector   `json:"sl_achieved"` // null when the scan failed
}

// SLChange is an SL-A change of one FR between two successful scans.
type SLChange struct {
	FR      string    `json:"fr"`
	From    int       `json:"from"`
	To      int       `json:"to"`
	SweepID int64     `json:"sweep_id"`
	At      time.Time `json:"at"`
}

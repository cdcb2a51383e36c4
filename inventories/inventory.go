// Package inventories defines otsweep's inventory: the zones, credentials,
// assets and countermeasures of a site, read from one YAML file or a folder of
// them. Load decodes strictly (unknown field = error), validates every
// reference and reports every problem at once as file:line: message.
//
// The inventory names credentials; it never holds secrets. A credential says
// where its secrets live (an environment variable or an owner-only file), and
// Credential.Resolve reads them into probes.Secret values only when a transport
// needs them.
//
// Values of the types here are plain data: safe for concurrent reads, and
// nothing in this package keeps state between calls.
package inventories

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// Pos is where an element was defined.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// String renders "file:line", or just the file when the line is unknown.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Transport names how an asset is reached.
type Transport string

// Transports.
const (
	SSH    Transport = "ssh"
	Local  Transport = "local"
	WinRM  Transport = "winrm"  // HTTP, port 5985, NTLM or Kerberos message encryption
	WinRMS Transport = "winrms" // HTTPS, port 5986
	SNMP   Transport = "snmp"
)

// DefaultPort is the port a transport uses when an asset gives none; 0 for
// local.
func (t Transport) DefaultPort() int {
	switch t {
	case SSH:
		return 22
	case WinRM:
		return 5985
	case WinRMS:
		return 5986
	case SNMP:
		return 161
	}
	return 0
}

// TransportsFor lists the transports that can reach a host of platform p,
// preferred first. Local is Linux only: the local executor runs the POSIX
// bundle.
func TransportsFor(p probes.Platform) []Transport {
	switch p {
	case probes.Linux:
		return []Transport{SSH, Local}
	case probes.Windows:
		return []Transport{WinRMS, WinRM}
	case probes.SNMP:
		return []Transport{SNMP}
	}
	return nil
}

// Fits reports whether transport t can reach a host of platform p.
func (t Transport) Fits(p probes.Platform) bool { return slices.Contains(TransportsFor(p), t) }

// Inventory is a loaded, validated inventory. Elements keep the order in
// which they were read (files in name order, then document order).
type Inventory struct {
	Zones           []Zone           `json:"zones"`
	Credentials     []Credential     `json:"credentials"`
	Assets          []Asset          `json:"assets"`
	Countermeasures []Countermeasure `json:"countermeasures"`
}

// Zone is an IEC 62443-3-2 zone: a group of assets with a common target
// security level.
type Zone struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// SLTarget is the SL-T per foundational requirement, FR 1 first.
	SLTarget [7]int `json:"sl_target"`
	Pos      Pos    `json:"pos"`
}

// Target returns the zone's SL-T vector {IAC UC SI DC RDF TRE RA}.
func (z Zone) Target() [7]int { return z.SLTarget }

// Asset is one endpoint to scan.
type Asset struct {
	Name string `json:"name"`
	// Address is an IPv4 or IPv6 address or an RFC 1123 host name; for the
	// local transport it is "localhost" or a loopback address.
	Address    string          `json:"address"`
	Port       int             `json:"port,omitempty"` // the transport's default when not given; 0 for local
	Platform   probes.Platform `json:"platform"`
	Transport  Transport       `json:"transport"`
	Credential string          `json:"credential,omitempty"` // empty only for transport local
	Role       string          `json:"role"`
	Zone       string          `json:"zone,omitempty"`
	Tags       []string        `json:"tags,omitempty"`
	// Fragile limits an SNMP device to one request at a time.
	Fragile bool `json:"fragile,omitempty"`
	// Timeout is the per-host deadline; 0 means the caller's default.
	Timeout time.Duration `json:"timeout,omitempty"`
	// GuessDefaultCommunities opts an SNMP asset in to trying well-known
	// community strings.
	GuessDefaultCommunities bool `json:"guess_default_communities,omitempty"`
	Pos                     Pos  `json:"pos"`
}

// HasTag reports whether the asset carries tag.
func (a Asset) HasTag(tag string) bool { return slices.Contains(a.Tags, tag) }

// CountermeasureKind says what a countermeasure record claims.
type CountermeasureKind string

// Countermeasure kinds.
const (
	// Compensating: a compensating countermeasure (IEC 62443-3-3 4.3.3)
	// covers a requirement the asset does not meet itself.
	Compensating CountermeasureKind = "compensating"
	// Attestation: manual evidence that the requirement is met.
	Attestation CountermeasureKind = "attestation"
)

// Scope names what a countermeasure covers: exactly one field is set.
type Scope struct {
	Asset string `json:"asset,omitempty"`
	Role  string `json:"role,omitempty"`
	Zone  string `json:"zone,omitempty"`
}

// Countermeasure is a recorded compensating countermeasure or attestation for
// one SR or RE.
type Countermeasure struct {
	ID            string             `json:"id"`
	Requirement   string             `json:"requirement"` // an SR or RE id, "SR 2.5" or "SR 1.1 RE 1"
	Scope         Scope              `json:"scope"`
	Kind          CountermeasureKind `json:"kind"`
	Justification string             `json:"justification"`
	Owner         string             `json:"owner"`
	// Expires is the last day (UTC midnight) on which the record holds.
	Expires  time.Time `json:"expires"`
	Evidence string    `json:"evidence"`
	Pos      Pos       `json:"pos"`
}

// Expired reports whether the record no longer holds on now's calendar day:
// a countermeasure expiring 2027-06-30 holds through that whole day, in
// now's location.
func (c Countermeasure) Expired(now time.Time) bool {
	y, m, d := now.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).After(c.Expires)
}

// Covers reports whether the countermeasure's scope includes asset a.
func (c Countermeasure) Covers(a Asset) bool {
	switch {
	case c.Scope.Asset != "":
		return c.Scope.Asset == a.Name
	case c.Scope.Role != "":
		return c.Scope.Role == a.Role
	case c.Scope.Zone != "":
		return c.Scope.Zone == a.Zone
	}
	return false
}

// Zone returns the zone named name.
func (inv *Inventory) Zone(name string) (Zone, bool) {
	for _, z := range inv.Zones {
		if z.Name == name {
			return z, true
		}
	}
	return Zone{}, false
}

// Credential returns the credential named name.
func (inv *Inventory) Credential(name string) (Credential, bool) {
	for _, c := range inv.Credentials {
		if c.Name == name {
			return c, true
		}
	}
	return Credential{}, false
}

// Asset returns the asset named name.
func (inv *Inventory) Asset(name string) (Asset, bool) {
	for _, a := range inv.Assets {
		if a.Name == name {
			return a, true
		}
	}
	return Asset{}, false
}

// Countermeasure returns the countermeasure with the given id.
func (inv *Inventory) Countermeasure(id string) (Countermeasure, bool) {
	for _, c := range inv.Countermeasures {
		if c.ID == id {
			return c, true
		}
	}
	return Countermeasure{}, false
}

// CountermeasuresFor returns the countermeasures whose scope includes a, in
// inventory order, expired ones included (the caller decides with Expired).
func (inv *Inventory) CountermeasuresFor(a Asset) []Countermeasure {
	var out []Countermeasure
	for _, c := range inv.Countermeasures {
		if c.Covers(a) {
			out = append(out, c)
		}
	}
	return out
}

// ErrNoMatch is returned by Select when selectors were given and no asset
// matches them all.
var ErrNoMatch = errors.New("no asset matches the selection")

// UnknownNameError is returned by Select for a selector naming an asset or
// zone the inventory does not define.
type UnknownNameError struct {
	Kind string // "asset" or "zone"
	Name string
}

func (e *UnknownNameError) Error() string {
	return fmt.Sprintf("unknown %s %q in selection", e.Kind, e.Name)
}

// Select returns the assets matching the selectors, in inventory order.
// Selectors are OR within a kind and AND across kinds; an empty kind does not
// filter, so no selectors at all select every asset. An asset or zone name the
// inventory does not define is an *UnknownNameError; roles and tags are free
// labels and are not checked. A selection that matches nothing is ErrNoMatch.
func (inv *Inventory) Select(assets, roles, zones, tags []string) ([]Asset, error) {
	for _, name := range assets {
		if _, ok := inv.Asset(name); !ok {
			return nil, &UnknownNameError{Kind: "asset", Name: name}
		}
	}
	for _, name := range zones {
		if _, ok := inv.Zone(name); !ok {
			return nil, &UnknownNameError{Kind: "zone", Name: name}
		}
	}
	var out []Asset
	for _, a := range inv.Assets {
		if (len(assets) == 0 || slices.Contains(assets, a.Name)) &&
			(len(roles) == 0 || slices.Contains(roles, a.Role)) &&
			(len(zones) == 0 || slices.Contains(zones, a.Zone)) &&
			(len(tags) == 0 || slices.ContainsFunc(tags, a.HasTag)) {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(assets)+len(roles)+len(zones)+len(tags) > 0 {
		return nil, ErrNoMatch
	}
	return out, nil
}

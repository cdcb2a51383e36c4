package windows

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

//go:embed eol.json
var eolJSON string

// eolTable is the embedded end-of-support data (eol.json): versioned, with its
// source noted, and refreshed from endoflife.date on each release.
type eolTable struct {
	Version  string       `json:"version"`
	Source   string       `json:"source"`
	Editions string       `json:"editions"`
	Releases []eolRelease `json:"releases"`
}

type eolRelease struct {
	Release  string `json:"release"`
	Kind     string `json:"kind"` // client | server
	Build    int    `json:"build"`
	Editions string `json:"editions"` // any | e | w | ltsc | iot-ltsc
	EOL      string `json:"eol"`
	EOES     string `json:"eoes,omitempty"`
}

// errNotInTable is returned for a build/edition the table does not list.
var errNotInTable = errors.New("release not in the end-of-support table")

// loadEOL decodes and validates the embedded table: known kinds and edition
// classes, ISO dates, eoes after eol, and no two rows for the same build,
// kind and edition class.
func loadEOL() (*eolTable, error) {
	var t eolTable
	dec := json.NewDecoder(strings.NewReader(eolJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("eol.json: %w", err)
	}
	if t.Version == "" || t.Source == "" || len(t.Releases) == 0 {
		return nil, errors.New("eol.json: version, source and releases are required")
	}
	seen := map[string]bool{}
	for i, r := range t.Releases {
		at := fmt.Sprintf("eol.json: releases[%d] %q", i, r.Release)
		if r.Kind != "client" && r.Kind != "server" {
			return nil, fmt.Errorf("%s: kind %q", at, r.Kind)
		}
		switch r.Editions {
		case "any", "e", "w", "ltsc", "iot-ltsc":
		default:
			return nil, fmt.Errorf("%s: editions %q", at, r.Editions)
		}
		eol, err := time.Parse(time.DateOnly, r.EOL)
		if err != nil {
			return nil, fmt.Errorf("%s: eol: %w", at, err)
		}
		if r.EOES != "" {
			eoes, err := time.Parse(time.DateOnly, r.EOES)
			if err != nil || !eoes.After(eol) {
				return nil, fmt.Errorf("%s: eoes %q must be a date after eol", at, r.EOES)
			}
		}
		key := fmt.Sprint(r.Kind, r.Build, r.Editions)
		if seen[key] {
			return nil, fmt.Errorf("%s: duplicate row for build %d", at, r.Build)
		}
		seen[key] = true
	}
	return &t, nil
}

// eolTableOnce is loadEOL run once, on first use; the table is shared by
// every Parse call and must not be modified.
var eolTableOnce = sync.OnceValues(loadEOL)

// editionClass sorts a Windows EditionID into the classes the table uses.
func editionClass(edition string) string {
	e := strings.ToLower(edition)
	switch {
	case strings.HasPrefix(e, "iotenterprises"):
		return "iot-ltsc"
	case e == "enterprises" || e == "enterprisesn" || e == "enterprisesevaluation":
		return "ltsc"
	case strings.HasPrefix(e, "enterprise"), strings.HasPrefix(e, "education"),
		strings.HasPrefix(e, "iotenterprise"), e == "serverrdsh":
		return "e"
	case strings.HasPrefix(e, "core"), strings.HasPrefix(e, "professional"):
		return "w"
	}
	return ""
}

// lookup finds the release of a build. productType 1 is a client; 2 (domain
// controller) and 3 (server) are servers, which is how the build collisions
// 14393, 17763 and 26100 are resolved. Among client rows the EditionID picks
// LTSC, IoT LTSC, (E) or (W); an IoT LTSC edition falls back to the LTSC row
// where the table has no separate one, and "any" rows match every edition.
func (t *eolTable) lookup(build, productType int, edition string) (eolRelease, error) {
	kind := "client"
	if productType == 2 || productType == 3 {
		kind = "server"
	}
	class := editionClass(edition)
	prefs := []string{class, "any"}
	if class == "iot-ltsc" {
		prefs = []string{"iot-ltsc", "ltsc", "any"}
	}
	for _, want := range prefs {
		if want == "" {
			continue
		}
		for _, r := range t.Releases {
			if r.Kind == kind && r.Build == build && r.Editions == want {
				return r, nil
			}
		}
	}
	return eolRelease{}, fmt.Errorf("%s build %d edition %q: %w", kind, build, edition, errNotInTable)
}

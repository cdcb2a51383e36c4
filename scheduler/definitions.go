// Package scheduler composes otsweep's parts into sweeps: it loads the
// definitions, runs probes over a bounded worker pool with per-zone limits and
// per-host deadlines, evaluates checks, assesses security levels and stores
// the results. Cron schedules build on the same Runner.
package scheduler

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/checks"
)

// Definitions is every piece of definition data a scan needs, loaded and
// cross-validated once. It is immutable after LoadDefinitions.
type Definitions struct {
	Catalog    *mapping.Catalog
	Blueprints *mapping.Blueprints
	Controls   []mapping.Control
	Checks     *checks.Set
}

// FactIndex tells which facts a platform's bundle documents.
type FactIndex func(p probes.Platform, name string) bool

// LoadDefinitions loads the built-in catalog, blueprints, checks and controls,
// then the user's overrides from dir (subfolders blueprints/, checks/ and
// controls/, each optional; dir may be empty). Every reference is resolved:
// checks read documented facts and declared parameters, controls name
// existing checks and requirements.
func LoadDefinitions(dir string, facts FactIndex) (*Definitions, error) {
	sub := func(name string) string {
		if dir == "" {
			return ""
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("definitions folder %s: not a readable directory", dir)
		}
	}
	d := &Definitions{Catalog: mapping.DefaultCatalog()}
	var err error
	if d.Blueprints, err = mapping.LoadBlueprints(d.Catalog, sub("blueprints")); err != nil {
		return nil, fmt.Errorf("blueprints: %w", err)
	}
	v := checks.Validator{Fact: facts, Param: func(n string) bool { _, ok := d.Blueprints.Param(n); return ok }}
	if d.Checks, err = checks.Load(sub("checks"), v); err != nil {
		return nil, fmt.Errorf("checks: %w", err)
	}
	if d.Controls, err = mapping.LoadControls(d.Catalog, sub("controls"), d.Checks.Has); err != nil {
		return nil, fmt.Errorf("controls: %w", err)
	}
	return d, nil
}

// Requirements returns the SR/RE ids a check supports.
func (d *Definitions) Requirements(checkID string) []string {
	return mapping.RequirementsOfCheck(d.Catalog, d.Controls, checkID)
}

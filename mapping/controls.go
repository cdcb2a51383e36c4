package mapping

import (
	"embed"
	"fmt"
	"slices"
)

//go:embed data/controls/*.yaml
var controlFS embed.FS

// Control ties checks to the SRs/REs they support. With AnyOf, one passing
// alternative meets it (Defender, or a third-party AV, or enforced
// application whitelisting); with AllOf every check must pass.
type Control struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	AnyOf        []string `json:"any_of,omitempty"`
	AllOf        []string `json:"all_of,omitempty"`
	Requirements []string `json:"requirements"`
	Source       string   `json:"source"`
}

// Checks returns the control's check ids.
func (c Control) Checks() []string {
	if len(c.AnyOf) > 0 {
		return c.AnyOf
	}
	return c.AllOf
}

type controlDocument struct {
	ID           string   `yaml:"id"`
	Title        string   `yaml:"title"`
	AnyOf        []string `yaml:"any_of"`
	AllOf        []string `yaml:"all_of"`
	Requirements []string `yaml:"requirements"`
}

// LoadControls reads the built-in control files and those in userDir (may be
// empty; a user control with a built-in's id replaces it). knownCheck says
// whether a check id exists. Every error names file and line.
func LoadControls(cat *Catalog, userDir string, knownCheck func(string) bool) ([]Control, error) {
	builtin, err := readDefinitionDir(controlFS, "data/controls")
	if err != nil {
		return nil, err
	}
	user, err := readUserDir(userDir)
	if err != nil {
		return nil, err
	}
	var (
		out   []Control
		index = map[string]int{}
		errs  []error
	)
	for si, src := range append(builtin, user...) {
		var docs []controlDocument
		if err := decodeStrict(src.Name, src.Data, &docs); err != nil {
			errs = append(errs, err)
			continue
		}
		for i, d := range docs {
			at := func(field, format string, args ...any) {
				errs = append(errs, errAt(src.Name, src.Data, fmt.Sprintf("$[%d]%s", i, field), format, args...))
			}
			if d.ID == "" {
				at("", "control has no id")
				continue
			}
			if (len(d.AnyOf) == 0) == (len(d.AllOf) == 0) {
				at("", "control %s: give exactly one of any_of or all_of", d.ID)
				continue
			}
			if len(d.Requirements) == 0 {
				at("", "control %s maps to no requirement", d.ID)
				continue
			}
			c := Control{ID: d.ID, Title: d.Title, AnyOf: d.AnyOf, AllOf: d.AllOf, Requirements: d.Requirements, Source: src.Name}
			for j, r := range d.Requirements {
				if _, ok := cat.Lookup(r); !ok {
					at(fmt.Sprintf(".requirements[%d]", j), "control %s: unknown requirement %q", d.ID, r)
				}
			}
			for _, ch := range c.Checks() {
				if !knownCheck(ch) {
					at("", "control %s: unknown check %q", d.ID, ch)
				}
			}
			if prev, dup := index[d.ID]; dup {
				if si < len(builtin) {
					at(".id", "duplicate control id %s (also in %s)", d.ID, out[prev].Source)
					continue
				}
				out[prev] = c
				continue
			}
			index[d.ID] = len(out)
			out = append(out, c)
		}
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// RequirementsOfCheck returns the SR/RE ids a check supports through any
// control, in catalog order.
func RequirementsOfCheck(cat *Catalog, controls []Control, check string) []string {
	var out []string
	for _, c := range controls {
		if slices.Contains(c.Checks(), check) {
			for _, r := range c.Requirements {
				if !slices.Contains(out, r) {
					out = append(out, r)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cat.Index(a) - cat.Index(b) })
	return out
}

package mapping

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"slices"

	"github.com/goccy/go-yaml"

	"github.com/otsweep/otsweep/internal/yamlx"
)

//go:embed data/iec62443-3-3.yaml
var catalogYAML []byte

// Requirement is one SR or RE of IEC 62443-3-3.
type Requirement struct {
	ID     string `json:"id"`     // "SR 1.1" or "SR 1.1 RE 1"
	FR     string `json:"fr"`     // "FR 1"
	SR     string `json:"sr"`     // the base SR; equal to ID for an SR
	Title  string `json:"title"`  // short requirement name
	Clause string `json:"clause"` // subclause of 62443-3-3 stating the SR
	Levels []int  `json:"sl"`     // capability levels at which it is selected, ascending
	IsRE   bool   `json:"enhancement"`
	Note   string `json:"note,omitempty"`
	Medium bool   `json:"medium_confidence,omitempty"`
}

// MinLevel is the lowest level at which the requirement is selected.
func (r Requirement) MinLevel() int { return r.Levels[0] }

// FoundationalRequirement is one FR with its abbreviation.
type FoundationalRequirement struct {
	ID     string `json:"id"`
	Abbrev string `json:"abbrev"`
	Title  string `json:"title"`
}

// Catalog is the full 62443-3-3 requirement catalog. It is immutable after load.
type Catalog struct {
	Standard string
	FRs      []FoundationalRequirement
	Items    []Requirement // SRs each followed by their REs, in standard order
	byID     map[string]int
}

type catalogFile struct {
	Standard      string `yaml:"standard"`
	Edition       string `yaml:"edition"`
	ISAEquivalent string `yaml:"isa_equivalent"`
	Counts        struct {
		FRs int `yaml:"foundational_requirements"`
		SRs int `yaml:"system_requirements"`
		REs int `yaml:"requirement_enhancements"`
	} `yaml:"counts"`
	SecurityLevels map[int]string `yaml:"security_levels"`
	VectorOrder    []string       `yaml:"sl_vector_order"`
	FRs            []struct {
		ID     string `yaml:"id"`
		Abbrev string `yaml:"abbrev"`
		Title  string `yaml:"title"`
		Clause string `yaml:"clause"`
		SRs    []struct {
			ID     string `yaml:"id"`
			Title  string `yaml:"title"`
			Clause string `yaml:"clause"`
			SL     []int  `yaml:"sl"`
			Note   string `yaml:"note"`
			REs    []struct {
				ID         string `yaml:"id"`
				Title      string `yaml:"title"`
				SL         []int  `yaml:"sl"`
				Note       string `yaml:"note"`
				Confidence string `yaml:"confidence"`
			} `yaml:"res"`
		} `yaml:"srs"`
	} `yaml:"foundational_requirements"`
}

var (
	srIDRe = regexp.MustCompile(`^SR ([1-7])\.([0-9]+)$`)
	reIDRe = regexp.MustCompile(`^(SR [1-7]\.[0-9]+) RE ([0-9]+)$`)
)

// DefaultCatalog parses the embedded catalog. It panics only if the embedded
// data is broken, which the package tests rule out.
func DefaultCatalog() *Catalog {
	c, err := ParseCatalog("iec62443-3-3.yaml", catalogYAML)
	if err != nil {
		panic(err)
	}
	return c
}

// ParseCatalog decodes and validates a catalog file strictly: unknown fields,
// malformed IDs, levels that are not cumulative, an RE selected below its SR,
// and counts that disagree with the header are errors naming file and line.
func ParseCatalog(name string, data []byte) (*Catalog, error) {
	var f catalogFile
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := yamlx.Decode(dec, &f); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, true))
	}
	c := &Catalog{Standard: f.Standard, byID: map[string]int{}}
	srCount, reCount := 0, 0
	for i, fr := range f.FRs {
		if want := frIDs[min(i, FRCount-1)]; fr.ID != want || i >= FRCount {
			return nil, fmt.Errorf("%s: foundational requirement %d is %q, want %q", name, i+1, fr.ID, want)
		}
		c.FRs = append(c.FRs, FoundationalRequirement{ID: fr.ID, Abbrev: fr.Abbrev, Title: fr.Title})
		for _, sr := range fr.SRs {
			m := srIDRe.FindStringSubmatch(sr.ID)
			if m == nil || "FR "+m[1] != fr.ID {
				return nil, fmt.Errorf("%s: %q is not an SR id of %s", name, sr.ID, fr.ID)
			}
			if err := checkLevels(sr.SL); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, sr.ID, err)
			}
			if err := c.add(Requirement{ID: sr.ID, FR: fr.ID, SR: sr.ID, Title: sr.Title, Clause: sr.Clause, Levels: sr.SL, Note: sr.Note}); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			srCount++
			for _, re := range sr.REs {
				m := reIDRe.FindStringSubmatch(re.ID)
				if m == nil || m[1] != sr.ID {
					return nil, fmt.Errorf("%s: %q is not an RE id of %s", name, re.ID, sr.ID)
				}
				if err := checkLevels(re.SL); err != nil {
					return nil, fmt.Errorf("%s: %s: %w", name, re.ID, err)
				}
				if re.SL[0] < sr.SL[0] {
					return nil, fmt.Errorf("%s: %s is selected at SL %d, below its SR (SL %d)", name, re.ID, re.SL[0], sr.SL[0])
				}
				if err := c.add(Requirement{ID: re.ID, FR: fr.ID, SR: sr.ID, Title: re.Title, Clause: sr.Clause, Levels: re.SL, IsRE: true, Note: re.Note, Medium: re.Confidence == "medium"}); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				reCount++
			}
		}
	}
	if len(f.FRs) != FRCount || f.Counts.FRs != FRCount {
		return nil, fmt.Errorf("%s: %d foundational requirements, want %d", name, len(f.FRs), FRCount)
	}
	if srCount != f.Counts.SRs || reCount != f.Counts.REs {
		return nil, fmt.Errorf("%s: found %d SRs and %d REs, header says %d and %d", name, srCount, reCount, f.Counts.SRs, f.Counts.REs)
	}
	return c, nil
}

func checkLevels(sl []int) error {
	if len(sl) == 0 {
		return fmt.Errorf("no security levels")
	}
	for i, l := range sl {
		if l < 1 || l > MaxLevel {
			return fmt.Errorf("level %d out of range 1..4", l)
		}
		if i > 0 && l != sl[i-1]+1 {
			return fmt.Errorf("levels %v are not cumulative", sl)
		}
	}
	if sl[len(sl)-1] != MaxLevel {
		return fmt.Errorf("levels %v are not cumulative up to SL 4", sl)
	}
	return nil
}

func (c *Catalog) add(r Requirement) error {
	if _, dup := c.byID[r.ID]; dup {
		return fmt.Errorf("duplicate requirement %q", r.ID)
	}
	c.byID[r.ID] = len(c.Items)
	c.Items = append(c.Items, r)
	return nil
}

// Lookup returns the requirement with the given ID ("SR 1.7 RE 1").
func (c *Catalog) Lookup(id string) (Requirement, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Requirement{}, false
	}
	return c.Items[i], true
}

// SelectedAt returns the requirements selected at security level n.
func (c *Catalog) SelectedAt(n int) []Requirement {
	var out []Requirement
	for _, r := range c.Items {
		if slices.Contains(r.Levels, n) {
			out = append(out, r)
		}
	}
	return out
}

// Index returns the position of id in Items, or -1; it orders results.
func (c *Catalog) Index(id string) int {
	if i, ok := c.byID[id]; ok {
		return i
	}
	return -1
}

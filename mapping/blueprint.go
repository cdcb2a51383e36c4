package mapping

import (
	"embed"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

//go:embed data/blueprints/*.yaml data/parameters.yaml
var blueprintFS embed.FS

// ParamDef declares one blueprint parameter that checks may read as param.NAME.
type ParamDef struct {
	Name        string `yaml:"name" json:"name"`
	Type        string `yaml:"type" json:"type"` // int, string, bool, list
	Default     any    `yaml:"default" json:"default"`
	Description string `yaml:"description" json:"description"`
}

// Blueprint is a role's security profile: the SL-T per FR, the parameters its
// checks use, and the requirements that do not apply to it, with reasons.
type Blueprint struct {
	Name          string            `json:"name"`
	Title         string            `json:"title"`
	Platforms     []string          `json:"platforms"`
	Target        Vector            `json:"sl_target"`
	Params        map[string]any    `json:"parameters"`
	NotApplicable map[string]string `json:"not_applicable,omitempty"` // requirement id -> reason
	Notes         map[string]string `json:"notes,omitempty"`          // requirement id -> note shown with the finding
	Source        string            `json:"source"`                   // file it came from
}

type blueprintDocument struct {
	Name          string         `yaml:"name"`
	Extends       string         `yaml:"extends"`
	Title         string         `yaml:"title"`
	Platforms     []string       `yaml:"platforms"`
	Target        map[string]int `yaml:"sl_target"`
	Parameters    map[string]any `yaml:"parameters"`
	NotApplicable []struct {
		Requirement string `yaml:"requirement"`
		Reason      string `yaml:"reason"`
	} `yaml:"not_applicable"`
	Notes []struct {
		Requirement string `yaml:"requirement"`
		Note        string `yaml:"note"`
	} `yaml:"notes"`
}

// Blueprints is the validated set of role blueprints and parameter declarations.
type Blueprints struct {
	Params []ParamDef
	byName map[string]*Blueprint
}

// Get returns the blueprint for a role.
func (b *Blueprints) Get(role string) (*Blueprint, bool) {
	bp, ok := b.byName[role]
	return bp, ok
}

// Names lists the roles, sorted.
func (b *Blueprints) Names() []string {
	return slices.Sorted(maps.Keys(b.byName))
}

// Param returns the declaration of a parameter.
func (b *Blueprints) Param(name string) (ParamDef, bool) {
	for _, p := range b.Params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamDef{}, false
}

// LoadBlueprints reads the built-in blueprints and then those in userDir (may
// be empty). A user file with a built-in's name replaces it; `extends: NAME`
// starts from NAME and overrides what the file sets. Unknown fields, unknown
// parameters, parameter values of the wrong type, unknown requirement ids and
// levels outside 0..4 are errors naming file and line.
func LoadBlueprints(cat *Catalog, userDir string) (*Blueprints, error) {
	paramSrc, err := blueprintFS.ReadFile("data/parameters.yaml")
	if err != nil {
		return nil, err
	}
	var params []ParamDef
	if err := decodeStrict("parameters.yaml", paramSrc, &params); err != nil {
		return nil, err
	}
	bs := &Blueprints{Params: params, byName: map[string]*Blueprint{}}
	var errs []error
	for i, p := range params {
		if err := checkParamValue(p, p.Default); err != nil {
			errs = append(errs, errAt("parameters.yaml", paramSrc, fmt.Sprintf("$[%d].default", i), "%s: %v", p.Name, err))
		}
	}
	builtin, err := readDefinitionDir(blueprintFS, "data/blueprints")
	if err != nil {
		return nil, err
	}
	user, err := readUserDir(userDir)
	if err != nil {
		return nil, err
	}
	docs := map[string]*blueprintDocument{}
	srcOf := map[string]source{}
	order := []string{}
	for idx, src := range append(builtin, user...) {
		var d blueprintDocument
		if err := decodeStrict(src.Name, src.Data, &d); err != nil {
			errs = append(errs, err)
			continue
		}
		if d.Name == "" {
			errs = append(errs, errAt(src.Name, src.Data, "$", "blueprint has no name"))
			continue
		}
		if prev, dup := srcOf[d.Name]; dup && idx < len(builtin) {
			errs = append(errs, errAt(src.Name, src.Data, "$.name", "blueprint %q is also defined in %s", d.Name, prev.Name))
			continue
		}
		if _, seen := docs[d.Name]; !seen {
			order = append(order, d.Name)
		}
		docs[d.Name] = &d
		srcOf[d.Name] = src
	}
	for _, name := range order {
		bp, err := bs.resolve(cat, name, docs, srcOf, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		bs.byName[name] = bp
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return bs, nil
}

func (bs *Blueprints) resolve(cat *Catalog, name string, docs map[string]*blueprintDocument, srcOf map[string]source, seen []string) (*Blueprint, error) {
	d, src := docs[name], srcOf[name]
	if slices.Contains(seen, name) {
		return nil, errAt(src.Name, src.Data, "$.extends", "blueprint %q extends itself through %v", name, seen)
	}
	bp := &Blueprint{Name: name, Params: map[string]any{}, NotApplicable: map[string]string{}, Notes: map[string]string{}, Source: src.Name}
	for _, p := range bs.Params {
		bp.Params[p.Name] = p.Default
	}
	if d.Extends != "" {
		if _, ok := docs[d.Extends]; !ok {
			return nil, errAt(src.Name, src.Data, "$.extends", "blueprint %q extends unknown blueprint %q", name, d.Extends)
		}
		base, err := bs.resolve(cat, d.Extends, docs, srcOf, append(seen, name))
		if err != nil {
			return nil, err
		}
		bp.Title, bp.Platforms, bp.Target = base.Title, slices.Clone(base.Platforms), base.Target
		maps.Copy(bp.Params, base.Params)
		maps.Copy(bp.NotApplicable, base.NotApplicable)
		maps.Copy(bp.Notes, base.Notes)
	}
	if d.Title != "" {
		bp.Title = d.Title
	}
	if len(d.Platforms) > 0 {
		bp.Platforms = d.Platforms
	}
	for i, p := range bp.Platforms {
		if p != "linux" && p != "windows" && p != "snmp" {
			return nil, errAt(src.Name, src.Data, fmt.Sprintf("$.platforms[%d]", i), "unknown platform %q (linux, windows, snmp)", p)
		}
	}
	if len(bp.Platforms) == 0 {
		return nil, errAt(src.Name, src.Data, "$", "blueprint %q names no platforms", name)
	}
	if d.Target != nil {
		keys := slices.Sorted(maps.Keys(d.Target))
		for _, k := range keys {
			i := FRIndex(k)
			if i < 0 {
				return nil, errAt(src.Name, src.Data, "$.sl_target", "unknown foundational requirement %q (FR 1 .. FR 7)", k)
			}
			if l := d.Target[k]; l < 0 || l > MaxLevel {
				return nil, errAt(src.Name, src.Data, "$.sl_target", "%s: level %d out of range 0..4", k, l)
			}
			bp.Target[i] = d.Target[k]
		}
	} else if d.Extends == "" {
		return nil, errAt(src.Name, src.Data, "$", "blueprint %q has no sl_target", name)
	}
	pnames := slices.Sorted(maps.Keys(d.Parameters))
	for _, k := range pnames {
		def, ok := bs.Param(k)
		if !ok {
			return nil, errAt(src.Name, src.Data, "$.parameters."+k, "unknown parameter %q", k)
		}
		v := normalizeParam(d.Parameters[k])
		if err := checkParamValue(def, v); err != nil {
			return nil, errAt(src.Name, src.Data, "$.parameters."+k, "%s: %v", k, err)
		}
		bp.Params[k] = v
	}
	for i, na := range d.NotApplicable {
		if _, ok := cat.Lookup(na.Requirement); !ok {
			return nil, errAt(src.Name, src.Data, fmt.Sprintf("$.not_applicable[%d].requirement", i), "unknown requirement %q", na.Requirement)
		}
		if na.Reason == "" {
			return nil, errAt(src.Name, src.Data, fmt.Sprintf("$.not_applicable[%d]", i), "%s: a not-applicable requirement needs a reason", na.Requirement)
		}
		bp.NotApplicable[na.Requirement] = na.Reason
	}
	for i, n := range d.Notes {
		if _, ok := cat.Lookup(n.Requirement); !ok {
			return nil, errAt(src.Name, src.Data, fmt.Sprintf("$.notes[%d].requirement", i), "unknown requirement %q", n.Requirement)
		}
		bp.Notes[n.Requirement] = n.Note
	}
	return bp, nil
}

// normalizeParam turns YAML numbers into int and sequences into []any of scalars.
func normalizeParam(v any) any {
	switch x := v.(type) {
	case uint64:
		return int(x)
	case int64:
		return int(x)
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeParam(e)
		}
		return out
	}
	return v
}

func checkParamValue(def ParamDef, v any) error {
	v = normalizeParam(v)
	ok := false
	switch def.Type {
	case "int":
		_, ok = v.(int)
	case "string":
		_, ok = v.(string)
	case "bool":
		_, ok = v.(bool)
	case "list":
		_, ok = v.([]any)
		if v == nil {
			ok = true
		}
	default:
		return fmt.Errorf("unknown parameter type %q", def.Type)
	}
	if !ok {
		return fmt.Errorf("want a value of type %s, got %T", def.Type, v)
	}
	return nil
}

// ParamsSorted returns the blueprint's parameters in name order.
func (bp *Blueprint) ParamsSorted() []string {
	keys := slices.Collect(maps.Keys(bp.Params))
	sort.Strings(keys)
	return keys
}

// Countermeasure is a compensating countermeasure (IEC 62443-3-3 clause 4.3.3)
// or an attestation recorded against an asset, a role or a zone for one SR/RE.
type Countermeasure struct {
	ID            string    `json:"id"`
	Requirement   string    `json:"requirement"`
	Asset         string    `json:"asset,omitempty"`
	Role          string    `json:"role,omitempty"`
	Zone          string    `json:"zone,omitempty"`
	Kind          string    `json:"kind"` // compensating | attestation
	Justification string    `json:"justification"`
	Owner         string    `json:"owner"`
	Expires       time.Time `json:"expires"`
	Evidence      string    `json:"evidence,omitempty"`
}

// Countermeasure kinds.
const (
	KindCompensating = "compensating"
	KindAttestation  = "attestation"
)

// Expired reports whether the countermeasure no longer counts at now. It
// counts through the whole expiry day.
func (c Countermeasure) Expired(now time.Time) bool {
	return !now.Before(c.Expires.AddDate(0, 0, 1))
}

// Covers reports whether the countermeasure's scope includes the asset.
func (c Countermeasure) Covers(asset, role, zone string) bool {
	switch {
	case c.Asset != "":
		return c.Asset == asset
	case c.Role != "":
		return c.Role == role
	case c.Zone != "":
		return c.Zone == zone
	}
	return false
}

// Package checks evaluates compliance checks over the facts a probe bundle
// collected and the parameters of the asset's blueprint.
//
// Checks are data (embedded YAML, overridable from a folder). Each one is an
// expression for github.com/expr-lang/expr, compiled and validated at load:
// every fact it reads must be a documented fact of its platform and every
// parameter a declared blueprint parameter. At evaluation a check that reads a
// fact that was not collected is an error, never a pass.
package checks

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/goccy/go-yaml"

	"github.com/otsweep/otsweep/internal/yamlx"
	"github.com/otsweep/otsweep/probes"
)

//go:embed data/*.yaml
var builtinFS embed.FS

// Definition is one check as written in a definition file.
type Definition struct {
	ID          string `yaml:"id" json:"id"`
	Title       string `yaml:"title" json:"title"`
	Platform    string `yaml:"platform" json:"platform"`
	Expr        string `yaml:"expr" json:"expr"`
	When        string `yaml:"when,omitempty" json:"when,omitempty"`
	NAReason    string `yaml:"na_reason,omitempty" json:"na_reason,omitempty"`
	Expected    string `yaml:"expected" json:"expected"`
	Remediation string `yaml:"remediation,omitempty" json:"remediation,omitempty"`
	Reference   string `yaml:"reference,omitempty" json:"reference,omitempty"`
	// Known lists facts that must be set (not nil) on the host for the rule
	// to say anything; an unset one makes the result an error ("unknown"),
	// not a failure.
	Known []string `yaml:"known,omitempty" json:"known,omitempty"`
	// IfCollected lists facts of opt-in probes: when one was not collected
	// at all (the probe did not run), the check does not apply.
	IfCollected []string `yaml:"if_collected,omitempty" json:"if_collected,omitempty"`
}

// Check is a compiled, validated definition. It is immutable and safe for
// concurrent use.
type Check struct {
	Definition
	Source    string   `json:"source"`
	Facts     []string `json:"facts"`  // fact paths the expressions read
	Params    []string `json:"params"` // blueprint parameters they read
	program   *vm.Program
	when      *vm.Program
	whenFacts []string // facts the applicability condition reads
	exprFacts []string // facts the rule reads
}

// Validator tells the loader which facts and parameters exist.
type Validator struct {
	// Fact reports whether name is a documented fact of the platform.
	Fact func(platform probes.Platform, name string) bool
	// Param reports whether name is a declared blueprint parameter.
	Param func(name string) bool
}

// Set is the loaded collection of checks.
type Set struct {
	checks []*Check
	byID   map[string]*Check
}

// All returns every check in definition order.
func (s *Set) All() []*Check { return s.checks }

// Get returns a check by id.
func (s *Set) Get(id string) (*Check, bool) { c, ok := s.byID[id]; return c, ok }

// Has reports whether a check id exists.
func (s *Set) Has(id string) bool { _, ok := s.byID[id]; return ok }

// ForPlatform returns the checks of one platform.
func (s *Set) ForPlatform(p probes.Platform) []*Check {
	var out []*Check
	for _, c := range s.checks {
		if c.Platform == string(p) {
			out = append(out, c)
		}
	}
	return out
}

type source struct {
	name string
	data []byte
}

// Load reads the built-in check files and then the *.yaml files of userDir (if
// not empty); a user check with a built-in's id replaces it. All errors are
// returned together, each naming file and line.
func Load(userDir string, v Validator) (*Set, error) {
	var srcs []source
	err := fs.WalkDir(builtinFS, "data", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builtinFS.ReadFile(p)
		srcs = append(srcs, source{name: "checks/" + p, data: b})
		return err
	})
	if err != nil {
		return nil, err
	}
	nBuiltin := len(srcs)
	if userDir != "" {
		entries, err := os.ReadDir(userDir)
		if err != nil {
			return nil, fmt.Errorf("checks folder: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || (filepath.Ext(e.Name()) != ".yaml" && filepath.Ext(e.Name()) != ".yml") {
				continue
			}
			p := filepath.Join(userDir, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("checks folder: %w", err)
			}
			srcs = append(srcs, source{name: p, data: b})
		}
	}
	return loadSources(srcs, nBuiltin, v)
}

// loadSources compiles definition files; the first nBuiltin are built-in and
// may not repeat an id, later ones override. Files are decoded and compiled
// concurrently (the built-in ones are most of a process's start-up) and
// merged in order, so errors and overrides are as if read one by one.
func loadSources(srcs []source, nBuiltin int, v Validator) (*Set, error) {
	type compiled struct {
		checks []*Check
		ids    []string
		lines  []func() int
		errs   []string
	}
	files := make([]compiled, len(srcs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, src := range srcs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f := &files[i]
			var defs []Definition
			dec := yaml.NewDecoder(bytes.NewReader(src.data), yaml.Strict(), yaml.DisallowUnknownField())
			if err := yamlx.Decode(dec, &defs); err != nil {
				f.errs = append(f.errs, fmt.Sprintf("%s: %s", src.name, strings.TrimSpace(yaml.FormatError(err, false, false))))
				return
			}
			for j, d := range defs {
				// The line is found only for an error: finding it parses
				// the whole file again.
				line := func() int { return yamlx.LineOf(src.data, fmt.Sprintf("$[%d]", j)) }
				c, err := compile(d, v)
				if err != nil {
					f.errs = append(f.errs, fmt.Sprintf("%s:%d: %v", src.name, line(), err))
					continue
				}
				c.Source = src.name
				f.checks, f.ids, f.lines = append(f.checks, c), append(f.ids, d.ID), append(f.lines, line)
			}
		})
	}
	wg.Wait()
	s := &Set{byID: map[string]*Check{}}
	var errs []string
	for i, f := range files {
		errs = append(errs, f.errs...)
		for k, c := range f.checks {
			id := f.ids[k]
			if prev, dup := s.byID[id]; dup {
				if i < nBuiltin {
					errs = append(errs, fmt.Sprintf("%s:%d: duplicate check id %s (also in %s)", srcs[i].name, f.lines[k](), id, prev.Source))
					continue
				}
				s.checks[slices.Index(s.checks, prev)] = c
				s.byID[id] = c
				continue
			}
			s.byID[id] = c
			s.checks = append(s.checks, c)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return s, nil
}

var idRe = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9_]+)+$`)

func compile(d Definition, v Validator) (*Check, error) {
	switch {
	case !idRe.MatchString(d.ID):
		return nil, fmt.Errorf("check id %q: want lowercase dotted words like linux.ssh.root_login", d.ID)
	case d.Title == "" || d.Expected == "":
		return nil, fmt.Errorf("check %s: title and expected are required", d.ID)
	case !probes.Platform(d.Platform).Valid():
		return nil, fmt.Errorf("check %s: unknown platform %q (linux, windows, snmp)", d.ID, d.Platform)
	case d.Expr == "":
		return nil, fmt.Errorf("check %s: expr is required", d.ID)
	case !strings.HasPrefix(d.ID, d.Platform+"."):
		return nil, fmt.Errorf("check %s: id must start with its platform %q", d.ID, d.Platform+".")
	}
	c := &Check{Definition: d}
	var err error
	if c.program, err = expr.Compile(d.Expr, exprOptions...); err != nil {
		return nil, fmt.Errorf("check %s: expr: %w", d.ID, err)
	}
	exprRefs := references(c.program.Node())
	var whenRefs []string
	if d.When != "" {
		if c.when, err = expr.Compile(d.When, exprOptions...); err != nil {
			return nil, fmt.Errorf("check %s: when: %w", d.ID, err)
		}
		whenRefs = references(c.when.Node())
	}
	for _, r := range templateRefs(d.Expected) {
		exprRefs = append(exprRefs, "param."+r)
	}
	classify := func(refs []string) ([]string, error) {
		var facts []string
		for _, r := range refs {
			root, rest, _ := strings.Cut(r, ".")
			switch root {
			case "param":
				name, _, _ := strings.Cut(rest, ".")
				if name == "" || !v.Param(name) {
					return nil, fmt.Errorf("check %s: unknown blueprint parameter %q", d.ID, r)
				}
				c.Params = append(c.Params, name)
			case "scan_time":
			default:
				if !v.Fact(probes.Platform(d.Platform), r) && !knownPrefix(v, probes.Platform(d.Platform), r) {
					return nil, fmt.Errorf("check %s: %q is not a documented %s fact", d.ID, r, d.Platform)
				}
				facts = append(facts, r)
			}
		}
		return facts, nil
	}
	if c.whenFacts, err = classify(whenRefs); err != nil {
		return nil, err
	}
	if c.exprFacts, err = classify(exprRefs); err != nil {
		return nil, err
	}
	for _, k := range d.IfCollected {
		if !slices.Contains(c.exprFacts, k) && !slices.Contains(c.whenFacts, k) {
			return nil, fmt.Errorf("check %s: if_collected fact %q is not read by expr or when", d.ID, k)
		}
	}
	for _, k := range d.Known {
		if !slices.Contains(c.exprFacts, k) {
			return nil, fmt.Errorf("check %s: known fact %q is not read by expr", d.ID, k)
		}
	}
	c.Facts = append(slices.Clone(c.whenFacts), c.exprFacts...)
	slices.Sort(c.Facts)
	c.Facts = slices.Compact(c.Facts)
	slices.Sort(c.Params)
	c.Params = slices.Compact(c.Params)
	return c, nil
}

// knownPrefix accepts a path below a documented fact (a field of a map fact).
func knownPrefix(v Validator, p probes.Platform, path string) bool {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '.' && v.Fact(p, path[:i]) {
			return true
		}
	}
	return false
}

// references returns the dotted identifier paths an expression reads
// ("ssh.permitrootlogin", "param.min_password_length"), excluding function
// names, variables the expression declares itself, and paths that are only
// the prefix of a longer path it reads.
func references(root ast.Node) []string {
	callees := map[ast.Node]bool{}
	declared := map[string]bool{}
	ast.Walk(&root, visitor(func(n ast.Node) {
		switch x := n.(type) {
		case *ast.CallNode:
			callees[x.Callee] = true
		case *ast.VariableDeclaratorNode:
			declared[x.Name] = true
		}
	}))
	var paths []string
	ast.Walk(&root, visitor(func(n ast.Node) {
		if callees[n] {
			return
		}
		if p, ok := chain(n); ok {
			r, _, _ := strings.Cut(p, ".")
			if !declared[r] {
				paths = append(paths, p)
			}
		}
	}))
	slices.Sort(paths)
	paths = slices.Compact(paths)
	var out []string
	for i, p := range paths {
		if i+1 < len(paths) && strings.HasPrefix(paths[i+1], p+".") {
			continue
		}
		out = append(out, p)
	}
	return out
}

// chain renders a.b.c for an identifier followed by constant member accesses;
// for a dynamic index a.b[x] it renders the object a.b.
func chain(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value, true
	case *ast.MemberNode:
		p, ok := chain(x.Node)
		if !ok {
			return "", false
		}
		if prop, isStr := x.Property.(*ast.StringNode); isStr {
			return p + "." + prop.Value, true
		}
		return p, true
	}
	return "", false
}

// visitor adapts a func to ast.Visitor.
type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

var tmplRe = regexp.MustCompile(`\{\{\s*param\.([a-z0-9_]+)\s*\}\}`)

func templateRefs(s string) []string {
	var out []string
	for _, m := range tmplRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// expand fills {{param.x}} in s with the blueprint's values.
func expand(s string, params map[string]any) string {
	return tmplRe.ReplaceAllStringFunc(s, func(m string) string {
		name := tmplRe.FindStringSubmatch(m)[1]
		return render(params[name], 200)
	})
}

// render prints a value compactly for evidence.
func render(v any, limit int) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "unset"
	case string:
		s = fmt.Sprintf("%q", x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// Limits on the evidence kept per result.
const (
	maxEvidenceLines = 30
	maxEvidenceLine  = 300
)

// Evaluate runs the check over one host's facts and its blueprint's
// parameters. now is the evaluation time, available to expressions as
// scan_time (expr's own now() reads the wall clock and is not used).
//
// The applicability condition is evaluated first: when it is false the check
// is not applicable, whatever the rule's facts. Then every fact the rule reads
// must have been collected, or the result is an error.
//
// Evaluate builds the expression environment from the facts on every call;
// to evaluate many checks over one host, build it once with NewEnv and use
// EvaluateIn.
func (c *Check) Evaluate(facts probes.Facts, params map[string]any, now time.Time) Result {
	return c.EvaluateIn(NewEnv(facts, params, now))
}

// Env is one host's facts, its blueprint's parameters and the evaluation
// time, prepared once for evaluating every check of the host. Evaluation only
// reads it: an Env is safe for concurrent use, and the facts and parameters
// it was built from must not change while it is in use.
type Env struct {
	facts  probes.Facts
	params map[string]any
	vars   map[string]any
}

// NewEnv prepares facts, params and now (scan_time) for EvaluateIn.
func NewEnv(facts probes.Facts, params map[string]any, now time.Time) *Env {
	return &Env{facts: facts, params: params, vars: buildEnv(facts, params, now)}
}

// EvaluateIn is Evaluate over an environment built once per host.
func (c *Check) EvaluateIn(e *Env) Result {
	facts, params, env := e.facts, e.params, e.vars
	r := Result{ID: c.ID, Title: c.Title, Expected: expand(c.Expected, params)}
	for _, k := range c.IfCollected {
		if _, _, ok := lookup(facts, k); !ok {
			r.Status, r.Message = NotApplicable, c.NAReason
			if r.Message == "" {
				r.Message = k + " was not collected (opt-in probe not enabled)"
			}
			return r
		}
	}
	ev := gather(facts, c.whenFacts)
	if c.when != nil {
		if len(ev.missing) > 0 {
			ev.finish(&r)
			r.Status, r.Message = Error, "could not evaluate applicability: "+strings.Join(ev.missing, "; ")
			return r
		}
		ok, err := runBool(c.when, env)
		if err != nil {
			ev.finish(&r)
			r.Status, r.Message = Error, "applicability: "+err.Error()
			return r
		}
		if !ok {
			ev.finish(&r)
			r.Status = NotApplicable
			r.Message = c.NAReason
			if r.Message == "" {
				r.Message = "does not apply: " + c.When
			}
			return r
		}
	}
	ev = gather(facts, c.Facts)
	ev.finish(&r)
	if len(ev.missing) > 0 {
		r.Status, r.Message = Error, "could not evaluate: "+strings.Join(ev.missing, "; ")
		return r
	}
	for _, k := range c.Known {
		if _, f, _ := lookup(facts, k); valueAt(f.Value, "") == nil {
			r.Status, r.Message = Error, k+" is unknown on this host"
			return r
		}
	}
	ok, err := runBool(c.program, env)
	switch {
	case err != nil:
		var u *unknownError
		if errors.As(err, &u) {
			r.Status, r.Message = Error, u.reason
			break
		}
		r.Status, r.Message = Error, "evaluation: "+err.Error()
	case ok:
		r.Status = Pass
	default:
		r.Status = Fail
		r.Message = "expected " + r.Expected + "; found " + r.Actual
	}
	return r
}

// evidence collects what a result shows about the facts it read.
type evidence struct {
	actual, sources, lines, missing []string
}

func gather(facts probes.Facts, paths []string) evidence {
	var ev evidence
	for _, path := range paths {
		name, f, ok := lookup(facts, path)
		if !ok {
			ev.missing = append(ev.missing, path+": "+probes.ErrTextNotCollected)
			continue
		}
		if f.Source != "" && !slices.Contains(ev.sources, f.Source) {
			ev.sources = append(ev.sources, f.Source)
		}
		for _, l := range f.Raw {
			if len(ev.lines) >= maxEvidenceLines {
				break
			}
			if len(l) > maxEvidenceLine {
				l = l[:maxEvidenceLine] + "…"
			}
			if !slices.Contains(ev.lines, l) {
				ev.lines = append(ev.lines, l)
			}
		}
		if f.Err != "" {
			ev.missing = append(ev.missing, name+": "+f.Err)
			continue
		}
		ev.actual = append(ev.actual, path+"="+render(valueAt(f.Value, strings.TrimPrefix(strings.TrimPrefix(path, name), ".")), 200))
	}
	return ev
}

func (ev evidence) finish(r *Result) {
	sort.Strings(ev.sources)
	r.Probe = strings.Join(ev.sources, ",")
	r.Actual = strings.Join(ev.actual, "; ")
	r.Evidence = ev.lines
}

// unknownError is raised by the expression function unknown("why"): the
// rule itself says the facts cannot decide it.
type unknownError struct{ reason string }

func (e *unknownError) Error() string { return e.reason }

// exprOptions compile every expression: undefined names are allowed (they are
// facts of the host) and unknown(reason) makes the result an error.
var exprOptions = []expr.Option{
	expr.AllowUndefinedVariables(),
	expr.Function("unknown", func(params ...any) (any, error) {
		reason := "cannot be decided from the collected facts"
		if len(params) == 1 {
			if s, ok := params[0].(string); ok {
				reason = s
			}
		}
		return nil, &unknownError{reason: reason}
	}, new(func(string) bool)),
}

func runBool(p *vm.Program, env map[string]any) (ok bool, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("panic: %v", rec)
		}
	}()
	out, err := expr.Run(p, env)
	if err != nil {
		return false, err
	}
	b, isBool := out.(bool)
	if !isBool {
		return false, fmt.Errorf("expression returned %T, not a boolean", out)
	}
	return b, nil
}

// lookup finds the longest documented fact name that is a prefix of path.
func lookup(facts probes.Facts, path string) (string, probes.Fact, bool) {
	for p := path; p != ""; {
		if f, ok := facts[p]; ok {
			return p, f, true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return "", probes.Fact{}, false
}

func valueAt(v any, sub string) any {
	for sub != "" {
		key, rest, _ := strings.Cut(sub, ".")
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v, sub = m[key], rest
	}
	return v
}

// buildEnv nests dotted fact names into maps: "ssh.permitrootlogin" becomes
// env["ssh"]["permitrootlogin"]. Facts that could not be collected are nil.
func buildEnv(facts probes.Facts, params map[string]any, now time.Time) map[string]any {
	env := map[string]any{"param": params, "scan_time": now}
	names := make([]string, 0, len(facts))
	for k := range facts {
		names = append(names, k)
	}
	sort.Strings(names) // parents before children
	for _, name := range names {
		f := facts[name]
		parts := strings.Split(name, ".")
		m := env
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		leaf := parts[len(parts)-1]
		if _, isMap := m[leaf].(map[string]any); isMap {
			continue // a namespace already holds children; keep them reachable
		}
		if f.Err != "" {
			m[leaf] = nil
			continue
		}
		m[leaf] = f.Value
	}
	return env
}

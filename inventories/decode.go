package inventories

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// This file walks goccy/go-yaml's AST so that every problem in a file can be
// reported with its line, not only the first one the reflective decoder meets.
// Scalars are converted by yaml.NodeToValue in strict mode once their node
// type has been checked here.

// decodeOpts are the options every scalar conversion runs with.
func decodeOpts() []yaml.DecodeOption {
	return []yaml.DecodeOption{yaml.Strict(), yaml.DisallowUnknownField()}
}

// Limits that keep hostile input from making the walk expensive.
const (
	maxDepth       = 32 // nesting of aliases, tags and merge keys followed
	maxMergeBudget = 64 // merged mappings expanded per element
)

// inlineSecret reports whether key is a secret the format refuses inline,
// and what to use instead.
func inlineSecret(key string) (instead string, ok bool) {
	switch key {
	case "password", "passphrase", "community", "auth_password", "priv_password":
		return key + "_env or " + key + "_file", true
	case "private_key":
		return "private_key_file", true
	}
	return "", false
}

// collector accumulates issues.
type collector struct{ issues []Issue }

func (c *collector) add(file string, line int, format string, args ...any) {
	c.issues = append(c.issues, Issue{Pos: Pos{File: file, Line: line}, Message: fmt.Sprintf(format, args...)})
}

// sorted returns the issues ordered by file (in the order files were read)
// and line, keeping the order of issues on the same line.
func (c *collector) sorted(fileOrder map[string]int) []Issue {
	out := append([]Issue(nil), c.issues...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return fileOrder[a.File] < fileOrder[b.File]
		}
		return a.Line < b.Line
	})
	return out
}

// doc is one YAML document being decoded.
type doc struct {
	file    string
	anchors map[string]ast.Node
	c       *collector
}

func newDoc(file string, body ast.Node, c *collector) *doc {
	d := &doc{file: file, anchors: map[string]ast.Node{}, c: c}
	d.collectAnchors(body, 0)
	return d
}

// nodeLine is the line of n's first token, or 0.
func nodeLine(n ast.Node) int {
	if isNil(n) {
		return 0
	}
	if dn, ok := n.(*ast.DocumentNode); ok {
		return nodeLine(dn.Body)
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// isNil reports whether n is nil or a typed nil pointer.
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	switch t := n.(type) {
	case *ast.StringNode:
		return t == nil
	case *ast.MappingNode:
		return t == nil
	case *ast.MappingValueNode:
		return t == nil
	case *ast.SequenceNode:
		return t == nil
	case *ast.AnchorNode:
		return t == nil
	case *ast.AliasNode:
		return t == nil
	case *ast.TagNode:
		return t == nil
	case *ast.LiteralNode:
		return t == nil
	}
	return false
}

// collectAnchors records every anchor of the document. Anchors are
// document-wide here; a name defined twice is an error rather than YAML's
// "latest definition wins", which is easy to misread in an inventory.
func (d *doc) collectAnchors(n ast.Node, depth int) {
	if isNil(n) || depth > 2*maxDepth {
		return
	}
	switch t := n.(type) {
	case *ast.AnchorNode:
		name := scalarText(t.Name)
		if _, dup := d.anchors[name]; dup {
			d.c.add(d.file, nodeLine(t), "anchor &%s is defined twice", name)
		} else {
			d.anchors[name] = t.Value
		}
		d.collectAnchors(t.Value, depth+1)
	case *ast.MappingNode:
		for _, mv := range t.Values {
			d.collectAnchors(mv, depth+1)
		}
	case *ast.MappingValueNode:
		d.collectAnchors(t.Key, depth+1)
		d.collectAnchors(t.Value, depth+1)
	case *ast.SequenceNode:
		for _, v := range t.Values {
			d.collectAnchors(v, depth+1)
		}
	case *ast.TagNode:
		d.collectAnchors(t.Value, depth+1)
	}
}

// scalarText is the token text of a scalar node, or "".
func scalarText(n ast.Node) string {
	if isNil(n) {
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// resolve follows anchors, aliases and standard tags to the node that holds
// the value. It returns nil, true for a null value and nil, false when it
// reported a problem.
func (d *doc) resolve(n ast.Node) (ast.Node, bool) {
	for range maxDepth {
		if isNil(n) {
			return nil, true
		}
		switch t := n.(type) {
		case *ast.NullNode:
			return nil, true
		case *ast.AnchorNode:
			n = t.Value
		case *ast.AliasNode:
			target, ok := d.anchors[scalarText(t.Value)]
			if !ok {
				// The alias name is not echoed: it could be a mistyped secret.
				d.c.add(d.file, nodeLine(t), "alias refers to an undefined anchor")
				return nil, false
			}
			n = target
		case *ast.TagNode:
			switch tag := scalarText(t); tag {
			case "!!str":
				v, ok := d.resolve(t.Value)
				if !ok || v == nil {
					return v, ok
				}
				switch v.(type) {
				case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
					return v, true
				}
				return ast.String(v.GetToken()), true
			case "!!int", "!!bool", "!!float", "!!map", "!!seq", "!!null":
				n = t.Value
			default:
				d.c.add(d.file, nodeLine(t), "unsupported tag (only the standard !!str, !!int, !!bool, !!float, !!map, !!seq and !!null)")
				return nil, false
			}
		default:
			return n, true
		}
	}
	d.c.add(d.file, nodeLine(n), "aliases, anchors or tags nested too deeply")
	return nil, false
}

// mappingValues returns the key/value pairs of a mapping node; ok is false
// when n is not a mapping.
func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch t := n.(type) {
	case *ast.MappingNode:
		return t.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{t}, true
	}
	return nil, false
}

// describe names a resolved node's kind for messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case nil:
		return "nothing"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// entry is one key of a mapping, with its resolved value.
type entry struct {
	key     string
	keyLine int
	val     ast.Node // nil for null or when resolution failed
	bad     bool     // resolution failed and was reported
	used    bool
}

// fields gives typed, position-aware access to a mapping's keys. Every
// getter marks its key used; finish reports the keys nobody asked for.
type fields struct {
	d       *doc
	what    string // element label for messages: `asset "hmi-01"`
	line    int
	entries []*entry
	byKey   map[string]*entry
	budget  int // merged mappings this element may still expand; -1 once reported
}

// newFields reads mapping n (already resolved), expanding merge keys (<<).
// Explicit keys win over merged ones; among merged mappings the first wins.
func (d *doc) newFields(n ast.Node, what string) *fields {
	f := &fields{d: d, what: what, line: nodeLine(n), byKey: map[string]*entry{}, budget: maxMergeBudget}
	f.read(n, 0)
	return f
}

func (f *fields) read(n ast.Node, depth int) {
	values, _ := mappingValues(n)
	var merges []ast.Node
	for _, mv := range values {
		if isNil(mv) {
			continue
		}
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merges = append(merges, mv.Value)
			continue
		}
		key, ok := f.d.resolve(mv.Key)
		if !ok {
			continue
		}
		ks, isStr := key.(*ast.StringNode)
		if !isStr {
			f.d.c.add(f.d.file, nodeLine(mv), "%s: keys must be plain strings, not %s", f.what, describe(key))
			continue
		}
		if _, dup := f.byKey[ks.Value]; dup {
			if depth == 0 {
				f.d.c.add(f.d.file, nodeLine(ks), "%s: key %q appears twice", f.what, ks.Value)
			}
			continue // a merged key never overrides one already read
		}
		val, ok := f.d.resolve(mv.Value)
		e := &entry{key: ks.Value, keyLine: nodeLine(ks), val: val, bad: !ok}
		f.entries = append(f.entries, e)
		f.byKey[e.key] = e
	}
	for _, m := range merges {
		f.merge(m, depth)
	}
}

func (f *fields) merge(m ast.Node, depth int) {
	line := nodeLine(m)
	r, ok := f.d.resolve(m)
	if !ok {
		return
	}
	if depth >= maxDepth || f.budget <= 0 {
		if f.budget >= 0 {
			f.d.c.add(f.d.file, f.line, "%s: merge keys (<<) nested too deeply or expanding too many mappings", f.what)
			f.budget = -1
		}
		return
	}
	f.budget--
	if seq, isSeq := r.(*ast.SequenceNode); isSeq {
		for _, item := range seq.Values {
			f.merge(item, depth+1)
		}
		return
	}
	if _, isMap := mappingValues(r); !isMap {
		f.d.c.add(f.d.file, line, "%s: a merge key (<<) takes a mapping or a list of mappings, not %s", f.what, describe(r))
		return
	}
	f.read(r, depth+1)
}

// lineOf is the line of key, or of the element when the key is absent.
func (f *fields) lineOf(key string) int {
	if e, ok := f.byKey[key]; ok && e.keyLine > 0 {
		return e.keyLine
	}
	return f.line
}

// errorf reports a problem with key (or with the element when key is "").
func (f *fields) errorf(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	f.d.c.add(f.d.file, f.lineOf(key), "%s: %s", f.what, msg)
}

// get returns key's entry if it is present, not null and resolved cleanly.
func (f *fields) get(key string) (*entry, bool) {
	e, ok := f.byKey[key]
	if !ok {
		return nil, false
	}
	e.used = true
	return e, !e.bad && e.val != nil
}

// missing reports whether key is absent or null, so that a required field
// should be reported; a value that failed to resolve was reported already and
// does not count as missing.
func (f *fields) missing(key string) bool {
	e, ok := f.byKey[key]
	return !ok || e.val == nil && !e.bad
}

// has reports whether key is present with a non-null value.
func (f *fields) has(key string) bool {
	e, ok := f.byKey[key]
	return ok && e.val != nil
}

// node returns key's resolved value for a caller that decodes it itself.
func (f *fields) node(key string) (ast.Node, bool) {
	e, ok := f.get(key)
	if !ok {
		return nil, false
	}
	return e.val, true
}

// str returns a string field ("" when absent).
func (f *fields) str(key string) string {
	e, ok := f.get(key)
	if !ok {
		return ""
	}
	s, ok := f.d.asString(e.val)
	if !ok {
		f.errorf(key, "expected a string, got %s", describe(e.val))
	}
	return s
}

// asString converts a string scalar.
func (d *doc) asString(n ast.Node) (string, bool) {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		var s string
		if err := yaml.NodeToValue(n, &s, decodeOpts()...); err != nil {
			return "", false
		}
		return s, true
	}
	return "", false
}

// required returns a string field and reports it when absent or empty.
func (f *fields) required(key string) string {
	e, present := f.byKey[key]
	if present {
		e.used = true
		if e.bad {
			return ""
		}
	}
	if !present || e.val == nil {
		f.errorf("", "%s is required", key)
		return ""
	}
	s, ok := f.d.asString(e.val)
	switch {
	case !ok:
		f.errorf(key, "expected a string, got %s", describe(e.val))
	case strings.TrimSpace(s) == "":
		f.errorf(key, "must not be empty")
	}
	return s
}

// integer returns an integer field; ok is false when absent or invalid.
func (f *fields) integer(key string) (int, bool) {
	e, ok := f.get(key)
	if !ok {
		return 0, false
	}
	v, err := f.d.asInt(e.val)
	if err != nil {
		f.errorf(key, "%v", err)
		return 0, false
	}
	return v, true
}

func (d *doc) asInt(n ast.Node) (int, error) {
	if _, ok := n.(*ast.IntegerNode); !ok {
		return 0, fmt.Errorf("expected an integer, got %s", describe(n))
	}
	var v int
	if err := yaml.NodeToValue(n, &v, decodeOpts()...); err != nil {
		return 0, errors.New("integer out of range")
	}
	return v, nil
}

// boolean returns a boolean field (false when absent).
func (f *fields) boolean(key string) bool {
	e, ok := f.get(key)
	if !ok {
		return false
	}
	if _, isBool := e.val.(*ast.BoolNode); !isBool {
		f.errorf(key, "expected true or false, got %s", describe(e.val))
		return false
	}
	var v bool
	if err := yaml.NodeToValue(e.val, &v, decodeOpts()...); err != nil {
		f.errorf(key, "expected true or false")
	}
	return v
}

// strings returns a list-of-strings field.
func (f *fields) strings(key string) []string {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	seq, isSeq := e.val.(*ast.SequenceNode)
	if !isSeq {
		f.errorf(key, "expected a list of strings, got %s", describe(e.val))
		return nil
	}
	out := make([]string, 0, len(seq.Values))
	for _, item := range seq.Values {
		v, ok := f.d.resolve(item)
		if !ok {
			continue
		}
		s, isStr := f.d.asString(v)
		if !isStr {
			f.d.c.add(f.d.file, nodeLine(item), "%s: %s: expected a list of strings, found %s", f.what, key, describe(v))
			continue
		}
		out = append(out, s)
	}
	return out
}

// sub returns the fields of a nested mapping value.
func (f *fields) sub(key string) (*fields, bool) {
	e, ok := f.get(key)
	if !ok {
		return nil, false
	}
	if _, isMap := mappingValues(e.val); !isMap {
		f.errorf(key, "expected a mapping, got %s", describe(e.val))
		return nil, false
	}
	return f.d.newFields(e.val, f.what+": "+key), true
}

// finish reports every key no getter asked for: an inline secret gets a
// message saying what to use instead, anything else is an unknown field.
func (f *fields) finish() {
	for _, e := range f.entries {
		if e.used {
			continue
		}
		if instead, ok := inlineSecret(e.key); ok {
			f.d.c.add(f.d.file, e.keyLine, "%s: %s: inline secrets are not allowed; use %s", f.what, e.key, instead)
			continue
		}
		f.d.c.add(f.d.file, e.keyLine, "%s: unknown field %q", f.what, e.key)
	}
}

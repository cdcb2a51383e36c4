package inventories

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Validator answers the questions the inventory cannot answer itself, so that
// this package needs no import of mapping. Both functions are required; they
// are called only from the goroutine that runs Load.
type Validator struct {
	// Role reports whether name is a known role blueprint.
	Role func(name string) bool
	// Requirement reports whether id is a known SR or RE ("SR 2.5",
	// "SR 1.1 RE 1").
	Requirement func(id string) bool
}

// Issue is one problem found while loading.
type Issue struct {
	Pos     Pos
	Message string
}

func (i Issue) String() string { return i.Pos.String() + ": " + i.Message }

// LoadError lists every problem Load found, ordered by file and line.
// Messages never contain secret values.
type LoadError struct {
	Issues []Issue
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

// maxFileSize bounds one inventory file.
const maxFileSize = 16 << 20

// Load reads and validates the inventory at path: one YAML file, or a folder
// whose *.yaml and *.yml files (not hidden, not in sub-folders) are merged in
// name order. A file may hold several documents (---). Top-level keys are
// zones, credentials, assets and countermeasures; keys starting with "x-" are
// ignored and may carry anchors for merge keys (<<: *defaults); anchors are
// local to their document.
//
// Load reads no secret: credentials only name their sources (see
// Credential.CheckSources and Credential.Resolve). Relative paths are not
// accepted for credential files, so the result does not depend on the working
// directory. Every problem is collected and returned as one *LoadError;
// another error type means path itself could not be read, or v lacks a
// function.
func Load(path string, v Validator) (*Inventory, error) {
	if v.Role == nil || v.Requirement == nil {
		return nil, errors.New("inventories: Load needs Validator.Role and Validator.Requirement")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		if files, err = yamlFiles(path); err != nil {
			return nil, fmt.Errorf("load inventory %s: %w", path, err)
		}
		if len(files) == 0 {
			return nil, &LoadError{Issues: []Issue{{Pos: Pos{File: path}, Message: "no *.yaml or *.yml files in this folder"}}}
		}
	}
	var c collector
	srcs := make([]source, 0, len(files))
	for _, f := range files {
		data, err := readInventoryFile(f)
		if err != nil {
			c.add(f, 0, "%v", err)
			continue
		}
		srcs = append(srcs, source{name: f, data: data})
	}
	return load(path, srcs, v, &c)
}

// yamlFiles lists the inventory files of a folder in name order.
func yamlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func readInventoryFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("file is larger than %d MiB", maxFileSize>>20)
	}
	return os.ReadFile(path)
}

// source is one inventory file's content.
type source struct {
	name string
	data []byte
}

// builder accumulates decoded elements across files.
type builder struct {
	v               Validator
	c               *collector
	zones           []rec[Zone]
	credentials     []rec[Credential]
	assets          []rec[Asset]
	countermeasures []rec[Countermeasure]
}

// rec is a decoded element with the fields it came from, for positions.
type rec[T any] struct {
	v T
	f *fields
}

// load decodes and validates srcs; root names the inventory in messages that
// belong to no file.
func load(root string, srcs []source, v Validator, c *collector) (*Inventory, error) {
	b := &builder{v: v, c: c}
	order := map[string]int{}
	for i, s := range srcs {
		order[s.name] = i
		b.file(s)
	}
	b.check(root)
	if len(c.issues) > 0 {
		return nil, &LoadError{Issues: c.sorted(order)}
	}
	inv := &Inventory{}
	for _, r := range b.zones {
		inv.Zones = append(inv.Zones, r.v)
	}
	for _, r := range b.credentials {
		inv.Credentials = append(inv.Credentials, r.v)
	}
	for _, r := range b.assets {
		inv.Assets = append(inv.Assets, r.v)
	}
	for _, r := range b.countermeasures {
		inv.Countermeasures = append(inv.Countermeasures, r.v)
	}
	return inv, nil
}

// file parses one source and decodes each of its documents.
func (b *builder) file(s source) {
	f, err := parser.ParseBytes(s.data, 0)
	if err != nil {
		line := 0
		msg := "invalid YAML"
		var ye yaml.Error
		if errors.As(err, &ye) {
			// The message only: the formatted error quotes the source line,
			// which could hold a secret.
			msg = "YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				line = tk.Position.Line
			}
		}
		b.c.add(s.name, line, "%s", msg)
		return
	}
	for _, dn := range f.Docs {
		if isNil(dn) || isNil(dn.Body) {
			continue
		}
		b.document(newDoc(s.name, dn.Body, b.c), dn.Body)
	}
}

// document decodes one YAML document's top-level mapping.
func (b *builder) document(d *doc, body ast.Node) {
	body, ok := d.resolve(body)
	if !ok || body == nil {
		return
	}
	if _, isMap := mappingValues(body); !isMap {
		d.c.add(d.file, nodeLine(body), "an inventory is a mapping with zones, credentials, assets and countermeasures, not %s", describe(body))
		return
	}
	top := d.newFields(body, "inventory")
	for _, e := range top.entries {
		if strings.HasPrefix(e.key, "x-") {
			e.used = true
		}
	}
	lists := []struct {
		key, kind string
		decode    func(*fields)
	}{
		{"zones", "zone", b.zone},
		{"credentials", "credential", b.credential},
		{"assets", "asset", b.asset},
		{"countermeasures", "countermeasure", b.countermeasure},
	}
	for _, l := range lists {
		n, ok := top.node(l.key)
		if !ok {
			continue
		}
		seq, isSeq := n.(*ast.SequenceNode)
		if !isSeq {
			top.errorf(l.key, "expected a list of %ss, got %s", l.kind, describe(n))
			continue
		}
		for i, item := range seq.Values {
			item, ok := d.resolve(item)
			if !ok {
				continue
			}
			label := fmt.Sprintf("%s #%d", l.kind, i+1)
			if _, isMap := mappingValues(item); !isMap {
				d.c.add(d.file, nodeLine(seq.Values[i]), "%s: expected a mapping, got %s", label, describe(item))
				continue
			}
			l.decode(d.newFields(item, label))
		}
	}
	for _, e := range top.entries {
		if !e.used {
			d.c.add(d.file, e.keyLine, "unknown top-level key %q (want zones, credentials, assets or countermeasures; x-* keys are free for anchors)", e.key)
		}
	}
}

// check runs the validations that span elements and files.
func (b *builder) check(root string) {
	zones := firstByName(b.c, "zone", b.zones, func(z Zone) string { return z.Name })
	creds := firstByName(b.c, "credential", b.credentials, func(c Credential) string { return c.Name })
	assets := firstByName(b.c, "asset", b.assets, func(a Asset) string { return a.Name })
	firstByName(b.c, "countermeasure", b.countermeasures, func(c Countermeasure) string { return c.ID })

	targets := map[string]rec[Asset]{}
	for _, r := range b.assets {
		a, f := r.v, r.f
		if a.Role != "" && !b.v.Role(a.Role) {
			f.errorf("role", "unknown role %q (no such blueprint)", a.Role)
		}
		if a.Zone != "" {
			if _, ok := zones[a.Zone]; !ok {
				f.errorf("zone", "unknown zone %q", a.Zone)
			}
		}
		if a.Credential != "" {
			if c, ok := creds[a.Credential]; !ok {
				f.errorf("credential", "unknown credential %q", a.Credential)
			} else if why := credentialFit(c.v, a.Transport); why != "" {
				f.errorf("credential", "credential %q (%s) %s", c.v.Name, c.v.Pos, why)
			}
		}
		if a.Address != "" && a.Transport != "" && a.Transport != Local {
			key := fmt.Sprintf("%s|%s|%d", targetKey(a.Address), a.Transport, a.Port)
			if prev, dup := targets[key]; dup {
				f.errorf("address", "asset %q (%s) already scans %s over %s port %d", prev.v.Name, prev.v.Pos, a.Address, a.Transport, a.Port)
			} else {
				targets[key] = r
			}
		}
	}
	for _, r := range b.countermeasures {
		cm, f := r.v, r.f
		if cm.Requirement != "" && !b.v.Requirement(cm.Requirement) {
			f.errorf("requirement", "unknown requirement %q (want an SR or RE id such as \"SR 2.5\" or \"SR 1.1 RE 1\")", cm.Requirement)
		}
		s := cm.Scope
		switch {
		case s.Asset != "":
			if _, ok := assets[s.Asset]; !ok {
				f.errorf("scope", "unknown asset %q", s.Asset)
			}
		case s.Zone != "":
			if _, ok := zones[s.Zone]; !ok {
				f.errorf("scope", "unknown zone %q", s.Zone)
			}
		case s.Role != "":
			if !b.v.Role(s.Role) {
				f.errorf("scope", "unknown role %q (no such blueprint)", s.Role)
			}
		}
	}
	if len(b.assets) == 0 && len(b.c.issues) == 0 {
		b.c.add(root, 0, "the inventory defines no assets")
	}
}

// firstByName indexes elements by name, reporting every later duplicate with
// the place of the first.
func firstByName[T any](c *collector, kind string, recs []rec[T], name func(T) string) map[string]rec[T] {
	m := make(map[string]rec[T], len(recs))
	for _, r := range recs {
		n := name(r.v)
		if n == "" {
			continue
		}
		if first, dup := m[n]; dup {
			key := "name"
			if kind == "countermeasure" {
				key = "id"
			}
			c.add(r.f.d.file, r.f.lineOf(key), "duplicate %s %q (first defined at %s)", kind, n, first.f.pos())
			continue
		}
		m[n] = r
	}
	return m
}

// credentialFit returns "" when credential c can be used over transport t,
// and otherwise what is wrong, finishing a sentence that starts with the
// credential's name.
func credentialFit(c Credential, t Transport) string {
	switch t {
	case SSH:
		if c.SNMP != nil || c.WinRM != nil {
			return fmt.Sprintf("is %s credential and does not fit transport ssh", kindLabel(c))
		}
		if c.Username == "" {
			return "has no username, which transport ssh needs"
		}
		if c.Password.IsZero() && (c.SSH == nil || c.SSH.PrivateKeyFile == "" && !c.SSH.Agent) {
			return "has no SSH authentication: set password_env/password_file, private_key_file or agent: true"
		}
	case WinRM, WinRMS:
		if c.SNMP != nil || c.SSH != nil {
			return fmt.Sprintf("is %s credential and does not fit transport %s", kindLabel(c), t)
		}
		if c.Username == "" || c.Password.IsZero() {
			return fmt.Sprintf("needs username and password_env or password_file for transport %s", t)
		}
		if t == WinRM && c.WinRM != nil {
			switch {
			case c.WinRM.Auth == AuthBasic:
				return "uses auth basic, which is allowed over HTTPS only: use transport winrms"
			case c.WinRM.HTTPS:
				return "is restricted to HTTPS (https: true): use transport winrms"
			}
		}
	case SNMP:
		if c.SNMP == nil {
			return fmt.Sprintf("is %s credential and does not fit transport snmp (set snmp_version and a community or SNMPv3 user)", kindLabel(c))
		}
	case Local:
		if c.SNMP != nil || c.WinRM != nil {
			return fmt.Sprintf("is %s credential and does not fit transport local", kindLabel(c))
		}
	}
	return ""
}

// kindLabel names the credential's kind with its article: "an SNMP".
func kindLabel(c Credential) string {
	switch c.Kind() {
	case "snmp":
		return "an SNMP"
	case "winrm":
		return "a WinRM"
	case "ssh":
		return "an SSH"
	}
	return "a password"
}

package winhosts

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/goccy/go-yaml"

	"github.com/otsweep/otsweep/probes/windows"
)

var update = flag.Bool("update", false, "regenerate recordings/*.ndjson from testdata/hosts")

// probeSrc is one probe line of a host source.
type probeSrc struct {
	MS    int     `yaml:"ms"`
	Data  any     `yaml:"data"`
	Err   *string `yaml:"err"`
	Merge bool    `yaml:"merge"` // deep-merge data over the base's instead of replacing it
}

// hostSrc is a host source file (testdata/hosts/<name>.yaml) or a shared base
// (testdata/hosts/_<family>.yaml).
type hostSrc struct {
	Base         string              `yaml:"base"`
	ServicePatch map[string]any      `yaml:"service_patch"`
	Probes       map[string]probeSrc `yaml:"probes"`
}

func loadSrc(name string) (*hostSrc, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "hosts", name+".yaml"))
	if err != nil {
		return nil, err
	}
	var s hostSrc
	if err := yaml.UnmarshalWithOptions(b, &s, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s.yaml: %w", name, err)
	}
	return &s, nil
}

// bundleOrder returns the probe ids in the order the bundle runs them, read
// from the script itself so recordings follow any reordering.
func bundleOrder() []string {
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^P '([A-Za-z0-9_]+)' \{`).FindAllStringSubmatch(windows.Script(), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// generate builds the recording of one host from its source.
func generate(name string) ([]byte, error) {
	src, err := loadSrc(name)
	if err != nil {
		return nil, err
	}
	probes := map[string]probeSrc{}
	var patches []map[string]any
	if src.Base != "" {
		base, err := loadSrc(src.Base)
		if err != nil {
			return nil, err
		}
		for k, v := range base.Probes {
			probes[k] = v
		}
		patches = append(patches, base.ServicePatch)
	}
	patches = append(patches, src.ServicePatch)
	for k, v := range src.Probes {
		if old, ok := probes[k]; ok && v.Merge {
			v.Data = deepMerge(old.Data, v.Data)
		}
		probes[k] = v
	}
	for k, v := range probes {
		d, err := expandRows(v.Data)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, k, err)
		}
		v.Data = d
		probes[k] = v
	}
	services, err := applyServicePatches(probes, patches)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out bytes.Buffer
	line := func(s string) { out.WriteString(s + "\r\n") }
	line("@@OTSCAN " + Placeholder + " BEGIN schema=" + windows.Schema)
	for _, id := range bundleOrder() {
		p, ok := probes[id]
		if !ok {
			return nil, fmt.Errorf("%s: no source for probe %s", name, id)
		}
		delete(probes, id)
		obj := map[string]any{"id": id, "ms": p.MS}
		if p.Err != nil {
			obj["ok"], obj["err"] = false, *p.Err
		} else {
			data, err := resolve(p.Data, services)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", name, id, err)
			}
			obj["ok"], obj["data"] = true, data
		}
		var b strings.Builder
		if err := emitJSON(&b, obj); err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, id, err)
		}
		line(b.String())
	}
	if len(probes) > 0 {
		return nil, fmt.Errorf("%s: sources for probes the bundle does not run: %v", name, keys(probes))
	}
	line("@@OTSCAN " + Placeholder + " END")
	return out.Bytes(), nil
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func deepMerge(base, over any) any {
	bm, ok1 := base.(map[string]any)
	om, ok2 := over.(map[string]any)
	if !ok1 || !ok2 {
		return over
	}
	out := map[string]any{}
	for k, v := range bm {
		out[k] = v
	}
	for k, v := range om {
		out[k] = deepMerge(bm[k], v)
	}
	return out
}

// applyServicePatches edits the W30 service list: a nil patch removes the
// service, a map sets fields (creating the service when it does not exist).
func applyServicePatches(probes map[string]probeSrc, patches []map[string]any) (map[string]map[string]any, error) {
	w30, ok := probes["W30"]
	if !ok || w30.Err != nil {
		return map[string]map[string]any{}, nil
	}
	data, _ := w30.Data.(map[string]any)
	raw, _ := data["services"].([]any)
	var order []string
	byName := map[string]map[string]any{}
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, errors.New("W30 services: entry is not a map")
		}
		n, _ := m["name"].(string)
		cp := map[string]any{}
		for k, v := range m {
			cp[k] = v
		}
		byName[strings.ToLower(n)] = cp
		order = append(order, n)
	}
	for _, patch := range patches {
		for _, n := range keys(patch) {
			p := patch[n]
			k := strings.ToLower(n)
			if p == nil {
				delete(byName, k)
				continue
			}
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("service_patch %s: not a map", n)
			}
			s, exists := byName[k]
			if !exists {
				s = map[string]any{"name": n, "display_name": n, "state": "Stopped", "start_mode": "Manual", "path": nil, "start_name": "LocalSystem"}
				byName[k] = s
				order = append(order, n)
			}
			for f, v := range pm {
				s[f] = v
			}
		}
	}
	list := []any{}
	seen := map[string]bool{}
	for _, n := range order {
		k := strings.ToLower(n)
		if s, ok := byName[k]; ok && !seen[k] {
			seen[k] = true
			list = append(list, s)
		}
	}
	nd := map[string]any{}
	for k, v := range data {
		nd[k] = v
	}
	nd["services"] = list
	w30.Data = nd
	probes["W30"] = w30
	return byName, nil
}

// The bundle's W19 filters, as in bundle.ps1 (PowerShell -match is
// case-insensitive).
var (
	avName    = regexp.MustCompile(`(?i)^(WinDefend|Sense|MsMpSvc|mfe|McAfee|Trellix|SepMasterService|ccSvcHst|ekrn|Sophos|AVP|klnagent|ntrtscan|TmListen|TMBMServer|CSFalconService|SentinelAgent|CylanceSvc|CbDefense|carbonblack|cyserver|bdservicehost|EPSecurityService|scsrvc|AppIDSvc)`)
	avDisplay = regexp.MustCompile(`(?i)Antivirus|Anti-Virus|Endpoint Protection|Endpoint Security|Defender Antivirus|Defender Advanced Threat|McAfee|Trellix|Symantec|Sophos|Kaspersky|Trend Micro|ESET|CrowdStrike|SentinelOne|Cylance|Carbon Black|Bitdefender|Application Control`)
)

// resolve expands the source macros: "@svc:NAME" is that service's W30 entry
// (null when not installed), "@av_services" the entries the bundle's W19
// filter selects.
func resolve(v any, services map[string]map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		if n, ok := strings.CutPrefix(x, "@svc:"); ok {
			if s, ok := services[strings.ToLower(n)]; ok {
				return s, nil
			}
			return nil, nil
		}
		if x == "@av_services" {
			var list []any
			for _, k := range keys(services) {
				s := services[k]
				n, _ := s["name"].(string)
				dn, _ := s["display_name"].(string)
				if avName.MatchString(n) || avDisplay.MatchString(dn) {
					list = append(list, s)
				}
			}
			if list == nil {
				list = []any{}
			}
			return list, nil
		}
		return x, nil
	case map[string]any:
		if text, ok, err := expandMacro(x); ok || err != nil {
			return text, err
		}
		out := map[string]any{}
		for k, e := range x {
			r, err := resolve(e, services)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolve(e, services)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// emitJSON writes v exactly as the bundle's J function does: object keys
// sorted by their lower-case form, strings with every UTF-16 unit outside
// 0x20-0x7E as \uXXXX (lower-case hex), '\' and '"' escaped.
func emitJSON(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case string:
		emitString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := emitJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		ks := keys(x)
		sort.SliceStable(ks, func(i, j int) bool { return strings.ToLower(ks[i]) < strings.ToLower(ks[j]) })
		if err := checkKeyOrder(ks); err != nil {
			return err
		}
		b.WriteByte('{')
		for i, k := range ks {
			if i > 0 {
				b.WriteByte(',')
			}
			emitString(b, k)
			b.WriteByte(':')
			if err := emitJSON(b, x[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("value %v of type %T has no PowerShell counterpart here", v, v)
	}
	return nil
}

func emitString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, u := range utf16.Encode([]rune(s)) {
		switch {
		case u == '\\':
			b.WriteString(`\\`)
		case u == '"':
			b.WriteString(`\"`)
		case u < 0x20 || u > 0x7e:
			fmt.Fprintf(b, `\u%04x`, u)
		default:
			b.WriteByte(byte(u))
		}
	}
	b.WriteByte('"')
}

// checkKeyOrder rejects key sets whose order under PowerShell's culture-aware
// Sort-Object could differ from the lower-case ordinal order used here:
// non-ASCII or '-' in a key, keys equal but for case (a PowerShell hashtable
// cannot hold both), and '_' meeting a digit at the first difference.
func checkKeyOrder(ks []string) error {
	for i, k := range ks {
		for _, c := range k {
			if c > 0x7e || c < 0x20 || c == '-' || c == '\'' {
				return fmt.Errorf("key %q: characters whose culture sort order is not ordinal", k)
			}
		}
		if i == 0 {
			continue
		}
		a, b := strings.ToLower(ks[i-1]), strings.ToLower(k)
		if a == b {
			return fmt.Errorf("keys %q and %q differ only by case", ks[i-1], k)
		}
		for j := 0; j < len(a) && j < len(b); j++ {
			if a[j] != b[j] {
				if (a[j] == '_' && b[j] >= '0' && b[j] <= '9') || (b[j] == '_' && a[j] >= '0' && a[j] <= '9') {
					return fmt.Errorf("keys %q and %q: '_' against a digit sorts differently", ks[i-1], k)
				}
				break
			}
		}
	}
	return nil
}

// TestRecordings checks that every recording is exactly what its source
// generates (run with -update to regenerate) and that recordings and Hosts
// agree.
func TestRecordings(t *testing.T) {
	want := map[string]bool{}
	for _, h := range Hosts() {
		want[h.Name] = true
		t.Run(h.Name, func(t *testing.T) {
			got, err := generate(h.Name)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("recordings", h.Name+".ndjson")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			have, err := recordings.ReadFile("recordings/" + h.Name + ".ndjson")
			if err != nil {
				t.Fatalf("%v (run go test -run TestRecordings -update)", err)
			}
			if !bytes.Equal(have, got) {
				t.Fatalf("%s differs from what testdata/hosts/%s.yaml generates; run go test -run TestRecordings -update", path, h.Name)
			}
		})
	}
	entries, err := recordings.ReadDir("recordings")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := strings.TrimSuffix(e.Name(), ".ndjson"); !want[n] {
			t.Errorf("recording %s is not listed by Hosts()", e.Name())
		}
	}
}

func TestEmitJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"escapes", "a\\b\"c\u00e4\n\t", `"a\\b\"c\u00e4\u000a\u0009"`},
		{"non-BMP as surrogates", "\U0001F600", `"\ud83d\ude00"`},
		{"keys by lower case", map[string]any{"ScreenSaveTimeOut": 1, "ScreenSaverIsSecure": 2, "ScreenSaveActive": 3}, `{"ScreenSaveActive":3,"ScreenSaverIsSecure":2,"ScreenSaveTimeOut":1}`},
		{"nested", map[string]any{"b": []any{nil, true, uint64(5)}, "a": int64(-1)}, `{"a":-1,"b":[null,true,5]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := emitJSON(&b, tt.in); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got %s want %s", b.String(), tt.want)
			}
		})
	}
	var b strings.Builder
	if err := emitJSON(&b, map[string]any{"a_b": 1, "a1": 2}); err == nil {
		t.Fatal("'_' against a digit must be rejected")
	}
	if err := emitJSON(&b, map[string]any{"x": 1.5}); err == nil {
		t.Fatal("floats must be rejected")
	}
}

package windows

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// ErrTextNotElevatedToken is what the bundle prints as a probe's error when the
// probe needs an elevated token and the scan account has none.
const ErrTextNotElevatedToken = "E_NOT_ELEVATED"

// Parse turns the stdout of one bundle run into an Observation.
//
// Only lines between this nonce's markers count; everything else (profile
// noise, warnings, another run's markers) is ignored. When the END marker is
// missing the observation is returned with Complete=false and every fact of a
// probe whose line never arrived fails with probes.ErrTextNotCollected. A probe
// that reported ok=false fails its facts with probes.ErrTextNotElevated (for
// E_NOT_ELEVATED) or with its error text; a line, or a raw text inside it, that
// cannot be decoded fails that probe's facts with probes.ErrTextUnparsed.
//
// Parse returns an error wrapping probes.ErrProtocol only when stdout holds no
// BEGIN marker for nonce or announces another schema. It reads no clock: the
// facts that depend on the date (os.supported, os.days_to_eol) are added by
// ApplySupport, or by ParseAt.
func Parse(nonce string, stdout []byte) (*probes.Observation, error) {
	var dec strictDecoder
	env, err := parseEnvelope(nonce, stdout, &dec)
	if err != nil {
		return nil, err
	}
	p := newParser(env, &dec)
	p.run()
	obs := &probes.Observation{
		Platform: probes.Windows,
		Schema:   env.Schema,
		Elevated: p.meta.elevated,
		Meta:     p.meta.fields,
		Facts:    p.facts,
		Probes:   p.runs(),
		Cost:     p.cost,
		Complete: env.Complete,
	}
	return obs, nil
}

// ParseAt is Parse followed by ApplySupport(obs.Facts, now).
func ParseAt(nonce string, stdout []byte, now time.Time) (*probes.Observation, error) {
	obs, err := Parse(nonce, stdout)
	if err != nil {
		return nil, err
	}
	ApplySupport(obs.Facts, now)
	return obs, nil
}

// handler turns one envelope line into the facts of one or more catalog
// probes. fn sets facts through p.set; when it returns an error, every fact of
// probes fails as unparsed and nothing it set is kept.
type handler struct {
	line   string
	probes []string
	fn     func(p *parser, data json.RawMessage) error
}

// parser holds the state of one Parse call.
type parser struct {
	env     *envelope
	docs    map[string]FactDoc
	facts   probes.Facts
	cur     probes.Facts // facts set by the running handler
	scratch probes.Facts // cur's map, emptied and reused from one handler to the next
	line    string       // line of the running handler
	meta    metaInfo
	os      *osInfo  // W01 as parsed, for probes whose meaning depends on it
	inf     *secInfo // W06 secedit export as parsed
	cost    probes.Cost
	json    *strictDecoder // decodes every line and its data
}

type metaInfo struct {
	elevated bool
	fields   map[string]string
	tzOffset *int // minutes east of UTC on the host at scan time
}

func newParser(env *envelope, dec *strictDecoder) *parser {
	return &parser{env: env, docs: factIndex(), facts: make(probes.Facts, len(Facts)), json: dec}
}

// factIndex indexes Facts by name. It is built once, on first use; the map is
// shared by every Parse call and must not be modified.
var factIndex = sync.OnceValue(func() map[string]FactDoc {
	docs := make(map[string]FactDoc, len(Facts))
	for _, d := range Facts {
		docs[d.Name] = d
	}
	return docs
})

func (p *parser) run() {
	for _, h := range handlers() {
		p.apply(h)
	}
}

func (p *parser) apply(h handler) {
	l := p.env.Lines[h.line]
	switch {
	case l == nil:
		p.failProbes(h.probes, probes.ErrTextNotCollected, "no output line for "+h.line)
		return
	case l.Malformed != "":
		p.failProbes(h.probes, probes.ErrTextUnparsed, h.line+": "+l.Malformed)
		return
	case !l.OK:
		p.failProbes(h.probes, failReason(l.Err), h.line+": "+l.Err)
		return
	}
	if p.scratch == nil {
		p.scratch = probes.Facts{}
	}
	p.cur, p.line = p.scratch, h.line
	err := h.fn(p, l.Data)
	cur := p.cur
	p.cur, p.line = nil, ""
	defer clear(cur) // the next handler starts with an empty map of the same capacity
	if err != nil {
		p.failProbes(h.probes, probes.ErrTextUnparsed, h.line+": "+err.Error())
		return
	}
	for k, v := range cur {
		p.facts[k] = v
	}
}

// failReason maps a probe's error text to the fact error text.
func failReason(err string) string {
	if strings.TrimSpace(err) == ErrTextNotElevatedToken {
		return probes.ErrTextNotElevated
	}
	return err
}

// failProbes fails every documented fact of the given probes.
func (p *parser) failProbes(ids []string, reason string, raw ...string) {
	for _, d := range Facts {
		for _, id := range ids {
			if d.Probe == id {
				p.facts.Fail(d.Name, d.Probe, reason, raw...)
			}
		}
	}
}

// set records a fact of the running handler. The source is the catalog probe
// the fact is documented under.
func (p *parser) set(name string, value any, raw ...string) {
	p.cur.Set(name, p.source(name), value, raw...)
}

// fail records, inside the running handler, that one fact could not be had.
func (p *parser) fail(name, reason string, raw ...string) {
	p.cur.Fail(name, p.source(name), reason, raw...)
}

func (p *parser) source(name string) string {
	if d, ok := p.docs[name]; ok {
		return d.Probe
	}
	return p.line
}

// lineErr returns the fact error text for a line that did not deliver, or "".
func (p *parser) lineErr(id string) string {
	l := p.env.Lines[id]
	switch {
	case l == nil:
		return probes.ErrTextNotCollected
	case l.Malformed != "":
		return probes.ErrTextUnparsed
	case !l.OK:
		return failReason(l.Err)
	}
	return ""
}

func (p *parser) runs() []probes.ProbeRun {
	out := make([]probes.ProbeRun, 0, len(p.env.Order))
	for _, id := range p.env.Order {
		l := p.env.Lines[id]
		r := probes.ProbeRun{ID: id, Duration: time.Duration(l.MS) * time.Millisecond, Bytes: l.Bytes}
		switch {
		case l.Malformed != "":
			r.ExitCode, r.Err = 1, probes.ErrTextUnparsed+": "+l.Malformed
		case !l.OK:
			r.ExitCode, r.Err = 1, l.Err
		}
		out = append(out, r)
	}
	return out
}

// handlers lists, in evaluation order, how each line becomes facts. Lines
// whose facts others depend on (_meta, W01, W06) come first.
func handlers() []handler {
	return []handler{
		{"_meta", []string{"_meta"}, parseMeta},
		{"_end", []string{"_end"}, parseEnd},
		{"W01", []string{"W01"}, parseW01},
		{"W01", []string{"W02"}, parseW02},
		{"W06", []string{"W06", "W07", "W08"}, parseW06},
		{"W03", []string{"W03"}, parseW03},
		{"W05", []string{"W05"}, parseW05},
		{"W09", []string{"W09"}, parseW09},
		{"W10", []string{"W10"}, parseW10},
		{"W11", []string{"W11"}, parseW11},
		{"W12", []string{"W12"}, parseW12},
		{"W13", []string{"W13"}, parseW13},
		{"W14", []string{"W14"}, parseW14},
		{"W15", []string{"W15"}, parseW15},
		{"W16", []string{"W16"}, parseW16},
		{"W17", []string{"W17"}, parseW17},
		{"W18", []string{"W18"}, parseW18},
		{"W19", []string{"W19"}, parseW19},
		{"W20", []string{"W20"}, parseW20},
		{"W21", []string{"W21"}, parseW21},
		{"W22", []string{"W22"}, parseW22},
		{"W23", []string{"W23"}, parseW23},
		{"W24", []string{"W24"}, parseW24},
		{"W25", []string{"W25"}, parseW25},
		{"W26", []string{"W26"}, parseW26},
		{"W27", []string{"W27"}, parseW27},
		{"W28", []string{"W28"}, parseW28},
		{"W29", []string{"W29"}, parseW29},
		{"W30", []string{"W30"}, parseW30},
		{"W31", []string{"W31"}, parseW31},
		{"W32", []string{"W32"}, parseW32},
		{"W33", []string{"W33"}, parseW33},
		{"W34", []string{"W34"}, parseW34},
		{"W35", []string{"W35"}, parseW35},
		{"W36", []string{"W36"}, parseW36},
		{"W37", []string{"W37"}, parseW37},
		{"W38", []string{"W38"}, parseW38},
		{"W39", []string{"W39"}, parseW39},
		{"W40", []string{"W40"}, parseW40},
		{"W41", []string{"W41"}, parseW41},
	}
}

// parseMeta reads the _meta line: who ran the bundle and how.
func parseMeta(p *parser, data json.RawMessage) error {
	var m struct {
		PS       string `json:"ps"`
		Lang     string `json:"lang"`
		Elevated bool   `json:"elevated"`
		Host     string `json:"host"`
		UTC      string `json:"utc"`
		PSArch   string `json:"ps_arch"`
		TZ       *int   `json:"tz_offset_min"`
	}
	if err := p.decodeStrict(data, &m); err != nil {
		return err
	}
	if _, err := time.Parse(time.RFC3339, m.UTC); err != nil {
		return fmt.Errorf("utc %q: %w", m.UTC, err)
	}
	p.meta.elevated = m.Elevated
	p.meta.tzOffset = m.TZ
	p.meta.fields = map[string]string{
		"ps": m.PS, "lang": m.Lang, "host": m.Host, "utc": m.UTC, "ps_arch": m.PSArch,
		"elevated": fmt.Sprint(m.Elevated),
	}
	if m.TZ != nil {
		p.meta.fields["tz_offset_min"] = fmt.Sprint(*m.TZ)
	}
	p.set("meta.elevated", m.Elevated)
	p.set("meta.language_mode", m.Lang)
	p.set("meta.ps_version", m.PS)
	p.set("meta.hostname", m.Host)
	p.set("meta.scan_time", m.UTC)
	return nil
}

// parseEnd reads the cost the bundle reports for itself.
func parseEnd(p *parser, data json.RawMessage) error {
	var m struct {
		CPU   *int `json:"cpu_ms"`
		Procs int  `json:"procs"`
	}
	if err := p.decodeStrict(data, &m); err != nil {
		return err
	}
	if m.CPU != nil {
		p.cost.CPU = time.Duration(*m.CPU) * time.Millisecond
	}
	p.cost.Processes = m.Procs
	return nil
}

// sortedUnique sorts s and removes duplicates, returning a non-nil slice.
func sortedUnique(s []string) []string {
	out := make([]string, 0, len(s))
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// regLine renders one registry value for evidence.
func regLine(key, name string, v val) string {
	return key + ` ` + name + ` = ` + v.show()
}

package linux

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/otsweep/otsweep/probes"
)

// Limits on what a fact keeps as evidence.
const (
	maxRawLines  = 16
	maxRawLen    = 256
	maxListItems = 5000
)

// Parse turns the bundle's standard output into an observation.
//
// It fails, wrapping probes.ErrProtocol, only when stdout holds no BEGIN line
// for nonce at all. Everything else becomes facts: a missing END leaves
// Complete false; a probe whose output never arrived, was skipped or could
// not be read yields facts with Err "not collected: …", "not elevated" or
// "unparsed: …", never a value. Every documented fact (except Deep facts of a
// non-deep run) is present in the result. Parse never panics on any input.
func Parse(nonce string, stdout []byte) (*probes.Observation, error) {
	if nonce == "" {
		return nil, fmt.Errorf("linux bundle: empty nonce: %w", probes.ErrProtocol)
	}
	f := split(nonce, stdout)
	if f == nil {
		return nil, fmt.Errorf("linux bundle: no BEGIN marker for nonce %s in %d bytes of output: %w",
			nonce, len(stdout), probes.ErrProtocol)
	}
	obs := &probes.Observation{
		Platform: probes.Linux,
		Schema:   f.meta["schema"],
		Elevated: f.meta["uid"] == "0",
		Meta:     f.meta,
		Facts:    make(probes.Facts, len(Facts)),
		Complete: f.complete,
	}
	if len(f.order) > 0 {
		obs.Probes = make([]probes.ProbeRun, 0, len(f.order))
	}
	for _, id := range f.order {
		s := f.sections[id]
		run := probes.ProbeRun{ID: id, ExitCode: s.rc, Bytes: s.bytes}
		switch {
		case s.skip != "":
			run.Err = s.skip
			run.ExitCode = -1
		case !s.closed:
			run.Err = "output ended inside the section"
			run.ExitCode = -1
		case s.truncated:
			run.Err = "output capped by the parser"
		}
		obs.Probes = append(obs.Probes, run)
	}
	obs.Cost = probes.Cost{CPU: f.cpu, Processes: f.pids}
	if f.pids < 0 {
		obs.Cost.Processes = f.execs
	}

	p := &parser{f: f, facts: obs.Facts, elevated: obs.Elevated, deep: f.meta["deep"] == "1"}
	for _, pr := range probeParsers() {
		e := p.emitter(pr.id)
		pr.fn(p, e)
		e.failRest(notCollected("no value derived"))
	}
	return obs, nil
}

// notCollected formats a "not collected" reason.
func notCollected(format string, a ...any) string {
	return probes.ErrTextNotCollected + ": " + fmt.Sprintf(format, a...)
}

func errUnparsed(format string, a ...any) string {
	return probes.ErrTextUnparsed + ": " + fmt.Sprintf(format, a...)
}

type probeParser struct {
	id string
	fn func(p *parser, e *emitter)
}

// probeParsers lists the probe parsers in catalog order.
func probeParsers() []probeParser {
	return []probeParser{
		{"L01", parseOS}, {"L02", parseEOL}, {"L03", parseKernel}, {"L04", parsePackages},
		{"L06", parseAutoUpdate}, {"L07", parseLoginDefs}, {"L08", parsePwquality},
		{"L09", parseHistory}, {"L10", parseFaillock}, {"L11", parseAccounts},
		{"L12", parseSSH}, {"L17", parseFirewall}, {"L18", parseAuditd}, {"L19", parseAuditdConf},
		{"L20", parseSyslog}, {"L21", parseTime}, {"L22", parseAIDE}, {"L23", parseUSB},
		{"L24", parseFind}, {"L26", parseSockets}, {"L27", parseLegacy}, {"L28", parseBanner},
		{"L29", parseTmout}, {"L30", parseDisk}, {"L31", parseMAC}, {"L32", parseCoredump},
		{"L33", parseForwarding}, {"L34", parseSnmpd},
	}
}

// parser holds one Parse call's state.
type parser struct {
	f        *frame
	facts    probes.Facts
	elevated bool
	deep     bool

	// memoized derived data shared by several probes
	pkgs     *pkgList
	units    map[string]string
	procs    map[string]bool
	pamCache map[string]*pamFile
}

// emitter writes the facts of one probe parser. Facts it covers are the
// documented facts whose Probe is one of ids (a parser may serve several
// catalog probes, e.g. L12 serves L13–L16).
type emitter struct {
	p     *parser
	id    string
	names []string
}

func (p *parser) emitter(id string) *emitter {
	deep := 0
	if p.deep {
		deep = 1
	}
	names, ok := emitterNames()[id]
	if !ok {
		names = factsOf(id)
	}
	return &emitter{p: p, id: id, names: names[deep]}
}

// factsOf returns the documented facts a parser with this id covers: without
// Deep facts ([0]) and with them ([1]), in Facts order.
func factsOf(id string) (names [2][]string) {
	ids := []string{id}
	switch id {
	case "L12":
		ids = append(ids, "L13", "L14", "L15", "L16")
	case "L24":
		ids = append(ids, "L25")
	}
	for _, d := range Facts {
		if slices.Contains(ids, d.Probe) {
			if !d.Deep {
				names[0] = append(names[0], d.Name)
			}
			names[1] = append(names[1], d.Name)
		}
	}
	return names
}

// emitterNames holds factsOf for every probe parser. It is built once, on
// first use; the lists are shared and must not be modified.
var emitterNames = sync.OnceValue(func() map[string][2][]string {
	m := map[string][2][]string{}
	for _, pr := range probeParsers() {
		m[pr.id] = factsOf(pr.id)
	}
	return m
})

// factProbes maps each documented fact to its probe ID (the first entry
// wins). It is built once, on first use; the map is shared and read-only.
var factProbes = sync.OnceValue(func() map[string]string {
	m := make(map[string]string, len(Facts))
	for _, d := range Facts {
		if _, dup := m[d.Name]; !dup {
			m[d.Name] = d.Probe
		}
	}
	return m
})

// source is the probe ID recorded on a fact.
func source(name string) string {
	return factProbes()[name]
}

func (e *emitter) set(name string, v any, raw ...string) {
	e.p.facts.Set(name, source(name), v, capRaw(raw)...)
}

func (e *emitter) fail(name, reason string, raw ...string) {
	e.p.facts.Fail(name, source(name), reason, capRaw(raw)...)
}

// has reports whether name was already emitted.
func (e *emitter) has(name string) bool {
	_, ok := e.p.facts[name]
	return ok
}

// failRest fails every fact of this parser not emitted yet.
func (e *emitter) failRest(reason string, raw ...string) {
	for _, n := range e.names {
		if !e.has(n) {
			e.fail(n, reason, raw...)
		}
	}
}

// need returns the section when it ran to completion; otherwise it returns
// nil and the reason its facts cannot be collected.
func (p *parser) need(id string) (*section, string) {
	s := p.f.section(id)
	switch {
	case s == nil && p.f.complete:
		return nil, notCollected("section %s absent", id)
	case s == nil:
		return nil, notCollected("output ended before section %s", id)
	case s.skip == "not-elevated":
		return nil, probes.ErrTextNotElevated
	case s.skip != "":
		return nil, notCollected("%s", strings.ReplaceAll(s.skip, "missing:", "command not found: "))
	case !s.closed:
		return nil, notCollected("output ended inside section %s", id)
	case s.truncated:
		return nil, notCollected("section %s exceeded the parser's size limit", id)
	}
	return s, ""
}

// fileLines returns the dumped lines of one file from the FILES section.
// ok is false (with the reason) when FILES is incomplete or the file was
// unreadable; a missing file is ok with state fileMissing.
func (p *parser) fileLines(path string) (state fileState, lines []string, reason string) {
	s, why := p.need("FILES")
	if s == nil {
		return fileMissing, nil, why
	}
	st, l := s.file(path)
	if st == fileDenied {
		return st, nil, p.deniedReason(path)
	}
	return st, l, ""
}

// deniedReason is the Err for a file the scan account could not read.
func (p *parser) deniedReason(path string) string {
	if !p.elevated {
		return probes.ErrTextNotElevated
	}
	return notCollected("permission denied reading %s as root", path)
}

// globFiles returns readable files matching any pattern, in listing order,
// and the reason when FILES is incomplete or a match was unreadable.
func (p *parser) globFiles(patterns ...string) (paths []string, reason string) {
	s, why := p.need("FILES")
	if s == nil {
		return nil, why
	}
	for _, pat := range patterns {
		for _, f := range s.glob(pat) {
			if s.files[f] == fileDenied {
				return nil, p.deniedReason(f)
			}
			paths = append(paths, f)
		}
	}
	return paths, ""
}

func (p *parser) content(path string) []string {
	s := p.f.section("FILES")
	if s == nil {
		return nil
	}
	return s.content[path]
}

// withPath prefixes evidence lines with the file they came from.
func withPath(path string, lines ...string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = path + ": " + l
	}
	return out
}

func capRaw(raw []string) []string {
	if len(raw) == 0 {
		return nil
	}
	n := min(len(raw), maxRawLines)
	out := make([]string, 0, n+1)
	for _, l := range raw[:n] {
		if len(l) > maxRawLen {
			l = truncUTF8(l, maxRawLen) + "…"
		}
		out = append(out, l)
	}
	if len(raw) > n {
		out = append(out, fmt.Sprintf("… %d more lines", len(raw)-n))
	}
	return out
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// capList bounds a list value.
func capList[T any](l []T) []T {
	if len(l) > maxListItems {
		return l[:maxListItems]
	}
	return l
}

// atoi parses a decimal integer, allowing a sign.
func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// unquote strips one level of matching single or double quotes.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// sortedUnique sorts and deduplicates.
func sortedUnique[T interface{ ~int | ~string }](l []T) []T {
	slices.Sort(l)
	return slices.Compact(l)
}

// nonNil returns an empty, non-nil slice for nil, so a collected empty list
// is never confused with an unset value.
func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

package linux

import (
	"bytes"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits that keep a hostile or broken host from making the parser hold
// unbounded data. Output beyond them is dropped and the section is marked.
const (
	maxLineLen      = 8 << 10 // bytes kept of one line
	maxSectionLines = 200_000 // lines kept of one section
)

// fileState is what the script reported about one file it was asked to dump.
type fileState int

const (
	fileMissing fileState = iota // not listed: absent or not a regular file
	fileOK                       // readable; its non-comment lines follow as "path:line"
	fileDenied                   // exists but the scan account cannot read it
)

// section is the framed output of one PROBE … RC block, or a SKIP line.
type section struct {
	id        string
	lines     []string // raw output lines, markers and FILE lines excluded
	rc        int
	closed    bool   // the RC line was seen
	skip      string // reason from a SKIP line; the section did not run
	bytes     int
	truncated bool // a cap dropped lines or bytes

	files   map[string]fileState
	order   []string            // files in the order the script listed them
	content map[string][]string // file path -> its dumped lines
}

// ok reports whether the section ran to completion.
func (s *section) ok() bool { return s != nil && s.closed && s.skip == "" }

// file returns the state and dumped lines of one file in a dump section.
func (s *section) file(p string) (fileState, []string) {
	if s == nil {
		return fileMissing, nil
	}
	return s.files[p], s.content[p]
}

// glob returns the listed files matching pattern, in listing order.
func (s *section) glob(pattern string) []string {
	if s == nil {
		return nil
	}
	// A listed name can match only if it starts with the pattern's literal
	// prefix, and a pattern without meta characters matches only itself.
	meta := strings.IndexAny(pattern, `*?[\`)
	if meta < 0 {
		if s.files[pattern] != fileMissing {
			return []string{pattern}
		}
		return nil
	}
	prefix := pattern[:meta]
	var out []string
	for _, p := range s.order {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	return out
}

// frame is one bundle run, split into sections.
type frame struct {
	meta     map[string]string
	sections map[string]*section
	order    []string
	complete bool
	pids     int // -1 unknown
	execs    int
	cpu      time.Duration
}

// split frames stdout by the marker lines carrying nonce. It returns nil when
// no BEGIN line for this nonce exists. Lines before BEGIN (login banners,
// motd) and non-marker lines outside a section are ignored; a marker line
// with any other nonce is plain text.
func split(nonce string, stdout []byte) *frame {
	prefix := "@@OTSCAN " + nonce + " "
	var f *frame
	var cur *section
	afterEnd := false
	rest := stdout
	for len(rest) > 0 {
		var raw []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			raw, rest = rest[:i], rest[i+1:]
		} else {
			raw, rest = rest, nil
		}
		n := len(raw)
		if n > maxLineLen+2 {
			// Only maxLineLen bytes of a line are ever kept; cleaning a
			// longer one whole would cost several times its size. The
			// two extra bytes keep the cut line longer than the cap even
			// after a CR is stripped, so add still marks it truncated.
			raw = raw[:maxLineLen+2]
		}
		line := cleanLine(raw)
		marker, isMarker := strings.CutPrefix(line, prefix)
		if f == nil {
			if isMarker && strings.HasPrefix(marker, "BEGIN") {
				f = &frame{meta: kv(strings.TrimPrefix(marker, "BEGIN")), sections: map[string]*section{}, pids: -1}
			}
			continue
		}
		if afterEnd {
			if isMarker {
				if c, ok := strings.CutPrefix(marker, "COST"); ok {
					m := kv(c)
					f.pids = atoiDefault(m["pids"], -1)
					f.execs = atoiDefault(m["execs"], 0)
					f.meta["pids"], f.meta["execs"] = m["pids"], m["execs"]
				}
				continue
			}
			f.cpu += parseTimes(line)
			continue
		}
		if !isMarker {
			if cur != nil {
				cur.add(line, n)
			}
			continue
		}
		verb, arg, _ := strings.Cut(marker, " ")
		switch verb {
		case "PROBE":
			cur = f.open(arg)
		case "RC":
			id, rc, _ := strings.Cut(arg, " ")
			if cur != nil && cur.id == id {
				cur.finish(rc)
				cur = nil
			}
		case "SKIP":
			id, reason, _ := strings.Cut(arg, " ")
			s := f.open(id)
			s.skip = strings.TrimSpace(reason)
			if s.skip == "" {
				s.skip = "skipped"
			}
			cur = nil
		case "FILE":
			if cur != nil {
				state, p, _ := strings.Cut(arg, " ")
				cur.listFile(state, p)
			}
		case "END":
			f.complete = true
			afterEnd = true
			cur = nil
		}
	}
	return f
}

// open starts a section; a repeated ID replaces the earlier one.
func (f *frame) open(id string) *section {
	if _, seen := f.sections[id]; !seen {
		f.order = append(f.order, id)
	}
	s := &section{id: id}
	f.sections[id] = s
	return s
}

func (f *frame) section(id string) *section { return f.sections[id] }

func (s *section) add(line string, n int) {
	s.bytes += n + 1
	if len(s.lines) >= maxSectionLines {
		s.truncated = true
		return
	}
	if len(line) > maxLineLen {
		line = line[:maxLineLen]
		s.truncated = true
	}
	s.lines = append(s.lines, line)
}

func (s *section) listFile(state, p string) {
	st := map[string]fileState{"ok": fileOK, "denied": fileDenied}[state]
	if p == "" || st == fileMissing || len(s.order) >= maxSectionLines {
		return
	}
	if s.files == nil {
		s.files = map[string]fileState{}
	}
	if _, dup := s.files[p]; !dup {
		s.order = append(s.order, p)
	}
	s.files[p] = st
}

// finish closes the section: it drops the blank line the script prints
// before RC and, for dump sections, splits "path:line" content by file.
func (s *section) finish(rc string) {
	s.closed = true
	s.rc = atoiDefault(strings.TrimSpace(rc), -1)
	if n := len(s.lines); n > 0 && s.lines[n-1] == "" {
		s.lines = s.lines[:n-1]
	}
	if s.files == nil {
		return
	}
	s.content = map[string][]string{}
	var other []string
	for _, l := range s.lines {
		if p, text, ok := s.owner(l); ok {
			s.content[p] = append(s.content[p], text)
		} else {
			other = append(other, l)
		}
	}
	s.lines = other
}

// owner finds which readable listed file a "path:line" content line belongs
// to. File content can contain colons and even marker-like text, but it is
// always behind a known path prefix.
func (s *section) owner(l string) (p, text string, ok bool) {
	for i := 0; i < len(l); i++ {
		if l[i] != ':' {
			continue
		}
		if s.files[l[:i]] == fileOK {
			return l[:i], l[i+1:], true
		}
	}
	return "", "", false
}

// cleanLine makes one output line safe to keep: CR stripped, invalid UTF-8
// replaced, control bytes other than tab shown as '?'.
func cleanLine(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	clean, ascii := true, true
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if clean && !ascii {
		clean = utf8.Valid(b)
	}
	if clean {
		return string(b)
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// kv parses "k=v k2=v2" into a map.
func kv(s string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(s) {
		if k, v, ok := strings.Cut(w, "="); ok {
			m[k] = v
		}
	}
	return m
}

func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// parseTimes sums the durations of one line of the shell's `times` output,
// e.g. "0m0.012000s 0m0.004000s" (dash, bash) or "0m0.012s 0m0.004s" (ash).
func parseTimes(line string) time.Duration {
	var total time.Duration
	for _, w := range strings.Fields(line) {
		mins, secs, ok := strings.Cut(strings.TrimSuffix(w, "s"), "m")
		if !ok {
			continue
		}
		m, err1 := strconv.Atoi(mins)
		s, err2 := strconv.ParseFloat(secs, 64)
		if err1 != nil || err2 != nil || m < 0 || s < 0 || m > 1<<20 || s > 1<<20 {
			continue
		}
		total += time.Duration(m)*time.Minute + time.Duration(s*float64(time.Second))
	}
	return total
}

package store

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// Reading a sweep decodes some 30,000 distinct evidence and requirement
// documents, and encoding/json spends most of a sweep read's CPU on them.
// Stored documents are what marshalDoc wrote: one JSON object of string and
// string-list fields, without whitespace. decodeDoc reads that shape
// directly and hands everything else (another field set, whitespace, null,
// a lone surrogate, invalid UTF-8, malformed JSON) to encoding/json, so its
// results are always those of json.Unmarshal. FuzzDecodeDoc compares the two.

// docField is one field of a stored document: a string or a list of strings.
type docField struct {
	name string
	str  *string
	list *[]string
}

// fielded is a document type decodeDoc can fill.
type fielded interface {
	fields() []docField
}

func (d *checkDoc) fields() []docField {
	return []docField{{name: "title", str: &d.Title}, {name: "probe", str: &d.Probe},
		{name: "expected", str: &d.Expected}, {name: "actual", str: &d.Actual},
		{name: "message", str: &d.Message}, {name: "evidence", list: &d.Evidence}}
}

func (d *requirementDoc) fields() []docField {
	return []docField{{name: "fr", str: &d.FR}, {name: "reason", str: &d.Reason},
		{name: "controls", list: &d.Controls}, {name: "checks", list: &d.Checks},
		{name: "countermeasure", str: &d.Countermeasure}, {name: "note", str: &d.Note}}
}

// decodeDoc sets *v to the document data, exactly as json.Unmarshal does.
func decodeDoc[T any, P interface {
	*T
	fielded
}](data []byte, v P) error {
	if decodeFields(data, v.fields()) {
		return nil
	}
	*v = *new(T)
	return json.Unmarshal(data, v)
}

// decodeFields fills fields from data if data has the shape marshalDoc
// writes and reports whether it did; if not, the fields hold partial values.
func decodeFields(data []byte, fields []docField) bool {
	p := docParser{b: data}
	if !p.skip('{') {
		return false
	}
	if p.skip('}') {
		return p.end()
	}
	var set uint64
	for {
		key, ok := p.plainString()
		if !ok || !p.skip(':') {
			return false
		}
		i := -1
		for j := range fields {
			if fields[j].name == string(key) {
				i = j
				break
			}
		}
		if i < 0 || set&(1<<i) != 0 { // unknown or repeated: encoding/json's rules
			return false
		}
		set |= 1 << i
		if f := fields[i]; f.str != nil {
			if *f.str, ok = p.string(); !ok {
				return false
			}
		} else if *f.list, ok = p.stringList(); !ok {
			return false
		}
		if p.skip('}') {
			return p.end()
		}
		if !p.skip(',') {
			return false
		}
	}
}

// docParser reads the JSON subset decodeFields accepts.
type docParser struct {
	b []byte
	i int
}

func (p *docParser) end() bool { return p.i == len(p.b) }

// skip consumes c if it comes next.
func (p *docParser) skip(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// plainString reads a string without escapes or non-ASCII bytes (a key).
func (p *docParser) plainString() ([]byte, bool) {
	if !p.skip('"') {
		return nil, false
	}
	for j := p.i; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[p.i:j]
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// stringList reads an array of strings; [] is an empty, non-nil list, as
// encoding/json makes it.
func (p *docParser) stringList() ([]string, bool) {
	if !p.skip('[') {
		return nil, false
	}
	list := []string{}
	if p.skip(']') {
		return list, true
	}
	for {
		s, ok := p.string()
		if !ok {
			return nil, false
		}
		list = append(list, s)
		if p.skip(']') {
			return list, true
		}
		if !p.skip(',') {
			return nil, false
		}
	}
}

// string reads a string. It declines what encoding/json would replace or
// reject: control characters, invalid UTF-8, lone surrogates, unknown
// escapes.
func (p *docParser) string() (string, bool) {
	if !p.skip('"') {
		return "", false
	}
	start := p.i
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return string(p.b[start:j]), true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			p.i = j
			return p.slowString(p.b[start:j])
		}
	}
	return "", false
}

// slowString continues a string with escapes or non-ASCII text; head is what
// was read before.
func (p *docParser) slowString(head []byte) (string, bool) {
	buf := append(make([]byte, 0, len(head)+64), head...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), true
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			buf = append(buf, p.b[p.i:p.i+n]...)
			p.i += n
		case c != '\\':
			buf = append(buf, c)
			p.i++
		default:
			if p.i+1 >= len(p.b) {
				return "", false
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					if !p.skip('\\') || !p.skip('u') {
						return "", false
					}
					lo, ok := p.hex4()
					if r = utf16.DecodeRune(r, lo); !ok || r == utf8.RuneError {
						return "", false
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", false
			}
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func (p *docParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

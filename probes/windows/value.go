package windows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// val is one value as read from the registry or WMI: null when the value is
// absent, otherwise whatever JSON type the host produced. Registry values are
// not always of the type documentation promises (a DWORD policy written as
// REG_SZ by a template, a REG_SZ screen-saver timeout), so callers ask for the
// type they need and get an error when the host holds something else.
type val struct{ raw json.RawMessage }

func (v *val) UnmarshalJSON(b []byte) error {
	v.raw = append(json.RawMessage(nil), b...)
	return nil
}

// null reports whether the value is absent.
func (v val) null() bool {
	return len(v.raw) == 0 || bytes.Equal(v.raw, []byte("null"))
}

// int returns the value as an integer: a JSON number without fraction or a
// decimal string (REG_SZ "900"). ok is false when the value is null.
func (v val) int() (n int, ok bool, err error) {
	if v.null() {
		return 0, false, nil
	}
	switch v.raw[0] {
	case '"':
		s, err := v.text()
		if err != nil {
			return 0, false, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, false, fmt.Errorf("value %s is not an integer", v.raw)
		}
		return n, true, nil
	case 't', 'f':
		b, err := v.boolean()
		if err != nil {
			return 0, false, err
		}
		if b {
			return 1, true, nil
		}
		return 0, true, nil
	}
	f, err := strconv.ParseFloat(string(v.raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false, fmt.Errorf("value %s is not an integer", v.raw)
	}
	return int(f), true, nil
}

// intOr returns the integer, or def when the value is absent.
func (v val) intOr(def int) (int, error) {
	n, ok, err := v.int()
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	return n, nil
}

// anyInt returns the integer as a fact value: nil when absent.
func (v val) anyInt() (any, error) {
	n, ok, err := v.int()
	if err != nil || !ok {
		return nil, err
	}
	return n, nil
}

// str returns the value as text. Numbers are formatted; a REG_MULTI_SZ array
// is joined with commas. ok is false when the value is null.
func (v val) str() (s string, ok bool, err error) {
	if v.null() {
		return "", false, nil
	}
	switch v.raw[0] {
	case '"':
		s, err := v.text()
		return s, err == nil, err
	case '[':
		var parts []string
		if err := json.Unmarshal(v.raw, &parts); err != nil {
			return "", false, fmt.Errorf("value %s is not text", v.raw)
		}
		return strings.Join(parts, ","), true, nil
	case '{':
		return "", false, fmt.Errorf("value %s is not text", v.raw)
	}
	return string(v.raw), true, nil
}

// text decodes a JSON string value. A literal without escapes, control bytes
// or invalid UTF-8 (nearly every one a host sends) is its own text, exactly as
// json.Unmarshal would return it, and is not run through the decoder.
func (v val) text() (string, error) {
	if s, ok := plainString(v.raw); ok {
		return s, nil
	}
	var s string
	err := json.Unmarshal(v.raw, &s)
	return s, err
}

// plainString returns the content of a JSON string literal that needs no
// unquoting; ok is false for any other input.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	b := raw[1 : len(raw)-1]
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// anyStr returns the text as a fact value: nil when absent.
func (v val) anyStr() (any, error) {
	s, ok, err := v.str()
	if err != nil || !ok {
		return nil, err
	}
	return s, nil
}

// boolean returns a JSON boolean, or a 0/1 number or string as false/true.
func (v val) boolean() (bool, error) {
	switch string(v.raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	n, ok, err := v.int()
	if err != nil || !ok {
		return false, fmt.Errorf("value %s is not a boolean", v.raw)
	}
	return n != 0, nil
}

// anyBool returns the boolean as a fact value: nil when absent.
func (v val) anyBool() (any, error) {
	if v.null() {
		return nil, nil
	}
	b, err := v.boolean()
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ints decodes a JSON array of integers; null is an empty list.
func (v val) ints() ([]int, error) {
	if v.null() {
		return []int{}, nil
	}
	var raw []val
	if err := json.Unmarshal(v.raw, &raw); err != nil {
		return nil, fmt.Errorf("value %s is not a list", v.raw)
	}
	out := make([]int, 0, len(raw))
	for _, r := range raw {
		n, ok, err := r.int()
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// strs decodes a JSON array of strings (or one string); null is an empty list.
func (v val) strs() ([]string, error) {
	if v.null() {
		return []string{}, nil
	}
	if v.raw[0] == '"' {
		s, _, err := v.str()
		return []string{s}, err
	}
	var raw []val
	if err := json.Unmarshal(v.raw, &raw); err != nil {
		return nil, fmt.Errorf("value %s is not a list", v.raw)
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		s, ok, err := r.str()
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// show renders the value for evidence lines.
func (v val) show() string {
	if v.null() {
		return "absent"
	}
	return string(v.raw)
}

// regMap is one registry key as the bundle's Reg helper emits it: every
// requested value name, null when absent.
type regMap map[string]val

// get returns the named value; a name the bundle did not emit is null.
func (r regMap) get(name string) val { return r[name] }

// strictDecoder decodes JSON values one after another, each exactly as a
// json.Decoder of its own (DisallowUnknownFields, Decode, then More) would:
// the same values, the same errors. It keeps one json.Decoder, and so one read
// buffer, for as long as every value was consumed whole without error, and
// starts afresh after anything else. Values decoded never alias its buffer.
// The zero value is ready to use; it is not safe for concurrent use (Parse
// makes one per call).
type strictDecoder struct {
	src bytes.Reader
	dec *json.Decoder
	fed int64 // bytes handed to dec since it was made
}

// decode decodes the one JSON value in data into out, rejecting unknown
// fields. more reports, after a value decoded without error, that data holds
// a further value (json.Decoder.More).
func (s *strictDecoder) decode(data []byte, out any) (more bool, err error) {
	if s.dec == nil {
		s.src.Reset(nil)
		s.dec = json.NewDecoder(&s.src)
		s.dec.DisallowUnknownFields()
		s.fed = 0
	}
	s.src.Reset(data)
	s.fed += int64(len(data))
	err = s.dec.Decode(out)
	if err == nil {
		more = s.dec.More()
	}
	if err != nil || more || s.src.Len() > 0 || s.dec.InputOffset() != s.fed {
		s.dec = nil // the next value starts with nothing left of this one
	}
	return more, err
}

// decodeStrict decodes data into out, rejecting unknown fields, so a script
// and parser that drift apart fail in tests instead of losing data.
func (p *parser) decodeStrict(data []byte, out any) error {
	more, err := p.json.decode(data, out)
	if err != nil {
		return err
	}
	if more {
		return fmt.Errorf("trailing data")
	}
	return nil
}

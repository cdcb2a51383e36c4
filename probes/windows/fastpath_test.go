package windows

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/lab/winhosts"
)

// The fast paths that make Parse cheaper must give exactly what the code they
// replaced gave. Each is compared here with that code, kept as a reference.

// freshDecode is how a line and its data were decoded before strictDecoder:
// a json.Decoder of their own.
func freshDecode(data []byte, out any) (more bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err = dec.Decode(out); err == nil {
		more = dec.More()
	}
	return more, err
}

// compareDecoders decodes each value with one shared strictDecoder and with a
// fresh decoder, alternately into a probe line and a W01 payload, and fails on
// any difference in result, error text or decoded value.
func compareDecoders(t *testing.T, values [][]byte) {
	t.Helper()
	var shared strictDecoder
	for i, v := range values {
		newOut := func() any {
			if i%2 == 0 {
				return &wireLine{}
			}
			return &w01Data{}
		}
		gotOut, wantOut := newOut(), newOut()
		gotMore, gotErr := shared.decode(v, gotOut)
		wantMore, wantErr := freshDecode(v, wantOut)
		if gotMore != wantMore || errText(gotErr) != errText(wantErr) {
			t.Fatalf("value %d %q: shared (%v, %v), fresh (%v, %v)", i, v, gotMore, gotErr, wantMore, wantErr)
		}
		if !reflect.DeepEqual(gotOut, wantOut) {
			t.Fatalf("value %d %q: shared decoded %+v, fresh %+v", i, v, gotOut, wantOut)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestStrictDecoderMatchesFreshDecoder(t *testing.T) {
	line := []byte(`{"data":{"a":1},"id":"W40","ms":3,"ok":true}`)
	w01 := []byte(`{"build":"19045","caption":"Microsoft Windows 10 Enterprise","cv":{"UBR":4412}}`)
	tests := []struct {
		name   string
		values [][]byte
	}{
		{"clean values", [][]byte{line, w01, line, w01}},
		{"trailing brace left behind", [][]byte{append(bytes.Clone(line), '}'), w01, line}},
		{"trailing value", [][]byte{append(bytes.Clone(line), []byte(` {"x":1}`)...), w01, line}},
		{"trailing whitespace", [][]byte{append(bytes.Clone(line), ' ', '\t'), w01}},
		{"cut short", [][]byte{line[:20], w01, line}},
		{"syntax error", [][]byte{[]byte(`{"id":"W01",ok:true}`), w01, line}},
		{"unknown field", [][]byte{[]byte(`{"id":"W01","ok":true,"extra":1}`), []byte(`{"build":"1","nope":2}`), line}},
		{"type error", [][]byte{[]byte(`{"id":7,"ok":true}`), []byte(`{"cv":[1]}`), line, w01}},
		{"empty and blank", [][]byte{{}, []byte("  "), line, w01}},
		{"two values in one", [][]byte{[]byte(`{"id":"A","ok":true}{"id":"B","ok":true}`), w01}},
		{"number then more", [][]byte{[]byte(`1`), []byte(`2 3`), line, w01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { compareDecoders(t, tt.values) })
	}
}

func FuzzStrictDecoder(f *testing.F) {
	out, err := winhosts.Output("win10-22h2", testNonce)
	if err != nil {
		f.Fatal(err)
	}
	var short [][]byte // a handful of small real lines: the fuzzer mutates them quickly
	for l := range bytes.Lines(out) {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] == '{' && len(l) < 600 && len(short) < 6 {
			short = append(short, l)
		}
	}
	f.Add(bytes.Join(short, []byte("\n")))
	f.Add([]byte("{\"id\":\"W01\",\"ok\":true}}\n{\"build\":\"1\"}\n{\"id\":\"W02\",\"ok\":tr\n{}"))
	f.Add([]byte("{\"id\":\"W01\",\"ok\":true} 7\n\n[1,2]\n\"s\"\n{\"data\":{\"x\":[1,{\"y\":null}]},\"id\":\"Q\",\"ok\":false}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		values := bytes.Split(b, []byte("\n"))
		if len(values) > 64 {
			values = values[:64]
		}
		compareDecoders(t, values)
	})
}

// guidPattern is the regexp canonicalGUID used before it checked by hand.
var guidPattern = regexp.MustCompile(`^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$`)

func canonicalGUIDRegexp(s string) string {
	s = strings.TrimSpace(s)
	if !guidPattern.MatchString(s) {
		return ""
	}
	return "{" + strings.ToUpper(strings.Trim(s, "{}")) + "}"
}

func FuzzCanonicalGUID(f *testing.F) {
	for _, s := range []string{"{0CCE9210-69AE-11D9-BED3-505054503030}", " 0cce9210-69ae-11d9-bed3-505054503030} ",
		"{{0CCE9210-69AE-11D9-BED3-505054503030}", "{0CCE9210-69AE-11D9-BED3-50505450303}", "0CCE9210x69AE-11D9-BED3-505054503030",
		"{0CCE9210-69AE-11D9-BED3-50505450303G}", "", "{}", "\u00a0{0CCE9210-69AE-11D9-BED3-505054503030}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := canonicalGUID(s), canonicalGUIDRegexp(s); got != want {
			t.Fatalf("canonicalGUID(%q) = %q, the regexp gives %q", s, got, want)
		}
	})
}

// FuzzValText compares val.text with json.Unmarshal on JSON string literals,
// the way the encoder writes them and as the fuzzer shapes them.
func FuzzValText(f *testing.F) {
	for _, s := range []string{"plain", `C:\Windows`, "tab\there", "ünïcode", "\u2028", "bad \xff utf8", "quote\"d", ""} {
		f.Add(s, []byte(`"`+s+`"`))
	}
	f.Add("", []byte(`"\ud800 lone surrogate"`))
	f.Add("", []byte(`"\u00e9 escaped"`))
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, lit := range [][]byte{enc, raw} {
			if len(lit) == 0 || lit[0] != '"' || !json.Valid(lit) {
				continue
			}
			var want string
			wantErr := json.Unmarshal(lit, &want)
			got, gotErr := val{raw: lit}.text()
			if got != want || errText(gotErr) != errText(wantErr) {
				t.Fatalf("text(%q) = %q, %v; json.Unmarshal gives %q, %v", lit, got, gotErr, want, wantErr)
			}
		}
	})
}

package store

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes/checks"
)

// TestDocFieldsCoverStruct fails when a document type gains a field that
// decodeFields does not know: such documents would still decode (through
// encoding/json), only slowly.
func TestDocFieldsCoverStruct(t *testing.T) {
	for _, v := range []fielded{&checkDoc{}, &requirementDoc{}} {
		rv := reflect.ValueOf(v).Elem()
		var tags, known []string
		for i := range rv.NumField() {
			tag, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
			tags = append(tags, tag)
		}
		for _, f := range v.fields() {
			known = append(known, f.name)
		}
		slices.Sort(tags)
		slices.Sort(known)
		if !slices.Equal(tags, known) {
			t.Errorf("%T: fields() names %v, the struct's tags are %v", v, known, tags)
		}
	}
}

// docSeeds are documents as marshalDoc writes them, from the fixtures'
// checks and requirements, and hand-made ones that only encoding/json may
// decode (or reject).
func docSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"scan_windows10_en_hmi.json", "scan_debian12_historian.json"} {
		sc := loadScan(t, name, 1, t0)
		for _, c := range sc.Checks {
			b, err := marshalDoc(newCheckDoc(c))
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, b)
		}
		for _, r := range sc.Requirements {
			b, err := marshalDoc(newRequirementDoc(r))
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	odd := []checks.Result{
		{Title: "quotes \" and \\ backslashes", Actual: "HKLM\\SYSTEM\\CurrentControlSet", Evidence: []string{"tab\there", "nl\nthere", "\x01\x1f"}},
		{Title: "unicode: Größe ≥ 4 — ok ✓ 🔒", Evidence: []string{"\u2028\u2029", "\ufffd", "<script>&"}},
		{Title: "empty evidence list", Evidence: []string{}},
		{Title: string([]byte{0xff, 'x'}), Actual: "invalid UTF-8 becomes U+FFFD"},
	}
	for _, c := range odd {
		b, err := marshalDoc(newCheckDoc(c))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	b, err := marshalDoc(newRequirementDoc(mapping.RequirementResult{FR: "FR 1", Controls: []string{}, Checks: []string{"a", ""}}))
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, b)
	for _, s := range []string{
		`{}`, `{"title":"x"}`, ` {"title":"x"}`, `{"title":"x"} `, `{"title": "x"}`, `{"Title":"case folded"}`,
		`{"title":"a","title":"repeated"}`, `{"unknown":"x","title":"y"}`, `{"title":null}`, `{"evidence":null}`,
		`{"evidence":["a",null]}`, `{"title":1}`, `{"title":"x",}`, `{"title":"x"`, `{"title":"\ud800"}`,
		`{"title":"\ud83d\udd12"}`, `{"title":"\ud83d\u0041"}`, `{"title":"\/\b\f"}`, `{"title":"\x"}`,
		`{"title":"\u00e9\u0000"}`, `{"title":"raw` + "\t" + `tab"}`, `{"evidence":[]}`, `{"evidence":["a","b"]}`,
		`{"evidence":"not a list"}`, `{"fr":"FR 1","controls":["c"],"checks":[]}`, `[]`, `"x"`, ``, `{`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// sameAsUnmarshal checks decodeDoc against json.Unmarshal for one document.
func sameAsUnmarshal[T any, P interface {
	*T
	fielded
}](t *testing.T, data []byte) {
	t.Helper()
	var got, want T
	gotErr := decodeDoc[T, P](data, &got)
	wantErr := json.Unmarshal(data, &want)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: decodeDoc error %v, json.Unmarshal error %v", data, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\ndecodeDoc      %#v\njson.Unmarshal %#v", data, got, want)
	}
}

func TestDecodeDoc(t *testing.T) {
	fast := 0
	for _, data := range docSeeds(t) {
		sameAsUnmarshal[checkDoc](t, data)
		sameAsUnmarshal[requirementDoc](t, data)
		var c checkDoc
		var r requirementDoc
		if decodeFields(data, c.fields()) || decodeFields(data, r.fields()) {
			fast++
		}
	}
	// The fixtures' documents must take the fast path, or it is dead code.
	if fast < 20 {
		t.Errorf("only %d documents decoded without encoding/json", fast)
	}
}

func FuzzDecodeDoc(f *testing.F) {
	for _, s := range docSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsUnmarshal[checkDoc](t, data)
		sameAsUnmarshal[requirementDoc](t, data)
	})
}

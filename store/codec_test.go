package store

import (
	"database/sql"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/otsweep/otsweep/mapping"
	"github.com/otsweep/otsweep/probes/checks"
)

// fillFields sets every field of the struct v points to a distinct non-zero
// value, so that a codec dropping a field is caught.
func fillFields(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f, name := rv.Field(i), rv.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			f.SetString(name + "-value")
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.ValueOf([]string{name + "-1", name + "-2"}).Convert(f.Type()))
		default:
			t.Fatalf("%s.%s: kind %s not handled: extend fillFields and the document type", rv.Type(), name, f.Kind())
		}
	}
}

func TestDocsKeepEveryField(t *testing.T) {
	t.Run("check result", func(t *testing.T) {
		var in checks.Result
		fillFields(t, &in)
		b, err := marshalDoc(newCheckDoc(in))
		if err != nil {
			t.Fatal(err)
		}
		var d checkDoc
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if out := d.result(in.ID, in.Status); !reflect.DeepEqual(out, in) {
			t.Errorf("round trip lost fields:\n got %+v\nwant %+v", out, in)
		}
	})
	t.Run("requirement result", func(t *testing.T) {
		var in mapping.RequirementResult
		fillFields(t, &in)
		b, err := marshalDoc(newRequirementDoc(in))
		if err != nil {
			t.Fatal(err)
		}
		var d requirementDoc
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if out := d.result(in.ID, in.State); !reflect.DeepEqual(out, in) {
			t.Errorf("round trip lost fields:\n got %+v\nwant %+v", out, in)
		}
	})
}

func TestVectorCodec(t *testing.T) {
	tests := []struct {
		name    string
		text    sql.NullString
		want    mapping.Vector
		wantErr bool
	}{
		{"null is zero", sql.NullString{}, mapping.Vector{}, false},
		{"levels", sql.NullString{String: "1221034", Valid: true}, mapping.Vector{1, 2, 2, 1, 0, 3, 4}, false},
		{"too short", sql.NullString{String: "122", Valid: true}, mapping.Vector{}, true},
		{"level 5", sql.NullString{String: "1221035", Valid: true}, mapping.Vector{}, true},
		{"not a digit", sql.NullString{String: "12210x4", Valid: true}, mapping.Vector{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeVector(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("decodeVector(%q) error %v, want error %v", tt.text.String, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got != tt.want {
				t.Fatalf("decodeVector(%q) = %v, want %v", tt.text.String, got, tt.want)
			}
			if tt.text.Valid {
				back, err := encodeVector(got)
				if err != nil || back != tt.text.String {
					t.Fatalf("encodeVector(%v) = %q, %v; want %q", got, back, err, tt.text.String)
				}
			}
		})
	}
	if _, err := encodeVector(mapping.Vector{0, 0, 0, -1}); err == nil {
		t.Error("encodeVector accepted level -1")
	}
}

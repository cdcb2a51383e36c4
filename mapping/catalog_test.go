package mapping

import (
	"strings"
	"testing"
)

func TestCatalogInvariants(t *testing.T) {
	c := DefaultCatalog()
	var srs, res int
	for _, r := range c.Items {
		if r.IsRE {
			res++
		} else {
			srs++
		}
	}
	if srs != 51 || res != 49 {
		t.Fatalf("catalog has %d SRs and %d REs, want 51 and 49", srs, res)
	}
	for n, want := range map[int]int{1: 37, 2: 60, 3: 90, 4: 100} {
		if got := len(c.SelectedAt(n)); got != want {
			t.Errorf("SL %d selects %d items, want %d", n, got, want)
		}
	}
	for _, r := range c.Items {
		for i := 1; i < len(r.Levels); i++ {
			if r.Levels[i] != r.Levels[i-1]+1 {
				t.Errorf("%s: levels %v not cumulative", r.ID, r.Levels)
			}
		}
		if r.Levels[len(r.Levels)-1] != 4 {
			t.Errorf("%s: levels %v do not reach SL 4", r.ID, r.Levels)
		}
		if r.IsRE {
			sr, ok := c.Lookup(r.SR)
			if !ok {
				t.Fatalf("%s: base %s missing", r.ID, r.SR)
			}
			if r.MinLevel() < sr.MinLevel() {
				t.Errorf("%s selected at SL %d below its SR at SL %d", r.ID, r.MinLevel(), sr.MinLevel())
			}
		}
		if !strings.HasPrefix(r.ID, "SR "+r.FR[3:]+".") {
			t.Errorf("%s filed under %s", r.ID, r.FR)
		}
	}
}

// Spot checks of levels an auditor will look for first, including the ones
// where public sources disagree (see the catalog's header).
func TestCatalogKnownLevels(t *testing.T) {
	c := DefaultCatalog()
	for id, min := range map[string]int{
		"SR 1.1": 1, "SR 1.1 RE 1": 2, "SR 1.1 RE 2": 3, "SR 1.1 RE 3": 4,
		"SR 1.2": 2, "SR 1.7 RE 1": 3, "SR 2.6": 2, "SR 2.7": 3, "SR 2.11": 2,
		"SR 2.12": 3, "SR 3.4": 2, "SR 3.9 RE 1": 4, "SR 4.1 RE 2": 4,
		"SR 5.2 RE 1": 2, "SR 6.2": 2, "SR 7.8": 2, "SR 7.6 RE 1": 3,
	} {
		r, ok := c.Lookup(id)
		if !ok {
			t.Errorf("%s missing", id)
			continue
		}
		if r.MinLevel() != min {
			t.Errorf("%s selected from SL %d, want %d", id, r.MinLevel(), min)
		}
	}
	if fr := c.FRs[5]; fr.ID != "FR 6" || fr.Abbrev != "TRE" {
		t.Errorf("FR 6 = %+v", fr)
	}
}

func TestParseCatalogRejects(t *testing.T) {
	good := string(catalogYAML)
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "    abbrev: IAC\n", "    abbrev: IAC\n    colour: red\n", "unknown field"},
		{"not cumulative", "        sl: [2, 3, 4]\n        res:\n          - id: \"SR 1.2 RE 1\"", "        sl: [2, 4]\n        res:\n          - id: \"SR 1.2 RE 1\"", "not cumulative"},
		{"RE below SR", "          - id: \"SR 1.2 RE 1\"\n            title: \"Unique identification and authentication\"\n            sl: [3, 4]", "          - id: \"SR 1.2 RE 1\"\n            title: \"Unique identification and authentication\"\n            sl: [1, 2, 3, 4]", "below its SR"},
		{"wrong FR", "      - id: \"SR 1.4\"", "      - id: \"SR 2.40\"", "not an SR id of FR 1"},
		{"count", "system_requirements: 51", "system_requirements: 52", "header says 52"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("fixture text %q not in catalog", tc.old)
			}
			_, err := ParseCatalog("cat.yaml", []byte(strings.Replace(good, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "cat.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestVectorJSON(t *testing.T) {
	v := Vector{1, 2, 3, 4, 0, 1, 2}
	b, _ := v.MarshalJSON()
	if string(b) != `{"FR 1":1,"FR 2":2,"FR 3":3,"FR 4":4,"FR 5":0,"FR 6":1,"FR 7":2}` {
		t.Fatalf("got %s", b)
	}
	var back Vector
	if err := back.UnmarshalJSON(b); err != nil || back != v {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if err := back.UnmarshalJSON([]byte(`{"FR 9":1}`)); err == nil {
		t.Fatal("FR 9 accepted")
	}
	if err := back.UnmarshalJSON([]byte(`{"FR 1":5}`)); err == nil {
		t.Fatal("level 5 accepted")
	}
}

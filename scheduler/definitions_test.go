package scheduler

import (
	"strings"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

// Every shipped definition loads: ids unique, every fact documented, every
// parameter declared, every control's checks and requirements exist.
func TestShippedDefinitions(t *testing.T) {
	d, err := LoadDefinitions("", BundleFacts())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Checks.ForPlatform(probes.Linux)); n < 40 {
		t.Errorf("only %d Linux checks", n)
	}
	mapped := map[string]bool{}
	for _, c := range d.Controls {
		for _, id := range c.Checks() {
			mapped[id] = true
		}
	}
	for _, c := range d.Checks.All() {
		if !mapped[c.ID] && len(d.Requirements(c.ID)) == 0 {
			t.Logf("check %s supports no 62443-3-3 requirement (informational)", c.ID)
		}
	}
}

// No documented fact may be the dotted prefix of another ("a.b" and "a.b.c"):
// checks see facts as nested maps, where one would hide the other.
func TestFactNamesNest(t *testing.T) {
	for p, names := range documentedFacts() {
		for a := range names {
			for b := range names {
				if a != b && strings.HasPrefix(b, a+".") {
					t.Errorf("%s facts: %q is a prefix of %q", p, a, b)
				}
			}
		}
	}
}

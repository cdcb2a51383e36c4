package mapping

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzBlueprint feeds arbitrary user blueprint files to the loader: it must
// return a blueprint or an error, never panic or loop.
func FuzzBlueprint(f *testing.F) {
	entries, _ := blueprintFS.ReadDir("data/blueprints")
	for _, e := range entries {
		b, _ := blueprintFS.ReadFile("data/blueprints/" + e.Name())
		f.Add(b)
	}
	f.Add([]byte("name: x\nextends: x\n"))
	f.Add([]byte("name: x\nplatforms: [linux]\nsl_target: {\"FR 1\": 9}\nparameters: {min_password_length: [1]}\n"))
	cat := DefaultCatalog()
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "b.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		bs, err := LoadBlueprints(cat, dir)
		if err != nil {
			return
		}
		for _, n := range bs.Names() {
			bp, _ := bs.Get(n)
			for i, l := range bp.Target {
				if l < 0 || l > MaxLevel {
					t.Fatalf("%s: FR %d level %d accepted", n, i+1, l)
				}
			}
		}
	})
}

// FuzzCatalog: a mangled catalog is rejected with an error, never accepted
// with broken invariants.
func FuzzCatalog(f *testing.F) {
	f.Add(catalogYAML)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCatalog("c.yaml", data)
		if err != nil {
			return
		}
		for _, r := range c.Items {
			if len(r.Levels) == 0 || r.Levels[len(r.Levels)-1] != MaxLevel {
				t.Fatalf("%s accepted with levels %v", r.ID, r.Levels)
			}
		}
	})
}

// FuzzControls feeds arbitrary user control files to the loader: it must
// return controls or an error naming the file, never panic, and a control it
// accepts maps to requirements of the catalog and checks that exist.
func FuzzControls(f *testing.F) {
	entries, _ := controlFS.ReadDir("data/controls")
	for _, e := range entries {
		b, _ := controlFS.ReadFile("data/controls/" + e.Name())
		f.Add(b)
	}
	f.Add([]byte("- id: c\n  any_of: [a, b]\n  requirements: [SR 3.2]\n"))
	f.Add([]byte("- id: c\n  all_of: [a]\n  any_of: [b]\n  requirements: [SR 9.9 RE 9]\n"))
	cat := DefaultCatalog()
	known := func(id string) bool { return id != "" && len(id) < 64 }
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "c.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cs, err := LoadControls(cat, dir, known)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.ID == "" || len(c.Requirements) == 0 || (len(c.AnyOf) == 0) == (len(c.AllOf) == 0) {
				t.Fatalf("accepted control %+v", c)
			}
			for _, r := range c.Requirements {
				if _, ok := cat.Lookup(r); !ok {
					t.Fatalf("control %s accepted with requirement %q", c.ID, r)
				}
			}
			for _, ch := range c.Checks() {
				if !known(ch) {
					t.Fatalf("control %s accepted with check %q", c.ID, ch)
				}
			}
		}
	})
}

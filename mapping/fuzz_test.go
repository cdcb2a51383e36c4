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

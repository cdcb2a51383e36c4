package inventories

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader, seeded with the examples and
// the bad fixtures. The loader must never panic, must return either an
// inventory or a *LoadError, and whatever it accepts must hold the
// invariants the rest of otsweep relies on.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("examples/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, p := range append(seeds, bad...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("assets: [{<<: *x}]"))
	f.Add([]byte("x-a: &a {<<: *a}\nassets: [{<<: *a}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collector
		inv, err := load("fuzz", []source{{name: "fuzz.yaml", data: data}}, testValidator(), &c)
		if (inv == nil) == (err == nil) {
			t.Fatalf("inventory %v with error %v", inv, err)
		}
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Issues) == 0 {
				t.Fatalf("error %T %v, want a non-empty *LoadError", err, err)
			}
			for _, is := range le.Issues {
				if is.Pos.File != "fuzz.yaml" && is.Pos.File != "fuzz" || is.Pos.Line < 0 || is.Message == "" {
					t.Fatalf("bad issue %+v", is)
				}
			}
			return
		}
		for _, a := range inv.Assets {
			if !validName(a.Name) || !a.Transport.Fits(a.Platform) || a.Role == "" {
				t.Fatalf("accepted asset %+v", a)
			}
			if a.Transport == Local {
				if !isLocalAddress(a.Address) {
					t.Fatalf("accepted local asset %+v", a)
				}
			} else if checkAddress(a.Address) != "" || a.Port < 1 || a.Port > 65535 || a.Credential == "" {
				t.Fatalf("accepted asset %+v", a)
			}
			if a.Credential != "" {
				c, ok := inv.Credential(a.Credential)
				if !ok || credentialFit(c, a.Transport) != "" {
					t.Fatalf("asset %s with credential %+v", a.Name, c)
				}
			}
		}
		for _, cm := range inv.Countermeasures {
			n := 0
			for _, s := range []string{cm.Scope.Asset, cm.Scope.Role, cm.Scope.Zone} {
				if s != "" {
					n++
				}
			}
			if n != 1 || cm.Expires.IsZero() {
				t.Fatalf("accepted countermeasure %+v", cm)
			}
		}
	})
}

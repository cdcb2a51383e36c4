package scheduler

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite generated documents and golden files")

// The committed docs/checks.md must be what the definitions generate.
func TestDocs(t *testing.T) {
	d, err := LoadDefinitions("", BundleFacts())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := d.WriteChecksDoc(&b); err != nil {
		t.Fatal(err)
	}
	const path = "../docs/checks.md"
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scheduler -run TestDocs -update)", err)
	}
	if !bytes.Equal(old, b.Bytes()) {
		t.Fatal("docs/checks.md is out of date: run go test ./scheduler -run TestDocs -update")
	}
}

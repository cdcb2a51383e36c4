package winhosts

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/probes/windows"
)

func TestHosts(t *testing.T) {
	seen := map[string]bool{}
	elevated := 0
	for _, h := range Hosts() {
		if h.Name == "" || h.Description == "" || seen[h.Name] {
			t.Errorf("bad or duplicate host %+v", h)
		}
		seen[h.Name] = true
		if h.Elevated {
			elevated++
		}
	}
	if len(seen) != 10 || elevated != 9 {
		t.Fatalf("%d hosts, %d elevated", len(seen), elevated)
	}
}

func TestOutput(t *testing.T) {
	const nonce = "a1b2c3d4e5f60718"
	for _, h := range Hosts() {
		t.Run(h.Name, func(t *testing.T) {
			out, err := Output(h.Name, nonce)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte(Placeholder)) {
				t.Fatal("placeholder left in the output")
			}
			for i, c := range out {
				if c > 0x7e || (c < 0x20 && c != '\r' && c != '\n') {
					t.Fatalf("byte 0x%02x at %d: the bundle prints 7-bit ASCII only", c, i)
				}
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
			if lines[0] != "@@OTSCAN "+nonce+" BEGIN schema="+windows.Schema || lines[len(lines)-1] != "@@OTSCAN "+nonce+" END" {
				t.Fatalf("markers: %q ... %q", lines[0], lines[len(lines)-1])
			}
			if strings.Contains(strings.ReplaceAll(string(out), "\r\n", ""), "\n") {
				t.Fatal("every line ends in CRLF, as the Windows console writes it")
			}
			obs, err := windows.Parse(nonce, out)
			if err != nil {
				t.Fatal(err)
			}
			if !obs.Complete || obs.Elevated != h.Elevated || len(obs.Probes) != len(lines)-2 {
				t.Fatalf("complete %v elevated %v probes %d", obs.Complete, obs.Elevated, len(obs.Probes))
			}
		})
	}
	if _, err := Output("win95", "a1b2c3d4e5f60718"); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("want ErrUnknownHost, got %v", err)
	}
}

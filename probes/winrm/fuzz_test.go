package winrm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReplies feeds arbitrary reply bodies, as a hostile or broken host
// could send them, to every parser of WinRM replies: none may panic, an
// accepted reply yields ids that are safe to put in the next request, and a
// fault's text stays bounded and on one line.
func FuzzReplies(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Reason><s:Text>` +
		strings.Repeat("x\x1b", 600) + `</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`))
	const id = "1A6DEE6B-EC68-4DD6-87E9-030C0048ECC4"
	f.Fuzz(func(t *testing.T, body []byte) {
		if shell, err := parseCreate(body); err == nil && !validID(shell) {
			t.Fatalf("create accepted shell id %q", shell)
		} else if err != nil && !errors.Is(err, errReply) {
			t.Fatalf("create error %v does not wrap errReply", err)
		}
		if cmd, err := parseCommand(body); err == nil && !validID(cmd) {
			t.Fatalf("command accepted command id %q", cmd)
		} else if err != nil && !errors.Is(err, errReply) {
			t.Fatalf("command error %v does not wrap errReply", err)
		}
		if r, err := parseReceive(body, id); err == nil {
			if len(r.stdout)+len(r.stderr) > 2*len(body) {
				t.Fatalf("receive decoded %d bytes from a %d-byte body", len(r.stdout)+len(r.stderr), len(body))
			}
		} else if !errors.Is(err, errReply) {
			t.Fatalf("receive error %v does not wrap errReply", err)
		}
		if fe, ok := parseFault("Receive", 500, body); ok {
			if len(fe.Reason) > maxReason || strings.ContainsAny(fe.Reason, "\r\n") || !utf8.ValidString(fe.Reason) && utf8.Valid(body) {
				t.Fatalf("fault reason %q", fe.Reason)
			}
			_ = fe.Error()
		}
	})
}

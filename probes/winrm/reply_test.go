package winrm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFault(t *testing.T) {
	tests := []struct {
		file      string
		subcode   string
		wsman     uint32
		timedOut  bool
		quota     bool
		reasonHas string
	}{
		{"fault_timedout.xml", "w:TimedOut", 2150858793, true, false, "within the time specified in OperationTimeout."},
		{"fault_quota.xml", "w:QuotaLimit", 2150859173, false, true, "The maximum number of concurrent shells for this user has been exceeded."},
		{"fault_provider_too_long.xml", "w:InternalError", 2147942606, false, false, "The filename or extension is too long."},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, ok := parseFault("Receive", 500, fixture(t, tc.file))
			if !ok {
				t.Fatal("no fault parsed")
			}
			if f.Subcode != tc.subcode || f.WSMan != tc.wsman || f.TimedOut() != tc.timedOut || f.QuotaExceeded() != tc.quota {
				t.Errorf("got %+v timedOut=%v quota=%v", f, f.TimedOut(), f.QuotaExceeded())
			}
			if !strings.Contains(f.Reason, tc.reasonHas) || strings.Contains(f.Reason, "\n") {
				t.Errorf("reason %q", f.Reason)
			}
			if !errors.Is(f, probes.ErrProtocol) || probes.StatusOf(f) != probes.StatusError {
				t.Errorf("fault does not classify as a protocol error")
			}
		})
	}
	for _, name := range []string{"receive_done_123.xml", "create_response.xml"} {
		if _, ok := parseFault("Receive", 500, fixture(t, name)); ok {
			t.Errorf("%s parsed as a fault", name)
		}
	}
}

func TestParseReplies(t *testing.T) {
	id, err := parseCreate(fixture(t, "create_response.xml"))
	if err != nil || id != "67A74734-DD32-4F10-89DE-49A060483810" {
		t.Errorf("create: %q %v", id, err)
	}
	id, err = parseCommand(fixture(t, "command_response.xml"))
	if err != nil || id != "1A6DEE6B-EC68-4DD6-87E9-030C0048ECC4" {
		t.Errorf("command: %q %v", id, err)
	}
	r, err := parseReceive(fixture(t, "receive_running.xml"), "1A6DEE6B-EC68-4DD6-87E9-030C0048ECC4")
	if err != nil || string(r.stdout) != "That's all folks!!!" || string(r.stderr) != "This is stderr, I'm pretty sure!" || r.done {
		t.Errorf("running: %+v %v", r, err)
	}
	r, err = parseReceive(fixture(t, "receive_done_123.xml"), "4531DAA3-60C2-4CAD-9FCA-F433101DAC8A")
	if err != nil || !r.done || r.exitCode != 123 {
		t.Errorf("done: %+v %v", r, err)
	}
}

func TestParseRejects(t *testing.T) {
	running := string(fixture(t, "receive_running.xml"))
	done := string(fixture(t, "receive_done_123.xml"))
	const cmd = "1A6DEE6B-EC68-4DD6-87E9-030C0048ECC4"
	tests := []struct {
		name  string
		parse func() error
	}{
		{"truncated receive", func() error { _, err := parseReceive([]byte(running[:len(running)/2]), cmd); return err }},
		{"stream not base64", func() error {
			_, err := parseReceive([]byte(strings.Replace(running, "VGhhdCdzIGFsbCBmb2xrcyEhIQ==", "%%%not-base64", 1)), cmd)
			return err
		}},
		{"stream of another command", func() error { _, err := parseReceive([]byte(running), "0000"); return err }},
		{"done without exit code", func() error {
			_, err := parseReceive([]byte(strings.Replace(done, "<rsp:ExitCode>123</rsp:ExitCode>", "", 1)), "4531DAA3-60C2-4CAD-9FCA-F433101DAC8A")
			return err
		}},
		{"create reply to a receive", func() error { _, err := parseReceive(fixture(t, "create_response.xml"), cmd); return err }},
		{"fault as a create reply", func() error { _, err := parseCreate(fixture(t, "fault_quota.xml")); return err }},
		{"command reply without id", func() error {
			_, err := parseCommand([]byte(strings.Replace(string(fixture(t, "command_response.xml")), cmd, "", 1)))
			return err
		}},
		{"shell id that would break xml", func() error {
			_, err := parseCreate([]byte(strings.ReplaceAll(string(fixture(t, "create_response.xml")), "67A74734-DD32-4F10-89DE-49A060483810", "]]&gt;&lt;x")))
			return err
		}},
		{"garbage", func() error { _, err := parseCreate([]byte("\x00\xff SSH-2.0")); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.parse(); !errors.Is(err, errReply) {
				t.Errorf("err = %v, want errReply", err)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"0", 0}, {"1", 1}, {"123", 123}, {"4294967295", -1}, {"3221225786", -1073741510}, {"-1", -1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := exitCode(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("exitCode(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "x", "4294967296", "-2147483649"} {
		if _, err := exitCode(bad); err == nil {
			t.Errorf("exitCode(%q) accepted", bad)
		}
	}
}

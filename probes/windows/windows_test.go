package windows

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/otsweep/otsweep/probes"
)

func TestCommand(t *testing.T) {
	nonce := probes.NewNonce()
	c := Command(nonce)
	if c.Line != "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command -" {
		t.Fatalf("line %q", c.Line)
	}
	s := string(c.Stdin)
	if !strings.HasPrefix(s, "& {\n") || !strings.HasSuffix(s, "\n}\n\n") {
		t.Fatalf("stdin must be one & { ... } block followed by two newlines")
	}
	if strings.Count(s, "$N = '"+nonce+"'") != 1 {
		t.Fatal("nonce must be substituted exactly once, on the $N line")
	}
	if strings.Contains(s, NoncePlaceholder) || strings.Count(s, nonce) != 1 {
		t.Fatal("the nonce is the only substitution and appears once")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(s, "& {\n"), "\n}\n\n")
	for i, line := range strings.Split(body, "\n") {
		if strings.TrimSpace(line) == "" {
			t.Fatalf("line %d is blank: with -Command - a blank line ends the block early", i+2)
		}
		if strings.HasSuffix(line, "\r") {
			t.Fatalf("line %d ends in CR", i+2)
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7e || (s[i] < 0x20 && s[i] != '\n') {
			t.Fatalf("non-ASCII or control byte 0x%02x at %d: stdin must be 7-bit ASCII", s[i], i)
		}
	}
	if Script() != strings.Replace(s, nonce, NoncePlaceholder, 1) {
		t.Fatal("Script must be the stdin with the placeholder in place of the nonce")
	}
}

func TestCommandRejectsBadNonce(t *testing.T) {
	for _, n := range []string{"", "abc", "ABCDEF0123456789", "0123456789abcdeg", "'; Remove-Item C:\\ -Recurse; '", strings.Repeat("a", 65)} {
		t.Run(n, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("want a panic")
				}
			}()
			Command(n)
		})
	}
}

func TestBundleProbeOrderAndCoverage(t *testing.T) {
	ids := bundleOrder()
	if len(ids) == 0 || ids[0] != "_meta" || ids[len(ids)-1] != "_end" {
		t.Fatalf("_meta must run first and _end last: %v", ids)
	}
	// Slow probes run last so a timeout still leaves the fast ones parseable.
	tail := strings.Join(ids[len(ids)-5:len(ids)-1], ",")
	if tail != "W05,W24,W32,W38" {
		t.Errorf("slow probes W05, W24, W32, W38 must run last, got %s", tail)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("probe %s runs twice", id)
		}
		seen[id] = true
	}
	lines := map[string]bool{}
	catalog := map[string]bool{}
	for _, h := range handlers() {
		lines[h.line] = true
		for _, p := range h.probes {
			catalog[p] = true
		}
		if !seen[h.line] {
			t.Errorf("handler reads line %s the bundle never prints", h.line)
		}
	}
	for _, id := range ids {
		if !lines[id] {
			t.Errorf("bundle prints %s but no handler reads it", id)
		}
	}
	// Table A: W01-W41; W04 (Windows Update COM search) is not batched.
	n := 0
	for i := 1; i <= 41; i++ {
		id := fmt.Sprintf("W%02d", i)
		if catalog[id] {
			n++
		} else if id != "W04" {
			t.Errorf("catalog probe %s has no handler", id)
		}
	}
	if n < 35 {
		t.Errorf("only %d catalog probes covered", n)
	}
}

// TestBundleLanguageSubset enforces the PowerShell 2.0 / Constrained Language
// Mode / read-only rules on bundle.ps1 (catalog §D.1-D.2).
func TestBundleLanguageSubset(t *testing.T) {
	code := stripComments(bundle)
	forbidden := []struct{ pattern, why string }{
		{`(?i)ConvertTo-Json`, "PS 3.0+, truncates at depth 2"},
		{`(?i)\[ordered\]`, "PS 3.0+"},
		{`(?i)\s-(not)?in\s`, "PS 3.0+ operators"},
		{`(?i)Get-CimInstance`, "PS 3.0+; use Get-WmiObject"},
		{`(?i)New-Object`, "blocked for non-core types in Constrained Language Mode"},
		{`(?i)Add-Type`, "blocked in Constrained Language Mode"},
		{`(?i)\[ScriptBlock\]::Create`, "blocked in Constrained Language Mode"},
		{`(?i)-ComObject|\[System\.Security|\[Security\.`, "COM and security types are blocked in Constrained Language Mode"},
		{`(?i)Invoke-Expression|\biex\b`, "no dynamic code"},
		{`(?i)Win32_Product`, "triggers MSI reconfiguration"},
		{`(?i)\bwmic\b`, "deprecated"},
		{`(?i)Where-Object\s+\w+\s+-eq`, "simplified Where-Object syntax is PS 3.0+"},
		{`(?i)\b(Set|New|Clear|Rename|Move|Copy)-(Item|ItemProperty|Content)\b|Out-File|Add-Content|Export-`, "the bundle only reads"},
		{`(?i)\breg(\.exe)?\s+(add|delete|import|load|unload|save|restore)`, "the bundle only reads"},
		{`(?i)auditpol(\.exe)?\s+/(set|restore|clear|remove)`, "the bundle only reads"},
		{`(?i)secedit(\.exe)?\s+/(configure|import)`, "the bundle only reads"},
		{`(?i)Invoke-WmiMethod|\.InvokeMethod|Set-WmiInstance|Remove-WmiObject`, "no WMI writes"},
		{`\$using:|Start-Job|Invoke-Command`, "one process, no remoting from the target"},
	}
	for _, f := range forbidden {
		if loc := regexp.MustCompile(f.pattern).FindStringIndex(code); loc != nil {
			t.Errorf("bundle.ps1 uses %q (%s): %q", f.pattern, f.why, code[loc[0]:min(loc[1]+40, len(code))])
		}
	}
	// The only writes are the two export files, removed in a finally block.
	removes := regexp.MustCompile(`Remove-Item -LiteralPath \$f -Force -ErrorAction SilentlyContinue`).FindAllStringIndex(code, -1)
	if n := strings.Count(code, "Remove-Item"); n != 2 || len(removes) != 2 {
		t.Errorf("want exactly the two temp-file Remove-Item calls, got %d", n)
	}
	for _, exe := range []string{"secedit.exe /export", "auditpol.exe /backup"} {
		if !strings.Contains(code, exe) {
			t.Errorf("missing %s", exe)
		}
	}
	if strings.Count(code, "finally {") != 2 {
		t.Error("each export must be deleted in a finally block")
	}
	if !strings.Contains(code, "'S-1-16-12288'") || !strings.Contains(code, "$ExecutionContext.SessionState.LanguageMode") {
		t.Error("_meta must report elevation by mandatory label and the language mode")
	}
}

// stripComments drops full-line # comments so the rules apply to code.
func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

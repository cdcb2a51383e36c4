// Package windows is otsweep's Windows probe bundle: one PowerShell script that
// reads a host in a single round trip (probes W01-W41 of the catalog, less W02,
// which is computed here, and W04, which is not batched), and the parser that
// turns its NDJSON output into typed facts.
//
// The script (bundle.ps1) runs on Windows PowerShell 2.0 to 5.1, in Full or
// Constrained Language Mode, and only reads: the sole writes are the
// secedit and auditpol export files in %TEMP%, deleted at once. It prints one
// JSON line per probe between nonce-tagged markers:
//
//	@@OTSCAN <nonce> BEGIN schema=otscan.win/1
//	{"data":{...},"id":"W01","ms":52,"ok":true}
//	{"err":"E_NOT_ELEVATED","id":"W24","ms":1,"ok":false}
//	@@OTSCAN <nonce> END
//
// Where Windows only offers text (secedit INF, auditpol CSV, w32tm, netstat,
// wbadmin) the script ships the raw text and this package parses it, so the
// recorded output is the evidence and the parsers are testable offline.
//
// Everything here is pure: no I/O, no clock, no package-level mutable state;
// every function is safe for concurrent use.
package windows

import (
	_ "embed"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

// Schema is the envelope schema the bundle prints and Parse accepts.
const Schema = "otscan.win/1"

// CommandLine starts Windows PowerShell reading the bundle from standard input.
// A script on stdin has no length limit, unlike -EncodedCommand, which cmd.exe
// caps at 8191 characters.
const CommandLine = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command -"

// NoncePlaceholder is the token in bundle.ps1 that Command replaces.
const NoncePlaceholder = "__NONCE__"

//go:embed bundle.ps1
var bundle string

// Command returns exactly what a transport sends to run the bundle on one host:
// the PowerShell command line, and the script with the nonce substituted,
// wrapped in one "& { ... }" block followed by two newlines. With -Command -
// PowerShell reads stdin statement by statement as if typed at a prompt; one
// block makes the script a single statement, and the blank line ends it.
//
// nonce must be the lowercase hex token from probes.NewNonce: it is the only
// text substituted into the script, and Command panics on anything else, as
// that is a programming error that would otherwise reach a host.
func Command(nonce string) probes.Command {
	if !validNonce(nonce) {
		panic("windows.Command: nonce must be lowercase hex from probes.NewNonce")
	}
	return probes.Command{Line: CommandLine, Stdin: []byte(wrap(nonce))}
}

// Script returns the stdin text Command would send, with the nonce left as
// NoncePlaceholder, for --dry-run and the audit log.
func Script() string { return wrap(NoncePlaceholder) }

func wrap(nonce string) string {
	body := strings.Replace(bundle, "$N = '"+NoncePlaceholder+"'", "$N = '"+nonce+"'", 1)
	body = strings.ReplaceAll(body, "\r\n", "\n")
	return "& {\n" + strings.TrimRight(body, "\n") + "\n}\n\n"
}

func validNonce(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Package winhosts holds recorded stdout of the Windows probe bundle
// (probes/windows) for a set of representative OT hosts: old and current
// client and server releases, a domain controller, a German-language host, a
// host in Constrained Language Mode and a scan without an elevated token. Tests
// parse them now; the demo lab replays them later.
//
// A recording is the bundle's stdout byte for byte (CRLF line ends, ASCII
// only), with the nonce written as __NONCE__. The recordings are generated from
// the host sources in testdata/hosts by `go test ./lab/winhosts -run
// TestRecordings -update`, which emits JSON exactly as the bundle's emitter does
// (keys sorted by their lower-case form, every character outside 0x20-0x7E
// escaped as \uXXXX); the same test fails when a recording and its source
// drift apart.
//
// Everything here is read-only embedded data and safe for concurrent use.
package winhosts

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
)

// Placeholder is the nonce as written in the recordings.
const Placeholder = "__NONCE__"

//go:embed recordings/*.ndjson
var recordings embed.FS

// ErrUnknownHost is returned by Output for a name Hosts does not list.
var ErrUnknownHost = errors.New("unknown recorded host")

// Host describes one recording.
type Host struct {
	Name        string
	Description string
	Elevated    bool // the scan account had an elevated token
}

// Hosts lists the recorded hosts.
func Hosts() []Host {
	return []Host{
		{"win7-ps2", "Windows 7 Professional SP1, PowerShell 2.0: line HMI past end of support, no ESU, weak local policy, SMBv1 on", true},
		{"ws2008r2-ps2", "Windows Server 2008 R2 Standard SP1, PowerShell 2.0: process historian, Symantec Endpoint Protection, end of support", true},
		{"win10-22h2", "Windows 10 Enterprise 22H2: operator HMI, domain member, Defender, BitLocker", true},
		{"ws2016", "Windows Server 2016 Standard: historian with SQL Server, domain member", true},
		{"ws2019-dc", "Windows Server 2019 Standard: domain controller (ProductType 2) with Kerberos policy and fine-grained password policies", true},
		{"ws2022", "Windows Server 2022 Datacenter: hardened jump/management server, WinRM over HTTPS, full auditing", true},
		{"win11-23h2", "Windows 11 Pro 23H2: engineering laptop with VBS/Credential Guard and TIA Portal", true},
		{"win10-de", "Windows 10 Pro 22H2, German UI (de-DE): localized group names, auditpol, w32tm and netstat text", true},
		{"win10-clm", "Windows 10 Enterprise LTSC 2021: HMI with AppLocker enforced, so PowerShell runs in ConstrainedLanguage", true},
		{"win10-nonadmin", "Windows 10 Enterprise 22H2 scanned without an elevated token: admin-only probes report E_NOT_ELEVATED", false},
	}
}

// Output returns the recorded stdout of host name with nonce in place of the
// placeholder, as a transport would have returned it.
func Output(name, nonce string) ([]byte, error) {
	known := false
	for _, h := range Hosts() {
		known = known || h.Name == name
	}
	if !known {
		return nil, fmt.Errorf("winhosts %q: %w", name, ErrUnknownHost)
	}
	b, err := recordings.ReadFile("recordings/" + name + ".ndjson")
	if err != nil {
		return nil, fmt.Errorf("winhosts %q: %w", name, err)
	}
	return bytes.ReplaceAll(b, []byte(Placeholder), []byte(nonce)), nil
}

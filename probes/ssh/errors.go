package ssh

import (
	"fmt"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

// UnknownHostError is returned by Dial when the host has no entry in the
// known_hosts file and trust-on-first-use is off. It wraps
// probes.ErrHostKeyMismatch, so the scan status is host-key-mismatch.
type UnknownHostError struct {
	Host           string // host:port as dialled
	KnownHostsFile string
	Algorithm      string // key type the host presented
	Fingerprint    string // SHA256 fingerprint the host presented
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("host key not in known_hosts %s; add it or use trust-on-first-use (%s presented %s %s)",
		e.KnownHostsFile, e.Host, e.Algorithm, e.Fingerprint)
}

// Unwrap makes errors.Is(err, probes.ErrHostKeyMismatch) hold.
func (e *UnknownHostError) Unwrap() error { return probes.ErrHostKeyMismatch }

// HostKeyChangedError is returned by Dial when the host presents a key other
// than the one(s) recorded for it in known_hosts. It is returned even with
// trust-on-first-use: a changed key is never accepted silently. It wraps
// probes.ErrHostKeyMismatch.
type HostKeyChangedError struct {
	Host string // host:port as dialled
	// Presented holds the SHA256 fingerprint the host presented; it is empty
	// when the host offered none of the recorded key types (see Offered).
	Presented []string
	// Expected holds the SHA256 fingerprints recorded in known_hosts.
	Expected []string
	// Offered lists the host key algorithms the host offered when it had
	// none of the recorded key types.
	Offered []string
}

func (e *HostKeyChangedError) Error() string {
	if len(e.Presented) == 0 {
		return fmt.Sprintf("host key for %s changed: it offers none of the recorded key types (offers %s; known_hosts has %s)",
			e.Host, strings.Join(e.Offered, ","), strings.Join(e.Expected, ", "))
	}
	return fmt.Sprintf("host key for %s changed: presented %s, known_hosts has %s",
		e.Host, strings.Join(e.Presented, ", "), strings.Join(e.Expected, ", "))
}

// Unwrap makes errors.Is(err, probes.ErrHostKeyMismatch) hold.
func (e *HostKeyChangedError) Unwrap() error { return probes.ErrHostKeyMismatch }

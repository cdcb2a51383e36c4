// Package probes is the collection side of otsweep: transports that reach a host,
// per-platform probe bundles that read it in one round trip, and the typed facts
// they produce. It knows nothing of security levels or of the database.
package probes

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Platform names the kind of endpoint a bundle is written for.
type Platform string

// Platforms a bundle can target.
const (
	Linux   Platform = "linux"
	Windows Platform = "windows"
	SNMP    Platform = "snmp"
)

// Valid reports whether p is a known platform.
func (p Platform) Valid() bool { return p == Linux || p == Windows || p == SNMP }

// Fact is one typed value read from a host.
//
// Value holds int, float64, string, bool, []string, []int, []any or map[string]any.
// A nil Value with an empty Err means the fact was collected and is unset on the
// host (an absent registry value, a file that does not exist); checks must decide
// what that means. A non-empty Err means the fact could not be collected, and any
// check that reads it evaluates to error, never to pass.
type Fact struct {
	Value  any      `json:"value"`
	Err    string   `json:"error,omitempty"`
	Source string   `json:"source"`
	Raw    []string `json:"raw,omitempty"`
}

// Fact error texts shared by every parser.
const (
	ErrTextNotElevated  = "not elevated"
	ErrTextNotCollected = "not collected"
	ErrTextUnparsed     = "unparsed"
)

// Facts maps dotted fact names ("login_defs.pass_max_days") to values.
type Facts map[string]Fact

// Set records a collected value with its source probe and raw evidence lines.
func (f Facts) Set(name, source string, value any, raw ...string) {
	f[name] = Fact{Value: value, Source: source, Raw: raw}
}

// Fail records that a fact could not be collected and why.
func (f Facts) Fail(name, source, reason string, raw ...string) {
	f[name] = Fact{Err: reason, Source: source, Raw: raw}
}

// ProbeRun is the record of one probe inside a bundle.
type ProbeRun struct {
	ID       string        `json:"id"`
	ExitCode int           `json:"exit_code"`
	Err      string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Bytes    int           `json:"bytes"`
}

// Cost is what a bundle cost the target, as reported by the bundle itself.
type Cost struct {
	CPU       time.Duration `json:"cpu_ns"`    // user+system CPU of the bundle and its children
	Processes int           `json:"processes"` // processes the bundle spawned (upper bound where only a pid counter is available)
}

// Observation is everything one bundle run produced on one host.
type Observation struct {
	Platform Platform          `json:"platform"`
	Schema   string            `json:"schema"`
	Elevated bool              `json:"elevated"`
	Meta     map[string]string `json:"meta,omitempty"`
	Facts    Facts             `json:"facts"`
	Probes   []ProbeRun        `json:"probes"`
	Cost     Cost              `json:"cost"`
	Complete bool              `json:"complete"` // the END marker was seen
}

// Command is exactly what a transport sends to a host: a command line and the
// bytes written to its standard input. It is what --dry-run prints.
type Command struct {
	Line  string `json:"line"`
	Stdin []byte `json:"-"`
}

// Output is what a command returned.
type Output struct {
	Stdout    []byte
	Stderr    []byte
	ExitCode  int
	Truncated bool // stdout hit the transport's size cap
}

// Executor runs commands on one connected host. Implementations are ssh, winrm
// and local. Run honours ctx: when ctx ends, the remote command is ended too and
// Run returns an error wrapping ErrTimeout. An Executor is not safe for
// concurrent use.
type Executor interface {
	Run(ctx context.Context, c Command) (*Output, error)
	Close() error
}

// Prober collects one host's observation in one round trip.
type Prober interface {
	// Plan returns exactly what Probe would send, without contacting the host.
	Plan() []Planned
	// Probe connects, runs the bundle and parses its output. Errors wrap one of
	// the sentinel errors below so the runner can classify the scan.
	Probe(ctx context.Context) (*Observation, error)
}

// Planned is one request a Prober would send, for --dry-run and the audit log.
type Planned struct {
	Transport string `json:"transport"`
	Address   string `json:"address"`
	Request   string `json:"request"` // command line, or SNMP operation and OIDs
	Body      string `json:"body,omitempty"`
}

// Sentinel errors that classify why a scan did not complete.
var (
	ErrUnreachable     = errors.New("unreachable")
	ErrAuthFailed      = errors.New("authentication failed")
	ErrHostKeyMismatch = errors.New("host key mismatch")
	ErrTimeout         = errors.New("timeout")
	ErrProtocol        = errors.New("protocol error")
)

// ScanStatus is the recorded outcome of one asset's scan.
type ScanStatus string

// Scan statuses.
const (
	StatusOK              ScanStatus = "ok"
	StatusUnreachable     ScanStatus = "unreachable"
	StatusAuthFailed      ScanStatus = "auth-failed"
	StatusHostKeyMismatch ScanStatus = "host-key-mismatch"
	StatusTimeout         ScanStatus = "timeout"
	StatusError           ScanStatus = "error"
)

// StatusOf classifies err into a scan status. A nil error is StatusOK.
func StatusOf(err error) ScanStatus {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, ErrHostKeyMismatch):
		return StatusHostKeyMismatch
	case errors.Is(err, ErrAuthFailed):
		return StatusAuthFailed
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return StatusTimeout
	case errors.Is(err, ErrUnreachable):
		return StatusUnreachable
	default:
		return StatusError
	}
}

// HostError wraps an error with the host it happened on.
type HostError struct {
	Host string
	Op   string
	Err  error
}

func (e *HostError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Host, e.Op, e.Err) }
func (e *HostError) Unwrap() error { return e.Err }

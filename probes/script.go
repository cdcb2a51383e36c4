package probes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// Bundle is a platform's batched probe script: the one command sent to a
// host and the parser of its output.
type Bundle interface {
	Platform() Platform
	// Command returns exactly what is sent: a fixed command line and the
	// script on stdin, framed by nonce.
	Command(nonce string) Command
	// Parse turns the output into an observation. It fails only when the
	// output holds no trace of the bundle at all.
	Parse(nonce string, stdout []byte) (*Observation, error)
}

// ScriptProber runs a Bundle over an Executor: one connection, one command.
// Its nonce is fixed at construction so Plan shows exactly what Probe sends.
type ScriptProber struct {
	Transport string // ssh, winrm, winrms, local
	Address   string // host:port as dialled, for plans and logs
	Bundle    Bundle
	// Dial connects and authenticates. It returns errors wrapping the
	// package's sentinel errors.
	Dial func(ctx context.Context) (Executor, error)
	// HostFacts, when set, adds facts only the transport knows (the SSH host
	// key, the TLS certificate) after a successful dial.
	HostFacts func(Executor) Facts
	Logger    *slog.Logger
	nonce     string
}

// NewScriptProber returns a prober with a fresh nonce.
func NewScriptProber(p ScriptProber) *ScriptProber {
	p.nonce = NewNonce()
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	return &p
}

// Plan returns the single command the prober would send.
func (p *ScriptProber) Plan() []Planned {
	c := p.Bundle.Command(p.nonce)
	return []Planned{{Transport: p.Transport, Address: p.Address, Request: c.Line, Body: string(c.Stdin)}}
}

// Probe dials, runs the bundle once and parses the output. When ctx ends the
// remote command is ended by the executor. A partial output still yields an
// observation (Complete=false) together with the error that cut it short.
func (p *ScriptProber) Probe(ctx context.Context) (*Observation, error) {
	ex, err := p.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = ex.Close() }()
	c := p.Bundle.Command(p.nonce)
	sum := sha256.Sum256(c.Stdin)
	start := time.Now()
	p.Logger.InfoContext(ctx, "command sent", "host", p.Address, "transport", p.Transport,
		"command", c.Line, "stdin_sha256", hex.EncodeToString(sum[:]), "stdin_bytes", len(c.Stdin))
	out, runErr := ex.Run(ctx, c)
	p.Logger.DebugContext(ctx, "command finished", "host", p.Address, "transport", p.Transport, "duration", time.Since(start), "err", runErr)
	if out == nil || len(out.Stdout) == 0 {
		if runErr != nil {
			return nil, runErr
		}
		return nil, fmt.Errorf("%s: bundle printed nothing (exit %d): %w", p.Address, exitOf(out), ErrProtocol)
	}
	obs, err := p.Bundle.Parse(p.nonce, out.Stdout)
	if err != nil {
		if runErr != nil {
			return nil, runErr
		}
		return nil, fmt.Errorf("%s: %w", p.Address, err)
	}
	if p.HostFacts != nil {
		for k, v := range p.HostFacts(ex) {
			obs.Facts[k] = v
		}
	}
	if out.Truncated && runErr == nil {
		runErr = fmt.Errorf("%s: output exceeded the transport's cap and was cut: %w", p.Address, ErrProtocol)
	}
	return obs, runErr
}

func exitOf(o *Output) int {
	if o == nil {
		return -1
	}
	return o.ExitCode
}

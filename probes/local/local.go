// Package local is the local transport: it runs probe commands on the
// machine otsweep runs on, through /bin/sh, as a probes.Executor.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// Defaults and limits, matching the ssh transport.
const (
	DefaultMaxOutput = 64 << 20 // bytes of stdout kept per command
	MaxStderr        = 1 << 20  // bytes of stderr kept per command

	// waitDelay bounds how long Run waits for the output pipes after the
	// process group is killed (a daemonized grandchild can keep them open).
	waitDelay = 500 * time.Millisecond
)

// errTruncated is the cancellation cause when stdout passes the cap.
var errTruncated = errors.New("stdout cap reached")

// Executor runs commands locally. The zero value runs /bin/sh with the
// default cap. Run may be called concurrently.
type Executor struct {
	// Shell runs Command.Line as Shell -c LINE.
	Shell string
	// MaxOutput is the stdout cap per command; beyond it Run ends the
	// command and sets Output.Truncated. 0 means DefaultMaxOutput.
	MaxOutput int64
}

var _ probes.Executor = (*Executor)(nil)

// New returns an Executor using /bin/sh and the default output cap.
func New() *Executor {
	return &Executor{Shell: "/bin/sh", MaxOutput: DefaultMaxOutput}
}

// Run runs /bin/sh -c c.Line with c.Stdin as standard input, in its own
// process group. A non-zero exit is not an error: it is Output.ExitCode (128+n
// for a command killed by signal n). When ctx ends, the whole process group is
// killed and Run returns an error wrapping probes.ErrTimeout. When stdout
// passes MaxOutput the group is killed too, and Run returns the kept output
// with Truncated set and ExitCode -1.
func (e *Executor) Run(ctx context.Context, c probes.Command) (*probes.Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, &probes.HostError{Host: "local", Op: "run", Err: fmt.Errorf("%w: %w", probes.ErrTimeout, err)}
	}
	limit := e.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	shell := e.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	cmd := exec.CommandContext(rctx, shell, "-c", c.Line)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The negative PID addresses the process group: the shell and
		// everything it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = waitDelay
	cmd.Stdin = bytes.NewReader(c.Stdin)
	stdout := &cappedBuffer{limit: limit, onFull: func() { cancel(errTruncated) }}
	stderr := &cappedBuffer{limit: MaxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	err := cmd.Run()
	// Kill whatever the shell left running in its group, also after a
	// normal exit: a probe must not leave processes behind.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	out := &probes.Output{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes()}
	switch {
	case ctx.Err() != nil:
		return nil, &probes.HostError{Host: "local", Op: "run", Err: fmt.Errorf("%w: %w", probes.ErrTimeout, context.Cause(ctx))}
	case stdout.full:
		out.Truncated, out.ExitCode = true, -1
		return out, nil
	}
	if cmd.ProcessState == nil { // the shell did not start
		return nil, &probes.HostError{Host: "local", Op: "run", Err: err}
	}
	// err may also be exec.ErrWaitDelay: the shell exited but a process it
	// started in the background held the output open; the group is killed
	// above, and the shell's status stands.
	out.ExitCode = exitCode(cmd.ProcessState)
	return out, nil
}

// exitCode returns the exit status, or 128+signal for a killed process.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Close does nothing: there is no connection.
func (e *Executor) Close() error { return nil }

// cappedBuffer keeps the first limit bytes written to it and discards the
// rest, calling onFull once when the limit is passed.
type cappedBuffer struct {
	buf    bytes.Buffer
	limit  int64
	full   bool
	onFull func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.limit - int64(b.buf.Len())
	if int64(len(p)) <= room {
		b.buf.Write(p)
		return len(p), nil
	}
	if room > 0 {
		b.buf.Write(p[:room])
	}
	if !b.full {
		b.full = true
		if b.onFull != nil {
			b.onFull()
		}
	}
	return len(p), nil
}

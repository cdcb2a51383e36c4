// Command otsweep scans OT endpoints over WinRM, SSH and SNMP and measures
// them against IEC 62443-3-3. See README.md for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. They are part of the command-line contract (README.md).
const (
	ExitOK         = 0 // every scanned asset reached its SL-T
	ExitVariance   = 1 // scans completed and at least one FR is below target
	ExitUsage      = 2 // bad flags, bad inventory or definitions, unusable database
	ExitScanErrors = 3 // at least one asset could not be scanned (unreachable, auth, host key, timeout, error)
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr *os.File) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "otsweep:", termText(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "otsweep:", termText(err.Error()))
	return ExitUsage
}

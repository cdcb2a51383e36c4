//go:build unix

// Package cputime reads the CPU time this process has used, for benchmarks
// that report it next to wall time (CPU time holds on a loaded machine).
package cputime

import (
	"syscall"
	"time"
)

// Process returns the CPU time the process has used so far (all threads:
// SQLite, the garbage collector), and true.
func Process() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

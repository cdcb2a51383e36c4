//go:build !unix

// Package cputime reads the CPU time this process has used, for benchmarks
// that report it next to wall time (CPU time holds on a loaded machine).
package cputime

import "time"

// Process is not measured on this platform: it returns 0 and false.
func Process() (time.Duration, bool) { return 0, false }

//go:build unix && !linux

package store

import (
	"errors"
	"syscall"
)

func bootID() string { return "" }

// lookupProcess probes pid with signal 0; the start time is unknown here.
func lookupProcess(pid int) process {
	if pid <= 0 {
		return process{known: true}
	}
	err := syscall.Kill(pid, 0)
	switch {
	case err == nil, errors.Is(err, syscall.EPERM):
		return process{known: true, alive: true}
	case errors.Is(err, syscall.ESRCH):
		return process{known: true}
	default:
		return process{}
	}
}

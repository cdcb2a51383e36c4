//go:build !unix

package store

func bootID() string { return "" }

// lookupProcess cannot inspect processes here; RecoverIncomplete relies on
// the sweep's heartbeat instead.
func lookupProcess(int) process { return process{} }

//go:build !cgo

package store

// isBusy: without cgo the driver is a stub that opens nothing, so no error is
// ever SQLite's "database is locked".
func isBusy(error) bool { return false }

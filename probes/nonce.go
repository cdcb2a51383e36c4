package probes

import (
	"crypto/rand"
	"encoding/hex"
)

// NewNonce returns a fresh random token that frames a bundle's output, so text
// read from a host can never forge a marker.
func NewNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

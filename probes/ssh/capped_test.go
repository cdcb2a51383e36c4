package ssh

import (
	"bytes"
	"testing"
)

// The stdout buffer keeps exactly the first limit bytes of a flood, calls
// onFull once, and never holds more capacity than the limit.
func TestCappedBufferStaysWithinLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64
		chunk int
	}{
		{"small chunks", 1 << 20, 100},
		{"chunks larger than the limit", 1 << 20, 3 << 20},
		{"limit not a power of two", 1<<20 + 7, 32 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			b := cappedBuffer{limit: tc.limit, onFull: func() { calls++ }}
			chunk := bytes.Repeat([]byte("x"), tc.chunk)
			written := 0
			for written < 8*int(tc.limit) {
				n, err := b.Write(chunk)
				if err != nil || n != len(chunk) {
					t.Fatalf("Write = %d, %v", n, err)
				}
				written += n
			}
			if int64(len(b.buf)) != tc.limit || int64(cap(b.buf)) > tc.limit || !b.full || calls != 1 {
				t.Errorf("len %d cap %d full %v onFull calls %d; limit %d", len(b.buf), cap(b.buf), b.full, calls, tc.limit)
			}
		})
	}
	var b cappedBuffer
	b.limit = 10
	if _, _ = b.Write([]byte("0123456789")); b.full || string(b.buf) != "0123456789" {
		t.Errorf("exactly the limit: full %v, %q", b.full, b.buf)
	}
}

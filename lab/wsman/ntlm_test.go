package wsman

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// Test vectors from MS-NLMP 4.2.4 (NTLMv2 authentication): user "User",
// domain "Domain", password "Password", server challenge 0123456789abcdef,
// client challenge aaaaaaaaaaaaaaaa, time 0, and the GSS_WrapEx example with
// a random session key of 0x55 * 16.
func TestNTLMv2Vectors(t *testing.T) {
	owf := ntowfV2("User", "Password", "Domain")
	if got, want := hex.EncodeToString(owf), "0c868a403bfd7a93a3001ef22ef02e3f"; got != want {
		t.Fatalf("NTOWFv2 = %s, want %s", got, want)
	}
	server, _ := hex.DecodeString("0123456789abcdef")
	temp, _ := hex.DecodeString("0101000000000000" + "0000000000000000" + "aaaaaaaaaaaaaaaa" + "00000000" +
		"02000c00" + "44006f006d00610069006e00" + "01000c00" + "530065007200760065007200" + "00000000" + "00000000")
	proof := hmacMD5(owf, server, temp)
	if got, want := hex.EncodeToString(proof), "68cd0ab851e51c96aabc927bebef6a1c"; got != want {
		t.Fatalf("NTProofStr = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(hmacMD5(owf, proof)), "8de40ccadbc14a82f15cb0ad0de95ca3"; got != want {
		t.Fatalf("SessionBaseKey = %s, want %s", got, want)
	}
}

func TestNTLMSessionSeal(t *testing.T) {
	plain := utf16le("Plaintext")
	key := bytes.Repeat([]byte{0x55}, 16)
	tests := []struct {
		name      string
		flags     uint32
		sealed    string
		signature string
	}{
		{
			name:      "MS-NLMP 4.2.4.4 extended session security with key exchange",
			flags:     flagUnicode | flagSign | flagSeal | flagNTLM | flagAlwaysSign | flagTargetTypeServer | flagESS | flagTargetInfo | flagVersion | flag128 | flagKeyExch | flag56,
			sealed:    "54e50165bf1936dc996020c1811b0f06fb5f",
			signature: "010000007fb38ec5c55d497600000000",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newNTLMSession(tc.flags, key, false)
			server := newNTLMSession(tc.flags, key, true)
			sealed, sig := client.seal(plain)
			if got := hex.EncodeToString(sealed); got != tc.sealed {
				t.Errorf("sealed = %s, want %s", got, tc.sealed)
			}
			if got := hex.EncodeToString(sig); got != tc.signature {
				t.Errorf("signature = %s, want %s", got, tc.signature)
			}
			got, err := server.unseal(sealed, sig)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("unseal = %x, %v", got, err)
			}
			// The reverse direction and a second message (sequence 1) too.
			back, bsig := server.seal([]byte("reply"))
			if got, err := client.unseal(back, bsig); err != nil || string(got) != "reply" {
				t.Fatalf("client unseal = %q, %v", got, err)
			}
			s2, sig2 := client.seal(plain)
			if _, err := server.unseal(s2, sig2); err != nil {
				t.Fatalf("second message: %v", err)
			}
			// Tampering and replay are detected.
			s3, sig3 := client.seal(plain)
			s3[0] ^= 1
			if _, err := server.unseal(s3, sig3); err == nil {
				t.Fatal("tampered message accepted")
			}
		})
	}
}

func TestOperationTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"PT60S", "1m0s"},
		{"PT60.000S", "1m0s"},
		{"PT0.5S", "500ms"},
		{"PT1M30S", "1m30s"},
		{"", "7s"},
		{"60", "7s"},
		{"PTxS", "7s"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := operationTimeout(tc.in, 7e9).String(); got != tc.want {
				t.Errorf("operationTimeout(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

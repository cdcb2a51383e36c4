package wsman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// The MS-WSMV 2.2.9.1 "encrypted message" framing used for NTLM message
// encryption on HTTP listeners.
const (
	sealProtocol      = "application/HTTP-SPNEGO-session-encrypted"
	sealContentType   = `multipart/encrypted;protocol="` + sealProtocol + `";boundary="Encrypted Boundary"`
	sealBoundary      = "--Encrypted Boundary\r\n"
	sealEnd           = "--Encrypted Boundary--\r\n"
	sealPartHeader    = "\tContent-Type: " + sealProtocol + "\r\n"
	sealOctetHeader   = "\tContent-Type: application/octet-stream\r\n"
	sealOriginalTypeP = "\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
)

var errSealFraming = errors.New("malformed encrypted message")

// sealMessage wraps a SOAP envelope the way Windows does.
func sealMessage(s *ntlmSession, plain []byte) []byte {
	sealed, sig := s.seal(plain)
	var b bytes.Buffer
	b.WriteString(sealBoundary)
	b.WriteString(sealPartHeader)
	b.WriteString(sealOriginalTypeP + strconv.Itoa(len(plain)) + "\r\n")
	b.WriteString(sealBoundary)
	b.WriteString(sealOctetHeader)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(sig)))
	b.Write(sig)
	b.Write(sealed)
	b.WriteString(sealEnd)
	return b.Bytes()
}

// unsealMessage parses one encrypted part, decrypts it and checks the length
// announced in OriginalContent.
func unsealMessage(s *ntlmSession, body []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(body, []byte(sealBoundary))
	if !ok {
		return nil, fmt.Errorf("%w: missing boundary", errSealFraming)
	}
	header, rest, ok := bytes.Cut(rest, []byte(sealBoundary))
	if !ok {
		return nil, fmt.Errorf("%w: missing second boundary", errSealFraming)
	}
	_, lengthText, ok := bytes.Cut(header, []byte("Length="))
	if !ok {
		return nil, fmt.Errorf("%w: missing OriginalContent length", errSealFraming)
	}
	length, err := strconv.Atoi(string(bytes.TrimSpace(lengthText)))
	if err != nil {
		return nil, fmt.Errorf("%w: bad OriginalContent length", errSealFraming)
	}
	payload, ok := bytes.CutPrefix(rest, []byte(sealOctetHeader))
	if !ok {
		return nil, fmt.Errorf("%w: missing octet-stream header", errSealFraming)
	}
	payload, ok = bytes.CutSuffix(payload, []byte(sealEnd))
	if !ok {
		return nil, fmt.Errorf("%w: missing closing boundary", errSealFraming)
	}
	if len(payload) < 4 {
		return nil, fmt.Errorf("%w: short payload", errSealFraming)
	}
	n := int(binary.LittleEndian.Uint32(payload))
	if n != 16 || len(payload) < 4+n {
		return nil, fmt.Errorf("%w: bad signature length %d", errSealFraming, n)
	}
	plain, err := s.unseal(payload[4+n:], payload[4:4+n])
	if err != nil {
		return nil, err
	}
	if len(plain) != length {
		return nil, fmt.Errorf("%w: length %d, announced %d", errSealFraming, len(plain), length)
	}
	return plain, nil
}

package wsman

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM is defined over MD4; there is no alternative for interoperability
)

// NTLM negotiate flags (MS-NLMP 2.2.2.5).
const (
	flagUnicode          uint32 = 0x00000001
	flagRequestTarget    uint32 = 0x00000004
	flagSign             uint32 = 0x00000010
	flagSeal             uint32 = 0x00000020
	flagLMKey            uint32 = 0x00000080
	flagNTLM             uint32 = 0x00000200
	flagAnonymous        uint32 = 0x00000800
	flagAlwaysSign       uint32 = 0x00008000
	flagTargetTypeServer uint32 = 0x00020000
	flagESS              uint32 = 0x00080000 // extended session security
	flagTargetInfo       uint32 = 0x00800000
	flagVersion          uint32 = 0x02000000
	flag128              uint32 = 0x20000000
	flagKeyExch          uint32 = 0x40000000
	flag56               uint32 = 0x80000000
)

// AV pair IDs (MS-NLMP 2.2.2.1).
const (
	avEOL             uint16 = 0
	avNbComputerName  uint16 = 1
	avNbDomainName    uint16 = 2
	avDNSComputerName uint16 = 3
	avDNSDomainName   uint16 = 4
	avFlags           uint16 = 6
	avTimestamp       uint16 = 7
)

const avFlagMICPresent = 0x2

var ntlmSignature = []byte("NTLMSSP\x00")

// errNTLM is returned for any malformed or unverifiable NTLM message; the
// HTTP layer answers it with 401 like a Windows host does.
var errNTLM = errors.New("ntlm authentication failed")

// ntlmPending is the state between CHALLENGE and AUTHENTICATE on one
// connection.
type ntlmPending struct {
	negotiate []byte
	challenge []byte
	server    [8]byte
	flags     uint32
}

// ntlmAcceptor is the server side of NTLMv2 (MS-NLMP 3.2.5). It never grants
// LM_KEY and grants KEY_EXCH, SIGN, SEAL, 56 and 128 only when the client
// asked for them, which is what Azure/go-ntlmssp (rejects KEY_EXCH) and
// bodgit/ntlmssp (requests it for sealing) both need.
type ntlmAcceptor struct {
	computer string // NetBIOS computer name
	domain   string // NetBIOS domain (equals computer for a workgroup host)
	now      func() time.Time
}

// challenge answers a NEGOTIATE message.
func (a *ntlmAcceptor) challenge(negotiate []byte) (*ntlmPending, error) {
	if len(negotiate) < 16 || !bytes.Equal(negotiate[:8], ntlmSignature) || binary.LittleEndian.Uint32(negotiate[8:]) != 1 {
		return nil, fmt.Errorf("%w: not an NTLM NEGOTIATE message", errNTLM)
	}
	client := binary.LittleEndian.Uint32(negotiate[12:])
	if client&flagUnicode == 0 {
		return nil, fmt.Errorf("%w: client does not support Unicode", errNTLM)
	}
	flags := flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetTypeServer |
		flagTargetInfo | flagVersion
	flags |= client & (flagSign | flagSeal | flagESS | flag128 | flag56 | flagKeyExch)
	if flags&flagESS == 0 {
		// Without extended session security only NTLMv1-style sealing exists;
		// a hardened host does not offer it.
		flags &^= flagSign | flagSeal | flagKeyExch
	}

	p := &ntlmPending{negotiate: bytes.Clone(negotiate), flags: flags}
	if _, err := rand.Read(p.server[:]); err != nil {
		return nil, err
	}

	target := utf16le(a.domain)
	info := a.targetInfo()
	const fixed = 56 // header fields (48) + version (8)
	msg := make([]byte, fixed, fixed+len(target)+len(info))
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putField(msg[12:], len(target), fixed)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:32], p.server[:])
	putField(msg[40:], len(info), fixed+len(target))
	// Version: Windows 10.0 build 17763 (Server 2019), NTLM revision 15.
	copy(msg[48:56], []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15})
	msg = append(msg, target...)
	msg = append(msg, info...)
	p.challenge = msg
	return p, nil
}

func (a *ntlmAcceptor) targetInfo() []byte {
	var b bytes.Buffer
	pair := func(id uint16, v []byte) {
		_ = binary.Write(&b, binary.LittleEndian, id)
		_ = binary.Write(&b, binary.LittleEndian, uint16(len(v)))
		b.Write(v)
	}
	pair(avNbDomainName, utf16le(a.domain))
	pair(avNbComputerName, utf16le(a.computer))
	pair(avDNSDomainName, utf16le(strings.ToLower(a.domain)))
	pair(avDNSComputerName, utf16le(strings.ToLower(a.computer)))
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, filetime(a.now()))
	pair(avTimestamp, ts)
	pair(avEOL, nil)
	return b.Bytes()
}

// ntlmIdentity is what a verified AUTHENTICATE message yields.
type ntlmIdentity struct {
	user    string
	domain  string
	session *ntlmSession // nil unless SIGN or SEAL was negotiated
}

// authenticate verifies an AUTHENTICATE message against p. password looks a
// user up by name (case-insensitively, domain ignored, as for local accounts).
func (a *ntlmAcceptor) authenticate(p *ntlmPending, msg []byte, password func(user string) (string, bool)) (*ntlmIdentity, error) {
	if len(msg) < 64 || !bytes.Equal(msg[:8], ntlmSignature) || binary.LittleEndian.Uint32(msg[8:]) != 3 {
		return nil, fmt.Errorf("%w: not an NTLM AUTHENTICATE message", errNTLM)
	}
	nt, err := field(msg, 20)
	if err != nil {
		return nil, err
	}
	domainB, err := field(msg, 28)
	if err != nil {
		return nil, err
	}
	userB, err := field(msg, 36)
	if err != nil {
		return nil, err
	}
	encKey, err := field(msg, 52)
	if err != nil {
		return nil, err
	}
	flags := binary.LittleEndian.Uint32(msg[60:])
	if flags&flagAnonymous != 0 || len(userB) == 0 {
		return nil, fmt.Errorf("%w: anonymous logon refused", errNTLM)
	}
	if len(nt) <= 24 {
		// 24 bytes is an NTLMv1 response; hardened hosts (LmCompatibilityLevel 5) refuse it.
		return nil, fmt.Errorf("%w: NTLMv1 response refused", errNTLM)
	}
	user, err := fromUTF16le(userB)
	if err != nil {
		return nil, err
	}
	domain, err := fromUTF16le(domainB)
	if err != nil {
		return nil, err
	}
	pw, ok := password(user)
	if !ok {
		return nil, fmt.Errorf("%w: unknown user", errNTLM)
	}

	proof, blob := nt[:16], nt[16:]
	owf := ntowfV2(user, pw, domain)
	want := hmacMD5(owf, p.server[:], blob)
	if !hmac.Equal(proof, want) {
		return nil, fmt.Errorf("%w: wrong password", errNTLM)
	}
	sessionBase := hmacMD5(owf, proof)
	exported := sessionBase // KeyExchangeKey = SessionBaseKey for NTLMv2
	if p.flags&flagKeyExch != 0 {
		if len(encKey) != 16 {
			return nil, fmt.Errorf("%w: missing encrypted session key", errNTLM)
		}
		exported = rc4Once(sessionBase, encKey)
	}

	if micRequired(blob) {
		if len(msg) < 88 {
			return nil, fmt.Errorf("%w: MIC missing", errNTLM)
		}
		zeroed := bytes.Clone(msg)
		mic := bytes.Clone(zeroed[72:88])
		clear(zeroed[72:88])
		if !hmac.Equal(mic, hmacMD5(exported, p.negotiate, p.challenge, zeroed)) {
			return nil, fmt.Errorf("%w: MIC mismatch", errNTLM)
		}
	}

	id := &ntlmIdentity{user: user, domain: domain}
	if p.flags&(flagSign|flagSeal) != 0 {
		id.session = newNTLMSession(p.flags, exported, true)
	}
	return id, nil
}

// micRequired reports whether the NTLMv2 blob's MsvAvFlags announce a MIC.
func micRequired(blob []byte) bool {
	if len(blob) < 28 {
		return false
	}
	av := blob[28:]
	for len(av) >= 4 {
		id := binary.LittleEndian.Uint16(av)
		n := int(binary.LittleEndian.Uint16(av[2:]))
		if id == avEOL || len(av) < 4+n {
			return false
		}
		if id == avFlags && n == 4 {
			return binary.LittleEndian.Uint32(av[4:])&avFlagMICPresent != 0
		}
		av = av[4+n:]
	}
	return false
}

// ntlmSession signs and seals messages (MS-NLMP 3.4), extended session
// security only. It is not safe for concurrent use: sequence numbers and RC4
// state advance with every message.
type ntlmSession struct {
	flags              uint32
	sendSign, recvSign []byte
	send, recv         *rc4.Cipher
	sendSeq, recvSeq   uint32
}

var (
	c2sSign = []byte("session key to client-to-server signing key magic constant\x00")
	s2cSign = []byte("session key to server-to-client signing key magic constant\x00")
	c2sSeal = []byte("session key to client-to-server sealing key magic constant\x00")
	s2cSeal = []byte("session key to server-to-client sealing key magic constant\x00")
)

// newNTLMSession derives the keys for one side: server true means this end
// sends with the server-to-client keys.
func newNTLMSession(flags uint32, exported []byte, server bool) *ntlmSession {
	sealKey := func(magic []byte) []byte {
		switch {
		case flags&flag128 != 0:
			return md5Sum(exported, magic)
		case flags&flag56 != 0:
			return md5Sum(exported[:7], magic)
		default:
			return md5Sum(exported[:5], magic)
		}
	}
	s := &ntlmSession{flags: flags}
	sendSign, recvSign, sendSeal, recvSeal := c2sSign, s2cSign, c2sSeal, s2cSeal
	if server {
		sendSign, recvSign, sendSeal, recvSeal = s2cSign, c2sSign, s2cSeal, c2sSeal
	}
	s.sendSign = md5Sum(exported, sendSign)
	s.recvSign = md5Sum(exported, recvSign)
	s.send, _ = rc4.NewCipher(sealKey(sendSeal)) // key is 16 bytes: cannot fail
	s.recv, _ = rc4.NewCipher(sealKey(recvSeal))
	return s
}

// seal encrypts msg and returns the ciphertext and its 16-byte signature.
func (s *ntlmSession) seal(msg []byte) (sealed, sig []byte) {
	sealed = make([]byte, len(msg))
	if s.flags&flagSeal != 0 {
		s.send.XORKeyStream(sealed, msg)
	} else {
		copy(sealed, msg)
	}
	sig = s.signature(msg, s.sendSign, s.sendSeq, s.send)
	s.sendSeq++
	return sealed, sig
}

// unseal decrypts sealed and verifies its signature.
func (s *ntlmSession) unseal(sealed, sig []byte) ([]byte, error) {
	msg := make([]byte, len(sealed))
	if s.flags&flagSeal != 0 {
		s.recv.XORKeyStream(msg, sealed)
	} else {
		copy(msg, sealed)
	}
	want := s.signature(msg, s.recvSign, s.recvSeq, s.recv)
	if len(sig) != 16 || !hmac.Equal(sig, want) {
		return nil, errors.New("ntlm message signature mismatch")
	}
	s.recvSeq++
	return msg, nil
}

func (s *ntlmSession) signature(msg, key []byte, seq uint32, handle *rc4.Cipher) []byte {
	seqB := binary.LittleEndian.AppendUint32(nil, seq)
	checksum := hmacMD5(key, seqB, msg)[:8]
	if s.flags&flagKeyExch != 0 {
		handle.XORKeyStream(checksum, checksum)
	}
	sig := binary.LittleEndian.AppendUint32(make([]byte, 0, 16), 1)
	sig = append(sig, checksum...)
	return append(sig, seqB...)
}

func ntowfV2(user, password, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func md5Sum(parts ...[]byte) []byte {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func rc4Once(key, data []byte) []byte {
	c, _ := rc4.NewCipher(key) // 16-byte key: cannot fail
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// field reads the (len, maxlen, offset) security buffer at off in msg.
func field(msg []byte, off int) ([]byte, error) {
	n := int(binary.LittleEndian.Uint16(msg[off:]))
	start := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if n == 0 {
		return nil, nil
	}
	if start < 0 || start+n > len(msg) || start+n < start {
		return nil, fmt.Errorf("%w: field out of bounds", errNTLM)
	}
	return msg[start : start+n], nil
}

func putField(b []byte, n, offset int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(offset))
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: odd-length UTF-16 string", errNTLM)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// filetime converts t to Windows FILETIME (100 ns ticks since 1601-01-01).
func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}

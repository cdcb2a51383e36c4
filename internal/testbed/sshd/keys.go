package sshd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// keyPair is a generated SSH key in OpenSSH private-key PEM and public form.
type keyPair struct {
	Private crypto.Signer
	PEM     []byte
	Public  ssh.PublicKey
}

func newKeyPair(kind, comment string) (keyPair, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return keyPair{}, fmt.Errorf("unsupported key type %q", kind)
	}
	if err != nil {
		return keyPair{}, fmt.Errorf("generate %s key: %w", kind, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return keyPair{}, fmt.Errorf("marshal %s key: %w", kind, err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return keyPair{}, fmt.Errorf("public %s key: %w", kind, err)
	}
	return keyPair{Private: priv, PEM: pem.EncodeToMemory(block), Public: pub}, nil
}

// hostKeys are one host's generated host keys.
type hostKeys struct {
	ed25519, ecdsa keyPair
}

func newHostKeys(host string) (hostKeys, error) {
	ed, err := newKeyPair("ed25519", "root@"+host)
	if err != nil {
		return hostKeys{}, err
	}
	ec, err := newKeyPair("ecdsa", "root@"+host)
	if err != nil {
		return hostKeys{}, err
	}
	return hostKeys{ed25519: ed, ecdsa: ec}, nil
}

package ssh

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func genKey(t *testing.T) xssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func genECDSA(t *testing.T) xssh.PublicKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := xssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func authorized(k xssh.PublicKey) string {
	return strings.TrimSpace(string(xssh.MarshalAuthorizedKey(k)))
}

// TestLookupPlainMatchesKnownhosts compares the fast path with knownhosts
// itself on the same files and questions: where the fast path answers, the
// recorded keys (with their line numbers) and every verdict must be the
// library's.
func TestLookupPlainMatchesKnownhosts(t *testing.T) {
	k1, k2, k3, k4, other := genKey(t), genKey(t), genECDSA(t), genKey(t), genKey(t)
	keys := []xssh.PublicKey{k1, k2, k3, k4, other}
	plain := strings.Join([]string{
		"# plant hosts",
		"10.0.0.5 " + authorized(k1),
		"",
		"[10.0.0.5]:2222 " + authorized(k2) + " comment words",
		"10.0.0.50,plc-50 " + authorized(k4),
		"\t10.0.0.5   " + authorized(k3) + "\r",
		"10.0.0.5:2200 " + authorized(k4),
		"[10.0.0.5 " + authorized(other),
		"10.0.0.5 ssh-ed25519 %%%notbase64",
		"10.0.0.5 ssh-rsa " + strings.Fields(authorized(k4))[1],
		"[::1]:2222 " + authorized(k2),
		"::1 " + authorized(k1),
		"10.0.0.5 " + authorized(k4), // no newline at the end
	}, "\n")
	cases := []struct {
		name    string
		content string
		addrs   []string
		fast    map[string]bool // addr -> fast path expected to answer
	}{
		{"plain", plain,
			[]string{"10.0.0.5:22", "10.0.0.5:2222", "10.0.0.50:22", "plc-50:22", "10.0.0.5:2200", "[::1]:2222", "[::1]:22", "10.0.0.6:22"},
			map[string]bool{"10.0.0.5:22": true, "10.0.0.5:2222": true, "10.0.0.50:22": true, "plc-50:22": true, "10.0.0.5:2200": true,
				"[::1]:2222": true, "[::1]:22": true}},
		{"plain with a special character in a comment", plain + "\n10.0.0.9 " + authorized(k1) + " ops@plant", []string{"10.0.0.5:22", "10.0.0.5:2222", "10.0.0.9:22"},
			map[string]bool{"10.0.0.5:22": true, "10.0.0.5:2222": true, "10.0.0.9:22": true}},
		{"hashed line", plain + "\n" + knownhosts.HashHostname("10.0.0.9") + " " + authorized(k1), []string{"10.0.0.5:22", "10.0.0.9:22"}, nil},
		{"wildcard", plain + "\n10.0.0.* " + authorized(k2), []string{"10.0.0.5:22"}, nil},
		{"negation", "10.0.0.5,!10.0.0.6 " + authorized(k1), []string{"10.0.0.5:22", "10.0.0.6:22"}, nil},
		{"revoked", plain + "\n@revoked * " + authorized(k1), []string{"10.0.0.5:22"}, nil},
		{"cert authority", "@cert-authority *.plant " + authorized(k2) + "\n10.0.0.5 " + authorized(k1), []string{"10.0.0.5:22"}, nil},
		{"only invalid lines for the host", "10.0.0.5 ssh-ed25519 xxx\n10.0.0.7 " + authorized(k1), []string{"10.0.0.5:22"}, nil},
		{"over-long line", "10.0.0.5 " + authorized(k1) + "\n10.0.0.8 ssh-ed25519 " + strings.Repeat("A", 70000), []string{"10.0.0.5:22"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			lib, libErr := knownhosts.New(file)
			cache := NewKnownHostsCache()
			for _, addr := range tc.addrs {
				cb, known, ok := lookupPlain(file, addr)
				if ok != tc.fast[addr] {
					t.Fatalf("%s: fast path answered = %v, want %v", addr, ok, tc.fast[addr])
				}
				// The cache answers exactly as the fast path, twice (read,
				// then from its index).
				for range 2 {
					ccb, cknown, cok := cache.lookup(file, addr)
					if cok != ok || describe(cknown) != describe(known) {
						t.Fatalf("%s: cache answered %v %s, fast path %v %s", addr, cok, describe(cknown), ok, describe(known))
					}
					for i, k := range keys {
						if ok && verdict(ccb(addr, literalAddr(addr), k)) != verdict(cb(addr, literalAddr(addr), k)) {
							t.Errorf("%s key %d: cache and fast path disagree", addr, i)
						}
					}
				}
				if !ok {
					continue
				}
				if libErr != nil {
					t.Fatalf("%s: fast path answered where knownhosts fails: %v", addr, libErr)
				}
				wantKnown, err := knownKeys(lib, addr)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := describe(known), describe(wantKnown); got != want {
					t.Errorf("%s: recorded keys\n got %s\nwant %s", addr, got, want)
				}
				for i, k := range keys {
					got := verdict(cb(addr, literalAddr(addr), k))
					want := verdict(lib(addr, literalAddr(addr), k))
					if got != want {
						t.Errorf("%s key %d: fast path says %s, knownhosts %s", addr, i, got, want)
					}
				}
			}
		})
	}
}

func describe(keys []knownhosts.KnownKey) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "[line %d %s] ", k.Line, xssh.FingerprintSHA256(k.Key))
	}
	return b.String()
}

func verdict(err error) string {
	var ke *knownhosts.KeyError
	switch {
	case err == nil:
		return "accepted"
	case errors.As(err, &ke):
		return "key error " + describe(ke.Want)
	default:
		return "error " + err.Error()
	}
}

// TestLoadForMissingFile: no file is no keys, no error.
func TestLoadForMissingFile(t *testing.T) {
	cb, known, err := loadFor(filepath.Join(t.TempDir(), "absent"), "10.0.0.5:22", NewKnownHostsCache())
	if cb != nil || known != nil || err != nil {
		t.Errorf("loadFor on a missing file = %v, %v, %v", cb != nil, known, err)
	}
}

// plantKnownHosts writes a plant-sized known_hosts file: 5,000 hosts
// [10.1.x.y]:2222 with one key.
func plantKnownHosts(t *testing.T) string {
	t.Helper()
	k := genKey(t)
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "[10.1.%d.%d]:2222 %s\n", i/250, i%250+1, authorized(k))
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestPlainLookupCost: with a plant-sized file, one lookup parses only the
// lines of its host.
func TestPlainLookupCost(t *testing.T) {
	file := plantKnownHosts(t)
	allocs := testing.AllocsPerRun(5, func() {
		if _, known, ok := lookupPlain(file, "10.1.7.42:2222"); !ok || len(known) != 1 {
			t.Fatalf("lookup: ok %v, %d keys", ok, len(known))
		}
	})
	// Reading the file and parsing one line is a handful of allocations;
	// parsing every line would be tens of thousands.
	if allocs > 50 {
		t.Errorf("%v allocations per lookup in a 5,000-line file", allocs)
	}
}

// TestKnownHostsCacheSeesChanges: the cache reads the file again when it
// changes: a host appended (as trust on first use does), a key replaced by
// one of the same length (same size), the file replaced by a new one
// (rename), and the file removed.
func TestKnownHostsCacheSeesChanges(t *testing.T) {
	k1, k2, k3 := genKey(t), genKey(t), genKey(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "known_hosts")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cache := NewKnownHostsCache()
	keysOf := func(addr string) string {
		t.Helper()
		_, known, ok := cache.lookup(file, addr)
		if !ok {
			return "none"
		}
		return describe(known)
	}
	write("10.0.0.5 " + authorized(k1) + "\n")
	if got, want := keysOf("10.0.0.5:22"), describe([]knownhosts.KnownKey{{Key: k1, Line: 1}}); got != want {
		t.Fatalf("first read: %s, want %s", got, want)
	}
	if got := keysOf("10.0.0.6:22"); got != "none" {
		t.Fatalf("unknown host: %s", got)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("10.0.0.6 " + authorized(k2) + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf("10.0.0.6:22"), describe([]knownhosts.KnownKey{{Key: k2, Line: 2}}); got != want {
		t.Fatalf("after append: %s, want %s", got, want)
	}
	same := "10.0.0.5 " + authorized(k3) + "\n10.0.0.6 " + authorized(k2) + "\n"
	if fi, _ := os.Stat(file); fi.Size() != int64(len(same)) {
		t.Fatalf("test setup: replacement is %d bytes, file %d", len(same), fi.Size())
	}
	write(same)
	if got, want := keysOf("10.0.0.5:22"), describe([]knownhosts.KnownKey{{Key: k3, Line: 1}}); got != want {
		t.Fatalf("after a same-size rewrite: %s, want %s", got, want)
	}
	tmp := filepath.Join(dir, "known_hosts.new")
	if err := os.WriteFile(tmp, []byte("10.0.0.5 "+authorized(k1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf("10.0.0.5:22"), describe([]knownhosts.KnownKey{{Key: k1, Line: 1}}); got != want {
		t.Fatalf("after rename: %s, want %s", got, want)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if got := keysOf("10.0.0.5:22"); got != "none" {
		t.Fatalf("after removal: %s", got)
	}
}

// TestKnownHostsCacheCost: with a plant-sized file, a lookup through the
// cache reads nothing and parses only the host's line.
func TestKnownHostsCacheCost(t *testing.T) {
	file := plantKnownHosts(t)
	old := time.Now().Add(-time.Hour) // a file changed just now is read each time
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	cache := NewKnownHostsCache()
	if _, _, ok := cache.lookup(file, "10.1.0.1:2222"); !ok {
		t.Fatal("first lookup")
	}
	var bytesAllocated uint64
	allocs := testing.AllocsPerRun(5, func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, known, ok := cache.lookup(file, "10.1.7.42:2222"); !ok || len(known) != 1 {
			t.Fatalf("lookup: ok %v, %d keys", ok, len(known))
		}
		runtime.ReadMemStats(&after)
		bytesAllocated = after.TotalAlloc - before.TotalAlloc
	})
	// A stat and one parsed line; reading the file would allocate its
	// 300 KB.
	if allocs > 50 || bytesAllocated > 32<<10 {
		t.Errorf("%v allocations, %d bytes per cached lookup in a 5,000-line file", allocs, bytesAllocated)
	}
}

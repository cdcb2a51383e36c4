package winrm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// TestNoBasicFallback: a host that offers only Basic must not receive the
// password when NTLM was configured (go-ntlmssp would fall back to Basic).
func TestNoBasicFallback(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="WSMAN"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	c, err := Dial(t.Context(), Config{
		Address: "127.0.0.1", Port: addr.Port, HTTPS: true, User: "otscan",
		Password: probes.NewSecret("S3cret-Pa55word!"), Fingerprint: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Run(t.Context(), probes.Command{Line: PowerShellStdin})
	if !errors.Is(err, probes.ErrAuthFailed) || !errors.Is(err, errBasicFallback) {
		t.Fatalf("err = %v, want the refused Basic fallback", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range seen {
		if strings.HasPrefix(a, "Basic") {
			t.Errorf("password sent as Basic")
		}
	}
}

func TestPacer(t *testing.T) {
	p := pacer{min: 30 * time.Millisecond}
	start := time.Now()
	for range 5 {
		if err := p.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		p.done()
	}
	if took := time.Since(start); took < 4*30*time.Millisecond {
		t.Errorf("5 requests in %v", took)
	}
}

package snmp

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otsweep/otsweep/probes/snmp/snmpsim"
)

// relay forwards datagrams between SNMP clients and an agent, one upstream
// socket per client socket, and counts the requests in flight: received
// from a client and not yet answered. The first request is held until
// release is closed.
type relay struct {
	conn    net.PacketConn
	agent   *net.UDPAddr
	release chan struct{}

	mu          sync.Mutex
	upstream    map[string]*net.UDPConn // by client address
	requests    int
	inFlight    int
	maxInFlight int
	overlapped  chan struct{} // closed when a request arrives while another is in flight
}

func startRelay(t *testing.T, agent *net.UDPAddr) *relay {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{conn: conn, agent: agent, release: make(chan struct{}), upstream: map[string]*net.UDPConn{},
		overlapped: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.serve(t, &wg) }()
	t.Cleanup(func() {
		_ = conn.Close()
		r.mu.Lock()
		for _, u := range r.upstream {
			_ = u.Close()
		}
		r.mu.Unlock()
		wg.Wait()
	})
	return r
}

func (r *relay) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

func (r *relay) serve(t *testing.T, wg *sync.WaitGroup) {
	buf := make([]byte, 65535)
	for {
		n, from, err := r.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		msg := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.requests++
		r.inFlight++
		if r.inFlight > r.maxInFlight {
			r.maxInFlight = r.inFlight
			if r.inFlight == 2 {
				close(r.overlapped)
			}
		}
		first := r.requests == 1
		up := r.upstream[from.String()]
		if up == nil {
			if up, err = net.DialUDP("udp", nil, r.agent); err != nil {
				r.mu.Unlock()
				t.Errorf("relay: %v", err)
				return
			}
			r.upstream[from.String()] = up
			wg.Add(1)
			go func() { defer wg.Done(); r.answer(up, from) }()
		}
		r.mu.Unlock()
		if first {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-r.release
				_, _ = up.Write(msg)
			}()
			continue
		}
		_, _ = up.Write(msg)
	}
}

// answer relays the agent's replies on up to the client at to.
func (r *relay) answer(up *net.UDPConn, to net.Addr) {
	buf := make([]byte, 65535)
	for {
		n, err := up.Read(buf)
		if err != nil {
			return // closed
		}
		r.mu.Lock()
		r.inFlight-- // before the client can see the reply and send again
		r.mu.Unlock()
		_, _ = r.conn.WriteTo(buf[:n], to)
	}
}

func (r *relay) counts() (requests, inFlight, maxInFlight int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.inFlight, r.maxInFlight
}

// waitingForProbe reports whether a goroutine is blocked on a mutex inside
// (*Prober).Probe: the second of two concurrent scans, waiting for the
// first.
func waitingForProbe() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[sync.Mutex.Lock") && strings.Contains(g, ".(*Prober).Probe(") {
			return true
		}
	}
	return false
}

// TestConcurrentProbesAreSerialised: two scans of one device through one
// Prober, started together, must not interleave: the device never has more
// than one request of this scanner in flight. The first scan's first
// request is held until the second scan has been called and is waiting, so
// the two really are concurrent; every request is answered (the agent
// answers the discovery probe and both versions), so in flight means sent
// and not yet answered, and a request sent while another is unanswered can
// only come from the other scan.
func TestConcurrentProbesAreSerialised(t *testing.T) {
	a := startSim(t, "netsnmp-debian12.json", snmpsim.Options{AnswerDiscovery: true})
	r := startRelay(t, a.Addr())
	cfg := simConfig(a, "2c", "lab-ro")
	cfg.Port = r.port()
	cfg.MinInterval = time.Millisecond
	// Every request is answered: no retransmission may add a request in
	// flight, and a loaded machine gets all the time it needs.
	cfg.Timeout, cfg.Retries = 15*time.Second, -1
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	type result struct {
		requests int
		err      error
	}
	results := make(chan result, 2)
	scan := func() {
		obs, err := p.Probe(ctx)
		if err != nil {
			results <- result{err: err}
			return
		}
		n, err := strconv.Atoi(obs.Meta["requests"])
		results <- result{requests: n, err: err}
	}
	go scan()
	deadline := time.Now().Add(10 * time.Second)
	for requests, _, _ := r.counts(); requests == 0; requests, _, _ = r.counts() {
		if time.Now().After(deadline) {
			close(r.release)
			t.Fatal("the first scan sent nothing within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	go scan()
	// Release the first request once the second scan waits for the first
	// (serialised) or has sent a request of its own (interleaved).
	for waiting := false; !waiting; {
		select {
		case <-r.overlapped:
			waiting = true
		case <-time.After(time.Millisecond):
			waiting = waitingForProbe()
			if !waiting && time.Now().After(deadline) {
				close(r.release)
				t.Fatal("the second scan neither waits for the first nor sends within 10 s")
			}
		}
	}
	close(r.release)

	total := 0
	for range 2 {
		res := <-results
		if res.err != nil {
			t.Fatal(res.err)
		}
		total += res.requests
	}
	requests, inFlight, maxInFlight := r.counts()
	if maxInFlight > 1 {
		t.Errorf("%d requests in flight at once: the two scans interleaved", maxInFlight)
	}
	if inFlight != 0 {
		t.Errorf("%d requests never answered: the test's premise (every request answered) does not hold", inFlight)
	}
	if requests != total || total < 20 {
		t.Errorf("the device received %d requests, the scans report sending %d", requests, total)
	}
}

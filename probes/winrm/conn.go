package winrm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// boundConn is one HTTP/1.1 connection to a host on which requests are
// sent one at a time, each reply read in full before the next request. It
// exists because NTLM authenticates the TCP connection, not the request: an
// NTLM handshake and the sealed requests of its session must all travel on
// one connection. net/http's pooled Transport cannot promise that: it
// closes a connection instead of reusing it when, among other things, the
// goroutine that wrote a request has not reported the write 50 ms after the
// reply was read (which happens on a loaded scanner), and sends the next
// request on a new connection, where the host knows no session and answers
// 401. A boundConn never changes connection behind its user's back: once it
// is closed, it stays closed.
//
// A boundConn is not safe for concurrent use.
type boundConn struct {
	host string // host:port, for errors
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	// used is true once a reply was read: the connection may have been
	// idle, and the host may have closed it since.
	used   bool
	closed bool
}

// errConnClosed: the host closed the connection or asked to.
var errConnClosed = errors.New("connection closed by the host")

// dialBound connects to host ("host:port") with dial.
func dialBound(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), host string) (*boundConn, error) {
	c, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &boundConn{host: host, c: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}, nil
}

// close closes the connection; it is safe to call more than once.
func (b *boundConn) close() {
	if b != nil && !b.closed {
		b.closed = true
		_ = b.c.Close()
	}
}

// usable reports whether a request may be sent: the connection is open and,
// if it was idle, the host has neither closed it nor sent anything
// unsolicited. It does not block.
func (b *boundConn) usable() bool {
	if b == nil || b.closed {
		return false
	}
	if !b.used {
		return true
	}
	if b.br.Buffered() > 0 {
		b.close() // bytes nobody asked for: the stream is out of step
		return false
	}
	// A read that must fail at once: a timeout means the connection is
	// open and quiet; EOF, a reset or data mean it cannot carry a request.
	_ = b.c.SetReadDeadline(time.Unix(1, 0))
	_, err := b.br.Peek(1)
	_ = b.c.SetReadDeadline(time.Time{})
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	b.close()
	return false
}

// reply is a host's answer, its body read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends req and reads the reply, its body bounded by maxReply.
// ctx bounds both: when it ends, the I/O in progress fails and the
// connection is closed. On any error, and when the host asks to close the
// connection, the connection is closed; the reply (if any) is still
// returned in the latter case. req.Body is read and closed.
func (b *boundConn) roundTrip(ctx context.Context, req *http.Request) (*reply, error) {
	if b.closed {
		return nil, fmt.Errorf("%w: %s: %w", probes.ErrProtocol, b.host, errConnClosed)
	}
	dl, _ := ctx.Deadline() // zero: none
	if err := b.c.SetDeadline(dl); err != nil {
		b.close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = b.c.SetDeadline(time.Unix(1, 0)) })
	r, err := b.exchange(req)
	if late := !stop() || ctx.Err() != nil; late && err == nil {
		err = context.Cause(ctx) // too late: the deadline may cut the next exchange short
	}
	if err != nil {
		// The stream is in an unknown state: the connection cannot be
		// used again.
		b.close()
		return nil, err
	}
	if !b.closed {
		_ = b.c.SetDeadline(time.Time{})
	}
	return r, nil
}

func (b *boundConn) exchange(req *http.Request) (*reply, error) {
	if err := req.Write(b.bw); err != nil {
		return nil, err
	}
	if err := b.bw.Flush(); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(b.br, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 {
		// Nothing here asks for 100-continue; a final reply would follow
		// on a stream this exchange has lost its place in.
		return nil, fmt.Errorf("%w: %s: unexpected informational HTTP %d reply", probes.ErrProtocol, b.host, resp.StatusCode)
	}
	body, err := readBounded(resp.Body)
	if err != nil {
		return nil, err
	}
	b.used = true
	if resp.Close {
		b.close()
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

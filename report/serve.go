package report

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ErrUnprotected: the dashboard would be reachable beyond this machine
// without credentials.
var ErrUnprotected = errors.New("refusing to serve the dashboard beyond loopback without credentials")

// ShutdownTimeout is how long Serve waits for requests in flight once its
// context ends.
const ShutdownTimeout = 10 * time.Second

// CheckListen decides whether the dashboard may listen on addr ("host:port")
// and returns nil or an error wrapping ErrUnprotected. Without credentials
// only loopback addresses are allowed: an IP literal in 127.0.0.0/8 or ::1,
// or "localhost", or a name every address of which is loopback (resolved
// under ctx). An empty host means every interface and needs credentials.
func CheckListen(ctx context.Context, addr string, authenticated bool) error {
	if authenticated {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	loopback, err := isLoopbackHost(ctx, host)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !loopback {
		return fmt.Errorf("listen address %q is not loopback: %w; give a token or basic credentials", addr, ErrUnprotected)
	}
	return nil
}

func isLoopbackHost(ctx context.Context, host string) (bool, error) {
	switch host {
	case "":
		return false, nil
	case "localhost":
		return true, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback(), nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return false, nil
		}
	}
	return len(addrs) > 0, nil
}

// Listen opens the dashboard's TCP listener on addr after CheckListen, and
// checks the address actually bound as well: without credentials a listener
// that is not on loopback is closed and ErrUnprotected returned.
func Listen(ctx context.Context, addr string, authenticated bool) (net.Listener, error) {
	if err := CheckListen(ctx, addr, authenticated); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !authenticated && (!ok || !tcp.IP.IsLoopback()) {
		_ = ln.Close()
		return nil, fmt.Errorf("bound %s, which is not loopback: %w", ln.Addr(), ErrUnprotected)
	}
	return ln, nil
}

// Serve serves h on ln (over TLS when tlsConf is not nil) until ctx ends,
// then stops accepting, waits up to ShutdownTimeout for requests in flight
// and returns nil. It returns an error if serving fails for another reason.
// Slow clients are bounded by read and write timeouts. Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, tlsConf *tls.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConf,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			done <- srv.ServeTLS(ln, "", "")
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shut down server on %s: %w", ln.Addr(), err)
	}
	return nil
}

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/report"
)

type serveFlags struct {
	db, listen, inventory       string
	tokenEnv, tokenFile         string
	basicUser                   string
	basicPassEnv, basicPassFile string
	tlsCert, tlsKey             string
	historyDays                 int
}

func (a *app) serveCmd() *cobra.Command {
	f := &serveFlags{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the reports of the database as a read-only dashboard",
		Long: `Serve the stored sweeps live and read-only (GET and HEAD only):
  /                     the report of the latest sweep
  /sweeps, /sweeps/ID   the list of sweeps, and the report of one
  /api/report?sweep=ID  the JSON report (docs/report-schema.md); /api/sweeps the list as JSON
  /report.csv?sweep=ID  the CSV report
  /healthz              ok when the database answers

It listens on 127.0.0.1:8443 by default. On any address that is not loopback it refuses to start
unless credentials are given, and then requires them on every request: a bearer token
(--token-env VAR or --token-file FILE, the file readable by its owner only) or basic
authentication (--basic-user NAME with --basic-password-env VAR or --basic-password-file FILE).
Use --tls-cert and --tls-key off loopback, or credentials and reports cross the network in clear.
Stops gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runServe(cmd.Context(), f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.db, "db", envOr("OTSWEEP_DB", "otsweep.db"), "SQLite database file")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8443", "address to listen on (host:port)")
	fl.StringVar(&f.tokenEnv, "token-env", "", "environment variable holding the bearer token")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token (mode 0600 or 0400)")
	fl.StringVar(&f.basicUser, "basic-user", "", "user name for basic authentication")
	fl.StringVar(&f.basicPassEnv, "basic-password-env", "", "environment variable holding the basic authentication password")
	fl.StringVar(&f.basicPassFile, "basic-password-file", "", "file holding the basic authentication password (mode 0600 or 0400)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM, mode 0600 or 0400)")
	fl.StringVarP(&f.inventory, "inventory", "i", "", "inventory file or folder whose countermeasures and attestations the reports detail")
	fl.IntVar(&f.historyDays, "history-days", report.DefaultHistoryDays, "drift window in days before each sweep")
	return c
}

// secretFrom reads a secret from an environment variable or an owner-only
// file; what names neither returns the zero Secret. Errors never carry the
// value.
func secretFrom(what, env, file string) (probes.Secret, error) {
	switch {
	case env != "" && file != "":
		return probes.Secret{}, usageErr("%s: give an environment variable or a file, not both", what)
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return probes.Secret{}, usageErr("%s: environment variable %s is not set or empty", what, env)
		}
		return probes.NewSecret(v), nil
	case file != "":
		b, err := readOwnerOnly(file)
		if err != nil {
			return probes.Secret{}, usageErr("%s: %v", what, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return probes.Secret{}, usageErr("%s: %s is empty", what, file)
		}
		return probes.NewSecret(v), nil
	}
	return probes.Secret{}, nil
}

// readOwnerOnly reads a regular file that neither group nor others may
// access.
func readOwnerOnly(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o; it must be readable by its owner only (chmod 600)", path, perm)
	}
	return os.ReadFile(path)
}

func (a *app) runServe(ctx context.Context, f *serveFlags) error {
	if f.historyDays < 1 {
		return usageErr("--history-days %d: want at least 1", f.historyDays)
	}
	token, err := secretFrom("bearer token", f.tokenEnv, f.tokenFile)
	if err != nil {
		return err
	}
	pass, err := secretFrom("basic password", f.basicPassEnv, f.basicPassFile)
	if err != nil {
		return err
	}
	if (f.basicUser == "") != pass.IsZero() {
		return usageErr("basic authentication needs both --basic-user and --basic-password-env or --basic-password-file")
	}
	var tlsConf *tls.Config
	switch {
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return usageErr("give both --tls-cert and --tls-key")
	case f.tlsCert != "":
		if _, err := readOwnerOnly(f.tlsKey); err != nil {
			return usageErr("--tls-key: %v", err)
		}
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return usageErr("TLS certificate: %v", err)
		}
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	authenticated := !token.IsZero() || f.basicUser != ""
	if err := report.CheckListen(ctx, f.listen, authenticated); err != nil {
		if errors.Is(err, report.ErrUnprotected) {
			return usageErr("%v (--token-env, --token-file, or --basic-user with a password)", err)
		}
		return usageErr("--listen: %v", err)
	}
	defs, cms, err := a.reportInputs(f.inventory)
	if err != nil {
		return err
	}
	st, err := openExistingStore(ctx, f.db)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	log := a.logger()
	h := report.Handler(st, defs, report.HandlerOptions{Token: token, BasicUser: f.basicUser, BasicPassword: pass,
		HistoryDays: f.historyDays, Countermeasures: cms, Logger: log})
	ln, err := report.Listen(ctx, f.listen, authenticated)
	if err != nil {
		if errors.Is(err, report.ErrUnprotected) {
			return usageErr("%v", err)
		}
		return &exitError{code: ExitUsage, err: err}
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && tlsConf == nil {
		log.Warn("serving beyond loopback without TLS: credentials and reports cross the network in clear", "listen", ln.Addr().String())
	}
	fmt.Fprintf(a.errOut, "otsweep: serving %s read-only on %s://%s/ (Ctrl-C stops)\n", st.Path(), scheme, ln.Addr())
	if err := report.Serve(ctx, ln, h, tlsConf, log); err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	return nil
}

package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// app holds what every command shares: its output streams and global flags.
type app struct {
	out, errOut *os.File
	defsDir     string
	logLevel    string
}

func newRoot(stdout, stderr *os.File) *cobra.Command {
	a := &app{out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:           "otsweep",
		Short:         "Agentless IEC 62443 compliance scanner for OT endpoints",
		Long:          "otsweep reaches Windows hosts over WinRM, Linux hosts over SSH and network devices and PLCs over SNMP,\nruns read-only probes, maps the results to IEC 62443-3-3 and computes SL-A per FR against the role's SL-T.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	root.PersistentFlags().StringVar(&a.defsDir, "definitions", os.Getenv("OTSWEEP_DEFINITIONS"), "folder with user blueprints/, checks/ and controls/ that add to or override the built-in ones")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	root.AddCommand(a.catalogCmd(), a.checksCmd(), a.blueprintsCmd(), a.inventoryCmd(), a.scanCmd(), a.reportCmd(), a.serveCmd(), a.daemonCmd(), a.driftCmd(), a.alertCmd(), a.demoCmd(), a.sweepsCmd(), versionCmd())
	return root
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// version is set by the linker (-X main.version=...).
var version = "dev"

func versionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Println("otsweep", version)
			return nil
		}}
}

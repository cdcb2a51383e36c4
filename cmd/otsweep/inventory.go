package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otsweep/otsweep/inventories"
	"github.com/otsweep/otsweep/scheduler"
)

func (a *app) loadDefinitions() (*scheduler.Definitions, error) {
	d, err := scheduler.LoadDefinitions(a.defsDir, scheduler.BundleFacts())
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("definitions: %w", err)}
	}
	return d, nil
}

var reqIDRe = regexp.MustCompile(`^SR [1-7]\.[0-9]+( RE [0-9]+)?$`)

func (a *app) loadInventory(path string, defs *scheduler.Definitions) (*inventories.Inventory, error) {
	inv, err := inventories.Load(path, inventories.Validator{
		Role: func(r string) bool { _, ok := defs.Blueprints.Get(r); return ok },
		Requirement: func(id string) bool {
			_, ok := defs.Catalog.Lookup(id)
			return ok && reqIDRe.MatchString(id)
		},
	})
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return inv, nil
}

func (a *app) inventoryCmd() *cobra.Command {
	c := &cobra.Command{Use: "inventory", Short: "Validate and list inventories"}
	var checkCreds bool
	validate := &cobra.Command{
		Use:   "validate PATH",
		Short: "Check an inventory file or folder: syntax, references, addresses, credential sources",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defs, err := a.loadDefinitions()
			if err != nil {
				return err
			}
			inv, err := a.loadInventory(args[0], defs)
			if err != nil {
				return err
			}
			var problems []string
			for _, cr := range inv.Credentials {
				if !checkCreds {
					break
				}
				if err := cr.CheckSources(os.Getenv); err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", cr.Pos, err))
				}
			}
			if len(problems) > 0 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("%s", strings.Join(problems, "\n"))}
			}
			fmt.Fprintf(a.out, "%s: ok: %d zones, %d credentials, %d assets, %d countermeasures\n", args[0],
				len(inv.Zones), len(inv.Credentials), len(inv.Assets), len(inv.Countermeasures))
			return nil
		},
	}
	validate.Flags().BoolVar(&checkCreds, "check-credentials", false, "also check that every credential's environment variables are set and files exist with owner-only modes (secrets are not read)")
	var asJSON bool
	var path string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the assets of an inventory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usageErr("--inventory PATH is required")
			}
			defs, err := a.loadDefinitions()
			if err != nil {
				return err
			}
			inv, err := a.loadInventory(path, defs)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.out, inv)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADDRESS\tPLATFORM\tTRANSPORT\tROLE\tZONE\tTAGS")
			for _, as := range inv.Assets {
				addr := as.Address
				if as.Port != 0 {
					addr = fmt.Sprintf("%s:%d", as.Address, as.Port)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", as.Name, addr, as.Platform, as.Transport, as.Role, as.Zone, strings.Join(as.Tags, ","))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the inventory as JSON (no secrets: credentials name their sources only)")
	list.Flags().StringVarP(&path, "inventory", "i", "", "inventory file or folder")
	c.AddCommand(validate, list)
	return c
}

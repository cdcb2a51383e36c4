package scheduler

import (
	"fmt"
	"io"
	"strings"

	"github.com/otsweep/otsweep/probes"
)

// WriteChecksDoc renders the reference of every check and control as
// Markdown (docs/checks.md). It is generated from the loaded definitions so the
// document cannot drift from the code; a test compares the committed file.
func (d *Definitions) WriteChecksDoc(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Checks and controls\n\n")
	b.WriteString("Generated from `probes/checks/data/*.yaml`, `mapping/data/controls/*.yaml` and the blueprints by\n")
	b.WriteString("`go test ./scheduler -run TestDocs -update`. Do not edit by hand.\n\n")
	b.WriteString("A check reads facts (see `docs/facts-*.md`) and blueprint parameters (`param.*`, see\n")
	b.WriteString("`mapping/data/parameters.yaml`); a control maps checks to IEC 62443-3-3 SRs/REs.\n")
	for _, p := range []probes.Platform{probes.Linux, probes.Windows, probes.SNMP} {
		cs := d.Checks.ForPlatform(p)
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s checks (%d)\n\n", p, len(cs))
		b.WriteString("| id | title | SR/RE | expected | reference |\n|---|---|---|---|---|\n")
		for _, c := range cs {
			reqs := strings.Join(d.Requirements(c.ID), ", ")
			if reqs == "" {
				reqs = "— (IEC 62443-2-3 patch management: reported, not counted in SL-A)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.ID, cell(c.Title), reqs, cell(c.Expected), cell(c.Reference))
		}
	}
	b.WriteString("\n## Controls\n\n| id | title | mode | checks | SR/RE |\n|---|---|---|---|---|\n")
	for _, c := range d.Controls {
		mode := "all of"
		if len(c.AnyOf) > 0 {
			mode = "any of"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.ID, cell(c.Title), mode, "`"+strings.Join(c.Checks(), "`, `")+"`", strings.Join(c.Requirements, ", "))
	}
	b.WriteString("\n## Blueprints\n\n| role | platforms | SL-T {IAC UC SI DC RDF TRE RA} | not applicable |\n|---|---|---|---|\n")
	for _, n := range d.Blueprints.Names() {
		bp, _ := d.Blueprints.Get(n)
		var na []string
		for _, r := range d.Catalog.Items {
			if reason, ok := bp.NotApplicable[r.ID]; ok {
				na = append(na, r.ID+": "+reason)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", n, strings.Join(bp.Platforms, ", "), bp.Target, cell(strings.Join(na, "; ")))
	}
	b.WriteString("\n## Parameters\n\n| name | type | default | meaning |\n|---|---|---|---|\n")
	for _, p := range d.Blueprints.Params {
		fmt.Fprintf(&b, "| `%s` | %s | `%v` | %s |\n", p.Name, p.Type, p.Default, cell(p.Description))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

package windows

import (
	"fmt"
	"strings"
)

// FactsMarkdown renders Facts as the reference page docs/facts-windows.md.
func FactsMarkdown() string {
	var b strings.Builder
	b.WriteString("# Windows facts (schema " + Schema + ")\n\n")
	b.WriteString("Generated from `probes/windows.Facts` by `go test ./probes/windows -run TestFactsMarkdown -update`; do not edit.\n\n")
	b.WriteString("Every fact comes from one catalog probe (W01-W41 of the probe catalog; `_meta` is the bundle's own header). ")
	b.WriteString("A fact whose probe did not deliver carries an error instead of a value: `not collected` (no output line, e.g. a truncated run), ")
	b.WriteString("`not elevated` (the probe needs an elevated token: column Admin), `unparsed` (the output could not be read), or the probe's own error text. ")
	b.WriteString("`|null` means the value can be unset on the host (an absent registry value), which is not the same as 0; where Windows documents a default for an absent value, the description says so and the fact holds the effective value.\n\n")
	b.WriteString("`os.supported` and `os.days_to_eol` depend on the evaluation date and are added by `ApplySupport(facts, now)` (or `ParseAt`), never by `Parse`.\n\n")
	b.WriteString("| Fact | Type | Probe | Admin | Description |\n|---|---|---|---|---|\n")
	for _, d := range Facts {
		admin := ""
		if d.Admin {
			admin = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", d.Name, strings.ReplaceAll(d.Type, "|", "\\|"), d.Probe, admin, strings.ReplaceAll(d.Description, "|", "\\|"))
	}
	return b.String()
}

package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/otsweep/otsweep/mapping"
)

// csvHeader is the first row WriteCSV writes.
var csvHeader = []string{"asset", "address", "role", "zone", "fr", "requirement", "title", "state", "reason",
	"countermeasure", "sl_target", "sl_achieved"}

// CSVHeader returns the column names of WriteCSV, in order.
func CSVHeader() []string { return append([]string(nil), csvHeader...) }

// WriteCSV writes one row per asset and requirement, in the report's order:
// asset, address, role, zone, FR, requirement, title, state, reason,
// countermeasure, and the asset's SL-T and SL-A of that FR. sl_achieved is
// empty for an asset whose scan failed (its requirements are unknown).
//
// Every cell that a spreadsheet could read as a formula (one starting with
// = + - @, a tab, CR or LF, or their full-width forms) is prefixed with an
// apostrophe (OWASP CSV injection). It returns the first write error.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	row := make([]string, len(csvHeader))
	for i := range r.Assets {
		a := &r.Assets[i]
		for _, req := range a.Requirements {
			fr := mapping.FRIndex(req.FR)
			target, achieved := "", ""
			if fr >= 0 {
				target = strconv.Itoa(a.Target[fr])
				if a.Achieved != nil {
					achieved = strconv.Itoa(a.Achieved[fr])
				}
			}
			row = append(row[:0], a.Name, a.Address, a.Role, a.Zone, req.FR, req.ID, req.Title, string(req.State),
				req.Reason, req.Countermeasure, target, achieved)
			for j, cell := range row {
				row[j] = neutralize(cell)
			}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("report: write csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// neutralize prefixes a cell that a spreadsheet would evaluate as a formula
// with an apostrophe.
func neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return "'" + s
	}
	for _, p := range []string{"＝", "＋", "－", "＠"} {
		if strings.HasPrefix(s, p) {
			return "'" + s
		}
	}
	return s
}

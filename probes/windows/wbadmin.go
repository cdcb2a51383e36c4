package windows

import (
	"regexp"
	"sort"
	"time"
)

// wbadminVersion matches a backup version identifier, MM/DD/YYYY-HH:MM in UTC.
// Its format does not follow the host's language or regional settings, unlike
// the "Backup time" line next to it.
var wbadminVersion = regexp.MustCompile(`\b(\d{2}/\d{2}/\d{4}-\d{2}:\d{2})\b`)

// parseWbadminVersions returns the backup versions listed by `wbadmin get
// versions`, oldest first, as UTC times. Output without versions ("ERROR - No
// backup was found.") yields an empty list.
func parseWbadminVersions(text string) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, m := range wbadminVersion.FindAllStringSubmatch(text, -1) {
		t, err := time.Parse("01/02/2006-15:04", m[1])
		if err != nil || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

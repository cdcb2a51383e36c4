package windows

import (
	"fmt"
	"strconv"
	"time"
)

// parseDMTF parses a CIM/DMTF datetime as WMI returns it through
// Get-WmiObject ("20240611061203.500000+120": local time, then the offset from
// UTC in minutes) and returns the instant in UTC. Wildcard fields ("*") and
// interval values (sign ':') are rejected.
func parseDMTF(s string) (time.Time, error) {
	if len(s) != 25 || s[14] != '.' || (s[21] != '+' && s[21] != '-') {
		return time.Time{}, fmt.Errorf("dmtf datetime %q: want yyyymmddHHMMSS.ffffff+UUU", s)
	}
	num := func(from, to int) (int, error) {
		for i := from; i < to; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, fmt.Errorf("dmtf datetime %q: non-digit at %d", s, i)
			}
		}
		return strconv.Atoi(s[from:to])
	}
	var f [8]int
	spans := [8][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 10}, {10, 12}, {12, 14}, {15, 21}, {22, 25}}
	for i, sp := range spans {
		n, err := num(sp[0], sp[1])
		if err != nil {
			return time.Time{}, err
		}
		f[i] = n
	}
	year, month, day, hour, minute, sec, micro, off := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 || off > 840 {
		return time.Time{}, fmt.Errorf("dmtf datetime %q: field out of range", s)
	}
	if s[21] == '-' {
		off = -off
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.FixedZone("", off*60))
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("dmtf datetime %q: no such day", s)
	}
	return t.UTC(), nil
}

package windows

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// errUnknownLanguage is returned for tool output whose labels are in a
// language this package does not read.
var errUnknownLanguage = errors.New("output labels in an unknown language")

// w32tmStatus is `w32tm /query /status` as parsed.
type w32tmStatus struct {
	Lang        string // "en" or "de"
	Leap        *int   // 3 = not synchronized
	Stratum     *int   // 0 = unspecified
	Source      string
	LastSyncRaw string
	// LastSync is the wall-clock time the host printed, in the host's zone,
	// stored with a UTC location; nil when unspecified or unparsed.
	LastSync     *time.Time
	NeverSynced  bool // "unspecified" / "nicht angegeben"
	PollInterval *int // seconds
}

// parseW32tmStatus parses `w32tm /query /status`. Its labels are localized;
// English and German are read, anything else fails with errUnknownLanguage.
// Dates follow the host's regional format: M/d/yyyy h:mm:ss tt (en-US) or
// dd.MM.yyyy HH:mm:ss (de-DE); another format leaves LastSync nil with the
// raw text kept.
func parseW32tmStatus(text string) (*w32tmStatus, error) {
	st := &w32tmStatus{}
	for _, line := range strings.Split(text, "\n") {
		label, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		label = strings.ToLower(strings.TrimSpace(label))
		value = strings.TrimSpace(value)
		switch label {
		case "leap indicator", "sprungindikator":
			st.Lang = map[bool]string{true: "en", false: "de"}[label == "leap indicator"]
			st.Leap = leadingInt(value)
		case "stratum":
			st.Stratum = leadingInt(value)
		case "source", "quelle":
			st.Source = value
		case "last successful sync time", "letzte erfolgreiche synchronisierungszeit":
			st.LastSyncRaw = value
		case "poll interval", "abrufintervall":
			if i := strings.Index(value, "("); i >= 0 {
				st.PollInterval = leadingInt(strings.TrimSuffix(strings.TrimSpace(value[i+1:]), "s)"))
			}
		}
	}
	if st.Lang == "" {
		return nil, errUnknownLanguage
	}
	switch strings.ToLower(st.LastSyncRaw) {
	case "unspecified", "nicht angegeben", "":
		st.NeverSynced = st.LastSyncRaw != ""
	default:
		layouts := []string{"1/2/2006 3:04:05 PM", "1/2/2006 15:04:05", "2006-01-02 15:04:05"}
		if st.Lang == "de" {
			layouts = []string{"02.01.2006 15:04:05", "2.1.2006 15:04:05", "2006-01-02 15:04:05"}
		}
		for _, l := range layouts {
			if t, err := time.Parse(l, st.LastSyncRaw); err == nil {
				st.LastSync = &t
				break
			}
		}
	}
	return st, nil
}

// leadingInt parses the integer at the start of s ("4 (secondary reference)",
// "0(no warning)", "-23 (119.209ns per tick)").
func leadingInt(s string) *int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && s[end] == '-') {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return nil
	}
	return &n
}

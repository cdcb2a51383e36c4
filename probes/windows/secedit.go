package windows

import (
	"fmt"
	"strconv"
	"strings"
)

// secInfo is a parsed `secedit /export` INF file. Section and key lookups are
// case-insensitive, as they are for Windows INF files.
type secInfo struct {
	sections map[string]map[string]string
}

// parseINF parses the security template that `secedit /export /areas
// SECURITYPOLICY` writes (UTF-16LE on disk, already decoded to text by the
// bundle): "[Section]" headers, "Key = Value" lines (secedit writes
// "Key = Value" in [System Access] and "Key=Value" in [Registry Values] and
// [Version]) and ";" comments. Surrounding double quotes are removed from values
// (NewAdministratorName = "Administrator"). The key names are not localized,
// which is why this file, not `net accounts`, is the source for W06-W08.
func parseINF(text string) (*secInfo, error) {
	s := &secInfo{sections: map[string]map[string]string{}}
	var cur map[string]string
	text = strings.TrimPrefix(text, "\ufeff")
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimRight(line, "\r"))
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("inf line %d: bad section header %q", n+1, line)
			}
			name := strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			if s.sections[name] == nil {
				s.sections[name] = map[string]string{}
			}
			cur = s.sections[name]
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("inf line %d: key outside any section", n+1)
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("inf line %d: want key = value, got %q", n+1, line)
		}
		cur[strings.ToLower(k)] = unquote(strings.TrimSpace(v))
	}
	if len(s.sections) == 0 {
		return nil, fmt.Errorf("inf: no sections")
	}
	return s, nil
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// has reports whether the section exists.
func (s *secInfo) has(section string) bool {
	_, ok := s.sections[strings.ToLower(section)]
	return ok
}

// get returns a raw value.
func (s *secInfo) get(section, key string) (string, bool) {
	sec, ok := s.sections[strings.ToLower(section)]
	if !ok {
		return "", false
	}
	v, ok := sec[strings.ToLower(key)]
	return v, ok
}

// int returns an integer value: nil when the key is absent (secedit omits
// LockoutDuration and ResetLockoutCount when the threshold is 0).
func (s *secInfo) int(section, key string) (any, error) {
	v, ok := s.get(section, key)
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, fmt.Errorf("[%s] %s = %q is not an integer", section, key, v)
	}
	return n, nil
}

// flag returns a 0/1 value as a boolean: nil when absent.
func (s *secInfo) flag(section, key string) (any, error) {
	n, err := s.int(section, key)
	if err != nil || n == nil {
		return nil, err
	}
	switch n.(int) {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return nil, fmt.Errorf("[%s] %s = %d is not 0 or 1", section, key, n)
}

// line renders one key as evidence, the way it appears in the file.
func (s *secInfo) line(section, key string) string {
	v, ok := s.get(section, key)
	if !ok {
		return "[" + section + "] " + key + " absent"
	}
	return "[" + section + "] " + key + " = " + v
}

// rights returns [Privilege Rights] as privilege -> principals. SIDs keep
// their "*" prefix stripped; unresolved names are kept as written.
func (s *secInfo) rights() map[string]any {
	out := map[string]any{}
	for k, v := range s.sections["privilege rights"] {
		var who []string
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimPrefix(strings.TrimSpace(p), "*")
			if p != "" {
				who = append(who, p)
			}
		}
		out[canonicalRight(k)] = sortedUnique(who)
	}
	return out
}

// canonicalRight restores the documented casing of a privilege constant from
// its lower-cased key ("senetworklogonright" -> "SeNetworkLogonRight").
func canonicalRight(k string) string {
	// The user-right constants a SECURITYPOLICY export can hold.
	known := [...]string{
		"SeAssignPrimaryTokenPrivilege", "SeAuditPrivilege", "SeBackupPrivilege", "SeBatchLogonRight",
		"SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege", "SeCreatePagefilePrivilege",
		"SeCreatePermanentPrivilege", "SeCreateSymbolicLinkPrivilege", "SeCreateTokenPrivilege",
		"SeDebugPrivilege", "SeDelegateSessionUserImpersonatePrivilege", "SeDenyBatchLogonRight",
		"SeDenyInteractiveLogonRight", "SeDenyNetworkLogonRight", "SeDenyRemoteInteractiveLogonRight",
		"SeDenyServiceLogonRight", "SeEnableDelegationPrivilege", "SeImpersonatePrivilege",
		"SeIncreaseBasePriorityPrivilege", "SeIncreaseQuotaPrivilege", "SeIncreaseWorkingSetPrivilege",
		"SeInteractiveLogonRight", "SeLoadDriverPrivilege", "SeLockMemoryPrivilege", "SeMachineAccountPrivilege",
		"SeManageVolumePrivilege", "SeNetworkLogonRight", "SeProfileSingleProcessPrivilege",
		"SeRelabelPrivilege", "SeRemoteInteractiveLogonRight", "SeRemoteShutdownPrivilege",
		"SeRestorePrivilege", "SeSecurityPrivilege", "SeServiceLogonRight", "SeShutdownPrivilege",
		"SeSyncAgentPrivilege", "SeSystemEnvironmentPrivilege", "SeSystemProfilePrivilege",
		"SeSystemtimePrivilege", "SeTakeOwnershipPrivilege", "SeTcbPrivilege", "SeTimeZonePrivilege",
		"SeTrustedCredManAccessPrivilege", "SeUndockPrivilege",
	}
	for _, r := range known {
		if strings.EqualFold(r, k) {
			return r
		}
	}
	return k
}

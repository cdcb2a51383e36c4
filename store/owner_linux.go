package store

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// lookupProcess reads /proc/<pid>/stat: field 3 is the state, field 22 the
// start time in clock ticks since boot (proc(5)). The command name (field 2)
// may contain spaces and parentheses, so fields are counted after its last ')'.
func lookupProcess(pid int) process {
	if pid <= 0 {
		return process{known: true}
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if os.IsNotExist(err) {
			return process{known: true}
		}
		return process{}
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return process{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return process{}
	}
	if f[0] == "Z" || f[0] == "X" {
		return process{known: true}
	}
	start, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return process{}
	}
	return process{known: true, alive: true, start: start}
}

package store

import "os"

// owner identifies the process running a sweep.
type owner struct {
	host  string // os.Hostname
	boot  string // kernel boot id, "" where unknown
	pid   int
	start int64 // process start, clock ticks since boot; 0 where unknown
}

func currentOwner() owner {
	host, _ := os.Hostname() // "" never matches a live owner: liveness falls back to the heartbeat
	o := owner{host: host, boot: bootID(), pid: os.Getpid()}
	if p := lookupProcess(o.pid); p.known && p.alive {
		o.start = p.start
	}
	return o
}

// process is what this platform can tell about a pid.
type process struct {
	known bool  // false: this platform cannot tell whether the pid is alive
	alive bool  // the pid exists and is not a zombie
	start int64 // start time in clock ticks since boot, 0 where unknown
}

// running reports whether o (recorded by a sweep) is still running, as far as
// this process can tell. ok is false when it cannot tell: o ran on another
// host, or this platform cannot inspect processes.
func (me owner) running(o owner) (alive, ok bool) {
	if me.host == "" || o.host != me.host {
		return false, false
	}
	if me.boot != "" && o.boot != "" && me.boot != o.boot {
		return false, true // the host rebooted since
	}
	p := lookupProcess(o.pid)
	if !p.known {
		return false, false
	}
	if !p.alive {
		return false, true
	}
	if o.start != 0 && p.start != 0 && o.start != p.start {
		return false, true // the pid was reused by another process
	}
	return true, true
}

package scheduler

import (
	"github.com/otsweep/otsweep/probes"
	"github.com/otsweep/otsweep/probes/linux"
	"github.com/otsweep/otsweep/probes/snmp"
	"github.com/otsweep/otsweep/probes/windows"
)

// transportFacts are facts a transport adds to a bundle's (see
// probes.ScriptProber.HostFacts).
var transportFacts = map[probes.Platform][]string{
	probes.Linux: {"ssh.host_key"},
}

// BundleFacts returns the index of every documented fact of every platform
// bundle, for validating check definitions.
func BundleFacts() FactIndex {
	idx := documentedFacts()
	return func(p probes.Platform, name string) bool { return idx[p][name] }
}

func documentedFacts() map[probes.Platform]map[string]bool {
	idx := map[probes.Platform]map[string]bool{probes.Linux: {}, probes.Windows: {}, probes.SNMP: {}}
	for _, f := range linux.Facts {
		idx[probes.Linux][f.Name] = true
	}
	for _, f := range snmp.Facts {
		idx[probes.SNMP][f.Name] = true
	}
	for _, f := range windows.Facts {
		idx[probes.Windows][f.Name] = true
	}
	for p, names := range transportFacts {
		for _, n := range names {
			idx[p][n] = true
		}
	}
	return idx
}

// trackedFacts are the facts whose changes are drift events: installed
// software, listening ports, administrators, services, firmware and OS build,
// host keys and certificates.
var trackedFacts = map[string]bool{
	// Linux
	"os.pretty_name": true, "kernel.release": true, "packages.list": true,
	"net.tcp_listen": true, "net.udp_listen": true, "accounts.uid0": true,
	"accounts.admin_group_members": true, "accounts.login_shell": true,
	"ssh.host_key": true, "fs.suid_sgid_files": true,
	// SNMP
	"sys.descr": true, "sys.firmware": true, "entity.chassis_serial": true, "entity.chassis_firmware": true,
	"host.sw_installed": true, "snmp.v3.engine_boots": true,
	// Windows
	"os.build_full": true, "software.items": true, "patch.hotfixes": true, "acct.local_admins.members": true, "shares.nondefault": true,
	"services.running": true, "services.flagged_active": true, "listening.tcp_ports": true,
	"listening.udp_ports": true, "features.enabled": true,
	// A certificate a transport verified (reserved for WinRM over HTTPS)
	"tls.certificate": true,
}

func isTracked(name string) bool { return trackedFacts[name] }

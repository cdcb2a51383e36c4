package snmp

import (
	"fmt"
	"strings"
)

// FactDoc documents one fact the SNMP prober emits. Names are a contract
// with the check definitions: dotted, lowercase, stable.
type FactDoc struct {
	Name        string // dotted fact name
	Type        string // string, int, bool, []string, []int or []object
	Probe       string // probe id of table C (S01…S16)
	Description string
}

// Facts documents every fact Probe can emit. A test fails when an emitted
// fact is missing here; docs/facts-snmp.md is generated from it.
var Facts = []FactDoc{
	{"snmp.v3.offered", "bool", "S01", "The agent answered the unauthenticated SNMPv3 engine discovery probe (a Report PDU carrying its engine ID)."},
	{"snmp.v3.engine_id", "string", "S01", "snmpEngineID as lowercase hex, from the discovery Report or the snmpEngineID.0 scalar; unset when neither answered."},
	{"snmp.v3.engine_enterprise", "int", "S01", "IANA enterprise number encoded in the engine ID (RFC 3411 format); unset for non-conforming IDs."},
	{"snmp.v3.engine_format", "string", "S01", "Engine ID format octet: ipv4, ipv6, mac, text, octets, enterprise or reserved."},
	{"snmp.v3.engine_boots", "int", "S01", "snmpEngineBoots: how often the SNMP engine was (re-)initialised; a rise between scans is a reboot."},
	{"snmp.v3.engine_time", "int", "S01", "snmpEngineTime: seconds since the engine was last (re-)initialised."},

	{"snmp.version", "string", "S02", "The configured SNMP version (1, 2c or 3) that answered with the configured credentials."},
	{"snmp.versions", "[]string", "S02", "Every version that answered: the configured one, plus SNMPv1 when v2c is configured (and v2c when v1 is) with the same community."},
	{"snmp.community_based", "bool", "S02", "Access works with a cleartext community (SNMPv1 or v2c answered): a finding unless an exception is documented."},
	{"snmp.community_is_default", "bool", "S02", "The configured community is a well-known default (public, private, …); decided locally, nothing is sent. Unset for SNMPv3."},

	{"snmp.default_community_accepted", "[]string", "S03", "Well-known communities (public, private) the agent answered a GET of sysDescr.0 with. Present only when default-community guessing is enabled; absent otherwise."},

	{"snmp.write_access", "string", "S04", "Write access over v1/v2c inferred passively, never by SET: \"yes\" (VACM grants a v1/v2c group an existing write view), \"probable\" (a conventional read-write community name is accepted) or \"unknown (not tested: read-only policy)\". Never \"no\"."},

	{"snmp.v3.security_level", "string", "S05", "Security level of the configured SNMPv3 user that answered: authPriv, authNoPriv or noAuthNoPriv. Unset for v1/v2c."},
	{"snmp.v3.auth_protocol", "string", "S05", "Authentication protocol in use (MD5, SHA, SHA224, SHA256, SHA384, SHA512; none for noAuthNoPriv). Unset for v1/v2c."},
	{"snmp.v3.priv_protocol", "string", "S05", "Privacy protocol in use (DES, AES, AES192, AES256, AES192C, AES256C; none without privacy). Unset for v1/v2c."},
	{"snmp.v3.weaker_levels_accepted", "[]string", "S05", "Security levels below the configured one that the agent also answered for the same user (authNoPriv, noAuthNoPriv). Unset for v1/v2c."},
	{"snmp.v3.usm_users", "[]object", "S05", "usmUserTable rows readable in the scanner's view: {user, engine_id, auth_protocol, priv_protocol}. Unset when not exposed."},

	{"sys.descr", "string", "S06", "sysDescr.0."},
	{"sys.object_id", "string", "S06", "sysObjectID.0 (dotted, leading dot)."},
	{"sys.name", "string", "S06", "sysName.0."},
	{"sys.services", "int", "S06", "sysServices.0 (sum of 2^(layer-1) of the layers the device serves)."},
	{"sys.enterprise", "int", "S06", "IANA enterprise number from sysObjectID (1.3.6.1.4.1.<PEN>)."},
	{"sys.vendor", "string", "S06", "Vendor named by the enterprise number, or recognised from sysDescr when the number is unknown; unparsed when neither matches."},
	{"sys.model", "string", "S06", "Model from a per-vendor sysDescr pattern, else the ENTITY-MIB chassis model name; unparsed when neither is available."},
	{"sys.firmware", "string", "S06", "Firmware/OS version from a per-vendor sysDescr pattern, else the ENTITY-MIB chassis software or firmware revision; unparsed when neither is available."},
	{"sys.or_descr", "[]string", "S06", "sysORDescr column: the MIB modules the agent says it implements."},

	{"sys.uptime_ticks", "int", "S07", "sysUpTime.0 as reported (TimeTicks, 1/100 s; a 32-bit counter that wraps after about 497 days)."},
	{"sys.uptime_seconds", "int", "S07", "Seconds since the agent (re)started: sysUpTime corrected for wraps when snmpEngineTime proves them."},
	{"sys.uptime_wrapped", "bool", "S07", "sysUpTime has wrapped at least once (decided from snmpEngineTime); unset when no second clock is available or the clocks disagree."},
	{"host.uptime_seconds", "int", "S07", "hrSystemUptime.0 in seconds (time since the host, not the agent, booted); unset on devices without HOST-RESOURCES-MIB."},

	{"sys.contact", "string", "S08", "sysContact.0."},
	{"sys.location", "string", "S08", "sysLocation.0."},
	{"sys.contact_location_set", "bool", "S08", "sysContact and sysLocation are both non-empty and neither is a known vendor default (net-snmp's \"Me <me@example.org>\" / \"Sitting on the Dock of the Bay\", \"Unknown\", …)."},

	{"entity.physical", "[]object", "S09", "ENTITY-MIB entPhysicalTable rows of class chassis, module, stack or cpu: {index, class, descr, name, hardware_rev, firmware_rev, software_rev, serial, mfg, model}."},
	{"entity.chassis_model", "string", "S09", "entPhysicalModelName of the first chassis."},
	{"entity.chassis_serial", "string", "S09", "entPhysicalSerialNum of the first chassis."},
	{"entity.chassis_firmware", "string", "S09", "entPhysicalFirmwareRev of the first chassis."},
	{"entity.chassis_software", "string", "S09", "entPhysicalSoftwareRev of the first chassis."},

	{"host.sw_installed", "[]string", "S10", "hrSWInstalledName values, in table order."},
	{"host.sw_installed_detail", "[]object", "S10", "hrSWInstalledTable rows: {name, installed} with installed as RFC 3339 (from DateAndTime) or empty."},

	{"iface.count", "int", "S11", "Number of rows in ifTable."},
	{"iface.unused_ports", "[]string", "S11", "Ethernet ports (ifType 6, 62, 69, 117) administratively up but operationally down or lowerLayerDown: names (ifName, else ifDescr)."},
	{"iface.unused_ports_detail", "[]object", "S11", "The same ports: {index, name, descr, alias, type, last_change_seconds}."},

	{"ip.forwarding", "bool", "S12", "ipForwarding.0 is forwarding(1): the device routes IPv4."},
	{"ip.v6_forwarding", "bool", "S12", "ipv6IpForwarding.0 is forwarding(1)."},
	{"sys.services_layer3", "bool", "S12", "sysServices has the internet (layer 3, value 4) bit set."},

	{"net.tcp_listen", "[]int", "S13", "Listening TCP ports (sorted, unique) from tcpListenerTable, or from legacy tcpConnTable rows in state listen(2)."},
	{"net.tcp_listen_detail", "[]object", "S13", "Listening TCP endpoints: {address, port, pid} (pid 0 when unknown or from tcpConnTable)."},

	{"net.udp_listen", "[]int", "S14", "Listening UDP ports (sorted, unique) from udpEndpointTable (rows without a remote endpoint), or from legacy udpTable."},
	{"net.udp_listen_detail", "[]object", "S14", "Listening UDP endpoints: {address, port, pid}."},

	{"snmp.auth_traps_enabled", "bool", "S15", "snmpEnableAuthenTraps.0 is enabled(1): authentication failures raise traps."},
	{"snmp.bad_community_names", "int", "S15", "snmpInBadCommunityNames.0: messages with an unknown community (read before any default-community guess)."},
	{"snmp.bad_community_uses", "int", "S15", "snmpInBadCommunityUses.0: messages with a community not allowed for the operation."},
	{"snmp.v3.unknown_user_names", "int", "S15", "usmStatsUnknownUserNames.0."},
	{"snmp.v3.wrong_digests", "int", "S15", "usmStatsWrongDigests.0."},

	{"host.processes", "[]string", "S16", "hrSWRunName values (running programs), sorted and unique."},
}

// probeTitles names the probes of table C.
func probeTitles() map[string]string {
	return map[string]string{
		"S01": "snmp.v3_discovery", "S02": "snmp.versions", "S03": "snmp.default_community",
		"S04": "snmp.write_inference", "S05": "snmp.v3_strength", "S06": "sys.identity", "S07": "sys.uptime",
		"S08": "sys.contact_location", "S09": "entity.inventory", "S10": "host.sw_installed",
		"S11": "iface.unused_ports", "S12": "ip.forwarding", "S13": "tcp.listeners", "S14": "udp.listeners",
		"S15": "snmp.auth_monitoring", "S16": "host.processes",
	}
}

// FactsMarkdown renders Facts as the reference page docs/facts-snmp.md.
func FactsMarkdown() string {
	var b strings.Builder
	b.WriteString("# SNMP facts\n\n")
	b.WriteString("Generated from `probes/snmp.Facts` by `go test ./probes/snmp -run TestFactsDoc -update`; do not edit.\n\n")
	b.WriteString("Every fact carries its probe id as source. A fact with an error was not collected and every check\n")
	b.WriteString("reading it evaluates to error. An unset fact (null value, no error) was collected and the agent does\n")
	b.WriteString("not implement the object or table. The prober never sends a SET.\n")
	titles := probeTitles()
	last := ""
	for _, f := range Facts {
		if f.Probe != last {
			optIn := ""
			if f.Probe == "S03" {
				optIn = " (opt-in)"
			}
			fmt.Fprintf(&b, "\n## %s `%s`%s\n\n| fact | type | description |\n|---|---|---|\n", f.Probe, titles[f.Probe], optIn)
			last = f.Probe
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, f.Type, strings.ReplaceAll(f.Description, "|", "\\|"))
	}
	return b.String()
}

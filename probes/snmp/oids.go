package snmp

// OIDs read by the probes, resolved from the net-snmp MIB text (RFC1213-MIB,
// SNMPv2-MIB, IF-MIB, IP-MIB, TCP-MIB, UDP-MIB, HOST-RESOURCES-MIB,
// SNMP-FRAMEWORK-MIB, SNMP-USER-BASED-SM-MIB, SNMP-VIEW-BASED-ACM-MIB) and
// ENTITY-MIB (RFC 6933). All carry the leading dot gosnmp uses.
const (
	// system group (S06, S07, S08)
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysContact  = ".1.3.6.1.2.1.1.4.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidSysLocation = ".1.3.6.1.2.1.1.6.0"
	oidSysServices = ".1.3.6.1.2.1.1.7.0"
	oidSysORDescr  = ".1.3.6.1.2.1.1.9.1.3"

	// S12
	oidIPForwarding     = ".1.3.6.1.2.1.4.1.0"
	oidIPv6IPForwarding = ".1.3.6.1.2.1.4.25.0"

	// S15
	oidSnmpInBadCommunityNames = ".1.3.6.1.2.1.11.4.0"
	oidSnmpInBadCommunityUses  = ".1.3.6.1.2.1.11.5.0"
	oidSnmpEnableAuthenTraps   = ".1.3.6.1.2.1.11.30.0"
	oidUsmStatsUnknownUsers    = ".1.3.6.1.6.3.15.1.1.3.0"
	oidUsmStatsUnknownEngines  = ".1.3.6.1.6.3.15.1.1.4.0"
	oidUsmStatsWrongDigests    = ".1.3.6.1.6.3.15.1.1.5.0"
	oidUsmStatsDecryptionErrs  = ".1.3.6.1.6.3.15.1.1.6.0"
	oidUsmStatsUnsupportedSecL = ".1.3.6.1.6.3.15.1.1.1.0"
	oidUsmStatsNotInTimeWindow = ".1.3.6.1.6.3.15.1.1.2.0"

	// S07 (hosts)
	oidHrSystemUptime = ".1.3.6.1.2.1.25.1.1.0"

	// S01 values as scalars (SNMP-FRAMEWORK-MIB)
	oidSnmpEngineID    = ".1.3.6.1.6.3.10.2.1.1.0"
	oidSnmpEngineBoots = ".1.3.6.1.6.3.10.2.1.2.0"
	oidSnmpEngineTime  = ".1.3.6.1.6.3.10.2.1.3.0"

	// S11 ifTable / ifXTable columns
	oidIfDescr       = ".1.3.6.1.2.1.2.2.1.2"
	oidIfType        = ".1.3.6.1.2.1.2.2.1.3"
	oidIfAdminStatus = ".1.3.6.1.2.1.2.2.1.7"
	oidIfOperStatus  = ".1.3.6.1.2.1.2.2.1.8"
	oidIfLastChange  = ".1.3.6.1.2.1.2.2.1.9"
	oidIfName        = ".1.3.6.1.2.1.31.1.1.1.1"
	oidIfAlias       = ".1.3.6.1.2.1.31.1.1.1.18"

	// S09 entPhysicalTable columns
	oidEntDescr       = ".1.3.6.1.2.1.47.1.1.1.1.2"
	oidEntClass       = ".1.3.6.1.2.1.47.1.1.1.1.5"
	oidEntName        = ".1.3.6.1.2.1.47.1.1.1.1.7"
	oidEntHardwareRev = ".1.3.6.1.2.1.47.1.1.1.1.8"
	oidEntFirmwareRev = ".1.3.6.1.2.1.47.1.1.1.1.9"
	oidEntSoftwareRev = ".1.3.6.1.2.1.47.1.1.1.1.10"
	oidEntSerialNum   = ".1.3.6.1.2.1.47.1.1.1.1.11"
	oidEntMfgName     = ".1.3.6.1.2.1.47.1.1.1.1.12"
	oidEntModelName   = ".1.3.6.1.2.1.47.1.1.1.1.13"

	// S13 / S14 listener tables
	oidTCPListenerProcess = ".1.3.6.1.2.1.6.20.1.4"
	oidTCPConnState       = ".1.3.6.1.2.1.6.13.1.1"
	oidUDPEndpointProcess = ".1.3.6.1.2.1.7.7.1.8"
	oidUDPLocalPort       = ".1.3.6.1.2.1.7.5.1.2"

	// S10, S16 HOST-RESOURCES-MIB
	oidHrSWInstalledName = ".1.3.6.1.2.1.25.6.3.1.2"
	oidHrSWInstalledDate = ".1.3.6.1.2.1.25.6.3.1.5"
	oidHrSWRunName       = ".1.3.6.1.2.1.25.4.2.1.2"

	// S05 usmUserTable columns
	oidUsmUserAuthProtocol = ".1.3.6.1.6.3.15.1.2.2.1.5"
	oidUsmUserPrivProtocol = ".1.3.6.1.6.3.15.1.2.2.1.8"

	// S04 VACM
	oidVacmGroupName          = ".1.3.6.1.6.3.16.1.2.1.3"
	oidVacmAccessWriteViewNam = ".1.3.6.1.6.3.16.1.4.1.6"
	oidVacmViewTreeFamilyType = ".1.3.6.1.6.3.16.1.5.2.1.4"
)

// systemScalars are the system-group scalars: on SNMPv1 they are fetched in
// one GET of their own (every MIB-II agent implements them).
func systemScalars() []string {
	return []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysContact, oidSysName, oidSysLocation, oidSysServices}
}

// otherScalars are fetched in the same GET on v2c/v3 and one by one on v1,
// where one missing object fails the whole PDU with noSuchName.
func otherScalars() []string {
	return []string{
		oidIPForwarding, oidIPv6IPForwarding,
		oidSnmpEnableAuthenTraps, oidSnmpInBadCommunityNames, oidSnmpInBadCommunityUses,
		oidHrSystemUptime,
		oidSnmpEngineID, oidSnmpEngineBoots, oidSnmpEngineTime,
		oidUsmStatsUnknownUsers, oidUsmStatsWrongDigests,
	}
}

// walkSpec is one column subtree walked by a probe.
type walkSpec struct {
	probe    string
	root     string
	fallback string // walked only when root yields no rows
}

// walks lists every column subtree the probes walk, in request order.
func walks() []walkSpec {
	return []walkSpec{
		{probe: "S06", root: oidSysORDescr},
		{probe: "S11", root: oidIfDescr},
		{probe: "S11", root: oidIfType},
		{probe: "S11", root: oidIfAdminStatus},
		{probe: "S11", root: oidIfOperStatus},
		{probe: "S11", root: oidIfLastChange},
		{probe: "S11", root: oidIfName},
		{probe: "S11", root: oidIfAlias},
		{probe: "S09", root: oidEntDescr},
		{probe: "S09", root: oidEntClass},
		{probe: "S09", root: oidEntName},
		{probe: "S09", root: oidEntHardwareRev},
		{probe: "S09", root: oidEntFirmwareRev},
		{probe: "S09", root: oidEntSoftwareRev},
		{probe: "S09", root: oidEntSerialNum},
		{probe: "S09", root: oidEntMfgName},
		{probe: "S09", root: oidEntModelName},
		{probe: "S13", root: oidTCPListenerProcess, fallback: oidTCPConnState},
		{probe: "S14", root: oidUDPEndpointProcess, fallback: oidUDPLocalPort},
		{probe: "S10", root: oidHrSWInstalledName},
		{probe: "S10", root: oidHrSWInstalledDate},
		{probe: "S16", root: oidHrSWRunName},
		{probe: "S05", root: oidUsmUserAuthProtocol},
		{probe: "S05", root: oidUsmUserPrivProtocol},
		{probe: "S04", root: oidVacmGroupName},
		{probe: "S04", root: oidVacmAccessWriteViewNam},
		{probe: "S04", root: oidVacmViewTreeFamilyType},
	}
}

// USM protocol identities (SNMP-USER-BASED-SM-MIB, SNMP-USM-AES-MIB,
// SNMP-USM-HMAC-SHA2-MIB) as usmUserTable reports them.
func usmProtocolNames() map[string]string {
	return map[string]string{
		".1.3.6.1.6.3.10.1.1.1": "none",   // usmNoAuthProtocol
		".1.3.6.1.6.3.10.1.1.2": "MD5",    // usmHMACMD5AuthProtocol
		".1.3.6.1.6.3.10.1.1.3": "SHA",    // usmHMACSHAAuthProtocol
		".1.3.6.1.6.3.10.1.1.4": "SHA224", // usmHMAC128SHA224AuthProtocol
		".1.3.6.1.6.3.10.1.1.5": "SHA256", // usmHMAC192SHA256AuthProtocol
		".1.3.6.1.6.3.10.1.1.6": "SHA384", // usmHMAC256SHA384AuthProtocol
		".1.3.6.1.6.3.10.1.1.7": "SHA512", // usmHMAC384SHA512AuthProtocol
		".1.3.6.1.6.3.10.1.2.1": "none",   // usmNoPrivProtocol
		".1.3.6.1.6.3.10.1.2.2": "DES",    // usmDESPrivProtocol
		".1.3.6.1.6.3.10.1.2.3": "3DES",   // usm3DESEDEPrivProtocol
		".1.3.6.1.6.3.10.1.2.4": "AES",    // usmAesCfb128Protocol
	}
}

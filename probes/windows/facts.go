package windows

import (
	"sort"
	"strings"
)

// FactDoc documents one fact the Windows bundle can emit.
type FactDoc struct {
	Name        string `json:"name"`
	Type        string `json:"type"`  // bool, int, string, date (YYYY-MM-DD), time (RFC 3339 UTC), []string, []int, []object, object; "|null" when it can be unset
	Probe       string `json:"probe"` // catalog probe id (W01...), or _meta
	Admin       bool   `json:"admin"` // needs an elevated token; fails "not elevated" without one
	Description string `json:"description"`
}

// Facts documents every fact Parse and ApplySupport emit, sorted by probe then
// name. Treat it as read-only.
var Facts = factDocs()

func factDocs() []FactDoc {
	d := func(name, typ, probe, desc string) FactDoc {
		return FactDoc{Name: name, Type: typ, Probe: probe, Description: desc}
	}
	a := func(name, typ, probe, desc string) FactDoc {
		return FactDoc{Name: name, Type: typ, Probe: probe, Admin: true, Description: desc}
	}
	docs := []FactDoc{
		d("meta.elevated", "bool", "_meta", "The scan account ran with an elevated (high mandatory level, S-1-16-12288) token."),
		d("meta.language_mode", "string", "_meta", "PowerShell language mode: FullLanguage, or ConstrainedLanguage where AppLocker/WDAC enforce script rules."),
		d("meta.ps_version", "string", "_meta", "PowerShell engine version that ran the bundle."),
		d("meta.hostname", "string", "_meta", "COMPUTERNAME of the host."),
		d("meta.scan_time", "time", "_meta", "Host clock at the start of the bundle, UTC."),

		d("os.caption", "string", "W01", "Win32_OperatingSystem.Caption, trimmed."),
		d("os.product_name", "string|null", "W01", "ProductName, with Windows 10 corrected to Windows 11 for builds 22000 and later."),
		d("os.version", "string", "W01", "Win32_OperatingSystem.Version, e.g. 10.0.19045."),
		d("os.build", "int", "W01", "Build number."),
		d("os.ubr", "int|null", "W01", "Update build revision (cumulative update level); absent before Windows 10/Server 2016."),
		d("os.build_full", "string", "W01", "Version with UBR appended when known, e.g. 10.0.19045.4412."),
		d("os.product_type", "int", "W01", "1 workstation, 2 domain controller, 3 server."),
		d("os.role", "string", "W01", "workstation, domain-controller or server, from ProductType."),
		d("os.edition_id", "string|null", "W01", "EditionID (Professional, Enterprise, EnterpriseS, IoTEnterpriseS, ServerStandard...)."),
		d("os.installation_type", "string|null", "W01", "InstallationType: Client, Server or Server Core."),
		d("os.display_version", "string|null", "W01", "DisplayVersion (22H2), else ReleaseId (1809)."),
		d("os.arch", "string|null", "W01", "64-bit, 32-bit or arm64 (OSArchitecture normalized across languages)."),
		d("os.service_pack", "int", "W01", "ServicePackMajorVersion."),
		d("os.last_boot", "time|null", "W01", "Last boot, from the DMTF LastBootUpTime."),
		d("os.domain_member", "bool|null", "W01", "Win32_ComputerSystem.PartOfDomain."),
		d("os.domain", "string|null", "W01", "Domain name when joined."),
		d("os.ui_language", "string|null", "W01", "First MUI language, e.g. de-DE."),

		d("os.release", "string", "W02", "Release matched in the embedded end-of-support table (endoflife.date), by build, ProductType and EditionID."),
		d("os.eol_date", "date", "W02", "End of security support of the release."),
		d("os.eoes_date", "date|null", "W02", "End of paid extended security updates (ESU), when the release has them."),
		d("os.supported", "bool", "W02", "Evaluation date before os.eol_date. Set by ApplySupport(now), not by Parse."),
		d("os.days_to_eol", "int", "W02", "Days from the evaluation date to os.eol_date, negative once past. Set by ApplySupport(now)."),

		d("patch.hotfixes", "[]string", "W03", "HotFixIDs from Win32_QuickFixEngineering (does not list every servicing-stack/CBS update)."),
		d("patch.hotfix_count", "int", "W03", "Number of distinct HotFixIDs."),
		d("patch.last_installed", "date|null", "W03", "Newest parseable InstalledOn (M/d/yyyy, hex FILETIME or yyyyMMdd)."),
		d("patch.hotfix_dates_unparsed", "int", "W03", "Hotfixes whose InstalledOn was empty or unreadable."),

		d("software.items", "[]object", "W05", "Installed software from the Uninstall registry keys (64-bit, WOW6432Node, loaded user hives): name, version, publisher, install_date, scope, system_component. Win32_Product is never used."),
		d("software.count", "int", "W05", "Entries in software."),

		a("password.min_length", "int|null", "W06", "secedit [System Access] MinimumPasswordLength."),
		a("password.complexity", "bool|null", "W06", "PasswordComplexity = 1."),
		a("password.reversible_encryption", "bool|null", "W06", "ClearTextPassword = 1 (passwords stored reversibly)."),
		a("secpol.guest_enabled", "bool|null", "W06", "EnableGuestAccount = 1."),
		a("secpol.admin_enabled", "bool|null", "W06", "EnableAdminAccount = 1."),
		a("secpol.admin_name", "string|null", "W06", "NewAdministratorName (built-in Administrator's name)."),
		a("secpol.lsa_anonymous_name_lookup", "bool|null", "W06", "LSAAnonymousNameLookup = 1 (anonymous SID/name translation allowed)."),
		a("secpol.user_rights", "object", "W06", "[Privilege Rights]: right constant -> principals (SIDs without the * prefix, or names)."),
		a("password.history_size", "int|null", "W07", "PasswordHistorySize."),
		a("password.max_age_days", "int|null", "W07", "MaximumPasswordAge in days; -1 = never expires."),
		a("password.min_age_days", "int|null", "W07", "MinimumPasswordAge in days."),
		a("lockout.threshold", "int|null", "W08", "LockoutBadCount; 0 = never locks out."),
		a("lockout.duration_minutes", "int|null", "W08", "LockoutDuration; absent (null) when the threshold is 0."),
		a("lockout.reset_minutes", "int|null", "W08", "ResetLockoutCount; absent (null) when the threshold is 0."),
		a("lockout.admin_lockout", "bool|null", "W08", "AllowAdministratorLockout = 1 (Windows 11 22H2 and later)."),

		d("acct.guest.exists", "bool", "W09", "A local account with RID 501 exists."),
		d("acct.guest.name", "string|null", "W09", "Its (localized or renamed) name."),
		d("acct.guest.disabled", "bool|null", "W09", "Win32_UserAccount.Disabled of the RID 501 account."),
		d("acct.builtin_admin.exists", "bool", "W10", "A local account with RID 500 exists."),
		d("acct.builtin_admin.name", "string|null", "W10", "Its name."),
		d("acct.builtin_admin.disabled", "bool|null", "W10", "Win32_UserAccount.Disabled of the RID 500 account."),
		d("acct.builtin_admin.renamed", "bool|null", "W10", "The name differs from the default Administrator name of the common UI languages."),
		d("acct.local_admins.members", "[]string", "W11", `Members of the group with SID S-1-5-32-544 as DOMAIN\name (the group name is localized).`),
		d("acct.local_admins.group", "string", "W11", "Localized name of that group (Administrators, Administratoren...)."),
		d("acct.local_users.all", "[]object", "W12", "Local accounts: name, sid, disabled, lockout, password_required, password_expires, password_changeable. On a domain controller these are the domain's accounts."),
		d("acct.local_users.enabled", "[]string", "W12", "Names of enabled accounts."),
		d("acct.local_users.no_password_required", "[]string", "W12", "Enabled accounts with PasswordRequired = false."),
		d("acct.local_users.password_never_expires", "[]string", "W12", "Enabled accounts with PasswordExpires = false."),

		d("rdp.enabled", "bool", "W13", "Remote Desktop accepts connections: fDenyTSConnections = 0 (policy over local; absent = denied)."),
		d("rdp.nla_required", "bool|null", "W13", "UserAuthentication = 1 (Network Level Authentication), policy over RDP-Tcp."),
		d("rdp.security_layer", "int|null", "W13", "SecurityLayer: 0 RDP, 1 negotiate, 2 TLS."),
		d("rdp.min_encryption_level", "int|null", "W13", "MinEncryptionLevel: 1 low ... 3 high, 4 FIPS."),
		d("rdp.port", "int|null", "W13", "RDP-Tcp PortNumber."),
		d("rdp.max_idle_time_ms", "int|null", "W13", "Policy MaxIdleTime (idle session limit), ms."),
		d("rdp.max_disconnection_time_ms", "int|null", "W13", "Policy MaxDisconnectionTime, ms."),

		d("smb.v1.server_enabled", "bool", "W14", "SMBv1 server on: MSFT_SmbServerConfiguration.EnableSMB1Protocol where present, else LanmanServer SMB1 (absent = enabled)."),
		d("smb.v1.client_enabled", "bool", "W14", "SMBv1 client driver mrxsmb10 installed and Start != 4."),
		d("smb.encrypt_data", "bool|null", "W14", "MSFT_SmbServerConfiguration.EncryptData (Windows 8/2012 and later)."),
		d("smb.signing.server_required", "bool", "W15", "LanmanServer RequireSecuritySignature = 1 (absent = 0)."),
		d("smb.signing.server_enabled", "bool", "W15", "LanmanServer EnableSecuritySignature = 1 (absent = 0)."),
		d("smb.signing.client_required", "bool", "W15", "LanmanWorkstation RequireSecuritySignature = 1 (absent = 0)."),
		d("smb.signing.client_enabled", "bool", "W15", "LanmanWorkstation EnableSecuritySignature = 1 (absent = 1)."),
		d("smb.client.plaintext_password", "bool", "W15", "LanmanWorkstation EnablePlainTextPassword = 1 (absent = 0)."),
	}
	for _, pr := range []string{"domain", "private", "public"} {
		docs = append(docs,
			d("fw."+pr+".enabled", "bool|null", "W16", "Windows Firewall "+pr+" profile EnableFirewall, policy over local."),
			d("fw."+pr+".inbound_blocked", "bool", "W16", "DefaultInboundAction = 1 (block), policy over local; absent = block."),
			d("fw."+pr+".outbound_blocked", "bool", "W16", "DefaultOutboundAction = 1 (block), policy over local; absent = allow."))
	}
	docs = append(docs,
		d("fw.service_running", "bool", "W16", "MpsSvc (Windows Defender Firewall service) is running."),

		d("av.defender.present", "bool", "W17", "MSFT_MpComputerStatus answered (Defender installed and registered)."),
		d("av.defender.service_enabled", "bool|null", "W17", "AMServiceEnabled."),
		d("av.defender.av_enabled", "bool|null", "W17", "AntivirusEnabled."),
		d("av.defender.realtime_enabled", "bool|null", "W17", "RealTimeProtectionEnabled."),
		d("av.defender.tamper_protected", "bool|null", "W17", "IsTamperProtected (newer platforms only)."),
		d("av.defender.signature_age_days", "int|null", "W17", "AntivirusSignatureAge in days."),
		d("av.defender.signature_updated", "time|null", "W17", "AntivirusSignatureLastUpdated."),
		d("av.defender.signature_version", "string|null", "W17", "AntivirusSignatureVersion."),
		d("av.defender.running_mode", "string|null", "W17", "AMRunningMode: Normal, Passive Mode, EDR Block Mode, SxS Passive Mode."),
		d("av.defender.product_version", "string|null", "W17", "AMProductVersion (platform)."),
		d("av.defender.engine_version", "string|null", "W17", "AMEngineVersion."),
		d("av.defender.policy_disabled", "bool", "W17", "Policy DisableAntiSpyware, DisableAntiVirus or DisableRealtimeMonitoring = 1."),
		d("av.securitycenter.present", "bool", "W18", "root\\SecurityCenter2 exists (client SKUs only)."),
		d("av.products.all", "[]object", "W18", "Registered AntiVirusProduct: name, product_state, enabled, up_to_date, scanner, path, timestamp."),
		d("av.products.active", "[]string", "W18", "Names of products that are on with up-to-date signatures (productState bits)."),
		d("av.services.all", "[]object", "W19", "Services of known AV/EDR/application-control vendors: name, display_name, state, start_mode."),
		d("av.services.running", "[]string", "W19", "Names of those that are running."),
	)
	for _, c := range []string{"exe", "msi", "script", "dll", "appx"} {
		docs = append(docs,
			d("applocker."+c+".mode", "string", "W20", "AppLocker "+c+" rule collection: not-configured, audit or enforced (SrpV2 EnforcementMode)."),
			d("applocker."+c+".rules", "int", "W20", "Rules in the "+c+" collection."))
	}
	docs = append(docs,
		d("applocker.service_running", "bool", "W20", "AppIDSvc (Application Identity) is running."),
		d("deviceguard.present", "bool", "W21", "Win32_DeviceGuard answered (Windows 10/Server 2016 and later)."),
		d("wdac.kernel_status", "int|null", "W21", "CodeIntegrityPolicyEnforcementStatus: 0 off, 1 audit, 2 enforced."),
		d("wdac.usermode_status", "int|null", "W21", "UsermodeCodeIntegrityPolicyEnforcementStatus: 0 off, 1 audit, 2 enforced."),
		d("vbs.status", "int|null", "W21", "VirtualizationBasedSecurityStatus: 0 off, 1 configured, 2 running."),
		d("vbs.services_running", "[]int", "W21", "SecurityServicesRunning (1 Credential Guard, 2 HVCI, ...)."),
		d("credential_guard.running", "bool", "W21", "Credential Guard is running."),
		d("hvci.running", "bool", "W21", "Hypervisor-enforced code integrity is running."),

		d("usb.storage_disabled", "bool", "W22", "USB mass storage unusable: USBSTOR (and UASPStor) Start = 4, or RemovableStorageDevices Deny_All/Deny_Read policy."),
		d("usb.usbstor_start", "int|null", "W22", "USBSTOR Start (3 enabled, 4 disabled)."),
		d("usb.uaspstor_start", "int|null", "W22", "UASPStor Start."),
		d("usb.deny_all", "bool", "W22", "Policy RemovableStorageDevices Deny_All = 1."),
		d("autorun.no_drive_type_autorun", "int|null", "W23", "NoDriveTypeAutoRun (255 = all drive types; Windows default 0x91 when absent)."),
		d("autorun.no_autorun", "int|null", "W23", "NoAutorun."),
		d("autorun.no_autoplay_non_volume", "int|null", "W23", "NoAutoplayfornonVolume."),
		d("autorun.disabled", "bool", "W23", "NoDriveTypeAutoRun = 255 and NoAutorun = 1."),

		a("audit.source", "string", "W24", "backup (auditpol /backup, GUID + numeric setting) or r (auditpol /get /r, localized text)."),
		a("audit.subcategories", "object", "W24", "Every advanced audit subcategory: English name (or GUID when unknown) -> 0 none, 1 success, 2 failure, 3 both."),
		a("audit.sce_no_apply_legacy", "int|null", "W24", "Lsa SCENoApplyLegacyAuditPolicy (1 = subcategory settings override categories)."),
	)
	for _, sc := range auditSubcategories() {
		docs = append(docs, a(auditFactName(sc.Name), "int|null", "W24",
			"Audit "+sc.Name+" "+sc.GUID+": 0 none, 1 success, 2 failure, 3 both; null before Windows "+sc.Since+"."))
	}
	for _, l := range []string{"application", "security", "system"} {
		docs = append(docs, d("eventlog."+l+".max_size_kb", "int|null", "W25", "Maximum size of the "+l+" log in KB: policy MaxSize (KB) over the service key MaxSize (bytes)."))
	}
	docs = append(docs,
		d("time.type", "string|null", "W26", "W32Time Type (NT5DS, NTP, AllSync, NoSync), policy over local."),
		d("time.ntp_server", "string|null", "W26", "W32Time NtpServer, policy over local."),
		d("time.service_running", "bool", "W26", "W32Time is running."),
		d("time.w32tm_exit_code", "int", "W26", "Exit code of w32tm /query /status."),
		d("time.synced", "bool", "W26", "w32tm reports a synchronized clock: leap indicator != 3, stratum 1-15, a last successful sync."),
		d("time.stratum", "int|null", "W26", "Stratum from w32tm /query /status (English or German output)."),
		d("time.source", "string|null", "W26", "Time source as w32tm prints it (may be localized, e.g. Local CMOS Clock)."),
		d("time.last_sync", "time|null", "W26", "Last successful sync, converted to UTC with the host's offset; null when never synced."),

		d("session.inactivity_timeout_secs", "int|null", "W27", "Machine inactivity limit InactivityTimeoutSecs."),
		d("session.screensaver.users", "[]object", "W27", "Per loaded user hive: sid, active, secure, timeout_secs (policy over the user's own setting)."),
		d("session.screensaver.unlocked_users", "[]string", "W27", "SIDs of loaded hives without an active, password-protected screen saver."),
		d("banner.caption", "string|null", "W28", "LegalNoticeCaption."),
		d("banner.text", "string|null", "W28", "LegalNoticeText."),
		d("banner.set", "bool", "W28", "Both are non-empty."),

		a("bitlocker.present", "bool", "W29", "The BitLocker WMI namespace exists."),
		a("bitlocker.volumes", "[]object", "W29", "Win32_EncryptableVolume: drive, protection_status, conversion_status, volume_type, encryption_method."),
		a("bitlocker.os_volume_protected", "bool|null", "W29", "The system drive has ProtectionStatus = 1."),
		a("bitlocker.os_volume_conversion_status", "int|null", "W29", "ConversionStatus of the system drive (1 = fully encrypted; Windows 8 and later)."),

		d("services.all", "[]object", "W30", "All services: name, display_name, state, start_mode."),
		d("services.running", "[]string", "W30", "Names of running services."),
		d("services.flagged_active", "[]string", "W30", "Running or automatic services from the least-functionality list (SNMP, TlntSvr, FTPSVC, simptcp, W3SVC, IISADMIN, RemoteRegistry, SSDPSRV, upnphost, Browser, sshd, WMSvc, RemoteAccess, Spooler)."),

		d("features.source", "string", "W31", "optional-features (Win32_OptionalFeature, elevated) or files (telnet.exe/tftp.exe presence only)."),
		d("features.telnet_client", "bool", "W31", "Telnet client installed (feature TelnetClient or telnet.exe present)."),
		d("features.tftp_client", "bool", "W31", "TFTP client installed (feature TFTP or tftp.exe present)."),
		a("features.enabled", "[]string", "W31", "Enabled features of the watched list (TelnetClient, TFTP, SMB1Protocol, MicrosoftWindowsPowerShellV2(Root), SimpleTCP, TelnetServer, IIS-FTPServer)."),
		a("features.smb1", "bool", "W31", "Feature SMB1Protocol enabled."),
		a("features.powershell_v2", "bool", "W31", "Feature MicrosoftWindowsPowerShellV2 or ...V2Root enabled."),
		a("features.simple_tcp", "bool", "W31", "Feature SimpleTCP enabled."),

		d("listening.tcp", "[]object", "W32", "Listening TCP sockets from netstat -ano (foreign address 0.0.0.0:0 or [::]:0): address, port, pid, process."),
		d("listening.tcp_ports", "[]int", "W32", "Distinct listening TCP ports."),
		d("listening.tcp_ports_external", "[]int", "W32", "Distinct listening TCP ports bound beyond loopback."),
		d("listening.udp", "[]object", "W32", "Bound UDP endpoints: address, port, pid, process."),
		d("listening.udp_ports", "[]int", "W32", "Distinct bound UDP ports."),
		d("listening.udp_ports_external", "[]int", "W32", "Distinct bound UDP ports beyond loopback."),

		d("name.llmnr_enabled", "bool", "W33", "LLMNR on: policy EnableMulticast != 0 (absent = on)."),
		d("name.netbios.adapters", "[]object", "W33", "IP-enabled adapters: description, netbios_option (0 DHCP, 1 on, 2 off)."),
		d("name.netbios_disabled", "bool", "W33", "NetBIOS over TCP/IP is off (2) on every IP-enabled adapter."),
		d("name.netbt_node_type", "int|null", "W33", "NetBT NodeType (2 = P-node)."),

		d("ps.version", "string", "W34", "$PSVersionTable.PSVersion."),
		d("ps.script_block_logging", "bool", "W34", "EnableScriptBlockLogging = 1."),
		d("ps.module_logging", "bool", "W34", "EnableModuleLogging = 1."),
		d("ps.module_names", "[]string", "W34", "ModuleLogging ModuleNames (* = all)."),
		d("ps.transcription", "bool", "W34", "EnableTranscripting = 1."),
		d("ps.transcript_dir", "string|null", "W34", "Transcription OutputDirectory."),
		d("ps.v2_engine_registered", "bool", "W34", "The PowerShell 2.0 engine is registered (HKLM\\SOFTWARE\\Microsoft\\PowerShell\\1\\PowerShellEngine)."),

		d("lsa.run_as_ppl", "int|null", "W35", "RunAsPPL, policy (24H2 location) over Lsa."),
		d("lsa.protected", "bool", "W35", "RunAsPPL >= 1 (LSA runs as a protected process)."),
		d("wdigest.use_logon_credential", "int|null", "W35", "WDigest UseLogonCredential as set."),
		d("wdigest.enabled", "bool", "W35", "WDigest caches plaintext credentials: UseLogonCredential = 1; absent = enabled before build 9600 (8.1/2012 R2), disabled after."),
		d("uac.enabled", "bool", "W36", "EnableLUA != 0 (absent = 1)."),
		d("uac.consent_prompt_admin", "int|null", "W36", "ConsentPromptBehaviorAdmin."),
		d("uac.consent_prompt_user", "int|null", "W36", "ConsentPromptBehaviorUser."),
		d("uac.filter_administrator_token", "int|null", "W36", "FilterAdministratorToken (admin approval mode for RID 500)."),
		d("uac.prompt_on_secure_desktop", "int|null", "W36", "PromptOnSecureDesktop."),
		d("uac.local_account_token_filter", "int", "W36", "LocalAccountTokenFilterPolicy (absent = 0: remote local-admin tokens filtered)."),
		d("auth.lm_compatibility_level", "int", "W37", "LmCompatibilityLevel (absent = 3)."),
		d("auth.no_lm_hash", "int", "W37", "NoLMHash (absent = 1)."),
		d("auth.ntlm_min_client_sec", "int", "W37", "NTLMMinClientSec (absent = 536870912)."),
		d("auth.ntlm_min_server_sec", "int", "W37", "NTLMMinServerSec (absent = 536870912)."),
		d("auth.restrict_sending_ntlm", "int|null", "W37", "RestrictSendingNTLMTraffic."),

		a("backup.wbadmin_present", "bool", "W38", "wbadmin.exe exists."),
		a("backup.versions", "[]string", "W38", "Backup versions from wbadmin get versions (version identifiers, UTC, RFC 3339), oldest first."),
		a("backup.count", "int", "W38", "Number of backup versions."),
		a("backup.last", "time|null", "W38", "Newest backup version."),

		d("winrm.service.allow_basic", "bool", "W39", "WinRM service Basic auth: policy AllowBasic over local auth_basic (absent = false)."),
		d("winrm.service.allow_unencrypted", "bool", "W39", "WinRM service unencrypted traffic (absent = false)."),
		d("winrm.service.disable_runas", "bool", "W39", "Policy DisableRunAs (absent = false)."),
		d("winrm.client.allow_basic", "bool", "W39", "WinRM client Basic auth (absent = true)."),
		d("winrm.client.allow_unencrypted", "bool", "W39", "WinRM client unencrypted traffic (absent = false)."),
		d("winrm.client.allow_digest", "bool", "W39", "WinRM client Digest auth (absent = true)."),
		d("winrm.listeners", "[]string", "W39", "WSMAN listener keys, e.g. *+HTTP, *+HTTPS."),
		d("winrm.https_listener", "bool", "W39", "An HTTPS listener exists."),
		d("winrm.service_running", "bool", "W39", "WinRM service is running."),

		d("shares.all", "[]object", "W40", "Win32_Share: name, path, type (0 disk, 1 print, 3 IPC; +0x80000000 administrative)."),
		d("shares.nondefault", "[]string", "W40", "Disk shares (type 0) other than print$ and, on domain controllers, SYSVOL and NETLOGON."),
		d("anon.restrict_anonymous", "int", "W40", "Lsa RestrictAnonymous (absent = 0)."),
		d("anon.restrict_anonymous_sam", "int", "W40", "Lsa RestrictAnonymousSAM (absent = 1)."),
		d("anon.everyone_includes_anonymous", "int", "W40", "Lsa EveryoneIncludesAnonymous (absent = 0)."),
		d("anon.restrict_null_sess_access", "int", "W40", "LanmanServer RestrictNullSessAccess (absent = 1)."),
		d("anon.null_session_shares", "[]string", "W40", "LanmanServer NullSessionShares."),

		d("dc.is_domain_controller", "bool", "W41", "ProductType = 2. The other dc.* facts exist only on domain controllers."),
		a("dc.kerberos.max_ticket_age_hours", "int|null", "W41", "[Kerberos Policy] MaxTicketAge of the secedit export (W06)."),
		a("dc.kerberos.max_renew_age_days", "int|null", "W41", "MaxRenewAge."),
		a("dc.kerberos.max_service_age_minutes", "int|null", "W41", "MaxServiceAge."),
		a("dc.kerberos.max_clock_skew_minutes", "int|null", "W41", "MaxClockSkew."),
		a("dc.kerberos.validate_client", "bool|null", "W41", "TicketValidateClient = 1."),
		a("dc.default_policy", "object", "W41", "Get-ADDefaultDomainPasswordPolicy: min_length, history, complexity, reversible, max_age_days, min_age_days, lockout_threshold, lockout_duration_min, lockout_window_min."),
		a("dc.fgpp.policies", "[]object", "W41", "Fine-grained password policies (PSOs), by precedence, with applies_to."),
		a("dc.fgpp.count", "int", "W41", "Number of PSOs."),
		a("dc.fgpp.weakest_min_length", "int|null", "W41", "Smallest MinPasswordLength among PSOs."),
	)
	// _meta first, then W01...W41, names sorted within a probe.
	rank := func(probe string) string { return strings.TrimPrefix(probe, "_meta") }
	sort.SliceStable(docs, func(i, j int) bool {
		if docs[i].Probe != docs[j].Probe {
			return rank(docs[i].Probe) < rank(docs[j].Probe)
		}
		return docs[i].Name < docs[j].Name
	})
	return docs
}

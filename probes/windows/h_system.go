package windows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/probes"
)

func parseW22(p *parser, data json.RawMessage) error {
	var d struct {
		USBStor    regMap `json:"usbstor"`
		UASPStor   regMap `json:"uaspstor"`
		WpdBusEnum regMap `json:"wpdbusenum"`
		Policy     regMap `json:"policy"`
		DiskPolicy regMap `json:"disk_policy"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const svc = `HKLM\SYSTEM\CurrentControlSet\Services\`
	const pol = `HKLM\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices`
	usb, err := d.USBStor.get("Start").anyInt()
	if err != nil {
		return err
	}
	uasp, err := d.UASPStor.get("Start").anyInt()
	if err != nil {
		return err
	}
	denyAll, err := d.Policy.get("Deny_All").intOr(0)
	if err != nil {
		return err
	}
	denyRead, err := d.DiskPolicy.get("Deny_Read").intOr(0)
	if err != nil {
		return err
	}
	ev := []string{regLine(svc+"USBSTOR", "Start", d.USBStor.get("Start")), regLine(svc+"UASPStor", "Start", d.UASPStor.get("Start")),
		regLine(pol, "Deny_All", d.Policy.get("Deny_All")),
		regLine(pol+`\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}`, "Deny_Read", d.DiskPolicy.get("Deny_Read"))}
	p.set("usb.usbstor_start", usb, ev[0])
	p.set("usb.uaspstor_start", uasp, ev[1])
	p.set("usb.deny_all", denyAll == 1, ev[2])
	// USB mass storage is off when the class driver cannot start (Start = 4;
	// a missing UASPStor is fine) or policy denies removable-disk access.
	driverOff := usb == 4 && (uasp == nil || uasp == 4)
	p.set("usb.storage_disabled", driverOff || denyAll == 1 || denyRead == 1, ev...)
	return nil
}

func parseW23(p *parser, data json.RawMessage) error {
	var d struct {
		Explorer       regMap `json:"explorer"`
		ExplorerPolicy regMap `json:"explorer_policy"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const k1 = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer`
	const k2 = `HKLM\SOFTWARE\Policies\Microsoft\Windows\Explorer`
	ndt, err := d.Explorer.get("NoDriveTypeAutoRun").anyInt()
	if err != nil {
		return err
	}
	na, err := d.Explorer.get("NoAutorun").anyInt()
	if err != nil {
		return err
	}
	nav, err := d.ExplorerPolicy.get("NoAutoplayfornonVolume").anyInt()
	if err != nil {
		return err
	}
	ev := []string{regLine(k1, "NoDriveTypeAutoRun", d.Explorer.get("NoDriveTypeAutoRun")),
		regLine(k1, "NoAutorun", d.Explorer.get("NoAutorun")),
		regLine(k2, "NoAutoplayfornonVolume", d.ExplorerPolicy.get("NoAutoplayfornonVolume"))}
	p.set("autorun.no_drive_type_autorun", ndt, ev[0])
	p.set("autorun.no_autorun", na, ev[1])
	p.set("autorun.no_autoplay_non_volume", nav, ev[2])
	p.set("autorun.disabled", ndt == 255 && na == 1, ev...)
	return nil
}

func parseW24(p *parser, data json.RawMessage) error {
	var d struct {
		Format string `json:"format"`
		RC     val    `json:"rc"`
		Raw    val    `json:"raw"`
		Lsa    regMap `json:"lsa"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	raw, _, err := d.Raw.str()
	if err != nil {
		return err
	}
	var ap *auditPolicy
	switch d.Format {
	case "backup":
		ap, err = parseAuditBackup(raw)
	case "r":
		ap, err = parseAuditReport(raw)
	default:
		err = fmt.Errorf("audit format %q", d.Format)
	}
	if err != nil {
		return err
	}
	subs, known := auditFacts()
	byName := make(map[string]any, len(ap.Settings))
	for _, sc := range subs {
		v, ok := ap.Settings[sc.GUID]
		if !ok {
			p.set(sc.Fact, nil, "auditpol "+d.Format+" "+sc.GUID+" "+sc.Name+" absent")
			continue
		}
		byName[sc.Name] = v
		p.set(sc.Fact, v, "auditpol "+d.Format+" "+sc.GUID+" "+sc.Name+" = "+strconv.Itoa(v))
	}
	for g, v := range ap.Settings {
		if !known[g] {
			byName[g] = v
		}
	}
	p.set("audit.subcategories", byName, fmt.Sprintf("auditpol %s: %d subcategories", d.Format, len(ap.Settings)))
	p.set("audit.source", d.Format)
	sce, err := d.Lsa.get("SCENoApplyLegacyAuditPolicy").anyInt()
	if err != nil {
		return err
	}
	p.set("audit.sce_no_apply_legacy", sce, regLine(keyLsa, "SCENoApplyLegacyAuditPolicy", d.Lsa.get("SCENoApplyLegacyAuditPolicy")))
	return nil
}

func parseW25(p *parser, data json.RawMessage) error {
	type log struct {
		Policy regMap `json:"policy"`
		Local  regMap `json:"local"`
	}
	var d map[string]log
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	for _, name := range []string{"Application", "Security", "System"} {
		l, ok := d[name]
		if !ok {
			return fmt.Errorf("log %s missing", name)
		}
		polKey := `HKLM\SOFTWARE\Policies\Microsoft\Windows\EventLog\` + name
		locKey := `HKLM\SYSTEM\CurrentControlSet\Services\EventLog\` + name
		ev := []string{regLine(polKey, "MaxSize", l.Policy.get("MaxSize")) + " (KB)", regLine(locKey, "MaxSize", l.Local.get("MaxSize")) + " (bytes)"}
		fact := "eventlog." + strings.ToLower(name) + ".max_size_kb"
		// The policy value is in KB and wins; the service key holds bytes.
		if n, ok, err := l.Policy.get("MaxSize").int(); err != nil {
			return err
		} else if ok {
			p.set(fact, n, ev...)
			continue
		}
		n, ok, err := l.Local.get("MaxSize").int()
		if err != nil {
			return err
		}
		if !ok {
			p.set(fact, nil, ev...)
			continue
		}
		p.set(fact, int(uint32(n))/1024, ev...)
	}
	return nil
}

func parseW26(p *parser, data json.RawMessage) error {
	var d struct {
		Params    regMap   `json:"params"`
		Policy    regMap   `json:"policy"`
		NtpClient regMap   `json:"ntp_client"`
		Service   *service `json:"service"`
		StatusRaw val      `json:"status_raw"`
		StatusRC  val      `json:"status_rc"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const pk = `HKLM\SOFTWARE\Policies\Microsoft\W32Time\Parameters`
	const lk = `HKLM\SYSTEM\CurrentControlSet\Services\W32Time\Parameters`
	for _, x := range []struct{ fact, name string }{{"time.type", "Type"}, {"time.ntp_server", "NtpServer"}} {
		v, err := pick(d.Policy.get(x.name), d.Params.get(x.name)).anyStr()
		if err != nil {
			return err
		}
		p.set(x.fact, v, regLine(pk, x.name, d.Policy.get(x.name)), regLine(lk, x.name, d.Params.get(x.name)))
	}
	p.set("time.service_running", d.Service.running(), d.Service.evidence())
	rc, _, err := d.StatusRC.int()
	if err != nil {
		return err
	}
	p.set("time.w32tm_exit_code", rc)
	raw, _, _ := d.StatusRaw.str()
	lines := strings.Split(raw, "\n")
	if rc != 0 {
		// w32tm fails when the service is stopped: the host does not sync.
		p.set("time.synced", false, lines...)
		for _, n := range []string{"time.stratum", "time.source", "time.last_sync"} {
			p.set(n, nil, lines...)
		}
		return nil
	}
	st, err := parseW32tmStatus(raw)
	if err != nil {
		return err
	}
	p.set("time.stratum", intPtrAny(st.Stratum), lines...)
	if st.Source != "" {
		p.set("time.source", st.Source, lines...)
	} else {
		p.set("time.source", nil, lines...)
	}
	synced := st.Leap != nil && *st.Leap != 3 && st.Stratum != nil && *st.Stratum >= 1 && *st.Stratum <= 15 && !st.NeverSynced
	p.set("time.synced", synced, lines...)
	switch {
	case st.NeverSynced || st.LastSyncRaw == "":
		p.set("time.last_sync", nil, lines...)
	case st.LastSync == nil || p.meta.tzOffset == nil:
		p.fail("time.last_sync", probes.ErrTextUnparsed, append([]string{"Last Successful Sync Time: " + st.LastSyncRaw}, lines...)...)
	default:
		utc := st.LastSync.Add(-time.Duration(*p.meta.tzOffset) * time.Minute)
		p.set("time.last_sync", utc.Format(time.RFC3339), lines...)
	}
	return nil
}

func intPtrAny(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func parseW27(p *parser, data json.RawMessage) error {
	var d struct {
		Machine regMap `json:"machine"`
		Users   []struct {
			SID    string `json:"sid"`
			Policy regMap `json:"policy"`
			User   regMap `json:"user"`
		} `json:"users"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	it, err := d.Machine.get("InactivityTimeoutSecs").anyInt()
	if err != nil {
		return err
	}
	p.set("session.inactivity_timeout_secs", it, regLine(`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`, "InactivityTimeoutSecs", d.Machine.get("InactivityTimeoutSecs")))
	list := make([]any, 0, len(d.Users))
	unlocked := []string{}
	var ev []string
	for _, u := range d.Users {
		m := map[string]any{"sid": u.SID}
		for _, x := range []struct{ key, name string }{
			{"active", "ScreenSaveActive"}, {"secure", "ScreenSaverIsSecure"}, {"timeout_secs", "ScreenSaveTimeOut"},
		} {
			// The per-user policy wins over the user's own Control Panel setting.
			v, err := pick(u.Policy.get(x.name), u.User.get(x.name)).anyInt()
			if err != nil {
				return fmt.Errorf("%s %s: %w", u.SID, x.name, err)
			}
			m[x.key] = v
			ev = append(ev, fmt.Sprintf(`HKU\%s %s policy = %s, user = %s`, u.SID, x.name, u.Policy.get(x.name).show(), u.User.get(x.name).show()))
		}
		list = append(list, m)
		if m["active"] != 1 || m["secure"] != 1 {
			unlocked = append(unlocked, u.SID)
		}
	}
	p.set("session.screensaver.users", list, ev...)
	p.set("session.screensaver.unlocked_users", unlocked, ev...)
	return nil
}

func parseW28(p *parser, data json.RawMessage) error {
	var d regMap
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const k = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`
	c, err := d.get("LegalNoticeCaption").anyStr()
	if err != nil {
		return err
	}
	t, err := d.get("LegalNoticeText").anyStr()
	if err != nil {
		return err
	}
	ev := []string{regLine(k, "LegalNoticeCaption", d.get("LegalNoticeCaption")), regLine(k, "LegalNoticeText", d.get("LegalNoticeText"))}
	p.set("banner.caption", c, ev[0])
	p.set("banner.text", t, ev[1])
	cs, _ := c.(string)
	ts, _ := t.(string)
	p.set("banner.set", strings.TrimSpace(cs) != "" && strings.TrimSpace(ts) != "", ev...)
	return nil
}

func parseW29(p *parser, data json.RawMessage) error {
	var d struct {
		Present     bool     `json:"present"`
		SystemDrive string   `json:"system_drive"`
		Volumes     []regMap `json:"volumes"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	p.set("bitlocker.present", d.Present, `root\CIMV2\Security\MicrosoftVolumeEncryption present = `+fmt.Sprint(d.Present))
	list := make([]any, 0, len(d.Volumes))
	var osProtected, osConversion any
	var ev []string
	for _, v := range d.Volumes {
		letter, _ := v.get("DriveLetter").anyStr()
		ps, err := v.get("ProtectionStatus").anyInt()
		if err != nil {
			return err
		}
		cs, err := v.get("ConversionStatus").anyInt()
		if err != nil {
			return err
		}
		vt, err := v.get("VolumeType").anyInt()
		if err != nil {
			return err
		}
		em, err := v.get("EncryptionMethod").anyInt()
		if err != nil {
			return err
		}
		list = append(list, map[string]any{"drive": letter, "protection_status": ps, "conversion_status": cs, "volume_type": vt, "encryption_method": em})
		ev = append(ev, fmt.Sprintf("Win32_EncryptableVolume DriveLetter = %s, ProtectionStatus = %s, ConversionStatus = %s, VolumeType = %s",
			v.get("DriveLetter").show(), v.get("ProtectionStatus").show(), v.get("ConversionStatus").show(), v.get("VolumeType").show()))
		if l, _ := letter.(string); d.SystemDrive != "" && strings.EqualFold(l, d.SystemDrive) {
			osProtected = ps == 1
			osConversion = cs
		}
	}
	if !d.Present {
		osProtected = false
	}
	p.set("bitlocker.volumes", list, ev...)
	p.set("bitlocker.os_volume_protected", osProtected, append([]string{"system drive " + d.SystemDrive}, ev...)...)
	p.set("bitlocker.os_volume_conversion_status", osConversion, ev...)
	return nil
}

// flaggedServices are services that least functionality (SR 7.7) wants off
// unless the asset's role needs them (catalog W30).
func flaggedServices() []string {
	return []string{"Browser", "FTPSVC", "IISADMIN", "RemoteAccess", "RemoteRegistry", "SNMP", "SSDPSRV",
		"Spooler", "TlntSvr", "W3SVC", "WMSvc", "simptcp", "sshd", "upnphost"}
}

func parseW30(p *parser, data json.RawMessage) error {
	var d struct {
		Services []service `json:"services"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	if len(d.Services) == 0 {
		return errors.New("Win32_Service returned no services")
	}
	byName := map[string]*service{}
	for i := range d.Services {
		byName[strings.ToLower(d.Services[i].Name)] = &d.Services[i]
	}
	flagged := []string{}
	var ev []string
	for _, n := range flaggedServices() {
		s := byName[strings.ToLower(n)]
		if s == nil {
			continue
		}
		sm, _, _ := s.StartMode.str()
		if s.running() || sm == "Auto" {
			flagged = append(flagged, s.Name)
			ev = append(ev, s.evidence())
		}
	}
	list, running := decodeServices(d.Services)
	p.set("services.all", list, fmt.Sprintf("Win32_Service: %d services", len(list)))
	p.set("services.running", sortedUnique(running))
	p.set("services.flagged_active", sortedUnique(flagged), ev...)
	return nil
}

func parseW31(p *parser, data json.RawMessage) error {
	var d struct {
		Files struct {
			Telnet bool `json:"telnet"`
			TFTP   bool `json:"tftp"`
		} `json:"files"`
		Features *[]struct {
			Name  string `json:"name"`
			State val    `json:"state"`
		} `json:"features"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	fev := fmt.Sprintf(`%%windir%%\System32\telnet.exe present = %v, tftp.exe present = %v`, d.Files.Telnet, d.Files.TFTP)
	if d.Features == nil {
		// Not elevated: only the file-presence fallback is available.
		p.set("features.source", "files", fev)
		p.set("features.telnet_client", d.Files.Telnet, fev)
		p.set("features.tftp_client", d.Files.TFTP, fev)
		for _, n := range []string{"features.smb1", "features.powershell_v2", "features.simple_tcp", "features.enabled"} {
			p.fail(n, probes.ErrTextNotElevated, "Win32_OptionalFeature needs an elevated token")
		}
		return nil
	}
	enabled := map[string]bool{}
	names := []string{}
	ev := []string{fev}
	for _, f := range *d.Features {
		st, _, err := f.State.int()
		if err != nil {
			return err
		}
		ev = append(ev, fmt.Sprintf("Win32_OptionalFeature %s InstallState = %d", f.Name, st))
		if st == 1 { // 1 enabled, 2 disabled, 3 absent
			enabled[strings.ToLower(f.Name)] = true
			names = append(names, f.Name)
		}
	}
	p.set("features.source", "optional-features", ev...)
	p.set("features.enabled", sortedUnique(names), ev...)
	p.set("features.telnet_client", enabled["telnetclient"] || d.Files.Telnet, ev...)
	p.set("features.tftp_client", enabled["tftp"] || d.Files.TFTP, ev...)
	p.set("features.smb1", enabled["smb1protocol"], ev...)
	p.set("features.powershell_v2", enabled["microsoftwindowspowershellv2"] || enabled["microsoftwindowspowershellv2root"], ev...)
	p.set("features.simple_tcp", enabled["simpletcp"], ev...)
	return nil
}

func parseW34(p *parser, data json.RawMessage) error {
	var d struct {
		Version       string `json:"version"`
		SBL           regMap `json:"script_block_logging"`
		ML            regMap `json:"module_logging"`
		ModuleNames   val    `json:"module_names"`
		Transcription regMap `json:"transcription"`
		EngineV2      regMap `json:"engine_v2"`
		EngineV3      regMap `json:"engine_v3"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const k = `HKLM\SOFTWARE\Policies\Microsoft\Windows\PowerShell\`
	p.set("ps.version", d.Version, "$PSVersionTable.PSVersion = "+d.Version)
	for _, x := range []struct {
		fact, sub, name string
		m               regMap
	}{
		{"ps.script_block_logging", "ScriptBlockLogging", "EnableScriptBlockLogging", d.SBL},
		{"ps.module_logging", "ModuleLogging", "EnableModuleLogging", d.ML},
		{"ps.transcription", "Transcription", "EnableTranscripting", d.Transcription},
	} {
		n, err := x.m.get(x.name).intOr(0)
		if err != nil {
			return err
		}
		p.set(x.fact, n == 1, regLine(k+x.sub, x.name, x.m.get(x.name)))
	}
	names, err := d.ModuleNames.strs()
	if err != nil {
		return err
	}
	p.set("ps.module_names", sortedUnique(names), k+`ModuleLogging\ModuleNames values: `+d.ModuleNames.show())
	dir, err := d.Transcription.get("OutputDirectory").anyStr()
	if err != nil {
		return err
	}
	p.set("ps.transcript_dir", dir, regLine(k+"Transcription", "OutputDirectory", d.Transcription.get("OutputDirectory")))
	v2, _, _ := d.EngineV2.get("PowerShellVersion").str()
	p.set("ps.v2_engine_registered", strings.HasPrefix(v2, "2."), regLine(`HKLM\SOFTWARE\Microsoft\PowerShell\1\PowerShellEngine`, "PowerShellVersion", d.EngineV2.get("PowerShellVersion")))
	return nil
}

func parseW35(p *parser, data json.RawMessage) error {
	var d struct {
		Lsa     regMap `json:"lsa"`
		Policy  regMap `json:"policy"`
		WDigest regMap `json:"wdigest"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const pk = `HKLM\SOFTWARE\Policies\Microsoft\Windows\System`
	ppl := pick(d.Policy.get("RunAsPPL"), d.Lsa.get("RunAsPPL"))
	pplEv := []string{regLine(pk, "RunAsPPL", d.Policy.get("RunAsPPL")), regLine(keyLsa, "RunAsPPL", d.Lsa.get("RunAsPPL"))}
	pv, err := ppl.anyInt()
	if err != nil {
		return err
	}
	p.set("lsa.run_as_ppl", pv, pplEv...)
	n, _ := pv.(int)
	p.set("lsa.protected", n >= 1, pplEv...)
	const wk = `HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\WDigest`
	ulc := d.WDigest.get("UseLogonCredential")
	uv, err := ulc.anyInt()
	if err != nil {
		return err
	}
	wev := regLine(wk, "UseLogonCredential", ulc)
	p.set("wdigest.use_logon_credential", uv, wev)
	switch {
	case uv != nil:
		p.set("wdigest.enabled", uv.(int) == 1, wev)
	case p.os == nil:
		p.fail("wdigest.enabled", p.lineErr("W01"), wev, "absent: the default depends on the OS build (W01)")
	default:
		// Absent: plaintext caching is off by default from Windows 8.1 /
		// Server 2012 R2 (build 9600) and on in earlier releases.
		p.set("wdigest.enabled", p.os.Build < 9600, wev, fmt.Sprintf("absent on build %d: default %s", p.os.Build,
			map[bool]string{true: "enabled (before 9600)", false: "disabled (9600 and later)"}[p.os.Build < 9600]))
	}
	return nil
}

func parseW36(p *parser, data json.RawMessage) error {
	var d regMap
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const k = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`
	for _, x := range []struct{ fact, name string }{
		{"uac.consent_prompt_admin", "ConsentPromptBehaviorAdmin"},
		{"uac.consent_prompt_user", "ConsentPromptBehaviorUser"},
		{"uac.filter_administrator_token", "FilterAdministratorToken"},
		{"uac.prompt_on_secure_desktop", "PromptOnSecureDesktop"},
	} {
		v, err := d.get(x.name).anyInt()
		if err != nil {
			return err
		}
		p.set(x.fact, v, regLine(k, x.name, d.get(x.name)))
	}
	lua, err := d.get("EnableLUA").intOr(1)
	if err != nil {
		return err
	}
	p.set("uac.enabled", lua != 0, regLine(k, "EnableLUA", d.get("EnableLUA"))+" (absent = 1)")
	ltf, err := d.get("LocalAccountTokenFilterPolicy").intOr(0)
	if err != nil {
		return err
	}
	p.set("uac.local_account_token_filter", ltf, regLine(k, "LocalAccountTokenFilterPolicy", d.get("LocalAccountTokenFilterPolicy"))+" (absent = 0)")
	return nil
}

func parseW38(p *parser, data json.RawMessage) error {
	var d struct {
		Present bool `json:"present"`
		Raw     val  `json:"raw"`
		RC      val  `json:"rc"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	p.set("backup.wbadmin_present", d.Present, `%windir%\System32\wbadmin.exe present = `+fmt.Sprint(d.Present))
	if !d.Present {
		p.set("backup.versions", []string{})
		p.set("backup.count", 0)
		p.set("backup.last", nil)
		return nil
	}
	raw, _, _ := d.Raw.str()
	lines := strings.Split(raw, "\n")
	vs := parseWbadminVersions(raw)
	out := make([]string, len(vs))
	for i, t := range vs {
		out[i] = t.Format(time.RFC3339)
	}
	ev := append([]string{"wbadmin get versions exit code " + d.RC.show()}, lines...)
	p.set("backup.versions", out, ev...)
	p.set("backup.count", len(out))
	if len(out) == 0 {
		p.set("backup.last", nil, ev...)
	} else {
		p.set("backup.last", out[len(out)-1], ev...)
	}
	return nil
}

package windows

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// service is one Win32_Service as the bundle emits it.
type service struct {
	Name        string `json:"name"`
	DisplayName val    `json:"display_name"`
	State       val    `json:"state"`
	StartMode   val    `json:"start_mode"`
	Path        val    `json:"path"`
	StartName   val    `json:"start_name"`
}

func (s *service) running() bool {
	if s == nil {
		return false
	}
	st, _, _ := s.State.str()
	return st == "Running"
}

func (s *service) evidence() string {
	if s == nil {
		return "service not installed"
	}
	return "service " + s.Name + " State = " + s.State.show() + ", StartMode = " + s.StartMode.show()
}

// pick returns the policy value when the policy sets it, else the local one.
// Policy keys under HKLM\SOFTWARE\Policies override local configuration.
func pick(policy, local val) val {
	if !policy.null() {
		return policy
	}
	return local
}

const (
	keyTS      = `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server`
	keyRDPTcp  = keyTS + `\WinStations\RDP-Tcp`
	keyTSPol   = `HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`
	keyLanSrv  = `HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters`
	keyLanWks  = `HKLM\SYSTEM\CurrentControlSet\Services\LanmanWorkstation\Parameters`
	keyLsa     = `HKLM\SYSTEM\CurrentControlSet\Control\Lsa`
	keyMsv     = keyLsa + `\MSV1_0`
	keyWinRM   = `HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM`
	keyWSMAN   = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN`
	keyFwPol   = `HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall`
	keyFwLocal = `HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy`
)

func parseW13(p *parser, data json.RawMessage) error {
	var d struct {
		Local  regMap `json:"local"`
		RDPTcp regMap `json:"rdp_tcp"`
		Policy regMap `json:"policy"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	deny := pick(d.Policy.get("fDenyTSConnections"), d.Local.get("fDenyTSConnections"))
	denyEv := []string{regLine(keyTSPol, "fDenyTSConnections", d.Policy.get("fDenyTSConnections")),
		regLine(keyTS, "fDenyTSConnections", d.Local.get("fDenyTSConnections"))}
	dn, err := deny.intOr(1) // absent: connections denied, the Windows default
	if err != nil {
		return err
	}
	p.set("rdp.enabled", dn == 0, denyEv...)
	nla := pick(d.Policy.get("UserAuthentication"), d.RDPTcp.get("UserAuthentication"))
	nlaEv := []string{regLine(keyTSPol, "UserAuthentication", d.Policy.get("UserAuthentication")),
		regLine(keyRDPTcp, "UserAuthentication", d.RDPTcp.get("UserAuthentication"))}
	if nla.null() {
		p.set("rdp.nla_required", nil, nlaEv...)
	} else {
		n, _, err := nla.int()
		if err != nil {
			return err
		}
		p.set("rdp.nla_required", n == 1, nlaEv...)
	}
	for _, x := range []struct{ fact, name string }{
		{"rdp.security_layer", "SecurityLayer"}, {"rdp.min_encryption_level", "MinEncryptionLevel"},
	} {
		v, err := pick(d.Policy.get(x.name), d.RDPTcp.get(x.name)).anyInt()
		if err != nil {
			return err
		}
		p.set(x.fact, v, regLine(keyTSPol, x.name, d.Policy.get(x.name)), regLine(keyRDPTcp, x.name, d.RDPTcp.get(x.name)))
	}
	port, err := d.RDPTcp.get("PortNumber").anyInt()
	if err != nil {
		return err
	}
	p.set("rdp.port", port, regLine(keyRDPTcp, "PortNumber", d.RDPTcp.get("PortNumber")))
	for _, x := range []struct{ fact, name string }{
		{"rdp.max_idle_time_ms", "MaxIdleTime"}, {"rdp.max_disconnection_time_ms", "MaxDisconnectionTime"},
	} {
		v, err := d.Policy.get(x.name).anyInt()
		if err != nil {
			return err
		}
		p.set(x.fact, v, regLine(keyTSPol, x.name, d.Policy.get(x.name)))
	}
	return nil
}

func parseW14(p *parser, data json.RawMessage) error {
	var d struct {
		Server        regMap `json:"server"`
		Client        regMap `json:"client"`
		ClientPresent bool   `json:"client_present"`
		ServerConfig  regMap `json:"server_config"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	smb1 := d.Server.get("SMB1")
	ev := []string{regLine(keyLanSrv, "SMB1", smb1)}
	var server bool
	if cfg := d.ServerConfig.get("EnableSMB1Protocol"); !cfg.null() {
		b, err := cfg.boolean()
		if err != nil {
			return err
		}
		server = b
		ev = append(ev, "MSFT_SmbServerConfiguration EnableSMB1Protocol = "+cfg.show())
	} else {
		n, err := smb1.intOr(1) // absent: SMB1 server enabled (HK-CIS22 18.4.4 default)
		if err != nil {
			return err
		}
		server = n != 0
	}
	p.set("smb.v1.server_enabled", server, ev...)
	start := d.Client.get("Start")
	cev := fmt.Sprintf(`HKLM\SYSTEM\CurrentControlSet\Services\mrxsmb10 present = %v, Start = %s`, d.ClientPresent, start.show())
	if !d.ClientPresent {
		p.set("smb.v1.client_enabled", false, cev+" (SMB1 client driver not installed)")
	} else {
		n, err := start.intOr(2)
		if err != nil {
			return err
		}
		p.set("smb.v1.client_enabled", n != 4, cev)
	}
	enc, err := d.ServerConfig.get("EncryptData").anyBool()
	if err != nil {
		return err
	}
	p.set("smb.encrypt_data", enc, "MSFT_SmbServerConfiguration EncryptData = "+d.ServerConfig.get("EncryptData").show())
	return nil
}

func parseW15(p *parser, data json.RawMessage) error {
	var d struct {
		Server regMap `json:"server"`
		Client regMap `json:"client"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	for _, x := range []struct {
		fact, key, name string
		m               regMap
		def             int
	}{
		{"smb.signing.server_required", keyLanSrv, "RequireSecuritySignature", d.Server, 0},
		{"smb.signing.server_enabled", keyLanSrv, "EnableSecuritySignature", d.Server, 0},
		{"smb.signing.client_required", keyLanWks, "RequireSecuritySignature", d.Client, 0},
		{"smb.signing.client_enabled", keyLanWks, "EnableSecuritySignature", d.Client, 1},
		{"smb.client.plaintext_password", keyLanWks, "EnablePlainTextPassword", d.Client, 0},
	} {
		n, err := x.m.get(x.name).intOr(x.def)
		if err != nil {
			return err
		}
		p.set(x.fact, n == 1, regLine(x.key, x.name, x.m.get(x.name))+fmt.Sprintf(" (absent = %d)", x.def))
	}
	return nil
}

func parseW16(p *parser, data json.RawMessage) error {
	type prof struct {
		Policy regMap `json:"policy"`
		Local  regMap `json:"local"`
	}
	var d struct {
		Domain  prof     `json:"domain"`
		Private prof     `json:"private"`
		Public  prof     `json:"public"`
		Service *service `json:"service"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	for _, x := range []struct {
		name, polKey, localKey string
		pr                     prof
	}{
		{"domain", "DomainProfile", "DomainProfile", d.Domain},
		{"private", "PrivateProfile", "StandardProfile", d.Private},
		{"public", "PublicProfile", "PublicProfile", d.Public},
	} {
		ev := func(n string) []string {
			return []string{regLine(keyFwPol+`\`+x.polKey, n, x.pr.Policy.get(n)), regLine(keyFwLocal+`\`+x.localKey, n, x.pr.Local.get(n))}
		}
		en, err := pick(x.pr.Policy.get("EnableFirewall"), x.pr.Local.get("EnableFirewall")).anyBool()
		if err != nil {
			return err
		}
		p.set("fw."+x.name+".enabled", en, ev("EnableFirewall")...)
		in, err := pick(x.pr.Policy.get("DefaultInboundAction"), x.pr.Local.get("DefaultInboundAction")).intOr(1)
		if err != nil {
			return err
		}
		p.set("fw."+x.name+".inbound_blocked", in == 1, append(ev("DefaultInboundAction"), "absent = 1 (block)")...)
		out, err := pick(x.pr.Policy.get("DefaultOutboundAction"), x.pr.Local.get("DefaultOutboundAction")).intOr(0)
		if err != nil {
			return err
		}
		p.set("fw."+x.name+".outbound_blocked", out == 1, append(ev("DefaultOutboundAction"), "absent = 0 (allow)")...)
	}
	p.set("fw.service_running", d.Service.running(), d.Service.evidence())
	return nil
}

func parseW32(p *parser, data json.RawMessage) error {
	var d struct {
		Raw       val `json:"raw"`
		RC        val `json:"rc"`
		Processes []struct {
			PID  val `json:"pid"`
			Name val `json:"name"`
		} `json:"processes"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	raw, _, err := d.Raw.str()
	if err != nil {
		return err
	}
	tcp, udp, err := parseNetstat(raw)
	if err != nil {
		return err
	}
	names := map[int]string{}
	for _, pr := range d.Processes {
		if n, ok, _ := pr.PID.int(); ok {
			names[n], _, _ = pr.Name.str()
		}
	}
	list := func(s []socket) (items []any, ports, external []int, ev []string) {
		items = []any{}
		seenP, seenE := map[int]bool{}, map[int]bool{}
		for _, x := range s {
			items = append(items, map[string]any{"address": x.Addr, "port": x.Port, "pid": x.PID, "process": names[x.PID]})
			ev = append(ev, fmt.Sprintf("%s %s:%d pid %d %s", strings.ToUpper(x.Proto), x.Addr, x.Port, x.PID, names[x.PID]))
			if !seenP[x.Port] {
				seenP[x.Port] = true
				ports = append(ports, x.Port)
			}
			if !loopback(x.Addr) && !seenE[x.Port] {
				seenE[x.Port] = true
				external = append(external, x.Port)
			}
		}
		sort.Ints(ports)
		sort.Ints(external)
		if ports == nil {
			ports = []int{}
		}
		if external == nil {
			external = []int{}
		}
		return items, ports, external, ev
	}
	ti, tp, te, tev := list(tcp)
	ui, up, ue, uev := list(udp)
	p.set("listening.tcp", ti, tev...)
	p.set("listening.tcp_ports", tp)
	p.set("listening.tcp_ports_external", te)
	p.set("listening.udp", ui, uev...)
	p.set("listening.udp_ports", up)
	p.set("listening.udp_ports_external", ue)
	return nil
}

func parseW33(p *parser, data json.RawMessage) error {
	var d struct {
		DNSPolicy regMap `json:"dns_policy"`
		NetBT     regMap `json:"netbt"`
		Adapters  []struct {
			Description val `json:"description"`
			SettingID   val `json:"setting_id"`
			NetBIOS     val `json:"netbios"`
		} `json:"adapters"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	mc := d.DNSPolicy.get("EnableMulticast")
	n, err := mc.intOr(1) // absent: LLMNR on
	if err != nil {
		return err
	}
	p.set("name.llmnr_enabled", n != 0, regLine(`HKLM\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient`, "EnableMulticast", mc)+" (absent = enabled)")
	list := make([]any, 0, len(d.Adapters))
	allOff := len(d.Adapters) > 0
	var ev []string
	for _, a := range d.Adapters {
		desc, _, _ := a.Description.str()
		nb, err := a.NetBIOS.anyInt()
		if err != nil {
			return err
		}
		list = append(list, map[string]any{"description": desc, "netbios_option": nb})
		ev = append(ev, "Win32_NetworkAdapterConfiguration "+desc+" TcpipNetbiosOptions = "+a.NetBIOS.show())
		if nb != 2 {
			allOff = false
		}
	}
	p.set("name.netbios.adapters", list, ev...)
	p.set("name.netbios_disabled", allOff, ev...)
	nt, err := d.NetBT.get("NodeType").anyInt()
	if err != nil {
		return err
	}
	p.set("name.netbt_node_type", nt, regLine(`HKLM\SYSTEM\CurrentControlSet\Services\NetBT\Parameters`, "NodeType", d.NetBT.get("NodeType")))
	return nil
}

func parseW37(p *parser, data json.RawMessage) error {
	var d struct {
		Lsa regMap `json:"lsa"`
		Msv regMap `json:"msv1_0"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	for _, x := range []struct {
		fact, key, name string
		m               regMap
		def             int
	}{
		{"auth.lm_compatibility_level", keyLsa, "LmCompatibilityLevel", d.Lsa, 3},
		{"auth.no_lm_hash", keyLsa, "NoLMHash", d.Lsa, 1},
		{"auth.ntlm_min_client_sec", keyMsv, "NTLMMinClientSec", d.Msv, 536870912},
		{"auth.ntlm_min_server_sec", keyMsv, "NTLMMinServerSec", d.Msv, 536870912},
	} {
		n, err := x.m.get(x.name).intOr(x.def)
		if err != nil {
			return err
		}
		p.set(x.fact, n, regLine(x.key, x.name, x.m.get(x.name))+fmt.Sprintf(" (absent = %d)", x.def))
	}
	rs, err := d.Msv.get("RestrictSendingNTLMTraffic").anyInt()
	if err != nil {
		return err
	}
	p.set("auth.restrict_sending_ntlm", rs, regLine(keyMsv, "RestrictSendingNTLMTraffic", d.Msv.get("RestrictSendingNTLMTraffic")))
	return nil
}

func parseW39(p *parser, data json.RawMessage) error {
	var d struct {
		ServicePolicy regMap   `json:"service_policy"`
		ClientPolicy  regMap   `json:"client_policy"`
		ServiceLocal  regMap   `json:"service_local"`
		ClientLocal   regMap   `json:"client_local"`
		Listeners     []string `json:"listeners"`
		Service       *service `json:"service"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	for _, x := range []struct {
		fact, side, pol, local string
		polM, localM           regMap
		def                    bool
	}{
		{"winrm.service.allow_basic", "Service", "AllowBasic", "auth_basic", d.ServicePolicy, d.ServiceLocal, false},
		{"winrm.service.allow_unencrypted", "Service", "AllowUnencryptedTraffic", "allow_unencrypted", d.ServicePolicy, d.ServiceLocal, false},
		{"winrm.service.disable_runas", "Service", "DisableRunAs", "", d.ServicePolicy, nil, false},
		{"winrm.client.allow_basic", "Client", "AllowBasic", "auth_basic", d.ClientPolicy, d.ClientLocal, true},
		{"winrm.client.allow_unencrypted", "Client", "AllowUnencryptedTraffic", "allow_unencrypted", d.ClientPolicy, d.ClientLocal, false},
		{"winrm.client.allow_digest", "Client", "AllowDigest", "auth_digest", d.ClientPolicy, d.ClientLocal, true},
	} {
		ev := []string{regLine(keyWinRM+`\`+x.side, x.pol, x.polM.get(x.pol))}
		v := x.polM.get(x.pol)
		if x.local != "" {
			ev = append(ev, regLine(keyWSMAN+`\`+x.side, x.local, x.localM.get(x.local)))
			v = pick(v, x.localM.get(x.local))
		}
		b := x.def
		if !v.null() {
			var err error
			if b, err = v.boolean(); err != nil {
				return err
			}
		}
		p.set(x.fact, b, append(ev, fmt.Sprintf("absent = %v", x.def))...)
	}
	ls := sortedUnique(d.Listeners)
	https := false
	for _, l := range ls {
		if strings.HasSuffix(strings.ToUpper(l), "+HTTPS") {
			https = true
		}
	}
	p.set("winrm.listeners", ls, keyWSMAN+`\Listener subkeys: `+strings.Join(ls, ", "))
	p.set("winrm.https_listener", https)
	p.set("winrm.service_running", d.Service.running(), d.Service.evidence())
	return nil
}

func parseW40(p *parser, data json.RawMessage) error {
	var d struct {
		Shares []struct {
			Name        val `json:"name"`
			Path        val `json:"path"`
			Type        val `json:"type"`
			Description val `json:"description"`
		} `json:"shares"`
		Lsa    regMap `json:"lsa"`
		Server regMap `json:"server"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	dc := p.os != nil && p.os.ProductType == 2
	list := make([]any, 0, len(d.Shares))
	nondefault := []string{}
	var ev []string
	for _, s := range d.Shares {
		name, _, _ := s.Name.str()
		path, _, _ := s.Path.str()
		typ, _, err := s.Type.int()
		if err != nil {
			return err
		}
		list = append(list, map[string]any{"name": name, "path": path, "type": typ})
		ev = append(ev, fmt.Sprintf("Win32_Share Name = %s, Path = %s, Type = %d", name, path, typ))
		// Type 0 is a disk share; administrative shares (C$, ADMIN$) carry the
		// 0x80000000 special flag. print$ is created by printer sharing; SYSVOL
		// and NETLOGON are part of every domain controller.
		up := strings.ToUpper(name)
		if typ == 0 && up != "PRINT$" && !(dc && (up == "SYSVOL" || up == "NETLOGON")) {
			nondefault = append(nondefault, name)
		}
	}
	p.set("shares.all", list, ev...)
	p.set("shares.nondefault", sortedUnique(nondefault))
	for _, x := range []struct {
		fact, key, name string
		m               regMap
		def             int
	}{
		{"anon.restrict_anonymous", keyLsa, "RestrictAnonymous", d.Lsa, 0},
		{"anon.restrict_anonymous_sam", keyLsa, "RestrictAnonymousSAM", d.Lsa, 1},
		{"anon.everyone_includes_anonymous", keyLsa, "EveryoneIncludesAnonymous", d.Lsa, 0},
		{"anon.restrict_null_sess_access", keyLanSrv, "RestrictNullSessAccess", d.Server, 1},
	} {
		n, err := x.m.get(x.name).intOr(x.def)
		if err != nil {
			return err
		}
		p.set(x.fact, n, regLine(x.key, x.name, x.m.get(x.name))+fmt.Sprintf(" (absent = %d)", x.def))
	}
	ns, err := d.Server.get("NullSessionShares").strs()
	if err != nil {
		return err
	}
	p.set("anon.null_session_shares", sortedUnique(nonEmpty(ns)), regLine(keyLanSrv, "NullSessionShares", d.Server.get("NullSessionShares")))
	return nil
}

func nonEmpty(s []string) []string {
	out := []string{}
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			out = append(out, x)
		}
	}
	return out
}

package windows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otsweep/otsweep/probes"
)

func parseW17(p *parser, data json.RawMessage) error {
	var d struct {
		Present   bool     `json:"present"`
		Status    regMap   `json:"status"`
		Service   *service `json:"service"`
		Policy    regMap   `json:"policy"`
		RTPPolicy regMap   `json:"rtp_policy"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const polKey = `HKLM\SOFTWARE\Policies\Microsoft\Windows Defender`
	pev := []string{
		regLine(polKey, "DisableAntiSpyware", d.Policy.get("DisableAntiSpyware")),
		regLine(polKey, "DisableAntiVirus", d.Policy.get("DisableAntiVirus")),
		regLine(polKey+`\Real-Time Protection`, "DisableRealtimeMonitoring", d.RTPPolicy.get("DisableRealtimeMonitoring")),
	}
	disabled := false
	for _, v := range []val{d.Policy.get("DisableAntiSpyware"), d.Policy.get("DisableAntiVirus"), d.RTPPolicy.get("DisableRealtimeMonitoring")} {
		if n, ok, _ := v.int(); ok && n == 1 {
			disabled = true
		}
	}
	p.set("av.defender.policy_disabled", disabled, pev...)
	p.set("av.defender.present", d.Present, "root\\Microsoft\\Windows\\Defender MSFT_MpComputerStatus present = "+fmt.Sprint(d.Present), d.Service.evidence())
	st := d.Status
	show := func(n string) string { return "MSFT_MpComputerStatus " + n + " = " + st.get(n).show() }
	for _, x := range []struct{ fact, name string }{
		{"av.defender.service_enabled", "AMServiceEnabled"},
		{"av.defender.av_enabled", "AntivirusEnabled"},
		{"av.defender.realtime_enabled", "RealTimeProtectionEnabled"},
		{"av.defender.tamper_protected", "IsTamperProtected"},
	} {
		b, err := st.get(x.name).anyBool()
		if err != nil {
			return err
		}
		p.set(x.fact, b, show(x.name))
	}
	age, err := st.get("AntivirusSignatureAge").anyInt()
	if err != nil {
		return err
	}
	p.set("av.defender.signature_age_days", age, show("AntivirusSignatureAge"))
	for _, x := range []struct{ fact, name string }{
		{"av.defender.running_mode", "AMRunningMode"},
		{"av.defender.product_version", "AMProductVersion"},
		{"av.defender.engine_version", "AMEngineVersion"},
		{"av.defender.signature_version", "AntivirusSignatureVersion"},
	} {
		s, err := st.get(x.name).anyStr()
		if err != nil {
			return err
		}
		p.set(x.fact, s, show(x.name))
	}
	if s, ok, _ := st.get("AntivirusSignatureLastUpdated").str(); ok {
		t, err := parseDMTF(s)
		if err != nil {
			p.fail("av.defender.signature_updated", probes.ErrTextUnparsed, show("AntivirusSignatureLastUpdated"))
		} else {
			p.set("av.defender.signature_updated", t.Format(time.RFC3339), show("AntivirusSignatureLastUpdated"))
		}
	} else {
		p.set("av.defender.signature_updated", nil, show("AntivirusSignatureLastUpdated"))
	}
	return nil
}

func parseW18(p *parser, data json.RawMessage) error {
	var d struct {
		Present  bool `json:"present"`
		Products []struct {
			DisplayName val `json:"displayName"`
			State       val `json:"productState"`
			Path        val `json:"pathToSignedProductExe"`
			Timestamp   val `json:"timestamp"`
			GUID        val `json:"instanceGuid"`
		} `json:"products"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	p.set("av.securitycenter.present", d.Present, "root\\SecurityCenter2 namespace present = "+fmt.Sprint(d.Present))
	list := make([]any, 0, len(d.Products))
	var active, ev []string
	for _, x := range d.Products {
		name, _, _ := x.DisplayName.str()
		state, ok, err := x.State.int()
		if err != nil || !ok {
			return fmt.Errorf("productState of %q: %s", name, x.State.show())
		}
		s := decodeProductState(state)
		path, _, _ := x.Path.str()
		ts, _, _ := x.Timestamp.str()
		list = append(list, map[string]any{
			"name": name, "product_state": state, "enabled": s.Enabled, "up_to_date": s.UpToDate,
			"scanner": s.ScannerLabel, "path": path, "timestamp": ts,
		})
		ev = append(ev, fmt.Sprintf("AntiVirusProduct displayName = %s, productState = %d (0x%06X: scanner %s, signatures up to date %v)", name, state, state, s.ScannerLabel, s.UpToDate))
		if s.Enabled && s.UpToDate {
			active = append(active, name)
		}
	}
	p.set("av.products.all", list, ev...)
	p.set("av.products.active", sortedUnique(active), ev...)
	return nil
}

func decodeServices(raw []service) ([]any, []string) {
	list := make([]any, 0, len(raw))
	running := []string{}
	sortServices(raw)
	for i := range raw {
		s := &raw[i]
		dn, _, _ := s.DisplayName.str()
		st, _, _ := s.State.str()
		sm, _, _ := s.StartMode.str()
		list = append(list, map[string]any{"name": s.Name, "display_name": dn, "state": st, "start_mode": sm})
		if st == "Running" {
			running = append(running, s.Name)
		}
	}
	return list, running
}

// sortServices sorts services by lower-case name, stably.
func sortServices(raw []service) {
	type keyed struct {
		key string
		s   service
	}
	ks := make([]keyed, len(raw))
	for i := range raw {
		ks[i] = keyed{strings.ToLower(raw[i].Name), raw[i]}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	for i := range ks {
		raw[i] = ks[i].s
	}
}

func parseW19(p *parser, data json.RawMessage) error {
	var d struct {
		Services []service `json:"services"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	list, running := decodeServices(d.Services)
	var ev []string
	for i := range d.Services {
		ev = append(ev, d.Services[i].evidence())
	}
	p.set("av.services.all", list, ev...)
	p.set("av.services.running", sortedUnique(running), ev...)
	return nil
}

func parseW20(p *parser, data json.RawMessage) error {
	type coll struct {
		Present bool `json:"present"`
		Rules   int  `json:"rules"`
		Mode    val  `json:"mode"`
	}
	var d struct {
		Collections map[string]coll `json:"collections"`
		Service     *service        `json:"service"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	const key = `HKLM\SOFTWARE\Policies\Microsoft\Windows\SrpV2`
	for _, name := range []string{"Exe", "Msi", "Script", "Dll", "Appx"} {
		c, ok := d.Collections[name]
		if !ok {
			return fmt.Errorf("collection %s missing", name)
		}
		ev := fmt.Sprintf(`%s\%s present = %v, rules = %d, EnforcementMode = %s`, key, name, c.Present, c.Rules, c.Mode.show())
		mode := "not-configured"
		if n, ok, err := c.Mode.int(); err != nil {
			return err
		} else if ok && c.Present {
			switch n {
			case 0:
				mode = "audit"
			case 1:
				mode = "enforced"
			default:
				return fmt.Errorf("%s EnforcementMode %d", name, n)
			}
		}
		lower := strings.ToLower(name)
		p.set("applocker."+lower+".mode", mode, ev)
		p.set("applocker."+lower+".rules", c.Rules, ev)
	}
	p.set("applocker.service_running", d.Service.running(), d.Service.evidence())
	return nil
}

func parseW21(p *parser, data json.RawMessage) error {
	var d struct {
		Present bool   `json:"present"`
		DG      regMap `json:"device_guard"`
	}
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	p.set("deviceguard.present", d.Present && d.DG != nil, "root\\Microsoft\\Windows\\DeviceGuard Win32_DeviceGuard present = "+fmt.Sprint(d.Present && d.DG != nil))
	show := func(n string) string { return "Win32_DeviceGuard " + n + " = " + d.DG.get(n).show() }
	for _, x := range []struct{ fact, name string }{
		{"wdac.kernel_status", "CodeIntegrityPolicyEnforcementStatus"},
		{"wdac.usermode_status", "UsermodeCodeIntegrityPolicyEnforcementStatus"},
		{"vbs.status", "VirtualizationBasedSecurityStatus"},
	} {
		v, err := d.DG.get(x.name).anyInt()
		if err != nil {
			return err
		}
		p.set(x.fact, v, show(x.name))
	}
	running, err := d.DG.get("SecurityServicesRunning").ints()
	if err != nil {
		return err
	}
	p.set("vbs.services_running", running, show("SecurityServicesRunning"))
	has := func(n int) bool {
		for _, r := range running {
			if r == n {
				return true
			}
		}
		return false
	}
	p.set("credential_guard.running", has(1), show("SecurityServicesRunning")+" (1 = Credential Guard)")
	p.set("hvci.running", has(2), show("SecurityServicesRunning")+" (2 = HVCI)")
	return nil
}

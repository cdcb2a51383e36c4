package windows

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otsweep/otsweep/probes"
)

// osInfo is W01 as later handlers need it.
type osInfo struct {
	Build       int
	ProductType int
	Edition     string
}

type w01Data struct {
	Caption      val    `json:"caption"`
	Version      val    `json:"version"`
	Build        val    `json:"build"`
	ProductType  val    `json:"product_type"`
	Arch         val    `json:"arch"`
	SP           val    `json:"sp"`
	LastBoot     val    `json:"last_boot_dmtf"`
	Install      val    `json:"install_dmtf"`
	SystemDrive  val    `json:"system_drive"`
	MUI          val    `json:"mui"`
	Domain       val    `json:"domain"`
	PartOfDomain val    `json:"part_of_domain"`
	DomainRole   val    `json:"domain_role"`
	CV           regMap `json:"cv"`
}

const keyCurrentVersion = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`

func parseW01(p *parser, data json.RawMessage) error {
	var d w01Data
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	bs, ok, err := d.Build.str()
	if err != nil || !ok {
		return fmt.Errorf("BuildNumber missing")
	}
	build, err := strconv.Atoi(bs)
	if err != nil {
		return fmt.Errorf("BuildNumber %q: %w", bs, err)
	}
	pt, ok, err := d.ProductType.int()
	if err != nil || !ok || pt < 1 || pt > 3 {
		return fmt.Errorf("ProductType %s is not 1, 2 or 3", d.ProductType.show())
	}
	role := map[int]string{1: "workstation", 2: "domain-controller", 3: "server"}[pt]
	ubr, err := d.CV.get("UBR").anyInt()
	if err != nil {
		return fmt.Errorf("UBR: %w", err)
	}
	caption, _, _ := d.Caption.str()
	version, _, _ := d.Version.str()
	edition, _, _ := d.CV.get("EditionID").str()
	productName, hasName, _ := d.CV.get("ProductName").str()

	// Windows 11 still calls itself "Windows 10" in ProductName; the build
	// tells them apart (22000 and later is Windows 11).
	if hasName && build >= 22000 && strings.HasPrefix(productName, "Windows 10") {
		productName = "Windows 11" + strings.TrimPrefix(productName, "Windows 10")
	}
	full := version
	if n, ok := ubr.(int); ok {
		full = fmt.Sprintf("%s.%d", version, n)
	}
	display, _ := d.CV.get("DisplayVersion").anyStr()
	if display == nil {
		display, _ = d.CV.get("ReleaseId").anyStr()
	}
	arch, _, _ := d.Arch.str()
	sp, _, _ := d.SP.int()

	p.os = &osInfo{Build: build, ProductType: pt, Edition: edition}
	capLine := "Win32_OperatingSystem Caption = " + d.Caption.show() + ", BuildNumber = " + d.Build.show() + ", ProductType = " + d.ProductType.show()
	p.set("os.caption", strings.TrimSpace(caption), capLine)
	p.set("os.version", version, "Win32_OperatingSystem Version = "+d.Version.show())
	p.set("os.build", build, capLine)
	p.set("os.ubr", ubr, regLine(keyCurrentVersion, "UBR", d.CV.get("UBR")))
	p.set("os.build_full", full)
	p.set("os.product_type", pt, capLine)
	p.set("os.role", role, capLine)
	if hasName {
		p.set("os.product_name", productName, regLine(keyCurrentVersion, "ProductName", d.CV.get("ProductName")))
	} else {
		p.set("os.product_name", nil, regLine(keyCurrentVersion, "ProductName", d.CV.get("ProductName")))
	}
	ed, _ := d.CV.get("EditionID").anyStr()
	p.set("os.edition_id", ed, regLine(keyCurrentVersion, "EditionID", d.CV.get("EditionID")))
	it, _ := d.CV.get("InstallationType").anyStr()
	p.set("os.installation_type", it, regLine(keyCurrentVersion, "InstallationType", d.CV.get("InstallationType")))
	p.set("os.display_version", display,
		regLine(keyCurrentVersion, "DisplayVersion", d.CV.get("DisplayVersion")),
		regLine(keyCurrentVersion, "ReleaseId", d.CV.get("ReleaseId")))
	p.set("os.arch", normalizeArch(arch), "Win32_OperatingSystem OSArchitecture = "+d.Arch.show())
	p.set("os.service_pack", sp, "Win32_OperatingSystem ServicePackMajorVersion = "+d.SP.show())
	if s, ok, _ := d.LastBoot.str(); ok {
		t, err := parseDMTF(s)
		if err != nil {
			p.fail("os.last_boot", probes.ErrTextUnparsed, err.Error())
		} else {
			p.set("os.last_boot", t.Format(time.RFC3339), "Win32_OperatingSystem LastBootUpTime = "+s)
		}
	} else {
		p.set("os.last_boot", nil)
	}
	member, err := d.PartOfDomain.anyBool()
	if err != nil {
		return fmt.Errorf("PartOfDomain: %w", err)
	}
	domLine := "Win32_ComputerSystem PartOfDomain = " + d.PartOfDomain.show() + ", Domain = " + d.Domain.show()
	p.set("os.domain_member", member, domLine)
	if b, ok := member.(bool); ok && b {
		dom, _ := d.Domain.anyStr()
		p.set("os.domain", dom, domLine)
	} else {
		p.set("os.domain", nil, domLine)
	}
	langs, err := d.MUI.strs()
	if err != nil {
		return fmt.Errorf("MUILanguages: %w", err)
	}
	if len(langs) > 0 {
		p.set("os.ui_language", langs[0], "Win32_OperatingSystem MUILanguages = "+d.MUI.show())
	} else {
		p.set("os.ui_language", nil, "Win32_OperatingSystem MUILanguages = "+d.MUI.show())
	}
	return nil
}

// normalizeArch maps the localized OSArchitecture ("64-bit", "64-Bit",
// "64 bits") to "64-bit" or "32-bit".
func normalizeArch(s string) any {
	switch {
	case strings.HasPrefix(s, "64"):
		return "64-bit"
	case strings.HasPrefix(s, "32"):
		return "32-bit"
	case strings.Contains(strings.ToLower(s), "arm 64"), strings.Contains(strings.ToLower(s), "arm64"):
		return "arm64"
	case s == "":
		return nil
	}
	return s
}

// parseW02 resolves the release and its end-of-support dates from W01.
func parseW02(p *parser, _ json.RawMessage) error {
	if p.os == nil {
		return fmt.Errorf("W01 did not parse")
	}
	t, err := eolTableOnce()
	if err != nil {
		return err
	}
	ev := fmt.Sprintf("build %d, ProductType %d, EditionID %q; table %s (%s)", p.os.Build, p.os.ProductType, p.os.Edition, t.Version, t.Source)
	r, err := t.lookup(p.os.Build, p.os.ProductType, p.os.Edition)
	if err != nil {
		for _, n := range []string{"os.release", "os.eol_date", "os.eoes_date"} {
			p.fail(n, err.Error(), ev)
		}
		return nil
	}
	p.set("os.release", r.Release, ev)
	p.set("os.eol_date", r.EOL, ev)
	if r.EOES != "" {
		p.set("os.eoes_date", r.EOES, ev)
	} else {
		p.set("os.eoes_date", nil, ev)
	}
	return nil
}

// ApplySupport adds the facts that depend on the evaluation date, now, to
// facts parsed by Parse: os.supported (now is before os.eol_date, by UTC
// calendar day) and os.days_to_eol (negative once past). When os.eol_date
// could not be had, both fail with its reason. It is separate from Parse so
// that parsing never reads a clock.
func ApplySupport(facts probes.Facts, now time.Time) {
	eol, ok := facts["os.eol_date"]
	switch {
	case !ok:
		facts.Fail("os.supported", "W02", probes.ErrTextNotCollected)
		facts.Fail("os.days_to_eol", "W02", probes.ErrTextNotCollected)
		return
	case eol.Err != "":
		facts.Fail("os.supported", "W02", eol.Err, eol.Raw...)
		facts.Fail("os.days_to_eol", "W02", eol.Err, eol.Raw...)
		return
	}
	s, _ := eol.Value.(string)
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		facts.Fail("os.supported", "W02", probes.ErrTextUnparsed, s)
		facts.Fail("os.days_to_eol", "W02", probes.ErrTextUnparsed, s)
		return
	}
	today := now.UTC().Truncate(24 * time.Hour)
	days := int(d.Sub(today).Hours() / 24)
	ev := append([]string{"evaluated " + today.Format(time.DateOnly) + " against eol " + s}, eol.Raw...)
	facts.Set("os.supported", "W02", today.Before(d), ev...)
	facts.Set("os.days_to_eol", "W02", days, ev...)
}

type w03Data struct {
	Hotfixes []struct {
		ID          val `json:"id"`
		Desc        val `json:"desc"`
		InstalledOn val `json:"installed_on"`
		InstalledBy val `json:"installed_by"`
	} `json:"hotfixes"`
}

func parseW03(p *parser, data json.RawMessage) error {
	var d w03Data
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	var ids, raw []string
	var newest time.Time
	unparsed := 0
	for _, h := range d.Hotfixes {
		id, ok, err := h.ID.str()
		if err != nil || !ok || id == "" {
			continue
		}
		ids = append(ids, id)
		on, _, _ := h.InstalledOn.str()
		raw = append(raw, "HotFixID="+id+" InstalledOn="+on)
		if on == "" {
			unparsed++
			continue
		}
		t, err := parseHotfixDate(on)
		if err != nil {
			unparsed++
			continue
		}
		if t.After(newest) {
			newest = t
		}
	}
	p.set("patch.hotfixes", sortedUnique(ids), raw...)
	p.set("patch.hotfix_count", len(sortedUnique(ids)))
	if newest.IsZero() {
		p.set("patch.last_installed", nil, raw...)
	} else {
		p.set("patch.last_installed", newest.Format(time.DateOnly), "newest InstalledOn of "+strconv.Itoa(len(ids))+" hotfixes")
	}
	p.set("patch.hotfix_dates_unparsed", unparsed)
	return nil
}

var hexFiletime = regexp.MustCompile(`^[0-9A-Fa-f]{15,16}$`)

// parseHotfixDate reads Win32_QuickFixEngineering.InstalledOn. Windows writes
// it as M/d/yyyy whatever the locale; Windows XP/2003-era entries held a hex
// FILETIME, and some installers wrote yyyyMMdd.
func parseHotfixDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if hexFiletime.MatchString(s) {
		ft, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			return time.Time{}, err
		}
		const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
		if ft < epochDiff {
			return time.Time{}, fmt.Errorf("filetime %q before 1970", s)
		}
		t := time.Unix(0, int64((ft-epochDiff)*100)).UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	for _, l := range []string{"1/2/2006", "20060102", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("hotfix date %q", s)
}

type w05Data struct {
	Items []struct {
		Name            val `json:"name"`
		Version         val `json:"version"`
		Publisher       val `json:"publisher"`
		InstallDate     val `json:"install_date"`
		SystemComponent val `json:"system_component"`
		Key             val `json:"key"`
		Scope           val `json:"scope"`
	} `json:"items"`
}

func parseW05(p *parser, data json.RawMessage) error {
	var d w05Data
	if err := p.decodeStrict(data, &d); err != nil {
		return err
	}
	type sw struct {
		name, version, publisher, date, scope string
		system                                bool
	}
	var list []sw
	for _, it := range d.Items {
		name, ok, err := it.Name.str()
		if err != nil || !ok || strings.TrimSpace(name) == "" {
			continue
		}
		s := sw{name: strings.TrimSpace(name)}
		s.version, _, _ = it.Version.str()
		s.publisher, _, _ = it.Publisher.str()
		s.date, _, _ = it.InstallDate.str()
		s.scope, _, _ = it.Scope.str()
		if n, ok, _ := it.SystemComponent.int(); ok && n == 1 {
			s.system = true
		}
		list = append(list, s)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if !strings.EqualFold(list[i].name, list[j].name) {
			return strings.ToLower(list[i].name) < strings.ToLower(list[j].name)
		}
		return list[i].version < list[j].version
	})
	out := make([]any, 0, len(list))
	seen := map[string]bool{}
	for _, s := range list {
		k := s.name + "\x00" + s.version + "\x00" + s.scope
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, map[string]any{
			"name": s.name, "version": s.version, "publisher": s.publisher,
			"install_date": s.date, "scope": s.scope, "system_component": s.system,
		})
	}
	p.set("software.items", out, fmt.Sprintf("%d Uninstall entries with a DisplayName", len(d.Items)))
	p.set("software.count", len(out))
	return nil
}

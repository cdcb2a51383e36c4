package snmp

import (
	"regexp"
	"strings"
)

// vendor is one enterprise (IANA Private Enterprise Number) the identity probe
// (S06) knows, with the sysDescr parser for its devices.
type vendor struct {
	pen  int
	name string
	// descrPrefix recognises the vendor from sysDescr when sysObjectID is
	// missing or names another enterprise (OEM agents).
	descrPrefix *regexp.Regexp
	// parse extracts model and firmware from sysDescr; empty when absent.
	parse func(descr string) (model, firmware string)
}

// vendors lists the enterprises S06 names. Numbers from the IANA PEN
// registry; 9, 248, 311, 8072, 8691 and 4329 are corroborated by MIB module
// roots and sysObjectIDs seen on devices. 95 (Allen-Bradley, Rockwell
// Automation) and 3833 (Schneider Electric) are corroborated by vendor OIDs
// in public code (Rockwell firmware-certificate extensions 1.3.6.1.4.1.95.3.x,
// Schneider PowerLogic/Modicon OIDs 1.3.6.1.4.1.3833.1.x) but have not been
// checked against a device here: verify during fixture capture.
func vendors() []vendor {
	return []vendor{
		{pen: 9, name: "Cisco", descrPrefix: regexp.MustCompile(`^Cisco\b`), parse: parseCisco},
		{pen: 95, name: "Rockwell Automation", descrPrefix: regexp.MustCompile(`^(?:Rockwell|Allen-Bradley)\b`), parse: parseRockwell},
		{pen: 248, name: "Hirschmann", descrPrefix: regexp.MustCompile(`^Hirschmann\b`), parse: parseHirschmann},
		{pen: 311, name: "Microsoft", descrPrefix: regexp.MustCompile(`^Hardware: .* - Software: Windows`), parse: parseWindows},
		{pen: 2021, name: "net-snmp (UCD-SNMP)", parse: parseUnix},
		{pen: 3833, name: "Schneider Electric", descrPrefix: regexp.MustCompile(`^Schneider\b`), parse: parseSchneider},
		{pen: 4329, name: "Siemens", descrPrefix: regexp.MustCompile(`^Siemens, SIMATIC\b`), parse: parseSiemens},
		{pen: 8072, name: "net-snmp", parse: parseUnix},
		{pen: 8691, name: "Moxa", descrPrefix: regexp.MustCompile(`^(?:Moxa\b|(?:EDS|IKS|ICS|EDR|TN|PT|SDS)-\w)`), parse: parseMoxa},
	}
}

// enterpriseOf returns the PEN of a sysObjectID under 1.3.6.1.4.1.
func enterpriseOf(sysObjectID string) (int, bool) {
	oid, err := parseOID(sysObjectID)
	if err != nil || len(oid) < 7 {
		return 0, false
	}
	for i, v := range []uint32{1, 3, 6, 1, 4, 1} {
		if oid[i] != v {
			return 0, false
		}
	}
	return int(oid[6]), true
}

// identify names the vendor of a device and parses model and firmware from
// sysDescr. byDescr is true when the vendor was recognised from sysDescr
// rather than from the enterprise number.
func identify(pen int, havePEN bool, descr string) (v vendor, found, byDescr bool) {
	all := vendors()
	if havePEN {
		for _, x := range all {
			if x.pen == pen {
				return x, true, false
			}
		}
	}
	for _, x := range all {
		if x.descrPrefix != nil && x.descrPrefix.MatchString(descr) {
			return x, true, true
		}
	}
	return vendor{}, false, false
}

var (
	// "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)"
	// "Cisco Internetwork Operating System Software \r\nIOS (tm) C2950 Software (C2950-I6Q4L2-M), Version 12.1(22)EA14, …"
	// "Cisco IOS Software [Gibraltar], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 16.12.4, …"
	// "Cisco NX-OS(tm) n5000, Software (n5000-uk9), Version 5.2(1)N1(4), …"
	reCiscoImage   = regexp.MustCompile(`Software \((?P<image>[A-Za-z0-9_.-]+)\),? Version (?P<fw>[^,\s]+)`)
	reCiscoVersion = regexp.MustCompile(`\bVersion (?P<fw>\d[^,\s]*)`)

	// "Siemens, SIMATIC NET, SCALANCE X204IRT, 6GK5 204-0BA00-2BA3, HW: Version 9, FW: Version V05.04.02, SVPL6147920"
	// "Siemens, SIMATIC S7, CPU315-2 PN/DP, 6ES7 315-2EH14-0AB0 , HW: 7, FW: V3.2.11, S C-H4C233962016"
	// "Siemens, SIMATIC S7, CPU-1200, 6ES7 214-1BG40-0XB0, HW: 1, FW: V.4.1.3, S C-E6S04921"
	reSiemens = regexp.MustCompile(`^Siemens, SIMATIC(?: [A-Z0-9]+)?, (?P<model>[^,]+?)\s*, (?P<order>6[A-Z]{2}\d[^,]*?)\s*, HW: (?:Version )?[^,]*?\s*, FW: (?:Version )?(?P<fw>[^,]+?)\.?\s*(?:,|$)`)
	// "Siemens, SIMATIC S7, CPU-1200, 6ES7 214-1BE30-0XB0 SZVA2YYY007305  , 1, V.1.0.2, SZVA2YYY007305"
	reSiemensOld = regexp.MustCompile(`^Siemens, SIMATIC S7, (?P<model>[^,]+?)\s*, (?P<order>6ES7 \S+)[^,]*, [^,]*, (?P<fw>V\.?\d[^,]*?)\s*(?:,|$)`)

	// "Hirschmann RSP20 Railswitch, SW: HiOS-2A-08.5.02, …"; Classic: "… SW: L2P-09.0.14"
	reHirschmannModel = regexp.MustCompile(`^Hirschmann\s+(?P<model>[^,]+?)\s*(?:,| - |$)`)
	reHirschmannFW    = regexp.MustCompile(`\b(?P<fw>(?:HiOS|HiSecOS|L2[ABEPS]|L3[EPS]|HiOS-\w+)-[0-9A-Za-z][\w.-]*\d)`)

	// "EDS-408A", "Moxa EDS-408A-MM-SC, V3.9 build 19010211"
	reMoxaModel = regexp.MustCompile(`\b(?P<model>(?:EDS|IKS|ICS|EDR|TN|PT|SDS|AWK|NPort|MGate|ioLogik|ioThinx)[- ][A-Za-z0-9-]+)`)
	reMoxaFW    = regexp.MustCompile(`\bV(?P<fw>\d+(?:\.\d+)+)(?:\s+build\s+(?P<build>\d+))?`)

	// Modicon "BMEP584040", "TM241CE40R"; firmware "V3.20"
	reSchneiderModel = regexp.MustCompile(`\b(?P<model>BM[EX][A-Z]\d{4,}\w*|TM\d{3}\w+|140CPU\w+)`)
	reGenericVFW     = regexp.MustCompile(`\bV(?P<fw>\d+\.\d+(?:\.\d+)*)\b`)

	// catalogue numbers "1756-EN2T/D", firmware "Firmware Revision 11.002" / "v11.2"
	reRockwellModel = regexp.MustCompile(`\b(?P<model>1[0-9]{3}-[A-Z0-9]+(?:/[A-Z])?)`)
	reRockwellFW    = regexp.MustCompile(`(?i)(?:firmware(?: revision)?|rev(?:ision)?|\bv)\s*:?\s*(?P<fw>\d+\.\d+(?:\.\d+)*)`)

	// "Linux vm 6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01) x86_64"
	reUnix = regexp.MustCompile(`^(?P<model>Linux|FreeBSD|NetBSD|OpenBSD|SunOS|Darwin|AIX|HP-UX) \S+ (?P<fw>\S+)`)

	// "Hardware: Intel64 Family 6 … - Software: Windows Version 6.3 (Build 17763 Multiprocessor Free)"
	reWindows = regexp.MustCompile(`Software: Windows (?:Version )?(?P<ver>\d+\.\d+) \(Build (?P<build>\d+)`)
)

func group(re *regexp.Regexp, s, name string) string {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[re.SubexpIndex(name)])
}

func parseCisco(d string) (model, fw string) {
	if m := reCiscoImage.FindStringSubmatch(d); m != nil {
		image := m[reCiscoImage.SubexpIndex("image")]
		fw = m[reCiscoImage.SubexpIndex("fw")]
		model = strings.ToUpper(strings.FieldsFunc(image, func(r rune) bool { return r == '-' || r == '_' })[0])
		return model, fw
	}
	return "", group(reCiscoVersion, d, "fw")
}

func parseSiemens(d string) (model, fw string) {
	for _, re := range []*regexp.Regexp{reSiemens, reSiemensOld} {
		m := re.FindStringSubmatch(d)
		if m == nil {
			continue
		}
		model = strings.TrimSpace(m[re.SubexpIndex("model")])
		if o := strings.TrimSpace(m[re.SubexpIndex("order")]); o != "" {
			model += " (" + o + ")"
		}
		fw = strings.TrimSpace(m[re.SubexpIndex("fw")])
		fw = strings.Replace(fw, "V.", "V", 1)
		return model, fw
	}
	return "", ""
}

func parseHirschmann(d string) (model, fw string) {
	model = group(reHirschmannModel, d, "model")
	if strings.HasPrefix(model, "SW:") {
		model = ""
	}
	return model, group(reHirschmannFW, d, "fw")
}

func parseMoxa(d string) (model, fw string) {
	model = group(reMoxaModel, d, "model")
	if m := reMoxaFW.FindStringSubmatch(d); m != nil {
		fw = "V" + m[reMoxaFW.SubexpIndex("fw")]
		if b := m[reMoxaFW.SubexpIndex("build")]; b != "" {
			fw += " build " + b
		}
	}
	return model, fw
}

func parseSchneider(d string) (model, fw string) {
	return group(reSchneiderModel, d, "model"), prefixV(group(reGenericVFW, d, "fw"))
}

func parseRockwell(d string) (model, fw string) {
	return group(reRockwellModel, d, "model"), group(reRockwellFW, d, "fw")
}

func parseUnix(d string) (model, fw string) {
	return group(reUnix, d, "model"), group(reUnix, d, "fw")
}

func parseWindows(d string) (model, fw string) {
	m := reWindows.FindStringSubmatch(d)
	if m == nil {
		return "", ""
	}
	return "Windows", m[reWindows.SubexpIndex("ver")] + " (Build " + m[reWindows.SubexpIndex("build")] + ")"
}

func prefixV(s string) string {
	if s == "" {
		return ""
	}
	return "V" + s
}

package snmp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/otsweep/otsweep/probes"
)

// walkResult is one walked column: its rows, or why the walk ended early.
type walkResult struct {
	root string
	rows []gosnmp.SnmpPDU
	err  error
}

// collection is everything the requests of one scan returned; buildFacts
// turns it into facts without further I/O.
type collection struct {
	cfg Config

	engine       *engineInfo // discovery answer; nil when none
	discoveryErr error       // non-nil when discovery could not run (not: no answer)

	scalars *getResult

	versions    []string // versions that answered (configured first)
	versionsErr error    // cross-version test could not run

	weakerTested bool
	weaker       []string
	weakerErr    error
	weakerRaw    []string

	walks map[string]*walkResult // by root OID

	guessEnabled bool
	guessed      []string // default communities accepted
	guessErr     error
	guessRaw     []string

	// notCollected is set when the scan stopped early (ctx ended, agent
	// stopped answering): everything not read says why.
	notCollected string
}

// walkOf returns the result for root, or a not-collected result.
func (c *collection) walkOf(root string) *walkResult {
	if w, ok := c.walks[root]; ok {
		return w
	}
	reason := c.notCollected
	if reason == "" {
		reason = probes.ErrTextNotCollected
	}
	return &walkResult{root: root, err: errors.New(reason)}
}

// setFact records a collected value. (The package never spells the
// method-call form of "set": the no-SET test greps for it.)
func setFact(f probes.Facts, name, source string, value any, raw ...string) {
	f[name] = probes.Fact{Value: value, Source: source, Raw: raw}
}

// factErr turns a collection error into fact error text.
func factErr(err error) string {
	return err.Error()
}

// buildFacts derives every fact from c.
func buildFacts(c *collection) probes.Facts {
	f := probes.Facts{}
	engineFacts(f, c)
	versionFacts(f, c)
	if c.guessEnabled {
		if c.guessErr != nil {
			f.Fail("snmp.default_community_accepted", "S03", factErr(c.guessErr), c.guessRaw...)
		} else {
			setFact(f, "snmp.default_community_accepted", "S03", append([]string{}, c.guessed...), c.guessRaw...)
		}
	}
	writeFacts(f, c)
	v3Facts(f, c)
	identityFacts(f, c)
	uptimeFacts(f, c)
	contactFacts(f, c)
	entityFacts(f, c)
	swFacts(f, c)
	ifFacts(f, c)
	forwardingFacts(f, c)
	listenerFacts(f, c)
	authFacts(f, c)
	processFacts(f, c)
	return f
}

// scalar returns the varbind of oid, whether the agent has it, and a fact
// error text when it could not be read.
func (c *collection) scalar(oid string) (gosnmp.SnmpPDU, bool, string) {
	if c.scalars == nil {
		return gosnmp.SnmpPDU{}, false, c.notCollectedText()
	}
	if err, ok := c.scalars.failed[oid]; ok {
		return gosnmp.SnmpPDU{}, false, factErr(err)
	}
	if c.scalars.missing[oid] {
		return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.NoSuchObject}, false, ""
	}
	v, ok := c.scalars.values[oid]
	if !ok {
		return gosnmp.SnmpPDU{}, false, c.notCollectedText()
	}
	if isException(v) {
		return v, false, ""
	}
	return v, true, ""
}

func (c *collection) notCollectedText() string {
	if c.notCollected != "" {
		return c.notCollected
	}
	return probes.ErrTextNotCollected
}

func unparsed(want string, p gosnmp.SnmpPDU) string {
	return fmt.Sprintf("%s: expected %s, agent sent %s", probes.ErrTextUnparsed, want, p.Type)
}

// setString records a DisplayString scalar.
func setString(f probes.Facts, c *collection, name, probe, oid string) (string, bool) {
	v, ok, errText := c.scalar(oid)
	switch {
	case errText != "":
		f.Fail(name, probe, errText)
		return "", false
	case !ok:
		setFact(f, name, probe, nil, formatVarbind(v))
		return "", false
	}
	s, ok := pduText(v)
	if !ok {
		f.Fail(name, probe, unparsed("OCTET STRING", v), formatVarbind(v))
		return "", false
	}
	setFact(f, name, probe, s, formatVarbind(v))
	return s, true
}

// setInt records an integer-valued scalar (INTEGER, Counter, Gauge …).
func setInt(f probes.Facts, c *collection, name, probe, oid string) (int64, bool) {
	v, ok, errText := c.scalar(oid)
	switch {
	case errText != "":
		f.Fail(name, probe, errText)
		return 0, false
	case !ok:
		setFact(f, name, probe, nil, formatVarbind(v))
		return 0, false
	}
	n, ok := pduInt(v)
	if !ok {
		f.Fail(name, probe, unparsed("an integer", v), formatVarbind(v))
		return 0, false
	}
	setFact(f, name, probe, int(n), formatVarbind(v))
	return n, true
}

// setTruthValue records an enumeration where one value means true and
// another false (forwarding(1)/notForwarding(2), enabled(1)/disabled(2)).
func setTruthValue(f probes.Facts, c *collection, name, probe, oid string, yes, no int64) {
	v, ok, errText := c.scalar(oid)
	switch {
	case errText != "":
		f.Fail(name, probe, errText)
		return
	case !ok:
		setFact(f, name, probe, nil, formatVarbind(v))
		return
	}
	n, ok := pduInt(v)
	switch {
	case !ok:
		f.Fail(name, probe, unparsed("INTEGER", v), formatVarbind(v))
	case n == yes:
		setFact(f, name, probe, true, formatVarbind(v))
	case n == no:
		setFact(f, name, probe, false, formatVarbind(v))
	default:
		f.Fail(name, probe, fmt.Sprintf("%s: value %d is neither %d nor %d", probes.ErrTextUnparsed, n, yes, no), formatVarbind(v))
	}
}

func engineFacts(f probes.Facts, c *collection) {
	const p = "S01"
	var (
		id           []byte
		boots, etime int64
		haveBT       bool
		raw          []string
	)
	switch {
	case c.engine != nil:
		setFact(f, "snmp.v3.offered", p, true, "discovery Report: engine "+hex.EncodeToString(c.engine.id))
		id, boots, etime, haveBT = c.engine.id, int64(c.engine.boots), int64(c.engine.time), true
		raw = []string{fmt.Sprintf("discovery Report: engineID %s boots %d time %d", hex.EncodeToString(id), boots, etime)}
	case c.discoveryErr != nil:
		f.Fail("snmp.v3.offered", p, factErr(c.discoveryErr))
	default:
		setFact(f, "snmp.v3.offered", p, false, "no answer to the SNMPv3 discovery probe")
	}
	if id == nil {
		if v, ok, _ := c.scalar(oidSnmpEngineID); ok {
			if b, ok := pduBytes(v); ok && len(b) > 0 {
				id = b
				raw = append(raw, formatVarbind(v))
			}
		}
		vb, okb, _ := c.scalar(oidSnmpEngineBoots)
		vt, okt, _ := c.scalar(oidSnmpEngineTime)
		if okb && okt {
			nb, ok1 := pduInt(vb)
			nt, ok2 := pduInt(vt)
			if ok1 && ok2 {
				boots, etime, haveBT = nb, nt, true
				raw = append(raw, formatVarbind(vb), formatVarbind(vt))
			}
		}
	}
	if id == nil {
		for _, n := range []string{"snmp.v3.engine_id", "snmp.v3.engine_enterprise", "snmp.v3.engine_format"} {
			setFact(f, n, p, nil, raw...)
		}
	} else {
		setFact(f, "snmp.v3.engine_id", p, hex.EncodeToString(id), raw...)
		if ent, format, ok := engineIDInfo(id); ok {
			setFact(f, "snmp.v3.engine_enterprise", p, ent, raw...)
			setFact(f, "snmp.v3.engine_format", p, format, raw...)
		} else {
			setFact(f, "snmp.v3.engine_enterprise", p, nil, raw...)
			setFact(f, "snmp.v3.engine_format", p, nil, raw...)
		}
	}
	if haveBT {
		setFact(f, "snmp.v3.engine_boots", p, int(boots), raw...)
		setFact(f, "snmp.v3.engine_time", p, int(etime), raw...)
	} else {
		setFact(f, "snmp.v3.engine_boots", p, nil, raw...)
		setFact(f, "snmp.v3.engine_time", p, nil, raw...)
	}
}

// engineTime returns snmpEngineTime from discovery or the scalar.
func (c *collection) engineTime() (int64, bool) {
	if c.engine != nil {
		return int64(c.engine.time), true
	}
	if v, ok, _ := c.scalar(oidSnmpEngineTime); ok {
		return pduInt(v)
	}
	return 0, false
}

func versionFacts(f probes.Facts, c *collection) {
	const p = "S02"
	setFact(f, "snmp.version", p, c.cfg.Version, "configured SNMPv"+c.cfg.Version+" answered")
	raw := []string{"answered: " + strings.Join(c.versions, ", ")}
	if c.versionsErr != nil {
		f.Fail("snmp.versions", p, factErr(c.versionsErr), raw...)
	} else {
		setFact(f, "snmp.versions", p, append([]string{}, c.versions...), raw...)
	}
	community := slices.Contains(c.versions, Version1) || slices.Contains(c.versions, Version2c)
	setFact(f, "snmp.community_based", p, community, raw...)
	if c.cfg.Version == Version3 {
		setFact(f, "snmp.community_is_default", p, nil)
	} else {
		setFact(f, "snmp.community_is_default", p, slices.Contains(wellKnownCommunities(), c.cfg.Community.Reveal()),
			"configured community compared with the well-known default list (value not recorded)")
	}
}

func v3Facts(f probes.Facts, c *collection) {
	const p = "S05"
	if c.cfg.Version == Version3 {
		lvl := c.cfg.SecurityLevel
		setFact(f, "snmp.v3.security_level", p, lvl, "user "+c.cfg.User+" answered at "+lvl)
		auth, priv := "none", "none"
		if lvl != NoAuthNoPriv {
			auth = c.cfg.AuthProtocol
		}
		if lvl == AuthPriv {
			priv = c.cfg.PrivProtocol
		}
		setFact(f, "snmp.v3.auth_protocol", p, auth)
		setFact(f, "snmp.v3.priv_protocol", p, priv)
		switch {
		case c.weakerErr != nil:
			f.Fail("snmp.v3.weaker_levels_accepted", p, factErr(c.weakerErr), c.weakerRaw...)
		case c.weakerTested:
			setFact(f, "snmp.v3.weaker_levels_accepted", p, append([]string{}, c.weaker...), c.weakerRaw...)
		default:
			setFact(f, "snmp.v3.weaker_levels_accepted", p, []string{}, "no weaker level below "+lvl)
		}
	} else {
		for _, n := range []string{"snmp.v3.security_level", "snmp.v3.auth_protocol", "snmp.v3.priv_protocol", "snmp.v3.weaker_levels_accepted"} {
			setFact(f, n, p, nil, "SNMPv"+c.cfg.Version+" configured")
		}
	}

	auth, priv := c.walkOf(oidUsmUserAuthProtocol), c.walkOf(oidUsmUserPrivProtocol)
	if err := firstErr(auth, priv); err != nil {
		f.Fail("snmp.v3.usm_users", p, factErr(err))
		return
	}
	if len(auth.rows) == 0 {
		setFact(f, "snmp.v3.usm_users", p, nil, "usmUserTable not exposed")
		return
	}
	names := usmProtocolNames()
	protoName := func(v gosnmp.SnmpPDU) string {
		if o, ok := pduOID(v); ok {
			if n, ok := names[o]; ok {
				return n
			}
			return o
		}
		return ""
	}
	privBy := indexMap(priv.rows, oidUsmUserPrivProtocol)
	users := []any{}
	var raw []string
	for _, r := range auth.rows {
		idx, ok := indexOf(r.Name, oidUsmUserAuthProtocol)
		if !ok {
			continue
		}
		engine, rest, err := lengthPrefixed(idx)
		if err != nil {
			raw = append(raw, "unparsed index: "+formatVarbind(r))
			continue
		}
		user, _, err := lengthPrefixed(rest)
		if err != nil {
			raw = append(raw, "unparsed index: "+formatVarbind(r))
			continue
		}
		u, _ := displayString(user)
		row := map[string]any{"user": u, "engine_id": hex.EncodeToString(engine), "auth_protocol": protoName(r), "priv_protocol": ""}
		if pv, ok := privBy[indexString(idx)]; ok {
			row["priv_protocol"] = protoName(pv)
		}
		users = append(users, row)
		raw = append(raw, formatVarbind(r))
	}
	setFact(f, "snmp.v3.usm_users", p, users, capRaw(raw)...)
}

func writeFacts(f probes.Facts, c *collection) {
	const p = "S04"
	const unknown = "unknown (not tested: read-only policy)"
	var raw []string

	// 1. VACM: a v1/v2c group whose access entry names an existing write view.
	groups, access, views := c.walkOf(oidVacmGroupName), c.walkOf(oidVacmAccessWriteViewNam), c.walkOf(oidVacmViewTreeFamilyType)
	communityGroups := map[string]bool{}
	for _, r := range groups.rows {
		idx, ok := indexOf(r.Name, oidVacmGroupName)
		if !ok || len(idx) < 1 || (idx[0] != 1 && idx[0] != 2) { // securityModel snmpv1(1) / snmpv2c(2)
			continue
		}
		if g, _, ok := pduString(r); ok {
			communityGroups[g] = true
		}
	}
	included := map[string]bool{}
	for _, r := range views.rows {
		idx, ok := indexOf(r.Name, oidVacmViewTreeFamilyType)
		if !ok {
			continue
		}
		name, _, err := lengthPrefixed(idx)
		if err != nil {
			continue
		}
		if n, ok := pduInt(r); ok && n == 1 { // included(1)
			s, _ := displayString(name)
			included[s] = true
		}
	}
	verdict := ""
	for _, r := range access.rows {
		idx, ok := indexOf(r.Name, oidVacmAccessWriteViewNam)
		if !ok {
			continue
		}
		g, rest, err := lengthPrefixed(idx)
		if err != nil {
			continue
		}
		_, rest, err = lengthPrefixed(rest) // context prefix
		if err != nil || len(rest) < 1 {
			continue
		}
		group, _ := displayString(g)
		model := rest[0]
		if !communityGroups[group] && model != 1 && model != 2 {
			continue
		}
		view, _, ok := pduString(r)
		if !ok || view == "" {
			continue
		}
		switch {
		case included[view]:
			verdict = "yes"
			raw = append(raw, fmt.Sprintf("VACM: community group %q has write view %q (defined, includes subtrees)", group, view), formatVarbind(r))
		case len(views.rows) == 0 && view != "none" && view != "_none_":
			if verdict == "" {
				verdict = "probable"
			}
			raw = append(raw, fmt.Sprintf("VACM: community group %q names write view %q (view table not readable)", group, view), formatVarbind(r))
		}
	}
	for _, w := range []*walkResult{groups, access, views} {
		if w.err != nil {
			raw = append(raw, "VACM walk "+w.root+": "+w.err.Error())
		}
	}

	// 2. Conventional read-write community names accepted for GET.
	rw := readWriteCommunityNames()
	if c.cfg.Version != Version3 && slices.Contains(rw, c.cfg.Community.Reveal()) {
		raw = append(raw, "the configured community is a conventional read-write name (value not recorded)")
		if verdict == "" {
			verdict = "probable"
		}
	}
	for _, g := range c.guessed {
		if slices.Contains(rw, g) {
			raw = append(raw, fmt.Sprintf("default community %q (conventionally read-write) accepted for GET", g))
			if verdict == "" {
				verdict = "probable"
			}
		}
	}
	if verdict == "" {
		verdict = unknown
		raw = append(raw, "no passive indicator; SET is never sent")
	}
	setFact(f, "snmp.write_access", p, verdict, capRaw(raw)...)
}

func identityFacts(f probes.Facts, c *collection) {
	const p = "S06"
	descr, haveDescr := setString(f, c, "sys.descr", p, oidSysDescr)
	setString(f, c, "sys.name", p, oidSysName)
	setInt(f, c, "sys.services", p, oidSysServices)

	objID := ""
	v, ok, errText := c.scalar(oidSysObjectID)
	switch {
	case errText != "":
		f.Fail("sys.object_id", p, errText)
		f.Fail("sys.enterprise", p, errText)
	case !ok:
		setFact(f, "sys.object_id", p, nil, formatVarbind(v))
		setFact(f, "sys.enterprise", p, nil, formatVarbind(v))
	default:
		o, ok := pduOID(v)
		if !ok {
			f.Fail("sys.object_id", p, unparsed("OBJECT IDENTIFIER", v), formatVarbind(v))
			f.Fail("sys.enterprise", p, unparsed("OBJECT IDENTIFIER", v), formatVarbind(v))
			break
		}
		objID = o
		setFact(f, "sys.object_id", p, o, formatVarbind(v))
		if pen, ok := enterpriseOf(o); ok {
			setFact(f, "sys.enterprise", p, pen, formatVarbind(v))
		} else {
			setFact(f, "sys.enterprise", p, nil, formatVarbind(v))
		}
	}
	pen, havePEN := enterpriseOf(objID)
	evidence := []string{}
	if objID != "" {
		evidence = append(evidence, "sysObjectID "+objID)
	}
	if haveDescr {
		evidence = append(evidence, "sysDescr "+strconv.Quote(descr))
	}
	ven, found, byDescr := identify(pen, havePEN, descr)
	switch {
	case found && byDescr:
		setFact(f, "sys.vendor", p, ven.name, append(slices.Clip(evidence), "vendor recognised from sysDescr")...)
	case found:
		setFact(f, "sys.vendor", p, ven.name, evidence...)
	case havePEN:
		setFact(f, "sys.vendor", p, fmt.Sprintf("enterprise %d", pen), append(slices.Clip(evidence), "enterprise number not in the vendor table")...)
	default:
		f.Fail("sys.vendor", p, probes.ErrTextUnparsed, evidence...)
	}

	var model, fw string
	if found && haveDescr && ven.parse != nil {
		model, fw = ven.parse(descr)
	}
	chassis, _ := c.firstChassis()
	switch {
	case model != "":
		setFact(f, "sys.model", p, model, evidence...)
	case chassis != nil && chassis["model"] != "":
		setFact(f, "sys.model", p, chassis["model"], "ENTITY-MIB chassis entPhysicalModelName")
	default:
		f.Fail("sys.model", p, probes.ErrTextUnparsed, evidence...)
	}
	switch {
	case fw != "":
		setFact(f, "sys.firmware", p, fw, evidence...)
	case chassis != nil && chassis["software_rev"] != "":
		setFact(f, "sys.firmware", p, chassis["software_rev"], "ENTITY-MIB chassis entPhysicalSoftwareRev")
	case chassis != nil && chassis["firmware_rev"] != "":
		setFact(f, "sys.firmware", p, chassis["firmware_rev"], "ENTITY-MIB chassis entPhysicalFirmwareRev")
	default:
		f.Fail("sys.firmware", p, probes.ErrTextUnparsed, evidence...)
	}

	or := c.walkOf(oidSysORDescr)
	switch {
	case or.err != nil:
		f.Fail("sys.or_descr", p, factErr(or.err))
	case len(or.rows) == 0:
		setFact(f, "sys.or_descr", p, nil, "sysORTable empty or absent")
	default:
		var list, raw []string
		for _, r := range or.rows {
			if s, ok := pduText(r); ok {
				list = append(list, s)
			}
			raw = append(raw, formatVarbind(r))
		}
		setFact(f, "sys.or_descr", p, list, capRaw(raw)...)
	}
}

// wrapTicks is the TimeTicks modulus (2^32 hundredths of a second).
const wrapTicks = int64(1) << 32

func uptimeFacts(f probes.Facts, c *collection) {
	const p = "S07"
	ticks, ok := setInt(f, c, "sys.uptime_ticks", p, oidSysUpTime)
	if !ok {
		if fact := f["sys.uptime_ticks"]; fact.Err != "" {
			f.Fail("sys.uptime_seconds", p, fact.Err, fact.Raw...)
			f.Fail("sys.uptime_wrapped", p, fact.Err, fact.Raw...)
		} else {
			setFact(f, "sys.uptime_seconds", p, nil, fact.Raw...)
			setFact(f, "sys.uptime_wrapped", p, nil, fact.Raw...)
		}
	} else {
		raw := slices.Clip(f["sys.uptime_ticks"].Raw)
		et, haveET := c.engineTime()
		switch {
		case !haveET:
			setFact(f, "sys.uptime_seconds", p, int(ticksToSeconds(ticks)), raw...)
			setFact(f, "sys.uptime_wrapped", p, nil, append(raw, "no snmpEngineTime to detect a wrap")...)
		default:
			diff := et*100 - ticks
			raw = slices.Clip(append(raw, fmt.Sprintf("snmpEngineTime %d s", et)))
			if diff < -360000 { // engine clock more than an hour behind sysUpTime: different epochs
				setFact(f, "sys.uptime_seconds", p, int(ticksToSeconds(ticks)), raw...)
				setFact(f, "sys.uptime_wrapped", p, nil, append(raw, "snmpEngineTime and sysUpTime disagree")...)
				break
			}
			wraps := (diff + wrapTicks/2) / wrapTicks
			wraps = max(wraps, 0)
			setFact(f, "sys.uptime_seconds", p, int(ticksToSeconds(ticks+wraps*wrapTicks)), raw...)
			setFact(f, "sys.uptime_wrapped", p, wraps > 0, append(raw, fmt.Sprintf("%d wrap(s) of sysUpTime", wraps))...)
		}
	}
	if v, ok, errText := c.scalar(oidHrSystemUptime); errText != "" {
		f.Fail("host.uptime_seconds", p, errText)
	} else if !ok {
		setFact(f, "host.uptime_seconds", p, nil, formatVarbind(v))
	} else if n, ok := pduInt(v); !ok {
		f.Fail("host.uptime_seconds", p, unparsed("TimeTicks", v), formatVarbind(v))
	} else {
		setFact(f, "host.uptime_seconds", p, int(ticksToSeconds(n)), formatVarbind(v))
	}
}

// defaultContactLocations are values agents ship with (net-snmp's example
// snmpd.conf and compiled-in defaults, and placeholders seen on devices).
func defaultContactLocations() []string {
	return []string{
		"me <me@example.org>", "sitting on the dock of the bay", "unknown", "not set", "none", "n/a",
		"root", "root@localhost", "administrator", "contact", "location",
		"unknown (edit /etc/snmp/snmpd.conf)", "unknown (configure /etc/snmp/snmpd.local.conf)",
		"unknown (configure /etc/snmp/snmp.local.conf)",
	}
}

func contactFacts(f probes.Facts, c *collection) {
	const p = "S08"
	contact, okC := setString(f, c, "sys.contact", p, oidSysContact)
	location, okL := setString(f, c, "sys.location", p, oidSysLocation)
	fc, fl := f["sys.contact"], f["sys.location"]
	if fc.Err != "" || fl.Err != "" {
		f.Fail("sys.contact_location_set", p, strings.TrimSpace(fc.Err+" "+fl.Err))
		return
	}
	raw := append(append([]string{}, fc.Raw...), fl.Raw...)
	isSet := func(s string, ok bool) bool {
		s = strings.TrimSpace(s)
		return ok && s != "" && !slices.Contains(defaultContactLocations(), strings.ToLower(s))
	}
	setFact(f, "sys.contact_location_set", p, isSet(contact, okC) && isSet(location, okL), raw...)
}

// entityClasses names entPhysicalClass values.
func entityClasses() map[int64]string {
	return map[int64]string{1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container", 6: "powerSupply",
		7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack", 12: "cpu", 13: "energyObject", 14: "battery", 15: "storageDrive"}
}

func entityColumns() []string {
	return []string{oidEntDescr, oidEntClass, oidEntName, oidEntHardwareRev, oidEntFirmwareRev, oidEntSoftwareRev, oidEntSerialNum, oidEntMfgName, oidEntModelName}
}

// entityRows joins the entPhysicalTable columns; nil rows with nil error
// when the table is absent.
func (c *collection) entityRows() ([]map[string]any, error) {
	for _, col := range entityColumns() {
		if w := c.walkOf(col); w.err != nil {
			return nil, w.err
		}
	}
	class := c.walkOf(oidEntClass)
	if len(class.rows) == 0 {
		return nil, nil
	}
	str := func(col string) map[string]string {
		m := map[string]string{}
		for k, v := range indexMap(c.walkOf(col).rows, col) {
			if s, ok := pduText(v); ok {
				m[k] = strings.TrimSpace(s)
			}
		}
		return m
	}
	descr, name, hw, fw, sw := str(oidEntDescr), str(oidEntName), str(oidEntHardwareRev), str(oidEntFirmwareRev), str(oidEntSoftwareRev)
	serial, mfg, model := str(oidEntSerialNum), str(oidEntMfgName), str(oidEntModelName)
	classes := entityClasses()
	var rows []map[string]any
	for _, r := range class.rows {
		idx, ok := indexOf(r.Name, oidEntClass)
		if !ok {
			continue
		}
		n, ok := pduInt(r)
		if !ok {
			continue
		}
		k := indexString(idx)
		cn := classes[n]
		if cn == "" {
			cn = strconv.FormatInt(n, 10)
		}
		rows = append(rows, map[string]any{
			"index": k, "class": cn, "descr": descr[k], "name": name[k], "hardware_rev": hw[k], "firmware_rev": fw[k],
			"software_rev": sw[k], "serial": serial[k], "mfg": mfg[k], "model": model[k],
		})
	}
	return rows, nil
}

// firstChassis returns the first entPhysical row of class chassis.
func (c *collection) firstChassis() (map[string]any, error) {
	rows, err := c.entityRows()
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r["class"] == "chassis" {
			return r, nil
		}
	}
	return nil, nil
}

func entityFacts(f probes.Facts, c *collection) {
	const p = "S09"
	names := []string{"entity.physical", "entity.chassis_model", "entity.chassis_serial", "entity.chassis_firmware", "entity.chassis_software"}
	rows, err := c.entityRows()
	if err != nil {
		for _, n := range names {
			f.Fail(n, p, factErr(err))
		}
		return
	}
	if rows == nil {
		for _, n := range names {
			setFact(f, n, p, nil, "entPhysicalTable empty or absent")
		}
		return
	}
	list := []any{}
	var raw []string
	for _, r := range rows {
		switch r["class"] {
		case "chassis", "module", "stack", "cpu":
			list = append(list, map[string]any(r))
			raw = append(raw, fmt.Sprintf("entPhysical.%v class=%v model=%q serial=%q fw=%q sw=%q", r["index"], r["class"], r["model"], r["serial"], r["firmware_rev"], r["software_rev"]))
		}
	}
	setFact(f, "entity.physical", p, list, capRaw(raw)...)
	ch, _ := c.firstChassis()
	set := func(name, key string) {
		if ch == nil {
			setFact(f, name, p, nil, "no chassis row")
			return
		}
		ev := fmt.Sprintf("entPhysical.%v (chassis)", ch["index"])
		if s, _ := ch[key].(string); s != "" {
			setFact(f, name, p, s, ev)
		} else {
			setFact(f, name, p, nil, ev+": empty "+key)
		}
	}
	set("entity.chassis_model", "model")
	set("entity.chassis_serial", "serial")
	set("entity.chassis_firmware", "firmware_rev")
	set("entity.chassis_software", "software_rev")
}

func swFacts(f probes.Facts, c *collection) {
	const p = "S10"
	names, dates := c.walkOf(oidHrSWInstalledName), c.walkOf(oidHrSWInstalledDate)
	if err := firstErr(names, dates); err != nil {
		f.Fail("host.sw_installed", p, factErr(err))
		f.Fail("host.sw_installed_detail", p, factErr(err))
		return
	}
	if len(names.rows) == 0 {
		setFact(f, "host.sw_installed", p, nil, "hrSWInstalledTable empty or absent")
		setFact(f, "host.sw_installed_detail", p, nil, "hrSWInstalledTable empty or absent")
		return
	}
	dateBy := indexMap(dates.rows, oidHrSWInstalledDate)
	list, detail := []string{}, []any{}
	var raw []string
	for _, r := range names.rows {
		s, ok := pduText(r)
		if !ok {
			raw = append(raw, "unparsed: "+formatVarbind(r))
			continue
		}
		row := map[string]any{"name": s, "installed": ""}
		if idx, ok := indexOf(r.Name, oidHrSWInstalledName); ok {
			if d, ok := dateBy[indexString(idx)]; ok {
				if b, ok := pduBytes(d); ok {
					if t, err := dateAndTime(b); err == nil {
						row["installed"] = t.Format(time.RFC3339)
					}
				}
			}
		}
		list = append(list, s)
		detail = append(detail, row)
		raw = append(raw, formatVarbind(r))
	}
	setFact(f, "host.sw_installed", p, list, capRaw(raw)...)
	setFact(f, "host.sw_installed_detail", p, detail, capRaw(raw)...)
}

// ethernetTypes are the ifType values of Ethernet ports (IANAifType-MIB:
// ethernetCsmacd 6 and the deprecated fastEther 62, fastEtherFX 69,
// gigabitEthernet 117 that older agents still report).
func ethernetTypes() []int64 { return []int64{6, 62, 69, 117} }

func ifFacts(f probes.Facts, c *collection) {
	const p = "S11"
	cols := []string{oidIfDescr, oidIfType, oidIfAdminStatus, oidIfOperStatus, oidIfLastChange, oidIfName, oidIfAlias}
	names := []string{"iface.count", "iface.unused_ports", "iface.unused_ports_detail"}
	var ws []*walkResult
	for _, col := range cols {
		ws = append(ws, c.walkOf(col))
	}
	if err := firstErr(ws...); err != nil {
		for _, n := range names {
			f.Fail(n, p, factErr(err))
		}
		return
	}
	typ, admin, oper := c.walkOf(oidIfType), c.walkOf(oidIfAdminStatus), c.walkOf(oidIfOperStatus)
	if len(typ.rows) == 0 || len(admin.rows) == 0 || len(oper.rows) == 0 {
		for _, n := range names {
			setFact(f, n, p, nil, "ifTable empty or absent")
		}
		return
	}
	setFact(f, "iface.count", p, len(typ.rows), fmt.Sprintf("%d ifTable rows", len(typ.rows)))
	intBy := func(col string) map[string]int64 {
		m := map[string]int64{}
		for k, v := range indexMap(c.walkOf(col).rows, col) {
			if n, ok := pduInt(v); ok {
				m[k] = n
			}
		}
		return m
	}
	strBy := func(col string) map[string]string {
		m := map[string]string{}
		for k, v := range indexMap(c.walkOf(col).rows, col) {
			if s, ok := pduText(v); ok {
				m[k] = s
			}
		}
		return m
	}
	types, admins, opers, changes := intBy(oidIfType), intBy(oidIfAdminStatus), intBy(oidIfOperStatus), intBy(oidIfLastChange)
	descrs, ifNames, aliases := strBy(oidIfDescr), strBy(oidIfName), strBy(oidIfAlias)
	unused, detail := []string{}, []any{}
	var raw []string
	for _, r := range typ.rows {
		idx, ok := indexOf(r.Name, oidIfType)
		if !ok {
			continue
		}
		k := indexString(idx)
		if !slices.Contains(ethernetTypes(), types[k]) || admins[k] != 1 || (opers[k] != 2 && opers[k] != 7) {
			continue
		}
		name := ifNames[k]
		if name == "" {
			name = descrs[k]
		}
		if name == "" {
			name = "ifIndex " + k
		}
		unused = append(unused, name)
		detail = append(detail, map[string]any{
			"index": k, "name": name, "descr": descrs[k], "alias": aliases[k], "type": int(types[k]),
			"last_change_seconds": int(ticksToSeconds(changes[k])),
		})
		raw = append(raw, fmt.Sprintf("ifIndex %s %q type=%d admin=%d oper=%d alias=%q", k, name, types[k], admins[k], opers[k], aliases[k]))
	}
	setFact(f, "iface.unused_ports", p, unused, capRaw(raw)...)
	setFact(f, "iface.unused_ports_detail", p, detail, capRaw(raw)...)
}

func forwardingFacts(f probes.Facts, c *collection) {
	const p = "S12"
	setTruthValue(f, c, "ip.forwarding", p, oidIPForwarding, 1, 2)
	setTruthValue(f, c, "ip.v6_forwarding", p, oidIPv6IPForwarding, 1, 2)
	v, ok, errText := c.scalar(oidSysServices)
	switch {
	case errText != "":
		f.Fail("sys.services_layer3", p, errText)
	case !ok:
		setFact(f, "sys.services_layer3", p, nil, formatVarbind(v))
	default:
		if n, ok := pduInt(v); ok {
			setFact(f, "sys.services_layer3", p, n&4 != 0, formatVarbind(v))
		} else {
			f.Fail("sys.services_layer3", p, unparsed("INTEGER", v), formatVarbind(v))
		}
	}
}

type endpoint struct {
	addr string
	port int
	pid  int
}

func listenerFacts(f probes.Facts, c *collection) {
	tcp := c.walkOf(oidTCPListenerProcess)
	if len(tcp.rows) == 0 && tcp.err == nil {
		if fb, ok := c.walks[oidTCPConnState]; ok {
			tcp = fb
		}
	}
	setListeners(f, "S13", "net.tcp_listen", tcp, parseTCPRow)
	udp := c.walkOf(oidUDPEndpointProcess)
	if len(udp.rows) == 0 && udp.err == nil {
		if fb, ok := c.walks[oidUDPLocalPort]; ok {
			udp = fb
		}
	}
	setListeners(f, "S14", "net.udp_listen", udp, parseUDPRow)
}

// parseTCPRow decodes a tcpListenerTable or tcpConnTable row; listen is
// false for connection rows not in state listen(2).
func parseTCPRow(r gosnmp.SnmpPDU, root string) (endpoint, bool, error) {
	if root == oidTCPListenerProcess {
		idx, ok := indexOf(r.Name, root)
		if !ok {
			return endpoint{}, false, fmt.Errorf("%w: name outside table", errDecode)
		}
		addr, rest, err := inetAddressIndex(idx)
		if err != nil {
			return endpoint{}, false, err
		}
		port, _, err := portIndex(rest)
		if err != nil {
			return endpoint{}, false, err
		}
		pid, _ := pduInt(r)
		return endpoint{addr: addr, port: port, pid: int(pid)}, true, nil
	}
	idx, ok := indexOf(r.Name, oidTCPConnState)
	if !ok {
		return endpoint{}, false, fmt.Errorf("%w: name outside table", errDecode)
	}
	addr, rest, err := ipv4Index(idx)
	if err != nil {
		return endpoint{}, false, err
	}
	port, _, err := portIndex(rest)
	if err != nil {
		return endpoint{}, false, err
	}
	state, ok := pduInt(r)
	if !ok {
		return endpoint{}, false, fmt.Errorf("%w: tcpConnState of type %s", errDecode, r.Type)
	}
	return endpoint{addr: addr, port: port}, state == 2, nil
}

// parseUDPRow decodes a udpEndpointTable or udpTable row. Endpoints with a
// remote address or port are connected sockets, not listeners.
func parseUDPRow(r gosnmp.SnmpPDU, root string) (endpoint, bool, error) {
	if root == oidUDPEndpointProcess {
		idx, ok := indexOf(r.Name, root)
		if !ok {
			return endpoint{}, false, fmt.Errorf("%w: name outside table", errDecode)
		}
		addr, rest, err := inetAddressIndex(idx)
		if err != nil {
			return endpoint{}, false, err
		}
		port, rest, err := portIndex(rest)
		if err != nil {
			return endpoint{}, false, err
		}
		raddr, rest, err := inetAddressIndex(rest)
		if err != nil {
			return endpoint{}, false, err
		}
		rport, _, err := portIndex(rest)
		if err != nil {
			return endpoint{}, false, err
		}
		pid, _ := pduInt(r)
		listen := rport == 0 && (raddr == "" || raddr == "0.0.0.0" || raddr == "::")
		return endpoint{addr: addr, port: port, pid: int(pid)}, listen, nil
	}
	idx, ok := indexOf(r.Name, oidUDPLocalPort)
	if !ok {
		return endpoint{}, false, fmt.Errorf("%w: name outside table", errDecode)
	}
	addr, rest, err := ipv4Index(idx)
	if err != nil {
		return endpoint{}, false, err
	}
	port, _, err := portIndex(rest)
	if err != nil {
		return endpoint{}, false, err
	}
	return endpoint{addr: addr, port: port}, true, nil
}

func setListeners(f probes.Facts, probe, name string, w *walkResult, parse func(gosnmp.SnmpPDU, string) (endpoint, bool, error)) {
	if w.err != nil {
		f.Fail(name, probe, factErr(w.err))
		f.Fail(name+"_detail", probe, factErr(w.err))
		return
	}
	if len(w.rows) == 0 {
		setFact(f, name, probe, nil, "listener tables empty or absent")
		setFact(f, name+"_detail", probe, nil, "listener tables empty or absent")
		return
	}
	src := "from " + tableName(w.root)
	raw := []string{src}
	ports, detail := []int{}, []any{}
	seen := map[string]bool{}
	parsed := 0
	for _, r := range w.rows {
		ep, listen, err := parse(r, w.root)
		if err != nil {
			raw = append(raw, "unparsed row: "+formatVarbind(r))
			continue
		}
		parsed++
		if !listen {
			continue
		}
		key := fmt.Sprintf("%s|%d", ep.addr, ep.port)
		if seen[key] {
			continue
		}
		seen[key] = true
		if !slices.Contains(ports, ep.port) {
			ports = append(ports, ep.port)
		}
		detail = append(detail, map[string]any{"address": ep.addr, "port": ep.port, "pid": ep.pid})
		raw = append(raw, formatVarbind(r))
	}
	if parsed == 0 {
		f.Fail(name, probe, probes.ErrTextUnparsed, capRaw(raw)...)
		f.Fail(name+"_detail", probe, probes.ErrTextUnparsed, capRaw(raw)...)
		return
	}
	sort.Ints(ports)
	setFact(f, name, probe, ports, capRaw(raw)...)
	setFact(f, name+"_detail", probe, detail, capRaw(raw)...)
}

func tableName(root string) string {
	switch root {
	case oidTCPListenerProcess:
		return "tcpListenerTable"
	case oidTCPConnState:
		return "tcpConnTable (legacy)"
	case oidUDPEndpointProcess:
		return "udpEndpointTable"
	case oidUDPLocalPort:
		return "udpTable (legacy)"
	}
	return root
}

func authFacts(f probes.Facts, c *collection) {
	const p = "S15"
	setTruthValue(f, c, "snmp.auth_traps_enabled", p, oidSnmpEnableAuthenTraps, 1, 2)
	setInt(f, c, "snmp.bad_community_names", p, oidSnmpInBadCommunityNames)
	setInt(f, c, "snmp.bad_community_uses", p, oidSnmpInBadCommunityUses)
	setInt(f, c, "snmp.v3.unknown_user_names", p, oidUsmStatsUnknownUsers)
	setInt(f, c, "snmp.v3.wrong_digests", p, oidUsmStatsWrongDigests)
}

func processFacts(f probes.Facts, c *collection) {
	const p = "S16"
	w := c.walkOf(oidHrSWRunName)
	switch {
	case w.err != nil:
		f.Fail("host.processes", p, factErr(w.err))
	case len(w.rows) == 0:
		setFact(f, "host.processes", p, nil, "hrSWRunTable empty or absent")
	default:
		var list, raw []string
		for _, r := range w.rows {
			if s, ok := pduText(r); ok && s != "" && !slices.Contains(list, s) {
				list = append(list, s)
			}
			raw = append(raw, formatVarbind(r))
		}
		sort.Strings(list)
		setFact(f, "host.processes", p, list, capRaw(raw)...)
	}
}

// indexMap keys the rows of a column by their index below root.
func indexMap(rows []gosnmp.SnmpPDU, root string) map[string]gosnmp.SnmpPDU {
	m := make(map[string]gosnmp.SnmpPDU, len(rows))
	for _, r := range rows {
		if idx, ok := indexOf(r.Name, root); ok {
			m[indexString(idx)] = r
		}
	}
	return m
}

func firstErr(ws ...*walkResult) error {
	for _, w := range ws {
		if w.err != nil {
			return w.err
		}
	}
	return nil
}

// maxRaw caps the evidence lines kept per fact.
const maxRaw = 25

func capRaw(raw []string) []string {
	if len(raw) <= maxRaw {
		return raw
	}
	out := append([]string{}, raw[:maxRaw]...)
	return append(out, fmt.Sprintf("… %d more lines", len(raw)-maxRaw))
}

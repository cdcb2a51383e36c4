package snmp

import "testing"

func TestIdentify(t *testing.T) {
	tests := []struct {
		name        string
		sysObjectID string
		descr       string
		vendor      string
		model       string
		firmware    string
	}{
		{"Cisco IOS 15", ".1.3.6.1.4.1.9.1.716", "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)\r\nTechnical Support: http://www.cisco.com/techsupport", "Cisco", "C2960", "15.0(2)SE11"},
		{"Cisco IOS 12 two-line", ".1.3.6.1.4.1.9.1.324", "Cisco Internetwork Operating System Software \r\nIOS (tm) C2950 Software (C2950-I6Q4L2-M), Version 12.1(22)EA14, RELEASE SOFTWARE (fc1)", "Cisco", "C2950", "12.1(22)EA14"},
		{"Cisco IOS-XE", ".1.3.6.1.4.1.9.1.2494", "Cisco IOS Software [Gibraltar], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 16.12.4, RELEASE SOFTWARE (fc5)", "Cisco", "CAT9K", "16.12.4"},
		{"Cisco ASA", ".1.3.6.1.4.1.9.1.2114", "Cisco Adaptive Security Appliance Version 9.8(2)", "Cisco", "", "9.8(2)"},
		{"SCALANCE X204IRT (LLDP capture)", ".1.3.6.1.4.1.4329.6.1.2.1.2", "Siemens, SIMATIC NET, SCALANCE X204IRT, 6GK5 204-0BA00-2BA3, HW: Version 9, FW: Version V05.04.02, SVPL6147920", "Siemens", "SCALANCE X204IRT (6GK5 204-0BA00-2BA3)", "V05.04.02"},
		{"SCALANCE XM408", ".1.3.6.1.4.1.4329.20.1.1.1.1.79.3.1", "Siemens, SIMATIC NET, SCALANCE XM408-8C, 6GK5 408-8GS00-2AM2, HW: Version 2, FW: Version V06.01.00, SVPK2138923", "Siemens", "SCALANCE XM408-8C (6GK5 408-8GS00-2AM2)", "V06.01.00"},
		{"S7-300 CPU", ".1.3.6.1.4.1.4329.6.1.2", "Siemens, SIMATIC S7, CPU315-2 PN/DP, 6ES7 315-2EH14-0AB0 , HW: 7, FW: V3.2.11, S C-H4C233962016", "Siemens", "CPU315-2 PN/DP (6ES7 315-2EH14-0AB0)", "V3.2.11"},
		{"S7-300 with trailing dot", "", "Siemens, SIMATIC S7, CPU314C-2 PN/DP, 6ES7 314-6EH04-0AB0 , HW: 4, FW: V3.3.10.", "Siemens", "CPU314C-2 PN/DP (6ES7 314-6EH04-0AB0)", "V3.3.10"},
		{"S7-1200 V.x firmware", ".1.3.6.1.4.1.4329.6.1.2", "Siemens, SIMATIC S7, CPU-1200, 6ES7 214-1BG40-0XB0, HW: 1, FW: V.4.1.3, S C-E6S04921", "Siemens", "CPU-1200 (6ES7 214-1BG40-0XB0)", "V4.1.3"},
		{"S7-1200 old unlabelled", ".1.3.6.1.4.1.4329.6.1.2", "Siemens, SIMATIC S7, CPU-1200, 6ES7 214-1BE30-0XB0 SZVA2YYY007305  , 1, V.1.0.2, SZVA2YYY007305", "Siemens", "CPU-1200 (6ES7 214-1BE30-0XB0)", "V1.0.2"},
		{"Hirschmann HiOS", ".1.3.6.1.4.1.248.11.2.1.7", "Hirschmann RSP20 Rail Switch Power, SW: HiOS-2A-08.5.02", "Hirschmann", "RSP20 Rail Switch Power", "HiOS-2A-08.5.02"},
		{"Hirschmann Classic", ".1.3.6.1.4.1.248.14.10.22", "Hirschmann Railswitch - SW: L2P-09.0.14", "Hirschmann", "Railswitch", "L2P-09.0.14"},
		{"Moxa model only", ".1.3.6.1.4.1.8691.7.7", "EDS-408A", "Moxa", "EDS-408A", ""},
		{"Moxa with firmware", ".1.3.6.1.4.1.8691.7.69", "Moxa EDS-408A-MM-SC, V3.9 build 19010211", "Moxa", "EDS-408A-MM-SC", "V3.9 build 19010211"},
		{"Schneider Modicon", ".1.3.6.1.4.1.3833.1.7", "Schneider Electric BMEP584040 V3.20", "Schneider Electric", "BMEP584040", "V3.20"},
		{"Rockwell", ".1.3.6.1.4.1.95.1.2", "Rockwell Automation 1756-EN2T/D Firmware Revision 11.002", "Rockwell Automation", "1756-EN2T/D", "11.002"},
		{"net-snmp Linux", ".1.3.6.1.4.1.8072.3.2.10", "Linux vm 6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01) x86_64", "net-snmp", "Linux", "6.1.0-27-amd64"},
		{"Windows SNMP service", ".1.3.6.1.4.1.311.1.1.3.1.2", "Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3 (Build 17763 Multiprocessor Free)", "Microsoft", "Windows", "6.3 (Build 17763)"},
		{"unknown enterprise, Siemens sysDescr", ".1.3.6.1.4.1.99999.1", "Siemens, SIMATIC NET, SCALANCE X208, 6GK5 208-0BA10-2AA3, HW: Version 3, FW: Version V05.02.02, VPH2000000", "Siemens", "SCALANCE X208 (6GK5 208-0BA10-2AA3)", "V05.02.02"},
		{"unknown device", ".1.3.6.1.4.1.99999.1", "Model 42", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pen, havePEN := enterpriseOf(tc.sysObjectID)
			v, found, _ := identify(pen, havePEN, tc.descr)
			if tc.vendor == "" {
				if found {
					t.Fatalf("identified %q, want unknown", v.name)
				}
				return
			}
			if !found || v.name != tc.vendor {
				t.Fatalf("vendor = %q (found %v), want %q", v.name, found, tc.vendor)
			}
			model, fw := v.parse(tc.descr)
			if model != tc.model || fw != tc.firmware {
				t.Errorf("model %q firmware %q, want %q %q", model, fw, tc.model, tc.firmware)
			}
		})
	}
}

func TestEnterpriseOf(t *testing.T) {
	for _, tc := range []struct {
		oid string
		pen int
		ok  bool
	}{
		{".1.3.6.1.4.1.9.1.716", 9, true},
		{"1.3.6.1.4.1.4329", 4329, true},
		{".1.3.6.1.2.1.1", 0, false},
		{"", 0, false},
		{"garbage", 0, false},
	} {
		pen, ok := enterpriseOf(tc.oid)
		if pen != tc.pen || ok != tc.ok {
			t.Errorf("enterpriseOf(%q) = %d %v", tc.oid, pen, ok)
		}
	}
}

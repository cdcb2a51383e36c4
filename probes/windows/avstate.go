package windows

// avState is the decoded productState of a SecurityCenter2 AntiVirusProduct.
// The value is not documented by Microsoft; its layout follows the
// WSC_SECURITY_PRODUCT_STATE and signature-status values of the Windows
// Security Center API as used by public inventory tools: bits 12-15 hold the
// product state (0x0 off, 0x1 on, 0x2 snoozed, 0x3 expired), bits 4-7 the
// signature status (0x0 up to date, 0x1 out of date), bits 16-23 the security
// provider. Example: 397568 = 0x061100 = Defender, on, up to date.
type avState struct {
	Provider     int
	Enabled      bool
	UpToDate     bool
	ScannerLabel string
}

func decodeProductState(state int) avState {
	s := avState{Provider: (state >> 16) & 0xFF}
	s.Enabled = state&0xF000 == 0x1000
	s.UpToDate = state&0xF0 == 0
	switch state & 0xF000 {
	case 0x0000:
		s.ScannerLabel = "off"
	case 0x1000:
		s.ScannerLabel = "on"
	case 0x2000:
		s.ScannerLabel = "snoozed"
	case 0x3000:
		s.ScannerLabel = "expired"
	default:
		s.ScannerLabel = "unknown"
	}
	return s
}

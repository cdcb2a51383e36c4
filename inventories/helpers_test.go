package inventories

import (
	"regexp"
	"slices"
)

// testValidator accepts the eight shipped roles and SR/RE ids of the form
// "SR x.y" and "SR x.y RE n".
func testValidator() Validator {
	re := regexp.MustCompile(`^SR [1-7]\.[1-9][0-9]?( RE [1-9][0-9]?)?$`)
	return Validator{
		Role: func(name string) bool {
			return slices.Contains([]string{"hmi", "historian", "engineering-workstation", "domain-controller",
				"laptop", "linux-server", "network-switch", "plc"}, name)
		},
		Requirement: re.MatchString,
	}
}

package inventories

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSelect(t *testing.T) {
	inv, err := Load("examples/plant.yaml", testValidator())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                      string
		assets, roles, zones, tag []string
		want                      []string
		err                       error
	}{
		{name: "everything", want: []string{"dc-01", "hist-01", "ews-01", "laptop-svc-01", "sw-core-01", "hmi-01", "hmi-02",
			"sw-cell3-01", "plc-cell3-01", "plc-cell3-02", "jump-01", "patch-01"}},
		{name: "assets are OR", assets: []string{"patch-01", "hmi-01"}, want: []string{"hmi-01", "patch-01"}},
		{name: "roles are OR", roles: []string{"hmi", "plc"}, want: []string{"hmi-01", "hmi-02", "plc-cell3-01", "plc-cell3-02"}},
		{name: "zone AND role", roles: []string{"network-switch"}, zones: []string{"cell-3"}, want: []string{"sw-cell3-01"}},
		{name: "tags are OR", tag: []string{"engineering", "remote-access"}, want: []string{"ews-01", "laptop-svc-01", "jump-01"}},
		{name: "tag AND zone", tag: []string{"line3"}, zones: []string{"ops-l3"}, want: []string{"hist-01"}},
		{name: "asset AND role", assets: []string{"hmi-01", "dc-01"}, roles: []string{"hmi"}, want: []string{"hmi-01"}},
		{name: "unknown asset", assets: []string{"hmi-01", "hmi-99"}, err: &UnknownNameError{Kind: "asset", Name: "hmi-99"}},
		{name: "unknown zone", zones: []string{"cell-9"}, err: &UnknownNameError{Kind: "zone", Name: "cell-9"}},
		{name: "nothing matches", roles: []string{"plc"}, zones: []string{"ot-dmz"}, err: ErrNoMatch},
		{name: "unused role", roles: []string{"historian-typo"}, err: ErrNoMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := inv.Select(tc.assets, tc.roles, tc.zones, tc.tag)
			var names []string
			for _, a := range got {
				names = append(names, a.Name)
			}
			var une *UnknownNameError
			switch want := tc.err.(type) {
			case nil:
				if err != nil || !slices.Equal(names, tc.want) {
					t.Errorf("Select = %v, %v; want %v", names, err, tc.want)
				}
			case *UnknownNameError:
				if !errors.As(err, &une) || *une != *want || got != nil {
					t.Errorf("Select = %v, %v; want %v", names, err, want)
				}
			default:
				if !errors.Is(err, want) || got != nil {
					t.Errorf("Select = %v, %v; want %v", names, err, want)
				}
			}
		})
	}
}

func TestExpired(t *testing.T) {
	cm := Countermeasure{Expires: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}
	berlin := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"day before", time.Date(2027, 6, 29, 23, 59, 0, 0, time.UTC), false},
		{"start of the last day", time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC), false},
		{"end of the last day", time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC), false},
		{"next day", time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{"next day local, still 30th in UTC", time.Date(2027, 7, 1, 0, 30, 0, 0, berlin), true},
		{"last day local, 1st in another zone", time.Date(2027, 6, 30, 23, 30, 0, 0, time.FixedZone("W", -3600)), false},
		{"years later", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cm.Expired(tc.now); got != tc.want {
				t.Errorf("Expired(%v) = %v, want %v", tc.now, got, tc.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	a := Asset{Name: "hmi-01", Role: "hmi", Zone: "cell-3"}
	tests := []struct {
		scope Scope
		want  bool
	}{
		{Scope{Asset: "hmi-01"}, true},
		{Scope{Asset: "hmi-02"}, false},
		{Scope{Role: "hmi"}, true},
		{Scope{Role: "plc"}, false},
		{Scope{Zone: "cell-3"}, true},
		{Scope{Zone: "ops-l3"}, false},
		{Scope{}, false},
	}
	for _, tc := range tests {
		if got := (Countermeasure{Scope: tc.scope}).Covers(a); got != tc.want {
			t.Errorf("Covers with %+v = %v, want %v", tc.scope, got, tc.want)
		}
	}
}

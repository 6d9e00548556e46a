package reports

import (
	"slices"
	"testing"
)

func TestAddCoverage(t *testing.T) {
	a := []CoverageCell{{Fault: FaultHeal, Totem: "gather", Quorum: "quorate", Store: "writable", Count: 2}}
	b := []CoverageCell{
		{Fault: FaultCrash, Totem: "commit", Quorum: "sync", Store: "syncing", Count: 1},
		{Fault: FaultHeal, Totem: "gather", Quorum: "quorate", Store: "writable", Count: 3},
	}
	got := AddCoverage(slices.Clone(a), b...)
	want := []CoverageCell{
		{Fault: FaultCrash, Totem: "commit", Quorum: "sync", Store: "syncing", Count: 1},
		{Fault: FaultHeal, Totem: "gather", Quorum: "quorate", Store: "writable", Count: 5},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("AddCoverage = %v, want %v", got, want)
	}
}

func TestNeverReached(t *testing.T) {
	per := len(CoverageTotem)*len(CoverageQuorum)*len(CoverageStore) + 1
	cov := []CoverageCell{
		{Fault: FaultCrash, Totem: "commit", Quorum: "sync", Store: "syncing", Count: 1},
		{Fault: FaultCrash, Totem: CoverageDown, Quorum: CoverageDown, Store: CoverageDown, Count: 4},
		{Fault: FaultHeal, Totem: "operational", Quorum: "quorate", Store: "writable", Count: 9},
		{Fault: FaultHeal, Totem: "gather", Quorum: "inquorate", Store: "read_only", Count: 0}, // not visited
	}
	reached, total, missing := NeverReached(cov)
	if reached != 3 || total != 2*per || len(missing) != total-reached {
		t.Fatalf("reached %d of %d with %d missing; want 3 of %d", reached, total, len(missing), 2*per)
	}
	for _, m := range missing {
		if m.Fault == FaultCrash && m.Totem == "commit" && m.Quorum == "sync" && m.Store == "syncing" {
			t.Fatal("a reached cell is listed as never reached")
		}
	}
	if !slices.ContainsFunc(missing, func(c CoverageCell) bool {
		return c.Fault == FaultHeal && c.Totem == "gather" && c.Quorum == "inquorate" && c.Store == "read_only"
	}) {
		t.Fatal("a cell with count 0 is not listed as never reached")
	}
}

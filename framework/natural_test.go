package framework

import (
	"slices"
	"testing"
)

func TestNaturalOrdersAsPeopleCount(t *testing.T) {
	got := []string{"ac-11", "controls[10]", "ac-2.1", "ac-3", "controls[2]", "ac-2", "sc-7.12345678901", "sc-7.9"}
	slices.SortFunc(got, Natural)
	want := []string{"ac-2", "ac-2.1", "ac-3", "ac-11", "controls[2]", "controls[10]", "sc-7.9", "sc-7.12345678901"}
	if !slices.Equal(got, want) {
		t.Fatalf("sorted\n got %q\nwant %q", got, want)
	}
}

package framework_test

import (
	"slices"
	"testing"

	"github.com/srmhq/srm/framework"
)

func TestCompareSaysWhatANewerVersionChanges(t *testing.T) {
	low, moderate := builtin(t, "nist-800-53-rev5-low"), builtin(t, "nist-800-53-rev5-moderate")
	ch := framework.Compare(low, moderate)
	if len(ch.Added) != 287-149 || len(ch.Removed) != 0 || len(ch.Changed) != 0 {
		t.Errorf("Low to Moderate: %d added, %d removed, %d changed; want 138, 0, 0", len(ch.Added), len(ch.Removed), len(ch.Changed))
	}
	if !slices.Contains(ch.Added, "AC-2(1)") || slices.Contains(ch.Added, "AC-2") {
		t.Errorf("added %v: want AC-2(1), not AC-2", ch.Added[:5])
	}
	if back := framework.Compare(moderate, low); len(back.Removed) != 138 || len(back.Added) != 0 {
		t.Errorf("Moderate to Low: %+v", back)
	}

	edited := slices.Clone(low.Controls)
	edited[1].Statement += " And more."
	newer := low
	newer.Controls = edited[1:] // AC-1 removed, AC-2 changed
	ch = framework.Compare(low, newer)
	if !slices.Equal(ch.Removed, []string{"AC-1"}) || !slices.Equal(ch.Changed, []string{"AC-2"}) || len(ch.Added) != 0 || ch.Empty() {
		t.Errorf("changes = %+v, want AC-1 removed and AC-2 changed", ch)
	}
	if !framework.Compare(low, low).Empty() {
		t.Error("a catalog differs from itself")
	}
}

package srm_test

import (
	"testing"

	"github.com/srmhq/srm"
)

func TestChecklistFilterMatchesWhatAPersonAsksFor(t *testing.T) {
	patching := srm.Control{ID: 15, Layer: srm.Compute, Title: "Patching of systems", FrameworkID: 2}
	mine := srm.Assignment{Control: patching, Party: srm.Customer, Status: srm.Status{OwnerID: 7, Complete: true}}
	open := srm.Assignment{Control: srm.Control{ID: 9, Layer: srm.Network, Title: "Deny by default", FrameworkID: 1}, Party: srm.Shared}
	na := srm.Assignment{Control: srm.Control{ID: 21, Layer: srm.Data, Title: "Data in databases", FrameworkID: 1}, Party: srm.Customer,
		Status: srm.Status{NotApplicable: true, NAReason: "None.", Complete: true}}
	azure := srm.Assignment{Control: srm.Control{ID: 1, Layer: srm.Physical, Title: "Physical security", FrameworkID: 1}, Party: srm.Provider,
		Status: srm.Status{OwnerID: 7}}
	all := []srm.Assignment{mine, open, na, azure}
	tests := []struct {
		name   string
		filter srm.ChecklistFilter
		want   []int64
	}{
		{"no filter shows everything", srm.ChecklistFilter{}, []int64{15, 9, 21, 1}},
		{"a layer", srm.ChecklistFilter{Layer: srm.Network}, []int64{9}},
		{"a party", srm.ChecklistFilter{Party: srm.Provider}, []int64{1}},
		{"open: neither complete nor not applicable", srm.ChecklistFilter{State: srm.StateOpen}, []int64{9}},
		{"complete counts only what applies", srm.ChecklistFilter{State: srm.StateComplete}, []int64{15}},
		{"not applicable", srm.ChecklistFilter{State: srm.StateNotApplicable}, []int64{21}},
		{"an owner: Azure's controls are nobody's work", srm.ChecklistFilter{Owner: "7", OwnerID: 7}, []int64{15}},
		{"unassigned", srm.ChecklistFilter{Owner: srm.OwnerNone}, []int64{9, 21}},
		{"mine without a linked owner matches nothing", srm.ChecklistFilter{Owner: srm.OwnerMine}, nil},
		{"text in the title, any case", srm.ChecklistFilter{Query: "DENY"}, []int64{9}},
		{"the control's number", srm.ChecklistFilter{Query: "#21"}, []int64{21}},
		{"filters combine", srm.ChecklistFilter{Layer: srm.Compute, State: srm.StateComplete, Query: "patch"}, []int64{15}},
		{"and narrow to nothing", srm.ChecklistFilter{Layer: srm.Compute, State: srm.StateOpen}, nil},
		{"a framework", srm.ChecklistFilter{Framework: "nist", FrameworkID: 2}, []int64{15}},
		{"another framework", srm.ChecklistFilter{Framework: "srm", FrameworkID: 1}, []int64{9, 21, 1}},
		{"a framework with the others", srm.ChecklistFilter{Framework: "nist", FrameworkID: 2, State: srm.StateOpen}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int64
			for _, a := range all {
				if tt.filter.Match(a) {
					got = append(got, a.Control.ID)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%+v matches %v, want %v", tt.filter, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("%+v matches %v, want %v", tt.filter, got, tt.want)
				}
			}
		})
	}
}

func TestChecklistFilterCleanDropsWhatItDoesNotKnow(t *testing.T) {
	f := srm.ChecklistFilter{Layer: "nowhere", Party: "someone", State: "sideways", Owner: "x", Query: "  patch  "}.Clean()
	if f.Active() && (f.Layer != "" || f.Party != "" || f.State != "" || f.Owner != "") || f.Query != "patch" {
		t.Errorf("Clean() = %+v, want only the trimmed query kept", f)
	}
	if f := (srm.ChecklistFilter{Owner: "12"}).Clean(); f.OwnerID != 12 {
		t.Errorf("Clean() of owner 12 = %+v, want OwnerID 12", f)
	}
}

// TestChecklistTextSearchFindsFrameworkIDs: a person looks a framework
// control up by its id as they write it, in any case.
func TestChecklistTextSearchFindsFrameworkIDs(t *testing.T) {
	ac2 := srm.Assignment{Control: srm.Control{ID: 40, Ref: "AC-2", Title: "Account Management", FrameworkID: 2}, Party: srm.Customer}
	ac21 := srm.Assignment{Control: srm.Control{ID: 41, Ref: "AC-2(1)", Title: "Automated System Account Management", FrameworkID: 2}, Party: srm.Customer}
	ac20 := srm.Assignment{Control: srm.Control{ID: 58, Ref: "AC-20", Title: "Use of External Systems", FrameworkID: 2}, Party: srm.Customer}
	sc7 := srm.Assignment{Control: srm.Control{ID: 90, Ref: "SC-7", Title: "Boundary Protection", FrameworkID: 2}, Party: srm.Shared}
	all := []srm.Assignment{ac2, ac21, ac20, sc7}
	for _, tt := range []struct {
		q    string
		want []int64
	}{
		{"ac-2", []int64{40, 41, 58}},
		{"AC-2(1)", []int64{41}},
		{"ac-2 (1)", []int64{41}},
		{"sc-7", []int64{90}},
		{"boundary", []int64{90}},
		{"#58", []int64{58}},
		{"AC-3", nil},
	} {
		var got []int64
		f := srm.ChecklistFilter{Query: tt.q}.Clean()
		for _, a := range all {
			if f.Match(a) {
				got = append(got, a.Control.ID)
			}
		}
		if len(got) != len(tt.want) || (len(got) > 0 && !equal(got, tt.want)) {
			t.Errorf("q=%q finds %v, want %v", tt.q, got, tt.want)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

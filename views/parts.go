package views

import "github.com/srmhq/srm"

// providerPart and customerPart are what Azure and the customer do for
// the control of a, by the one rule srm.Assignment.Parts keeps.
func providerPart(a srm.Assignment) srm.Part { p, _ := a.Parts(); return p }

func customerPart(a srm.Assignment) srm.Part { _, c := a.Parts(); return c }

// does agrees the verb with who: "Azure does", "you do".
func does(who string) string {
	if who == "you" {
		return "do"
	}
	return "does"
}

// Package framework reads security frameworks: OSCAL catalogs such as NIST
// SP 800-53 rev5, and srm's reading of each of their controls as one
// responsibility area.
//
// Parse reads an OSCAL 1.0.x or 1.1.x catalog in JSON, checks it against
// the official OSCAL schema of its version (as go-oscal ships it), and
// returns its controls with their statements and guidance in words a
// person reads. A bad file gets a *ParseError that says what is wrong and
// where. Builtins lists the frameworks srm ships (NIST's three rev5
// baselines, public domain, in nist/).
//
// ParseReading reads a reading file, a list a person reviews line by line
// of the area each family and each exception is read as; Read applies it
// to a catalog and says, for every control, its area, its layer and why.
// The area then decides who carries the control through a baseline, as for
// srm's own controls.
//
// The package imports only the standard library, the srm domain package,
// go-oscal for the schemas, and the JSON Schema validator go-oscal uses.
package framework

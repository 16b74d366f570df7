package srm

import "time"

// SRMFramework is the slug of srm's own catalog as a framework.
const SRMFramework = "srm"

// Framework is a catalog of controls a workload is held to: srm's own, or
// an OSCAL catalog imported into srm, such as NIST SP 800-53 rev5
// Moderate. Each of its controls is read as one responsibility area, and
// the workload's baseline and model then say who carries it, as for srm's
// own controls.
type Framework struct {
	ID           int64
	Slug         string // "srm", "nist-800-53-rev5-moderate"
	Name         string
	Version      string // the publisher's version, "5.1.1+u4"
	OSCALVersion string // "" for srm's own
	Source       string
	SourceURL    string
	Reading      string // the name of the reading its controls were read with
	Default      bool   // attached to new workloads
	ImportedAt   time.Time
	Controls     int // its current controls (retired ones not counted)
}

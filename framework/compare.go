package framework

// Changes lists what a newer version of a catalog adds, removes and
// changes, by control ID, in the order of the catalog that has them.
type Changes struct {
	Added   []string // in new only
	Removed []string // in old only (withdrawn ones included)
	// Changed lists controls in both whose title, statement, guidance,
	// family or parent differ.
	Changed []string
}

// Empty reports whether the two versions have the same controls and text.
func (c Changes) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Changed) == 0 }

// Compare says what changes from old to new, matching controls by ID, so
// that an import can show it before it is applied.
func Compare(old, new Catalog) Changes {
	was := make(map[string]Control, len(old.Controls))
	for _, c := range old.Controls {
		was[c.ID] = c
	}
	var ch Changes
	kept := make(map[string]bool, len(new.Controls))
	for _, c := range new.Controls {
		o, ok := was[c.ID]
		switch {
		case !ok:
			ch.Added = append(ch.Added, c.ID)
		case o.Title != c.Title || o.Statement != c.Statement || o.Guidance != c.Guidance || o.Family != c.Family || o.Parent != c.Parent:
			ch.Changed = append(ch.Changed, c.ID)
		}
		kept[c.ID] = true
	}
	for _, c := range old.Controls {
		if !kept[c.ID] {
			ch.Removed = append(ch.Removed, c.ID)
		}
	}
	return ch
}

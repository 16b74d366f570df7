package framework

import (
	"errors"
	"fmt"
	"strings"

	"github.com/srmhq/srm"
)

// The kinds of bad catalog file. A *ParseError wraps one of them and
// srm.ErrInvalid, so callers test with errors.Is.
var (
	ErrTooBig            = errors.New("file too big")
	ErrNotJSON           = errors.New("not JSON")
	ErrNotOSCAL          = errors.New("not an OSCAL catalog")
	ErrUnresolvedProfile = errors.New("unresolved OSCAL profile")
	ErrVersion           = errors.New("OSCAL version not supported")
	ErrSchema            = errors.New("does not follow the OSCAL schema")
	ErrNoControls        = errors.New("catalog without controls")
	ErrDuplicate         = errors.New("duplicate control id")
)

// ParseError says what is wrong with a catalog file and where, in words a
// person can act on. Error() is the whole message; a page can also show
// Msg, Path and Problems apart.
type ParseError struct {
	Kind error // one of the Err* kinds above
	// Path is where the problem is: a JSON path such as
	// catalog.groups[3].controls[12], or "" for the whole file.
	Path string
	// Control is the id of the control concerned, when there is one.
	Control string
	// Line and Column locate a JSON syntax error (1-based), 0 otherwise.
	Line, Column int
	Msg          string
	// Problems lists the first schema violations, each with its path.
	Problems []string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if len(e.Problems) > 0 {
		b.WriteString(":")
		for _, p := range e.Problems {
			b.WriteString("\n  - ")
			b.WriteString(p)
		}
	}
	return b.String()
}

// Unwrap lets errors.Is find both the kind and srm.ErrInvalid.
func (e *ParseError) Unwrap() []error { return []error{e.Kind, srm.ErrInvalid} }

func parseErr(kind error, path, format string, args ...any) *ParseError {
	return &ParseError{Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// ReadingError says which line of a reading file is wrong and why, or,
// when Line is 0, which control of a catalog the reading cannot read.
type ReadingError struct {
	File    string // the reading file's name, when known
	Line    int
	Control string
	Msg     string
}

func (e *ReadingError) Error() string {
	switch {
	case e.Line > 0 && e.File != "":
		return fmt.Sprintf("%s, line %d: %s", e.File, e.Line, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Unwrap makes a ReadingError an srm.ErrInvalid.
func (e *ReadingError) Unwrap() error { return srm.ErrInvalid }

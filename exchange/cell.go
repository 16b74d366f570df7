package exchange

import "strings"

// formulaStart reports whether a spreadsheet reads a cell that begins with
// b as the start of a formula (or of a DDE payload): = + - @, a tab or a
// carriage return.
func formulaStart(b byte) bool {
	switch b {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// SafeCell defends a spreadsheet that opens an export against formula
// injection: text that a spreadsheet would read as a formula gets a leading
// single quote, so it stays text (`=HYPERLINK(…)` → `'=HYPERLINK(…)`).
//
// Text that already begins with quotes followed by such a character gets
// one more quote (`'=x` → `”=x`), so that UnescapeCell gives every value
// back exactly: the two are inverse for every string.
func SafeCell(s string) string {
	t := strings.TrimLeft(s, "'")
	if t != "" && formulaStart(t[0]) {
		return "'" + s
	}
	return s
}

// UnescapeCell undoes SafeCell: a cell that begins with a quote and, after
// its quotes, with a formula character loses one quote. Any other text is
// returned as it is.
func UnescapeCell(s string) string {
	if s == "" || s[0] != '\'' {
		return s
	}
	t := strings.TrimLeft(s, "'")
	if t != "" && formulaStart(t[0]) {
		return s[1:]
	}
	return s
}

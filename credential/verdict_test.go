package credential

// String names a verdict in test failures. Nothing outside tests prints
// one, so it lives here (deadcode reports what only tests reach).
func (v Verdict) String() string {
	switch v {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	case Locked:
		return "locked"
	case ClientLimited:
		return "client limited"
	}
	return "verdict(?)"
}

package web

// SafeNext exposes safeNext to the external tests, which check it against
// hundreds of open-redirect payloads without signing in for each.
var SafeNext = safeNext

// SetExportPageSize makes the portfolio export read n workloads per
// statement until the returned function puts the default back.
func SetExportPageSize(n int) (restore func()) {
	old := exportPageSize.Swap(int64(n))
	return func() { exportPageSize.Store(old) }
}

package web

// SafeNext exposes safeNext to the external tests, which check it against
// hundreds of open-redirect payloads without signing in for each.
var SafeNext = safeNext

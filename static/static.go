// Package static holds the CSS and JavaScript srm serves, embedded into the binary.
package static

import "embed"

// FS holds the css and js folders, with paths such as "css/app.css" and
// "js/htmx.min.js".
//
//go:embed css js
var FS embed.FS

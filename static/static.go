// Package static holds the CSS and JavaScript srm serves, embedded into the binary.
package static

import "embed"

// FS holds the css and js folders and the icon, with paths such as
// "css/app.css", "js/htmx.min.js" and "favicon.svg".
//
//go:embed css js favicon.svg
var FS embed.FS

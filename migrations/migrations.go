// Package migrations holds srm's schema changes as SQL files, embedded into
// the binary. It is data only; store applies it with golang-migrate.
package migrations

import "embed"

// FS holds the numbered up and down migrations.
//
//go:embed *.sql
var FS embed.FS

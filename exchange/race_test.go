//go:build race

package exchange

// raceEnabled is true under the race detector, which makes streaming tests
// several times slower: they write fewer rows.
const raceEnabled = true

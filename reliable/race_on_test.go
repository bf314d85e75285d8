//go:build race

package reliable

// raceEnabled: the race detector's shadow memory inflates RSS.
const raceEnabled = true

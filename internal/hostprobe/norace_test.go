//go:build !race

package hostprobe

// raceEnabled is whether the race detector is on; it slows atomic
// operations tenfold, so stress loops do less.
const raceEnabled = false

package server_test

import "testing"

// skipUnderRace skips, under the race detector, a test that drives the
// server on the netsim twin from the test's goroutine alone (no Run loop,
// no client.Dial, no checkpoint or recording writer): the detector has no
// second goroutine to watch there, and the test ran without it in the
// same make test. Tests with a goroutine of their own or of the server's
// do not call it.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("one goroutine on the netsim twin: nothing for the race detector to watch; runs without -race")
	}
}

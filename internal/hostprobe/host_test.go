package hostprobe

import (
	"testing"
	"time"
)

// TestHost: the host probe records wakes, samples steal without error on
// a Linux /proc/stat, and stops both halves.
func TestHost(t *testing.T) {
	h, err := StartHost(Config{}, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitWakes(t, h.Probe, 5)
	// Two sampling intervals at least, however slow the box.
	for deadline := time.Now().Add(30 * time.Second); h.samples.Load() < 2 && h.StealErr() == nil && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.StealErr(); err != nil {
		t.Fatalf("steal: %v", err)
	}
	if n, p := h.samples.Load(), h.StealPct(); n < 2 || p < 0 || p > 100 {
		t.Fatalf("%d steal samples, steal %v%%", n, p)
	}
	h.Stop()
	h.Stop() // twice is fine
	select {
	case <-h.Done():
	default:
		t.Fatal("probe still running after Stop")
	}
	if _, err := StartHost(Config{}, -time.Second); err == nil {
		t.Fatal("negative steal interval accepted")
	}
}

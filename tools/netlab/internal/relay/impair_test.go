package relay

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// flowFrame returns a copy of the unicast UDP frame with its source port
// set to port, so each port is its own flow.
func flowFrame(t *testing.T, port uint16) []byte {
	f := frame(t, udpUnicast)
	f[ethHeaderLen+20] = byte(port >> 8)
	f[ethHeaderLen+21] = byte(port)
	return f
}

func TestWiredPassesEverythingAtOnce(t *testing.T) {
	im := NewImpairer(Dir{}, 1, 0)
	f := frame(t, udpUnicast)
	for i := range int64(1000) {
		d := im.Decide(i*ms, f)
		if d.Drop || d.Held || d.Release != i*ms {
			t.Fatalf("frame %d: %+v", i, d)
		}
	}
}

// TestWifiGoodDelayAndLoss: with frames of many flows spaced widely enough
// that order-keeping never delays one, the delay is uniform on [1, 3] ms
// and the loss count lies in the exact binomial band of 0.5 %.
func TestWifiGoodDelayAndLoss(t *testing.T) {
	p, _ := ProfileByName("wifi-good")
	im := NewImpairer(p.ToHeadsets, 7, 0)
	const n = 200_000
	var delays []int64
	lost := 0
	for i := range int64(n) {
		f := flowFrame(t, uint16(1000+i%16))
		arr := i * ms / 4 // 250 µs apart, 4 ms per flow
		d := im.Decide(arr, f)
		if d.Drop {
			lost++
			continue
		}
		delays = append(delays, d.Release-arr)
	}
	slices.Sort(delays)
	if delays[0] < 1*ms || delays[len(delays)-1] > 3*ms {
		t.Fatalf("delay range [%d, %d] ns outside [1, 3] ms", delays[0], delays[len(delays)-1])
	}
	for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9} {
		got := delays[int(q*float64(len(delays)))]
		want := 1*ms + int64(q*float64(2*ms))
		if diff := got - want; diff < -20_000 || diff > 20_000 {
			t.Errorf("q%.2f delay %d ns, uniform gives %d", q, got, want)
		}
	}
	lo, hi := LossBand(n, 0.005, 1e-6)
	if lost < lo || lost > hi {
		t.Errorf("lost %d of %d, want within [%d, %d]", lost, n, lo, hi)
	}
}

// TestOrderKept: back-to-back frames of one flow never overtake each
// other, and order-keeping never pushes a delay past Delay+Jitter.
func TestOrderKept(t *testing.T) {
	p, _ := ProfileByName("wifi-good")
	dir := p.ToHeadsets
	dir.Loss = Loss{}
	im := NewImpairer(dir, 3, 0)
	f := frame(t, udpUnicast)
	last := int64(0)
	for i := range int64(10000) {
		arr := i * 100_000
		d := im.Decide(arr, f)
		if d.Release < last {
			t.Fatalf("frame %d released at %d before its predecessor at %d", i, d.Release, last)
		}
		if dl := d.Release - arr; dl < 1*ms || dl > 3*ms {
			t.Fatalf("frame %d delay %d outside [1, 3] ms", i, dl)
		}
		last = d.Release
	}
}

// TestReorder: with Reorder the delays are independent, so frames 100 µs
// apart overtake each other, and stay within 5 ± 4 ms.
func TestReorder(t *testing.T) {
	p, _ := ProfileByName("wifi-busy")
	dir := p.ToHeadsets
	dir.Loss = Loss{}
	im := NewImpairer(dir, 3, 0)
	f := frame(t, udpUnicast)
	last, overtaken := int64(0), 0
	for i := range int64(10000) {
		arr := i * 100_000
		d := im.Decide(arr, f)
		if d.Release < last {
			overtaken++
		}
		if dl := d.Release - arr; dl < 1*ms || dl > 9*ms {
			t.Fatalf("frame %d delay %d outside [1, 9] ms", i, dl)
		}
		last = d.Release
	}
	if overtaken < 1000 {
		t.Fatalf("only %d of 10000 frames overtaken with independent 1..9 ms delays", overtaken)
	}
}

// TestGroupHold: group frames toward dozing headsets wait for the next
// DTIM boundary and leave there in arrival order; unicast does not wait.
func TestGroupHold(t *testing.T) {
	p, _ := ProfileByName("wifi-powersave")
	dir := p.ToHeadsets
	dir.Loss = Loss{}
	origin := int64(5 * ms)
	im := NewImpairer(dir, 9, origin)
	mc, uc, arp := frame(t, udpMulticast), frame(t, udpUnicast), frame(t, arpRequest)
	period := int64(DTIM)
	rng := rand.New(rand.NewPCG(4, 4))
	arr := origin
	for range 2000 {
		arr += rng.Int64N(3 * ms)
		for _, f := range [][]byte{mc, arp} {
			d := im.Decide(arr, f)
			if !d.Held {
				t.Fatal("group frame not held")
			}
			if (d.Release-origin)%period != 0 || d.Release < arr || d.Release-arr >= period {
				t.Fatalf("group frame at %d released at %d: not the next boundary of %d + k·%d", arr, d.Release, origin, period)
			}
		}
		d := im.Decide(arr, uc)
		if d.Held || d.Release-arr < 1*ms || d.Release-arr > 3*ms {
			t.Fatalf("unicast frame at %d: %+v", arr, d)
		}
	}
	// Uplink group frames are not held.
	up := NewImpairer(p.ToServer, 9, origin)
	if d := up.Decide(origin+1, mc); d.Held {
		t.Fatal("uplink multicast held")
	}
}

func TestNextBoundary(t *testing.T) {
	for _, tc := range []struct{ t, origin, period, want int64 }{
		{0, 0, 10, 0}, {1, 0, 10, 10}, {10, 0, 10, 10}, {11, 0, 10, 20},
		{3, 5, 10, 5}, {15, 5, 10, 15}, {16, 5, 10, 25},
	} {
		if got := NextBoundary(tc.t, tc.origin, tc.period); got != tc.want {
			t.Errorf("NextBoundary(%d, %d, %d) = %d, want %d", tc.t, tc.origin, tc.period, got, tc.want)
		}
	}
}

// TestOnlyUDPIsLost: ARP and IGMP pass even when every UDP frame is lost.
func TestOnlyUDPIsLost(t *testing.T) {
	im := NewImpairer(Dir{Loss: Bernoulli(1)}, 1, 0)
	if !im.Decide(0, frame(t, udpUnicast)).Drop {
		t.Error("UDP frame not lost at loss 1")
	}
	for _, h := range []string{arpRequest, igmpReport} {
		if d := im.Decide(0, frame(t, h)); d.Drop || d.UDP {
			t.Errorf("non-UDP frame: %+v", d)
		}
	}
}

func TestDeterministic(t *testing.T) {
	p, _ := ProfileByName("wifi-busy")
	run := func() []Decision {
		im := NewImpairer(p.ToServer, 42, 0)
		var out []Decision
		for i := range int64(5000) {
			out = append(out, im.Decide(i*ms, frame(t, udpUnicast)))
		}
		return out
	}
	if !slices.Equal(run(), run()) {
		t.Fatal("same seed, different decisions")
	}
}

func TestDecideAllocs(t *testing.T) {
	p, _ := ProfileByName("wifi-powersave")
	im := NewImpairer(p.ToHeadsets, 1, 0)
	mc, uc := frame(t, udpMulticast), frame(t, udpUnicast)
	now := int64(0)
	if a := testing.AllocsPerRun(1000, func() {
		now += ms
		im.Decide(now, mc)
		im.Decide(now, uc)
	}); a != 0 {
		t.Fatalf("Decide allocates %v per run", a)
	}
}

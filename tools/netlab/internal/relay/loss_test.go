package relay

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestLossValidate(t *testing.T) {
	for _, l := range []Loss{{}, Bernoulli(0.5), {P: 0.1, R: 0.2, Bad: 1}} {
		if err := l.Validate(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
	for _, l := range []Loss{{Good: -0.1}, {Bad: 1.5}, {P: 0.1}, {R: math.NaN()}} {
		if l.Validate() == nil {
			t.Errorf("%+v: no error", l)
		}
	}
}

// simulate runs the chain for n frames and returns the loss fraction and
// the mean length of runs of consecutive losses.
func simulate(l Loss, n int, seed uint64) (rate, meanRun float64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	var s lossState
	lost, runs, inRun := 0, 0, false
	for range n {
		if s.lose(&l, rng) {
			lost++
			if !inRun {
				runs++
			}
			inRun = true
		} else {
			inRun = false
		}
	}
	return float64(lost) / float64(n), float64(lost) / float64(max(runs, 1))
}

// TestGilbertElliott: the simulated loss rate matches the stationary rate,
// and losses come in longer runs than independent loss at the same rate.
func TestGilbertElliott(t *testing.T) {
	p, _ := ProfileByName("wifi-busy")
	ge := p.ToHeadsets.Loss
	if r := ge.Rate(); math.Abs(r-0.02) > 1e-12 {
		t.Fatalf("wifi-busy stationary loss %v, want 0.02", r)
	}
	if b := ge.BadShare(); math.Abs(b-0.04) > 1e-12 {
		t.Fatalf("wifi-busy bad share %v, want 0.04", b)
	}
	const n = 2_000_000
	rate, run := simulate(ge, n, 11)
	// Losses are correlated, so the rate's spread is wider than binomial:
	// 10 % of 0.02 is several times its standard deviation at this n.
	if math.Abs(rate-0.02) > 0.002 {
		t.Errorf("simulated loss %.4f, want 0.02 ± 0.002", rate)
	}
	bRate, bRun := simulate(Bernoulli(0.02), n, 11)
	if math.Abs(bRate-0.02) > 0.001 {
		t.Errorf("Bernoulli loss %.4f", bRate)
	}
	// Independent loss at 2 % gives runs of 1/(1−0.02) ≈ 1.02 frames; in
	// the bad state (loss 1/2, mean stay 4 frames) runs are near 1.5.
	if run < 1.3 || bRun > 1.05 {
		t.Errorf("mean loss run %.3f (Gilbert–Elliott) vs %.3f (Bernoulli): not bursty", run, bRun)
	}
}

func TestLossBand(t *testing.T) {
	// Mean 20, sd ≈ 4.46: a 1e-4 band is about ±3.9 sd, skewed right.
	lo, hi := LossBand(4000, 0.005, 1e-4)
	if lo < 3 || lo > 7 || hi < 35 || hi > 40 {
		t.Errorf("LossBand(4000, 0.005, 1e-4) = [%d, %d]", lo, hi)
	}
	if lo, hi := LossBand(100, 0, 0.01); lo != 0 || hi != 0 {
		t.Errorf("p = 0: [%d, %d]", lo, hi)
	}
	// The band holds what it promises: simulate.
	rng := rand.New(rand.NewPCG(5, 5))
	lo, hi = LossBand(1000, 0.01, 0.01)
	out := 0
	for range 2000 {
		k := 0
		for range 1000 {
			if rng.Float64() < 0.01 {
				k++
			}
		}
		if k < lo || k > hi {
			out++
		}
	}
	if out > 2000*2/100 {
		t.Errorf("%d of 2000 counts outside the 1%% band [%d, %d]", out, lo, hi)
	}
}

func TestProfilesValid(t *testing.T) {
	want := map[string]float64{"wired": 0, "wifi-good": 0.005, "wifi-busy": 0.02, "wifi-powersave": 0.005}
	for _, p := range Profiles {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if r := p.ToHeadsets.Loss.Rate(); math.Abs(r-want[p.Name]) > 1e-12 {
			t.Errorf("%s: loss toward headsets %v, want %v", p.Name, r, want[p.Name])
		}
	}
	if _, ok := ProfileByName("nope"); ok {
		t.Error("unknown profile found")
	}
	bad := Profile{Name: "x", ToServer: Dir{Delay: time.Millisecond, Jitter: 2 * time.Millisecond}}
	if bad.Validate() == nil {
		t.Error("jitter larger than delay accepted")
	}
}

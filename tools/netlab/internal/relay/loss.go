package relay

import (
	"fmt"
	"math/rand/v2"
)

// Loss is a Gilbert–Elliott loss model: a two-state Markov chain stepped
// once per frame. In the good state a frame is lost with probability Good,
// in the bad state with probability Bad; after each frame the chain moves
// from good to bad with probability P and from bad to good with
// probability R. Bernoulli loss is the special case P = 0.
//
// The zero value loses nothing.
type Loss struct {
	P, R      float64 // transition probabilities good→bad, bad→good
	Good, Bad float64 // loss probability in each state
}

// Bernoulli returns independent loss with probability p per frame.
func Bernoulli(p float64) Loss { return Loss{Good: p} }

// Validate reports a probability outside [0, 1], or a chain that can enter
// the bad state but never leave it.
func (l Loss) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"P", l.P}, {"R", l.R}, {"Good", l.Good}, {"Bad", l.Bad}} {
		if !(f.v >= 0 && f.v <= 1) {
			return fmt.Errorf("%s %v is outside [0, 1]", f.name, f.v)
		}
	}
	if l.P > 0 && l.R == 0 {
		return fmt.Errorf("the bad state would absorb: R is 0 with P %v", l.P)
	}
	return nil
}

// BadShare is the stationary probability of the bad state, P/(P+R).
func (l Loss) BadShare() float64 {
	if l.P == 0 {
		return 0
	}
	return l.P / (l.P + l.R)
}

// Rate is the long-run fraction of frames lost.
func (l Loss) Rate() float64 {
	b := l.BadShare()
	return (1-b)*l.Good + b*l.Bad
}

// lossState is the chain's current state.
type lossState struct{ bad bool }

// lose decides the current frame in the current state, then steps the chain.
func (s *lossState) lose(l *Loss, rng *rand.Rand) bool {
	p := l.Good
	if s.bad {
		p = l.Bad
	}
	lost := p > 0 && rng.Float64() < p
	if s.bad {
		if l.R > 0 && rng.Float64() < l.R {
			s.bad = false
		}
	} else if l.P > 0 && rng.Float64() < l.P {
		s.bad = true
	}
	return lost
}

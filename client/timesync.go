package client

// clockWindow is how many recent ping samples the clock estimate considers.
const clockWindow = 16

// clockSample is one NTP-style measurement, in nanoseconds.
type clockSample struct {
	rtt    int64 // round trip minus the server's processing time
	offset int64 // server clock minus client clock
}

// clockSync estimates the round-trip time and the offset of the server clock
// from ping samples. The offset is taken from the sample with the smallest
// round trip among the last clockWindow: queueing delay inflates the round
// trip and skews the offset, so the fastest exchange is the most symmetric.
// The round-trip time is smoothed as in RFC 6298 (gain 1/8).
type clockSync struct {
	samples [clockWindow]clockSample
	n, next int
	srtt    int64
	offset  int64
	known   bool // offset holds an estimate
}

// ntpSample computes round trip and offset from client send (t1), server
// receive (t2), server send (t3) and client receive (t4) times, all in ns.
func ntpSample(t1, t2, t3, t4 int64) clockSample {
	rtt := (t4 - t1) - (t3 - t2)
	if rtt < 0 {
		rtt = 0
	}
	return clockSample{rtt: rtt, offset: ((t2 - t1) + (t3 - t4)) / 2}
}

// add records a sample and recomputes the estimates.
func (c *clockSync) add(s clockSample) {
	c.samples[c.next] = s
	c.next = (c.next + 1) % clockWindow
	if c.n < clockWindow {
		c.n++
	}
	if c.srtt == 0 {
		c.srtt = s.rtt
	} else {
		c.srtt += (s.rtt - c.srtt) / 8
	}
	best := c.samples[0]
	for _, x := range c.samples[1:c.n] {
		if x.rtt < best.rtt {
			best = x
		}
	}
	c.offset = best.offset
	c.known = true
}

// seed sets a first offset estimate when no sample exists yet.
func (c *clockSync) seed(offset int64) {
	if c.n == 0 {
		c.offset = offset
		c.known = true
	}
}

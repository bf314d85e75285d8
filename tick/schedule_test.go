package tick

import "testing"

const period = 1_000_000 // 1 ms in ns; values below are exact multiples

type fire struct {
	deadline int64
	tick     uint64
	missed   uint64
}

func TestScheduleOnTime(t *testing.T) {
	const start = 5_000
	s := NewSchedule(period, start)
	if s.Next() != start+period {
		t.Fatalf("first deadline %d, want start+period %d", s.Next(), start+period)
	}
	for i := range uint64(10) {
		d := s.Next()
		now := d + 300 // a little late, as every real wake-up is
		got := fire{}
		got.deadline, got.tick, got.missed = s.Fire(now)
		want := fire{start + int64(i+1)*period, i, 0}
		if got != want {
			t.Fatalf("Fire #%d = %+v, want %+v", i, got, want)
		}
		if s.Next() != d+period {
			t.Fatalf("Next after Fire #%d = %d, want %d", i, s.Next(), d+period)
		}
	}
	if s.Ticks() != 10 || s.Missed() != 0 {
		t.Fatalf("Ticks %d Missed %d, want 10 and 0", s.Ticks(), s.Missed())
	}
}

func TestScheduleLateWake(t *testing.T) {
	s := NewSchedule(period, 0)
	s.Fire(s.Next()) // tick 0 at 1 ms
	d1 := s.Next()   // tick 1 at 2 ms

	// Wake 3.5 periods after tick 1's deadline: ticks 2, 3 and 4 (3, 4 and
	// 5 ms) have passed too. The latest, tick 4, is served; 1, 2, 3 are
	// skipped.
	now := d1 + 3*period + period/2
	deadline, tick, missed := s.Fire(now)
	if missed != 3 {
		t.Errorf("missed = %d, want 3", missed)
	}
	if tick != 4 || deadline != 5*period {
		t.Errorf("served tick %d at %d, want tick 4 at %d", tick, deadline, 5*period)
	}
	if now-deadline >= period {
		t.Errorf("lateness of the served deadline %d is a whole period or more", now-deadline)
	}
	if s.Next() != 6*period {
		t.Errorf("Next = %d, want the grid point after now, %d", s.Next(), 6*period)
	}
	if s.Missed() != 3 || s.Ticks() != 2 {
		t.Errorf("Missed %d Ticks %d, want 3 and 2", s.Missed(), s.Ticks())
	}

	// No spiral: the next on-time wake serves exactly one tick.
	deadline, tick, missed = s.Fire(s.Next() + 10)
	if deadline != 6*period || tick != 5 || missed != 0 {
		t.Errorf("after the late wake: Fire = (%d, %d, %d), want (%d, 5, 0)", deadline, tick, missed, 6*period)
	}
}

func TestScheduleExactlyOnePeriodLate(t *testing.T) {
	s := NewSchedule(period, 0)
	// now == first deadline + period: the second deadline is due too.
	deadline, tick, missed := s.Fire(2 * period)
	if deadline != 2*period || tick != 1 || missed != 1 {
		t.Fatalf("Fire = (%d, %d, %d), want (%d, 1, 1)", deadline, tick, missed, 2*period)
	}
	if s.Next() != 3*period {
		t.Fatalf("Next = %d, want %d", s.Next(), 3*period)
	}
}

func TestScheduleNoSpiral(t *testing.T) {
	// A caller that keeps calling Fire with the same late time gets one
	// catch-up Fire, then early fires that each advance one period: never a
	// burst of back-to-back deadlines at or before now.
	s := NewSchedule(period, 0)
	now := int64(100*period + 1)
	_, _, missed := s.Fire(now)
	if missed != 99 {
		t.Fatalf("missed = %d, want 99", missed)
	}
	if s.Next() <= now {
		t.Fatalf("Next %d is not after now %d", s.Next(), now)
	}
}

func TestScheduleEarlyFire(t *testing.T) {
	s := NewSchedule(period, 0)
	deadline, tick, missed := s.Fire(period / 2)
	if deadline != period || tick != 0 || missed != 0 {
		t.Fatalf("early Fire = (%d, %d, %d), want (%d, 0, 0)", deadline, tick, missed, period)
	}
	if s.Next() != 2*period {
		t.Fatalf("Next = %d, want %d", s.Next(), 2*period)
	}
}

func TestScheduleLongRunAlignment(t *testing.T) {
	// A day of 120 Hz ticks with a period that does not divide a second
	// evenly, random lateness and occasional long stalls: every deadline
	// stays on the grid and every tick number matches its deadline.
	const p = 1_000_000_000 / 120 // 8_333_333 ns, truncated
	const start = 1_234_567
	s := NewSchedule(p, start)
	seed := uint64(42)
	rnd := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	var lastTick uint64
	var lastDeadline int64 = start
	for i := 0; s.Next() < start+24*3600*1_000_000_000; i++ {
		late := int64(rnd() % 200_000)
		if rnd()%1000 == 0 {
			late += int64(rnd() % (20 * p)) // a stall of up to 20 periods
		}
		now := s.Next() + late
		deadline, tick, missed := s.Fire(now)
		if deadline != start+int64(tick+1)*p {
			t.Fatalf("Fire #%d: deadline %d is not on the grid for tick %d", i, deadline, tick)
		}
		if deadline > now || now-deadline >= p {
			t.Fatalf("Fire #%d: served deadline %d is not the latest at or before now %d", i, deadline, now)
		}
		if i > 0 && tick != lastTick+1+missed {
			t.Fatalf("Fire #%d: tick %d, want %d+1+%d", i, tick, lastTick, missed)
		}
		if deadline-lastDeadline != int64(1+missed)*p {
			t.Fatalf("Fire #%d: deadline advanced by %d, want %d periods", i, deadline-lastDeadline, 1+missed)
		}
		lastTick, lastDeadline = tick, deadline
	}
	if s.Ticks()+s.Missed() != lastTick+1 {
		t.Fatalf("Ticks %d + Missed %d != last tick %d + 1", s.Ticks(), s.Missed(), lastTick)
	}
}

func TestNewSchedulePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewSchedule(0, 0) did not panic")
		}
	}()
	NewSchedule(0, 0)
}

func TestScheduleFireAllocs(t *testing.T) {
	s := NewSchedule(period, 0)
	if a := testing.AllocsPerRun(1000, func() { s.Fire(s.Next() + 7) }); a != 0 {
		t.Fatalf("Fire allocates %v times", a)
	}
}

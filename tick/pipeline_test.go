package tick

import (
	"slices"
	"strings"
	"testing"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct{ now int64 }

func (c *fakeClock) read() int64     { return c.now }
func (c *fakeClock) advance(d int64) { c.now += d }
func (c *fakeClock) stage(d int64) func(int64) {
	return func(int64) { c.advance(d) }
}

func TestPipelineOrderAndDurations(t *testing.T) {
	clk := &fakeClock{now: 1000}
	var order []string
	var nows []int64
	stage := func(name string, cost int64) Stage {
		return Stage{Name: name, Run: func(now int64) {
			order = append(order, name)
			nows = append(nows, now)
			clk.advance(cost)
		}}
	}
	p := NewPipeline(clk.read,
		stage("receive", 100),
		stage("simulate", 2000),
		stage("send", 300),
	)
	if got := p.Stages(); !slices.Equal(got, []string{"receive", "simulate", "send"}) {
		t.Fatalf("Stages = %v", got)
	}

	p.Run(42)
	p.Run(43)
	if want := []string{"receive", "simulate", "send", "receive", "simulate", "send"}; !slices.Equal(order, want) {
		t.Fatalf("run order %v, want %v", order, want)
	}
	if want := []int64{42, 42, 42, 43, 43, 43}; !slices.Equal(nows, want) {
		t.Fatalf("stages saw now = %v, want %v", nows, want)
	}
	for name, want := range map[string]int64{"receive": 100, "simulate": 2000, "send": 300} {
		h := p.Duration(name)
		if h == nil {
			t.Fatalf("Duration(%q) = nil", name)
		}
		if h.Count() != 2 || h.Max() != want || h.Sum() != 2*want || h.Quantile(0.5) != want {
			t.Errorf("%s: %+v, want two records of %d", name, h.Summary(), want)
		}
	}
	if tot := p.Total(); tot.Count() != 2 || tot.Max() != 2400 || tot.Sum() != 4800 {
		t.Errorf("Total: %+v, want two records of 2400", tot.Summary())
	}
	if p.Duration("nope") != nil {
		t.Errorf("Duration of an unknown stage is not nil")
	}
}

func TestNewPipelinePanics(t *testing.T) {
	clk := &fakeClock{}
	run := func(int64) {}
	tests := []struct {
		name   string
		clock  func() int64
		stages []Stage
		want   string
	}{
		{"duplicate", clk.read, []Stage{{"a", run}, {"b", run}, {"a", run}}, `duplicate stage name "a"`},
		{"empty name", clk.read, []Stage{{"a", run}, {"", run}}, "stage 1 has no name"},
		{"nil run", clk.read, []Stage{{"a", nil}}, `stage "a" has a nil Run`},
		{"nil clock", nil, nil, "nil clock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tc.want) {
					t.Fatalf("panic %v, want one mentioning %q", r, tc.want)
				}
			}()
			NewPipeline(tc.clock, tc.stages...)
		})
	}
}

func TestPipelineRunAllocs(t *testing.T) {
	clk := &fakeClock{}
	p := NewPipeline(clk.read,
		Stage{"a", clk.stage(10)},
		Stage{"b", clk.stage(20)},
	)
	if a := testing.AllocsPerRun(1000, func() { p.Run(clk.now) }); a != 0 {
		t.Fatalf("Run allocates %v times", a)
	}
	// The real clock must not allocate either.
	q := NewPipeline(Now, Stage{"a", func(int64) {}})
	if a := testing.AllocsPerRun(1000, func() { q.Run(0) }); a != 0 {
		t.Fatalf("Run with Now allocates %v times", a)
	}
}

func BenchmarkPipelineRun(b *testing.B) {
	noop := func(int64) {}
	p := NewPipeline(Now, Stage{"a", noop}, Stage{"b", noop}, Stage{"c", noop}, Stage{"d", noop})
	b.ReportAllocs()
	for b.Loop() {
		p.Run(0)
	}
}

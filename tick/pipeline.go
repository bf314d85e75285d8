package tick

import (
	"fmt"

	"arcade/internal/metrics"
)

// Stage is one step of a tick. Run receives the tick's time and must not
// read clocks itself, so a tick can be replayed deterministically.
type Stage struct {
	Name string
	Run  func(now int64)
}

// Pipeline runs its stages in the declared order, once per tick, and records
// how long each stage and the whole tick took.
//
// Durations are measured with the clock given to NewPipeline and recorded in
// metrics.Histograms, which may be read concurrently (for example by an HTTP
// handler). Run itself must be called from one goroutine at a time.
type Pipeline struct {
	clock  func() int64
	stages []Stage
	durs   []metrics.Histogram // durs[i] belongs to stages[i]
	total  metrics.Histogram
}

// NewPipeline returns a Pipeline of stages, timed with clock (Now, or a fake
// clock in tests). It panics on a nil clock, an empty or duplicate stage
// name, or a nil Run: these are programming errors.
func NewPipeline(clock func() int64, stages ...Stage) *Pipeline {
	if clock == nil {
		panic("tick: NewPipeline: nil clock")
	}
	seen := make(map[string]bool, len(stages))
	for i, s := range stages {
		switch {
		case s.Name == "":
			panic(fmt.Sprintf("tick: NewPipeline: stage %d has no name", i))
		case seen[s.Name]:
			panic(fmt.Sprintf("tick: NewPipeline: duplicate stage name %q", s.Name))
		case s.Run == nil:
			panic(fmt.Sprintf("tick: NewPipeline: stage %q has a nil Run", s.Name))
		}
		seen[s.Name] = true
	}
	return &Pipeline{
		clock:  clock,
		stages: append([]Stage(nil), stages...),
		durs:   make([]metrics.Histogram, len(stages)),
	}
}

// Run runs every stage in order with the tick time now, recording the
// duration of each stage and of the whole run. It does not allocate.
func (p *Pipeline) Run(now int64) {
	start := p.clock()
	t := start
	for i := range p.stages {
		p.stages[i].Run(now)
		end := p.clock()
		p.durs[i].Record(end - t)
		t = end
	}
	p.total.Record(t - start)
}

// Stages returns the stage names in run order.
func (p *Pipeline) Stages() []string {
	names := make([]string, len(p.stages))
	for i, s := range p.stages {
		names[i] = s.Name
	}
	return names
}

// Duration returns the histogram of the named stage's durations in
// nanoseconds, or nil if there is no such stage.
func (p *Pipeline) Duration(name string) *metrics.Histogram {
	for i := range p.stages {
		if p.stages[i].Name == name {
			return &p.durs[i]
		}
	}
	return nil
}

// Total returns the histogram of whole-run durations in nanoseconds.
func (p *Pipeline) Total() *metrics.Histogram { return &p.total }

// Command arcade-replay re-runs a session recorded by arcade-server
// --record on this build's code, as fast as it can, and checks every
// tick: the entities' states, field by field and bit for bit, and the
// state hash the server computed. It stops at the first difference and
// prints the tick, the entity and the field. At every keyframe it also
// compares the exact poses, velocities, sleep and holds.
//
//	arcade-replay FILE                 replay it all and check every tick
//	arcade-replay --seek 45s FILE      start from the keyframe before 45 s, stop at 45 s, print the state
//
// After a seek the world is the keyframe's, which does not hold the
// physics solver's contact cache or the poses' history: the ticks that
// follow are compared, and the differences counted, but only a replay
// from the start is exact. A recording cut short (a server killed while
// recording) is replayed up to the cut, and says where it ends.
//
// Exit status: 0 every tick replayed matched, 1 a tick differed, 2 the
// recording could not be read.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arcadexr/arcade/replay"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arcade-replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seek := fs.Duration("seek", -1, "start from the keyframe at or before this server `time` after the recording's start, stop there and print the state (default: replay it all)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "arcade-replay: want one recording file (arcade-server --record FILE)")
		return 2
	}
	if *seek < 0 && *seek != -1 {
		fmt.Fprintf(stderr, "arcade-replay: --seek: %v is negative\n", *seek)
		return 2
	}
	path := fs.Arg(0)
	res, err := replay.Run(path, replay.Options{Seek: *seek, StopAt: *seek, KeepEnd: *seek >= 0})
	if err != nil {
		fmt.Fprintf(stderr, "arcade-replay: %v\n", err)
		return 2
	}
	if *asJSON {
		out := struct {
			*replay.Result
			Mismatch string  `json:"mismatch,omitempty"`
			Cut      string  `json:"cut,omitempty"`
			TookS    float64 `json:"took_s"`
			SpanS    float64 `json:"replayed_s"`
			Speed    float64 `json:"speed_x_real_time"`
		}{Result: res, TookS: res.Took.Seconds(), SpanS: res.Replayed.Seconds(), Speed: res.Speed()}
		if res.Mismatch != nil {
			out.Mismatch = res.Mismatch.Error()
		}
		if res.Cut != nil {
			out.Cut = res.Cut.Error()
		}
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(out)
	} else {
		report(stdout, path, res, *seek)
	}
	if res.Mismatch != nil {
		return 1
	}
	return 0
}

func report(w io.Writer, path string, r *replay.Result, seek time.Duration) {
	fmt.Fprintf(w, "%s: scene %q, ticks %d..%d (%d replayed, %.1f s of server time, to %.1f s from the start; %d events) in %v: %.0f× real time\n",
		path, r.Scene, r.FirstTick, r.LastTick, r.Ticks, r.Replayed.Seconds(), r.Span.Seconds(), r.Events, r.Took.Round(time.Millisecond), r.Speed())
	switch {
	case r.Mismatch != nil:
		fmt.Fprintf(w, "MISMATCH at %v\n", r.Mismatch)
	case seek >= 0:
		fmt.Fprintf(w, "seek to %v: from the keyframe of tick %d; %d of %d ticks after it matched the recording (after a seek the replay is not exact: the keyframe lacks the solver's contacts)\n",
			seek, r.SeekTick, r.Checked, r.Ticks)
		fmt.Fprintf(w, "state at tick %d: %d players\n", r.LastTick, r.FinalPlayerCount)
		for _, e := range r.FinalEntities {
			fmt.Fprintf(w, "  entity %4d flags %#02x pos %+.3f %+.3f %+.3f\n", e.ID, e.Flags, e.Pose.Pos.X, e.Pose.Pos.Y, e.Pose.Pos.Z)
		}
	default:
		fmt.Fprintf(w, "every tick matched: %d state hashes and entity states, %d keyframes\n", r.Checked, r.Keyframes)
	}
	if r.Cut != nil {
		fmt.Fprintf(w, "the recording ends early: %v\n", r.Cut)
	} else if !r.Ended && seek < 0 {
		fmt.Fprintln(w, "the recording has no end record")
	}
	if r.Skipped > 0 {
		fmt.Fprintf(w, "%d frames of types this build does not know were skipped\n", r.Skipped)
	}
}

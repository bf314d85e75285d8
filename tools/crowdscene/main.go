// Command crowdscene writes the physics capacity scene (scene.Crowd): a
// pen of resting objects that fall asleep and moving ones that keep
// bouncing, for measuring the server's physics stage.
//
//	crowdscene [--resting N] [--moving N] [--seed S] > crowd.scene
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/arcadexr/arcade/scene"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("crowdscene", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resting := fs.Int("resting", 420, "resting objects (stacks of cubes and rows of balls, asleep once settled)")
	moving := fs.Int("moving", 580, "moving objects (elastic balls and, one in four, boxes knocked about by them)")
	seed := fs.Uint64("seed", 1, "seed of the moving objects' sizes and starting poses")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crowdscene: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *resting < 0 || *moving < 0 || *resting+*moving+6 > scene.MaxID {
		fmt.Fprintf(stderr, "crowdscene: --resting %d --moving %d: want counts ≥ 0 whose sum with the 6 walls is at most %d\n", *resting, *moving, scene.MaxID)
		return 2
	}
	if err := scene.Crowd(*resting, *moving, *seed).Format(stdout); err != nil {
		fmt.Fprintf(stderr, "crowdscene: %v\n", err)
		return 1
	}
	return 0
}

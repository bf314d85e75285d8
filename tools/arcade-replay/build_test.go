package main

import (
	"os"
	"testing"

	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// built is the one build of arcade-server and arcade-bot for all the
// tests of this run, removed by TestMain.
var built = toolrun.NewBinaries("./cmd/arcade-server", "./tools/arcade-bot")

func TestMain(m *testing.M) {
	code := m.Run()
	built.Remove()
	os.Exit(code)
}

// buildBinaries builds arcade-server and arcade-bot, once for all the
// tests, and returns the directory holding them.
func buildBinaries(t *testing.T) string {
	t.Helper()
	return built.Dir(t)
}

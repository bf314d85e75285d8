package main

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// built is the one build of arcade-server and arcade-bot for all the
// tests of this run, in a directory TestMain removes.
var built struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinaries builds arcade-server and arcade-bot, once for all the
// tests, and returns the directory holding them.
func buildBinaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		if built.dir, built.err = os.MkdirTemp("", "arcade-bin-"); built.err != nil {
			return
		}
		built.err = toolrun.Build(ctx, built.dir, "./cmd/arcade-server", "./tools/arcade-bot")
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

//go:build !linux

package main

import (
	"context"
	"errors"
)

func openLive(context.Context, string, []uint16) (source, error) {
	return nil, errors.New("--live: live capture needs Linux (AF_PACKET)")
}

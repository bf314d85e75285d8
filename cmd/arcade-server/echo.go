package main

import (
	"fmt"

	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/wire"
)

// echoRPCs makes the server answer RPCs with the server → client ones, so
// that a headset's receive side of Event, SceneChange and Text can be
// tested against the real server (--echo-rpc, PROTOCOL §16): a
// SceneChangeRequest is announced to every headset as a SceneChange of
// the same name; a ButtonEvent is answered to its sender with a Text
// ("button 3 down") and a sound Event whose cue is the button number,
// strength 255, at the venue origin, due at server time 0 (at once). The
// server changes no scene. Handlers run on the tick thread.
func echoRPCs(srv *server.Server) {
	var scene wire.SceneChangeRequest
	srv.HandleRPC(uint16(wire.RPCSceneChangeRequest), func(now int64, from server.ClientRef, body []byte) {
		if _, err := scene.Parse(body); err != nil {
			return
		}
		srv.SendSceneChange(now, server.All, scene.NameString())
	})
	var button wire.ButtonEvent
	text := make([]byte, 0, 32)
	srv.HandleRPC(uint16(wire.RPCButtonEvent), func(now int64, from server.ClientRef, body []byte) {
		if _, err := button.Parse(body); err != nil {
			return
		}
		state := "up"
		if button.Down {
			state = "down"
		}
		text = fmt.Appendf(text[:0], "button %d %s", button.Button, state)
		srv.SendText(now, from, text)
		srv.SendEvent(now, from, wire.Event{Kind: wire.EventSound, Cue: uint16(button.Button), Strength: 255})
	})
}

//go:build linux

package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arcadexr/arcade/client"
	"github.com/arcadexr/arcade/wire"
)

// A headset joins the server, sends one pose and waits for the state that
// reflects it: the server reports, per player, the newest input it applied.
func Example() {
	addr, stop := exampleServer() // a venue's server: "192.168.1.20:7777", or found by discovery.Browse
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.Config{SessionConfig: client.SessionConfig{Name: "quest-7"}})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	fmt.Println("connected:", c.State() == client.Connected)

	me := c.ClientID()
	reflected := make(chan uint32, 1)
	c.OnSnapshot(func(s *wire.Snapshot, rxTime int64, viaMulticast bool) {
		// Runs with the client's lock held: copy what is needed, return.
		for _, p := range s.Players {
			if p.ClientID == me && p.LastInputSeq > 0 {
				select {
				case reflected <- p.LastInputSeq:
				default:
				}
			}
		}
	})
	pose := wire.PoseInput{Head: wire.Pose{Pos: wire.Vec3{Y: 1.7}, Rot: wire.Quat{W: 1}}, Tracking: wire.TrackHead}
	seq, err := c.SendPose(&pose)
	if err != nil {
		fmt.Println("send:", err)
		return
	}
	select {
	case got := <-reflected:
		fmt.Println("state reflects input", got, "of", seq)
	case <-ctx.Done():
		fmt.Println("no state")
	}
	// Output:
	// connected: true
	// state reflects input 1 of 1
}

// A World keeps the shared state the server sends and says who joins and
// leaves: here a second headset comes and goes.
func ExampleWorld() {
	addr, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dial := func(name string) *client.Client {
		c, err := client.Dial(ctx, addr, client.Config{SessionConfig: client.SessionConfig{Name: name}})
		if err != nil {
			panic(err)
		}
		return c
	}

	events := make(chan string, 8)
	w := client.NewWorld()
	w.OnJoined(func(id uint16) { events <- fmt.Sprint("joined ", id) })
	w.OnLeft(func(id uint16) { events <- fmt.Sprint("left ", id) })
	me := dial("quest-1")
	defer me.Close()
	w.Track(me) // me's snapshots and entity updates feed w

	next := func() string {
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			return "timed out"
		}
	}
	fmt.Println(next()) // me, in the first complete tick
	other := dial("quest-2")
	fmt.Println(next())
	other.Close()
	fmt.Println(next())
	fmt.Println("present:", w.Present())
	// Output:
	// joined 1
	// joined 2
	// left 2
	// present: [1]
}

// A callback runs with the client's lock held: a call into the Client that
// would change the session is refused instead of waiting for that lock
// forever; getters answer.
func ExampleErrInCallback() {
	addr, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.Config{SessionConfig: client.SessionConfig{Name: "quest-7"}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	result := make(chan string, 1)
	c.OnSnapshot(func(*wire.Snapshot, int64, bool) {
		pose := wire.PoseInput{Head: wire.Pose{Rot: wire.Quat{W: 1}}}
		_, err := c.SendPose(&pose) // wrong: send from another goroutine
		select {
		case result <- fmt.Sprintf("state %v, SendPose refused: %v", c.State(), errors.Is(err, client.ErrInCallback)):
		default:
		}
	})
	select {
	case r := <-result:
		fmt.Println(r)
	case <-ctx.Done():
		fmt.Println("no snapshot")
	}
	// Output: state connected, SendPose refused: true
}

// Drops lists what a session dropped, by reason: forged, damaged or
// misdirected datagrams are dropped and counted, never errors.
func ExampleSessionStats_Drops() {
	var st client.SessionStats
	st.Dropped[client.DropBadSeal] = 3
	st.Dropped[client.DropToken] = 1
	for _, d := range st.Drops() {
		fmt.Println(d.Reason, d.Count)
	}
	// Output:
	// token 1
	// bad-seal 3
}

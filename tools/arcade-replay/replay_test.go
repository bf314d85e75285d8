package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arcadexr/arcade/record"
	"github.com/arcadexr/arcade/replay"
	"github.com/arcadexr/arcade/tools/internal/toolrun"
)

// recordedSession returns the path of the session recordSession recorded
// for 3 s, once for all the tests: they only read it.
func recordedSession(t *testing.T) string {
	t.Helper()
	session.once.Do(func() {
		session.path = recordSession(t, 3*time.Second)
	})
	if session.path == "" {
		t.Fatal("the session was not recorded (see the test that recorded it)")
	}
	return session.path
}

var session struct {
	once sync.Once
	path string
}

// recordSession runs the real server with --record on loopback, with
// eight bots (four grabbing and swinging an object) for d, lets what they
// held fall for a second once they left, stops it with SIGTERM and
// returns the recording's path, in the directory of the binaries.
func recordSession(t *testing.T, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := buildBinaries(t)
	gamePort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	groupPort, err := toolrun.FreePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	game := fmt.Sprintf("127.0.0.1:%d", gamePort)
	path := filepath.Join(dir, "session.rec")
	var stderr bytes.Buffer
	srv := exec.Command(filepath.Join(dir, "arcade-server"), "--listen", game, "--http", "off", "--iface", "lo",
		"--multicast", fmt.Sprintf("239.255.%d.%d:%d", 1+gamePort%250, 1+groupPort%250, groupPort), "--discovery=false",
		"--rt-priority", "0", "--record", path)
	srv.Stderr = &stderr
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	var bots []*exec.Cmd
	for i, grab := range []bool{true, false} {
		args := []string{"--server", game, "--clients", "4", "--duration", d.String(), "--iface", "lo",
			"--source-net", fmt.Sprintf("127.%d.0.0/24", 30+i)}
		if grab {
			args = append(args, "--grab")
		}
		b := exec.CommandContext(ctx, filepath.Join(dir, "arcade-bot"), args...)
		b.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		bots = append(bots, b)
	}
	for _, b := range bots {
		b.Wait()
	}
	// The bots left: what they held falls, to physics, for a second.
	time.Sleep(time.Second)
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("server: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "recording closed") || strings.Contains(stderr.String(), "lost_events=1") {
		t.Logf("server: %s", stderr.String())
	}
	return path
}

// TestReplayMatchesEveryTick: a session of eight bots (four grabbing and
// swinging objects, which physics takes back when they let go) recorded
// by the real server is replayed with every tick's entities and state
// hash equal, and every keyframe's exact state; the replay is faster than
// real time (reported, not asserted). The recording cut in the middle of
// a frame replays up to the cut and says so; a recording with one input
// changed stops at the first tick that differs, naming the entity and
// the field.
func TestReplayMatchesEveryTick(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and the bots; skipped in -short mode")
	}
	path := recordedSession(t)
	res, err := replay.Run(path, replay.Options{Seek: -1, StopAt: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatch != nil {
		t.Fatalf("replay differs from the recording: %v", res.Mismatch)
	}
	if !res.Ended || res.Cut != nil {
		t.Fatalf("the recording was not read to its end: ended %v, %v", res.Ended, res.Cut)
	}
	if res.Ticks < 200 || res.Checked != res.Ticks || res.Keyframes == 0 {
		t.Fatalf("%d ticks replayed, %d checked, %d keyframes: want a few seconds of ticks, each checked", res.Ticks, res.Checked, res.Keyframes)
	}
	t.Logf("%d ticks (%.1f s of server time, %d events) replayed in %v: %.0f× real time; %d keyframes checked",
		res.Ticks, res.Span.Seconds(), res.Events, res.Took.Round(time.Millisecond), res.Speed(), res.Keyframes)

	// The session had grabs and physics: ticks recorded held entities,
	// and free entities moving (what the bots let go of falling).
	held, free, grabs := countHeld(t, path)
	if held == 0 || grabs == 0 || free == 0 {
		t.Fatalf("the recording shows %d held-entity states, %d free ones moving, %d inputs with a grip closed: want grabs and physics", held, free, grabs)
	}
	t.Logf("%d held-entity states, %d free ones moving, %d inputs gripping", held, free, grabs)

	// Cut in the middle of a frame, as a killed server leaves it.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.rec")
	os.WriteFile(cut, b[:len(b)*2/3+7], 0o644)
	rc, err := replay.Run(cut, replay.Options{Seek: -1, StopAt: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Mismatch != nil || rc.Cut == nil || !strings.Contains(rc.Cut.Error(), "cut short") || rc.Ticks == 0 || rc.Ticks >= res.Ticks {
		t.Fatalf("cut recording: %d ticks, mismatch %v, cut %v", rc.Ticks, rc.Mismatch, rc.Cut)
	}
	var out bytes.Buffer
	if code := run([]string{cut}, &out, &out); code != 0 || !strings.Contains(out.String(), "ends early") {
		t.Fatalf("arcade-replay of the cut recording: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--json", cut}, &out, &out); code != 0 || !strings.Contains(out.String(), `"cut": "record: cut short`) {
		t.Fatalf("arcade-replay --json of the cut recording: exit %d\n%s", code, out.String())
	}

	// One input's right hand moved 10 cm: the replay stops at a tick and
	// names what differs.
	bad := filepath.Join(t.TempDir(), "bad.rec")
	os.WriteFile(bad, tamper(t, b), 0o644)
	rb, err := replay.Run(bad, replay.Options{Seek: -1, StopAt: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Mismatch == nil || rb.Mismatch.Tick == 0 || rb.Mismatch.Field == "" {
		t.Fatalf("a tampered recording replayed without a mismatch: %+v", rb)
	}
	out.Reset()
	if code := run([]string{bad}, &out, &out); code != 1 || !strings.Contains(out.String(), "MISMATCH at tick") {
		t.Fatalf("arcade-replay of the tampered recording: exit %d\n%s", code, out.String())
	}
	t.Logf("tampered: %v", rb.Mismatch)

	// A seek starts from a keyframe (every 2 s of ticks) and stops at the
	// time asked.
	const to = 2500 * time.Millisecond
	rs, err := replay.Run(path, replay.Options{Seek: to, StopAt: to, KeepEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	if rs.SeekTick == 0 || rs.Span < to || rs.Span > to+50*time.Millisecond || len(rs.FinalEntities) == 0 || rs.Ticks > 120 {
		t.Fatalf("seek to %v: from keyframe tick %d, stopped at %v after %d ticks, %d entities", to, rs.SeekTick, rs.Span, rs.Ticks, len(rs.FinalEntities))
	}
	t.Logf("seek to %v: from the keyframe of tick %d in %v; %d of %d ticks after it matched", to, rs.SeekTick, rs.Took.Round(time.Millisecond), rs.Checked, rs.Ticks)
}

// countHeld counts the held-entity states in the recording's ticks, the
// free ones that changed after the first second (physics moving them),
// and the recorded inputs with a grip closed.
func countHeld(t *testing.T, path string) (held, free, grips int) {
	r, err := record.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ev record.Event
	for {
		f, err := r.Next()
		if err != nil {
			return
		}
		if ev.Decode(f) != nil {
			continue
		}
		switch ev.Type {
		case record.TypeTick:
			for _, e := range ev.Changed {
				switch {
				case e.Flags&1 != 0:
					held++
				case ev.Tick > 120:
					free++
				}
			}
		case record.TypeApplyInput:
			if ev.Input.Grip[1] >= 0.6 {
				grips++
			}
		}
	}
}

// tamper moves the right hand of the 500th recorded input with a grip
// closed by 10 cm, and fixes the frame's CRC.
func tamper(t *testing.T, b []byte) []byte {
	b = bytes.Clone(b)
	r, err := record.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var ev record.Event
	n := 0
	// The input tampered with is the last of its client before a tick:
	// one the same client sends later in the tick would hide it (two
	// inputs of a headset in one tick, on a loaded box).
	var cand record.Frame
	var candClient uint16
	have := false
	for {
		f, err := r.Next()
		if err != nil {
			t.Fatal("no input to tamper with")
		}
		if have && f.Type == record.TypeTick {
			return tamperAt(b, cand)
		}
		if f.Type != record.TypeApplyInput || ev.Decode(f) != nil {
			continue
		}
		if have && ev.Client == candClient {
			have = false
		}
		if ev.Input.Grip[1] < 0.6 {
			continue
		}
		if n++; n >= 500 && !have {
			cand, candClient, have = f, ev.Client, true
		}
	}
}

// tamperAt moves the right hand of the input in frame f 10 cm along x.
func tamperAt(b []byte, f record.Frame) []byte {
	// The payload: now 8, client 2, then the raw input: the right hand's
	// position x is at 68 within it.
	at := f.Offset + 5 + 10 + 68
	x := binary.LittleEndian.Uint32(b[at:])
	binary.LittleEndian.PutUint32(b[at:], f32bits(f32frombits(x)+0.1))
	size := binary.LittleEndian.Uint32(b[f.Offset:])
	body := b[f.Offset+4 : f.Offset+4+int64(size)]
	binary.LittleEndian.PutUint32(b[f.Offset+4+int64(size):], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func f32bits(f float32) uint32     { return math.Float32bits(f) }
func f32frombits(u uint32) float32 { return math.Float32frombits(u) }

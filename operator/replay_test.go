package operator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arcadexr/arcade/replay"
	"github.com/arcadexr/arcade/scene"
	"github.com/arcadexr/arcade/server"
	"github.com/arcadexr/arcade/sim"
)

// fakeShow is a World that is a ReplayControl, recording what it is told.
type fakeShow struct {
	*sim.World
	st    replay.ShowStatus
	seeks []time.Duration
}

func (f *fakeShow) Status() replay.ShowStatus { return f.st }
func (f *fakeShow) Pause(p bool)              { f.st.Paused = p }
func (f *fakeShow) SetSpeed(v float64) error {
	if !(v > 0 && v <= replay.MaxSpeed) {
		return fmt.Errorf("speed %v out of range", v)
	}
	f.st.Speed = v
	return nil
}
func (f *fakeShow) Seek(t time.Duration) error {
	f.seeks = append(f.seeks, t)
	f.st.PositionS = t.Seconds()
	return nil
}

// TestReplayAPI: GET /api/replay reads a served recording's state; POST
// with the token sets its speed, pause and position, and answers the new
// state; without the token it is 401, with a bad body or speed 400, and a
// server that serves no recording answers 404 naming the flag.
func TestReplayAPI(t *testing.T) {
	w, _ := sim.New(scene.Default())
	show := &fakeShow{World: w, st: replay.ShowStatus{File: "show.rec", DurationS: 60, Speed: 1}}
	s, err := server.New(server.Config{Seed: 1, World: show}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	const token = "c0ffee"
	srv := httptest.NewServer(Handler(s, Options{Token: token}))
	defer srv.Close()
	do := func(method, auth, body string) (int, replay.ShowStatus, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/replay", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var st replay.ShowStatus
		json.Unmarshal(b, &st)
		return resp.StatusCode, st, string(b)
	}
	if code, st, _ := do("GET", "", ""); code != 200 || st.File != "show.rec" || st.DurationS != 60 {
		t.Fatalf("GET: %d %+v", code, st)
	}
	if code, _, _ := do("POST", "", `{"paused": true}`); code != 401 || show.st.Paused {
		t.Fatalf("POST without the token: %d, paused %v", code, show.st.Paused)
	}
	code, st, _ := do("POST", token, `{"paused": true, "speed": 4, "seek_s": 45.5}`)
	if code != 200 || !st.Paused || st.Speed != 4 || st.PositionS != 45.5 || len(show.seeks) != 1 || show.seeks[0] != 45500*time.Millisecond {
		t.Fatalf("POST: %d %+v, seeks %v", code, st, show.seeks)
	}
	for _, body := range []string{`{"speed": 0}`, `{"speed": 100}`, `{"seek_s": -1}`, `{"rewind": true}`, `not json`} {
		if code, _, msg := do("POST", token, body); code != 400 {
			t.Errorf("POST %s: %d %s, want 400", body, code, msg)
		}
	}
	if len(show.seeks) != 1 || show.st.Speed != 4 {
		t.Fatalf("a refused request changed the replay: seeks %v, speed %v", show.seeks, show.st.Speed)
	}

	plain, err := server.New(server.Config{Seed: 1}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(Handler(plain, Options{Token: token}))
	defer srv2.Close()
	resp, err := http.Get(srv2.URL + "/api/replay")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "--replay") {
		t.Fatalf("a server serving no recording: %d %s", resp.StatusCode, b)
	}
}

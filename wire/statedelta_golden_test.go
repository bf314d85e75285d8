package wire

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The StateDelta golden vectors: a keyframe of a small world, then the
// next tick coded against it. deltaBase and deltaCur are those worlds.
func deltaWorlds() (base, cur *State) {
	q := func(px, py, pz, x, y, z, w float32) QPose {
		p := Pose{Pos: Vec3{px, py, pz}, Rot: Quat{x, y, z, w}}
		return QuantPose(&p)
	}
	base = &State{Tick: 1000,
		Players: []QPlayer{
			{ClientID: 1, Seq: 500, Tracking: TrackHead | TrackLeft | TrackRight, Poses: [3]QPose{
				q(0.1, 1.7, -0.3, 0, 0.38268343, 0, 0.9238795), q(-0.2, 1.2, -0.1, 0, 0, 0, 1), q(0.25, 1.1, -0.15, 0, 0, 0, 1)}},
			{ClientID: 2, Seq: 70, Tracking: TrackHead, Poses: [3]QPose{
				q(2, 1.6, 2, 0, 0, 0, 1), q(0, 0, 0, 0, 0, 0, 1), q(0, 0, 0, 0, 0, 0, 1)}},
		},
		Entities: []QEntity{
			{ID: 1, Flags: EntityGrabbable, Pose: q(0.5, 0.9, 0.5, 0, 0, 0, 1)},
			{ID: 2, Flags: EntitySleeping, Pose: q(-1, 0.1, 1, 0.2, 0.1, 0, 0.9746794)},
			{ID: 3, Flags: EntitySleeping, Pose: q(1, 0.1, -1, 0, 0, 0, 1)},
			{ID: 7, Flags: 0, Pose: q(3, 0.2, 3, 0, 0, 0, 1)},
		},
	}
	cur = &State{Tick: 1003}
	cur.CopyFrom(base)
	cur.Tick = 1003
	// Player 1 moved its head 3 mm and turned a little; its input seq went
	// on by 2. Player 2 left; player 4 joined.
	p := &cur.Players[0]
	p.Seq = 502
	p.Poses[0] = q(0.103, 1.7, -0.302, 0, 0.3843, 0, 0.9232)
	cur.Players = append(cur.Players[:1], QPlayer{ClientID: 4, Seq: 1, Tracking: TrackHead | TrackRight, Poses: [3]QPose{
		q(-2, 1.5, 0, 0, 0, 0, 1), q(0, 0, 0, 0, 0, 0, 1), q(-2.2, 1.0, 0.3, 0, 0.7071068, 0, 0.7071068)}})
	// Entity 1 picked up: held, moved 2 cm; entity 2 woke and turned a
	// little; entity 3 unchanged; entity 7 turned over (another largest
	// component) and moved 40 cm; entity 9 is new; none removed.
	e := cur.Entities
	e[0].Flags, e[0].Pose = EntityGrabbable|EntityHeld, q(0.52, 0.91, 0.5, 0, 0, 0, 1)
	e[1].Flags, e[1].Pose = 0, q(-1, 0.1, 1, 0.21, 0.1, 0, 0.9724)
	e[3].Pose = q(3.4, 0.2, 3, 0.7071068, 0, 0, 0.7071068)
	cur.Entities = append(e, QEntity{ID: 9, Flags: EntityGrabbable, Pose: q(0, 1, 0, 0, 0, 0, 1)})
	return base, cur
}

// codedWorlds are the coded vectors' worlds: deltaWorlds with the
// avatars on the avatar grid, and a prior tick 996 before the baseline,
// in which player 1 stood 2 mm and two input samples back and entity 2
// was turned a little less.
func codedWorlds() (prior, base, cur *State) {
	b, c := deltaWorlds()
	base, cur = onGrid(b), onGrid(c)
	prior = &State{}
	prior.CopyFrom(base)
	prior.Tick = 996
	p := &prior.Players[0]
	p.Seq = 498
	p.Poses[0].X -= 2
	p.Poses[0].Z += 2
	e := &prior.Entities[1]
	e.Pose.Rot -= 3 << rotIdxBits // first sent component 3 steps less
	return prior, base, cur
}

// codedVector codes cur against base (nil: keyframe) with prior in one
// part and returns it parsed.
func codedVector(prior, base, cur *State, h StateDelta) *StateDelta {
	var e StateEncoder
	parts := e.EncodePrior(&h, base, prior, cur, MaxBodySize)
	if len(parts) != 1 {
		panic("golden delta does not fit one part")
	}
	var m StateDelta
	if _, err := m.Parse(parts[0]); err != nil {
		panic(err)
	}
	if m.Flags != h.Flags {
		panic(fmt.Sprintf("golden coded delta: flags %#x, asked %#x", m.Flags, h.Flags))
	}
	return &m
}

// parityVector is repair part j of the coded changes vector's tick.
func parityVector(prior, base, cur *State, j int) *StateDelta {
	var e StateEncoder
	h := StateDelta{Tick: 1003, ServerTime: 8_366_000, Base: 1000, Prior: 996, StateHash: 0x0123456789abcdef,
		Flags: DeltaHasHash | DeltaCoded | DeltaAvatarGrid | DeltaPrior | DeltaPriorEntities}
	parts := e.EncodePrior(&h, base, prior, cur, MaxBodySize)
	var m StateDelta
	if _, err := m.Parse(AppendParity(nil, parts, j)); err != nil {
		panic(err)
	}
	return &m
}

// deltaVector codes cur against base (nil: keyframe) in one part and
// returns it parsed.
func deltaVector(base, cur *State, h StateDelta) *StateDelta {
	var e StateEncoder
	parts := e.Encode(&h, base, cur, MaxBodySize)
	if len(parts) != 1 {
		panic("golden delta does not fit one part")
	}
	var m StateDelta
	if _, err := m.Parse(parts[0]); err != nil {
		panic(err)
	}
	return &m
}

func deltaVectors() []vector {
	base, cur := deltaWorlds()
	cprior, cp, cc := codedWorlds()
	return []vector{
		{"state_delta_keyframe", "StateDelta keyframe of tick 1000: 2 players, 4 entities, every record new (unicast)",
			Header{Type: TypeStateDelta, Token: testToken, Seq: 9},
			deltaVector(nil, base, StateDelta{Tick: 1000, ServerTime: 8_341_000})},
		{"state_delta_changes", "StateDelta of tick 1003 against tick 1000 (state_delta_keyframe): a player moved, one left, one joined; entities changed flags, moved, turned, one unchanged, one new; with hash (multicast)",
			Header{Type: TypeStateDelta, Token: testGroupToken, Seq: 4321},
			deltaVector(base, cur, StateDelta{Tick: 1003, ServerTime: 8_366_000, Base: 1000, Flags: DeltaHasHash, StateHash: 0x0123456789abcdef})},
		{"state_delta_unchanged", "StateDelta of tick 1004 against tick 1003: nothing changed, no records (multicast)",
			Header{Type: TypeStateDelta, Token: testGroupToken, Seq: 4322},
			deltaVector(cur, cur, StateDelta{Tick: 1004, ServerTime: 8_374_500, Base: 1003})},
		{"state_delta_coded_keyframe", "StateDelta keyframe of tick 1000, coded (DeltaCoded, DeltaAvatarGrid): the avatars of state_delta_keyframe on the avatar grid (unicast)",
			Header{Type: TypeStateDelta, Token: testToken, Seq: 10},
			codedVector(nil, nil, cp, StateDelta{Tick: 1000, ServerTime: 8_341_000, Flags: DeltaCoded | DeltaAvatarGrid | DeltaKeyframe})},
		{"state_delta_coded_changes", "StateDelta of tick 1003 against tick 1000 (state_delta_coded_keyframe), coded, predicted from prior tick 996 (DeltaPrior, DeltaPriorEntities): the changes of state_delta_changes; with hash (multicast)",
			Header{Type: TypeStateDelta, Token: testGroupToken, Seq: 4323},
			codedVector(cprior, cp, cc, StateDelta{Tick: 1003, ServerTime: 8_366_000, Base: 1000, Prior: 996, StateHash: 0x0123456789abcdef,
				Flags: DeltaHasHash | DeltaCoded | DeltaAvatarGrid | DeltaPrior | DeltaPriorEntities})},
		{"state_delta_coded_parity", "StateDelta repair part 0 (DeltaParity) of tick 1003 in one part, state_delta_coded_changes: the XOR of the data parts, here that part's body from its id ranges on (multicast)",
			Header{Type: TypeStateDelta, Token: testGroupToken, Seq: 4324},
			parityVector(cprior, cp, cc, 0)},
		{"state_delta_coded_repair1", "StateDelta repair part 1 (DeltaParity) of tick 1003 in one part, state_delta_coded_changes: that part's body from its id ranges on times c(1, 0) = 255/254 = 0x7f in GF(2^8) (unicast, to a client that lacks the tick)",
			Header{Type: TypeStateDelta, Token: testGroupToken, Seq: 4325},
			parityVector(cprior, cp, cc, 1)},
		{"pose_input_state_ack", "PoseInput with a state acknowledgement: holds tick 1003 whole, and 1000, 999 and 998 (ConnectDeltaState sessions)",
			Header{Type: TypePoseInput, Token: testToken, Seq: 77, Ack: 9},
			&PoseInput{InputSeq: 4243, ClientTime: 987_665_432, Head: QuantizePose(Pose{Pos: Vec3{0.1, 1.7, -0.3}, Rot: Quat{0, 0, 0, 1}}),
				Hands:    [2]Pose{QuantizePose(Pose{Rot: Quat{0, 0, 0, 1}}), QuantizePose(Pose{Rot: Quat{0, 0, 0, 1}})},
				Tracking: TrackHead, HasStateAck: true, StateTick: 1003, StateHeld: 0b111001}},
	}
}

// dissectDeltaBits reads a StateDelta's bit payload as docs/PROTOCOL.md
// §10.4 describes it, without the codec, and lists every field: bit
// offset, width, value and meaning, one per line.
func dissectDeltaBits(m *StateDelta) (string, error) {
	var w strings.Builder
	pos := 0
	end := int(m.Bits)
	get := func(n int, what string, args ...any) (uint64, error) {
		if pos+n > end {
			return 0, fmt.Errorf("bit field %q past the payload's %d bits", fmt.Sprintf(what, args...), end)
		}
		var v uint64
		for i := range n {
			bit := m.Payload[(pos+i)/8] >> ((pos + i) % 8) & 1
			v |= uint64(bit) << i
		}
		fmt.Fprintf(&w, "%5d %2d %-12d %s\n", pos, n, v, fmt.Sprintf(what, args...))
		pos += n
		return v, nil
	}
	code := func(widths [4]int, what string, args ...any) (uint64, error) {
		tier := 0
		for tier < 3 {
			b, err := get(1, "  tier prefix bit")
			if err != nil {
				return 0, err
			}
			if b == 0 {
				break
			}
			tier++
		}
		if tier == 3 {
			// "111": the third prefix bit was a 1, already read.
		}
		return get(widths[tier], what+" (tier %d)", append(args, tier)...)
	}
	gap, posw, rotw, seqw := [4]int{2, 5, 9, 16}, [4]int{3, 6, 10, 16}, [4]int{3, 6, 9, 12}, [4]int{2, 5, 12, 32}
	zz := func(z uint64) int64 { return int64(z>>1) ^ -int64(z&1) }
	ops := []string{"changed", "new", "removed", "invalid"}
	rawPose := func(who string) error {
		for _, a := range "xyz" {
			if _, err := get(16, "%s position %c (q)", who, a); err != nil {
				return err
			}
		}
		if _, err := get(2, "%s rotation: index of the omitted largest component", who); err != nil {
			return err
		}
		for k := range 3 {
			if _, err := get(12, "%s rotation: sent component %d (q)", who, k); err != nil {
				return err
			}
		}
		return nil
	}
	poseDelta := func(who string) error {
		c, err := get(1, "%s position changed", who)
		if err != nil {
			return err
		}
		if c == 1 {
			for _, a := range "xyz" {
				z, err := code(posw, "%s position %c delta, zigzag", who, a)
				if err != nil {
					return err
				}
				fmt.Fprintf(&w, "%20s = %+d steps\n", "", zz(z))
			}
		}
		if c, err = get(1, "%s rotation changed", who); err != nil || c == 0 {
			return err
		}
		same, err := get(1, "%s rotation: same omitted component (1) or a new word (0)", who)
		if err != nil {
			return err
		}
		if same == 0 {
			if _, err := get(2, "%s rotation: index of the omitted largest component", who); err != nil {
				return err
			}
			for k := range 3 {
				if _, err := get(12, "%s rotation: sent component %d (q)", who, k); err != nil {
					return err
				}
			}
			return nil
		}
		for k := range 3 {
			z, err := code(rotw, "%s rotation component %d delta, zigzag", who, k)
			if err != nil {
				return err
			}
			fmt.Fprintf(&w, "%20s = %+d steps\n", "", zz(z))
		}
		return nil
	}
	flag8 := func(who string) error {
		c, err := get(1, "%s changed", who)
		if err == nil && c == 1 {
			_, err = get(8, "%s, new value", who)
		}
		return err
	}
	for kind, n := range []int{int(m.PlayerRecords), int(m.EntityRecords)} {
		from := []uint16{m.PlayerFrom, m.EntityFrom}[kind]
		noun := []string{"player", "entity"}[kind]
		id := -1
		for i := range n {
			g, err := code(gap, "%s record %d: id gap", noun, i)
			if err != nil {
				return "", err
			}
			if id < 0 {
				id = int(from) + int(g)
			} else {
				id += 1 + int(g)
			}
			fmt.Fprintf(&w, "%20s = id %d\n", "", id)
			op, err := get(2, "%s %d: op", noun, id)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&w, "%20s = %s\n", "", ops[op])
			who := fmt.Sprintf("%s %d", noun, id)
			switch {
			case op == 3:
				return "", fmt.Errorf("op 3")
			case op == 2:
			case kind == 0 && op == 1:
				if _, err := get(32, "%s input seq", who); err != nil {
					return "", err
				}
				if _, err := get(8, "%s tracking", who); err != nil {
					return "", err
				}
				for _, part := range []string{"head", "left hand", "right hand"} {
					if err := rawPose(who + " " + part); err != nil {
						return "", err
					}
				}
			case kind == 0:
				z, err := code(seqw, "%s input seq delta, zigzag", who)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&w, "%20s = %+d\n", "", zz(z))
				if err := flag8(who + " tracking"); err != nil {
					return "", err
				}
				for _, part := range []string{"head", "left hand", "right hand"} {
					if err := poseDelta(who + " " + part); err != nil {
						return "", err
					}
				}
			case op == 1:
				if _, err := get(8, "%s flags", who); err != nil {
					return "", err
				}
				if err := rawPose(who); err != nil {
					return "", err
				}
			default:
				if err := flag8(who + " flags"); err != nil {
					return "", err
				}
				if err := poseDelta(who); err != nil {
					return "", err
				}
			}
		}
	}
	if pos != end {
		return "", fmt.Errorf("%d of %d bits read", pos, end)
	}
	return w.String(), nil
}

// TestStateDeltaGolden: each StateDelta vector's bit payload reads, field
// by field, as its .bits file says (regenerated with -update), and the
// changes vector applied to the keyframe's state gives the next tick's.
func TestStateDeltaGolden(t *testing.T) {
	for _, v := range deltaVectors() {
		m, ok := v.msg.(*StateDelta)
		if !ok || m.Flags&DeltaCoded != 0 {
			continue // a coded payload has no bit fields to list
		}
		got, err := dissectDeltaBits(m)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		header := fmt.Sprintf("# %s: the bit payload (%d bits) of %s.hex, one field per line:\n# bit offset, width, value (as read: LSB first), meaning.\n# Regenerate with: go test ./wire -run Golden -update\n", v.name, m.Bits, v.name)
		path := filepath.Join(goldenDir, v.name+".bits")
		if *update {
			if err := os.WriteFile(path, []byte(header+got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != header+got {
			t.Errorf("%s: bit fields differ from %s.bits (run with -update if intended)", v.name, v.name)
		}
	}
	base, cur := deltaWorlds()
	vs := deltaVectors()
	var d StateDecoder
	st := &State{}
	for _, step := range []struct {
		v    vector
		want *State
	}{{vs[0], base}, {vs[1], cur}, {vs[2], cur}} {
		m := step.v.msg.(*StateDelta)
		if m.Flags&DeltaKeyframe != 0 {
			st = &State{}
		}
		if err := d.Apply(m, st); err != nil {
			t.Fatalf("%s: %v", step.v.name, err)
		}
		if !st.Equal(step.want) || len(st.Players) != int(m.PlayerCount) || len(st.Entities) != int(m.EntityCount) {
			t.Fatalf("%s: decoded state differs", step.v.name)
		}
	}
	// The coded vectors: the keyframe, then the changes against it with
	// the prior tick.
	prior, cbase, ccur := codedWorlds()
	st = &State{}
	for _, step := range []struct {
		v    vector
		want *State
	}{{vs[3], cbase}, {vs[4], ccur}} {
		m := step.v.msg.(*StateDelta)
		if err := d.ApplyPrior(m, st, prior); err != nil {
			t.Fatalf("%s: %v", step.v.name, err)
		}
		if !st.Equal(step.want) || len(st.Players) != int(m.PlayerCount) || len(st.Entities) != int(m.EntityCount) {
			t.Fatalf("%s: decoded state differs", step.v.name)
		}
	}
	// The repair vector alone rebuilds the changes vector's body.
	g := new(Parity)
	g.Reset(1)
	g.AddParity(vs[5].msg.(*StateDelta).Append(nil))
	want := vs[4].msg.(*StateDelta).Append(nil)
	if !g.Recover() {
		t.Fatal("the repair vector rebuilds nothing")
	}
	if got := g.Body(nil, 0); !bytes.Equal(got, want) {
		t.Fatalf("parity rebuilds\n%x\nwant\n%x", got, want)
	}
	// So does repair part 1, which a multicast group does not send.
	g.Reset(1)
	g.AddParity(vs[6].msg.(*StateDelta).Append(nil))
	if !g.Recover() {
		t.Fatal("repair part 1 rebuilds nothing")
	}
	if got := g.Body(nil, 0); !bytes.Equal(got, want) {
		t.Fatalf("repair part 1 rebuilds\n%x\nwant\n%x", got, want)
	}
}

package wire

import (
	"encoding/binary"
	"slices"
)

// QPose is a pose on the wire's grid: the three position coordinates as
// sent (PosStep units from PosMin) and the 38-bit smallest-three rotation
// word (index in bits 0-1, components in bits 2-37).
type QPose struct {
	X, Y, Z uint16
	Rot     uint64
}

const rotWordMask = 1<<(rotIdxBits+3*rotBits) - 1

// QuantPose puts p on the wire's grid.
func QuantPose(p *Pose) QPose {
	return QPose{quantPos(p.Pos.X), quantPos(p.Pos.Y), quantPos(p.Pos.Z), encodeRot(p.Rot) & rotWordMask}
}

// Pose returns the pose a receiver decodes.
func (q QPose) Pose() Pose {
	return Pose{
		Pos: Vec3{dequantPos(q.X), dequantPos(q.Y), dequantPos(q.Z)},
		Rot: decodeRot(q.Rot & rotWordMask),
	}
}

// QPlayer is a PlayerState on the wire's grid.
type QPlayer struct {
	ClientID uint16
	Seq      uint32 // LastInputSeq
	Tracking uint8
	Poses    [3]QPose // head, left hand, right hand
}

// QEntity is an EntityState on the wire's grid.
type QEntity struct {
	ID    uint16
	Flags uint8
	Pose  QPose
}

// QuantPlayer puts p on the wire's grid.
func QuantPlayer(p *PlayerState) QPlayer {
	return QPlayer{p.ClientID, p.LastInputSeq, p.Tracking, [3]QPose{QuantPose(&p.Head), QuantPose(&p.Hands[Left]), QuantPose(&p.Hands[Right])}}
}

// Player returns the PlayerState a receiver decodes.
func (q *QPlayer) Player() PlayerState {
	return PlayerState{ClientID: q.ClientID, LastInputSeq: q.Seq, Tracking: q.Tracking,
		Head: q.Poses[0].Pose(), Hands: [2]Pose{q.Poses[1].Pose(), q.Poses[2].Pose()}}
}

// QuantEntity puts e on the wire's grid.
func QuantEntity(e *EntityState) QEntity {
	return QEntity{e.ID, e.Flags, QuantPose(&e.Pose)}
}

// Entity returns the EntityState a receiver decodes.
func (q *QEntity) Entity() EntityState {
	return EntityState{ID: q.ID, Flags: q.Flags, Pose: q.Pose.Pose()}
}

// State is a whole tick's state on the wire's grid: players sorted by
// client id, entities by id, each id at most once.
type State struct {
	Tick     uint32
	Players  []QPlayer
	Entities []QEntity
}

// From puts players and entities (each sorted by id) on the wire's grid as
// the state of tick, reusing s's slices.
func (s *State) From(tick uint32, players []PlayerState, entities []EntityState) {
	s.Tick = tick
	s.Players = s.Players[:0]
	for i := range players {
		s.Players = append(s.Players, QuantPlayer(&players[i]))
	}
	s.Entities = s.Entities[:0]
	for i := range entities {
		s.Entities = append(s.Entities, QuantEntity(&entities[i]))
	}
}

// CopyFrom makes s a copy of o, reusing s's slices.
func (s *State) CopyFrom(o *State) {
	s.Tick = o.Tick
	s.Players = append(s.Players[:0], o.Players...)
	s.Entities = append(s.Entities[:0], o.Entities...)
}

// Equal reports whether s and o hold the same records (ticks aside).
func (s *State) Equal(o *State) bool {
	return slices.Equal(s.Players, o.Players) && slices.Equal(s.Entities, o.Entities)
}

// StateDelta flags.
const (
	DeltaHasHash  = 1 << 0 // StateHash is present
	DeltaKeyframe = 1 << 1 // no baseline: every record is new; Base is 0
)

// The most players and entities a tick's state holds (a server has at
// most 4096 sessions and a scene at most 4096 objects): a receiver refuses
// a part that would take it past either, so what it keeps stays bounded.
const (
	MaxStatePlayers  = 4096
	MaxStateEntities = 4096
)

// StateDelta sizes.
const (
	// StateDeltaFixedSize is the body without hash and bit payload.
	StateDeltaFixedSize = 37
	// Upper bounds of one coded record, in bits, with its id gap and op.
	maxPlayerRecordBits = 19 + 2 + 35 + 9 + 3*maxPoseDeltaBits
	maxEntityRecordBits = 19 + 2 + 9 + maxPoseDeltaBits
	maxPoseDeltaBits    = 1 + 3*19 + 1 + 1 + 3*15
)

// Record ops in the bit payload.
const (
	opChanged = 0 // in the baseline: coded as a delta against it
	opNew     = 1 // not in the baseline: coded whole
	opRemoved = 2 // in the baseline, not in this tick
)

// StateDelta is one part of a tick's state coded against a baseline tick
// the receiver holds (or against nothing, a keyframe). A part covers a
// range of player ids and one of entity ids (either may be empty: From >
// To); the parts of one tick cover every id once. The receiver starts the
// tick from a copy of the baseline and applies each part (ApplyStateDelta)
// to it; within a part's ranges, every record not coded is as in the
// baseline.
type StateDelta struct {
	Tick        uint32
	ServerTime  uint64
	Base        uint32 // baseline tick; 0 with DeltaKeyframe
	Part, Parts uint8  // this part, 0 … Parts−1, of Parts
	PlayerCount uint16 // players in the whole tick
	EntityCount uint16 // entities in the whole tick
	Flags       uint8
	StateHash   uint64
	Prior       uint32 // prior tick, with DeltaPrior
	// Id ranges covered by this part, inclusive.
	PlayerFrom, PlayerTo uint16
	EntityFrom, EntityTo uint16
	// Records coded in the payload, and the payload's length in bits.
	PlayerRecords, EntityRecords uint16
	Bits                         uint16
	// Payload holds the bit payload in its first ⌈Bits/8⌉ bytes (a copy,
	// so that nothing keeps a datagram's buffer).
	Payload [MaxBodySize]byte
}

// Len returns the body length.
func (m *StateDelta) Len() int {
	n := StateDeltaFixedSize + (int(m.Bits)+7)/8
	if m.Flags&DeltaHasHash != 0 {
		n += SnapshotHashSize
	}
	if m.Flags&DeltaPrior != 0 {
		n += statePriorSize
	}
	return n
}

// Append appends the body to b.
func (m *StateDelta) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, m.Tick)
	b = binary.LittleEndian.AppendUint64(b, m.ServerTime)
	b = binary.LittleEndian.AppendUint32(b, m.Base)
	b = append(b, m.Part, m.Parts)
	b = binary.LittleEndian.AppendUint16(b, m.PlayerCount)
	b = binary.LittleEndian.AppendUint16(b, m.EntityCount)
	b = append(b, m.Flags)
	if m.Flags&DeltaHasHash != 0 {
		b = binary.LittleEndian.AppendUint64(b, m.StateHash)
	}
	if m.Flags&DeltaPrior != 0 {
		b = binary.LittleEndian.AppendUint32(b, m.Prior)
	}
	for _, v := range [...]uint16{m.PlayerFrom, m.PlayerTo, m.EntityFrom, m.EntityTo, m.PlayerRecords, m.EntityRecords, m.Bits} {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	n := (int(m.Bits) + 7) / 8
	b = append(b, m.Payload[:n]...)
	if m.Bits%8 != 0 {
		b[len(b)-1] &= 1<<(m.Bits%8) - 1 // padding bits are zero
	}
	return b
}

// Parse decodes the body's fields; Payload points into b. It checks the
// layout only: ApplyStateDelta decodes the records.
func (m *StateDelta) Parse(b []byte) (int, error) {
	if len(b) > MaxBodySize {
		return 0, ErrTooLarge
	}
	if len(b) < StateDeltaFixedSize {
		return 0, ErrShort
	}
	var d StateDelta
	d.Tick = binary.LittleEndian.Uint32(b[0:])
	d.ServerTime = binary.LittleEndian.Uint64(b[4:])
	d.Base = binary.LittleEndian.Uint32(b[12:])
	d.Part, d.Parts = b[16], b[17]
	d.PlayerCount = binary.LittleEndian.Uint16(b[18:])
	d.EntityCount = binary.LittleEndian.Uint16(b[20:])
	d.Flags = b[22]
	o := 23
	if d.Flags&DeltaHasHash != 0 {
		if len(b) < StateDeltaFixedSize+SnapshotHashSize {
			return 0, ErrShort
		}
		d.StateHash = binary.LittleEndian.Uint64(b[o:])
		o += SnapshotHashSize
	}
	if d.Flags&DeltaPrior != 0 {
		if len(b) < o+statePriorSize+14 {
			return 0, ErrShort
		}
		d.Prior = binary.LittleEndian.Uint32(b[o:])
		o += statePriorSize
	}
	f := b[o : o+14]
	d.PlayerFrom = binary.LittleEndian.Uint16(f[0:])
	d.PlayerTo = binary.LittleEndian.Uint16(f[2:])
	d.EntityFrom = binary.LittleEndian.Uint16(f[4:])
	d.EntityTo = binary.LittleEndian.Uint16(f[6:])
	d.PlayerRecords = binary.LittleEndian.Uint16(f[8:])
	d.EntityRecords = binary.LittleEndian.Uint16(f[10:])
	d.Bits = binary.LittleEndian.Uint16(f[12:])
	o += 14
	n := (int(d.Bits) + 7) / 8
	if len(b) < o+n {
		return 0, ErrShort
	}
	switch {
	case d.Parts == 0 || d.Part >= d.Parts && d.Flags&DeltaParity == 0:
		return 0, ErrField
	case d.Flags&DeltaKeyframe != 0 && d.Base != 0:
		return 0, ErrField
	case d.Flags&DeltaCoded != 0 && d.Bits%8 != 0:
		return 0, ErrField
	case d.Flags&(DeltaAvatarGrid|DeltaPrior|DeltaParity) != 0 && d.Flags&DeltaCoded == 0:
		return 0, ErrField
	case d.Flags&DeltaPriorEntities != 0 && d.Flags&DeltaPrior == 0:
		return 0, ErrField
	case d.Flags&DeltaParity != 0 && (d.Flags&DeltaCoded == 0 || !RepairOK(int(d.Part), int(d.Parts)) || d.PlayerRecords != 0 || d.EntityRecords != 0):
		return 0, ErrField
	case d.Flags&DeltaPrior != 0 && (d.Flags&DeltaKeyframe != 0 || int32(d.Base-d.Prior) <= 0):
		return 0, ErrField // the prior is older than the baseline
	}
	*m = d
	copy(m.Payload[:n], b[o:o+n])
	return o + n, nil
}

// ---- encoding ----

// StateEncoder codes ticks as StateDelta parts. It holds the parts' bytes
// between calls and allocates only on its first use.
type StateEncoder struct {
	bodies [][]byte // per part, capacity MaxBodySize
	out    [][]byte
	w      bitWriter
	pay    []byte
	cur    StateDelta
	parts  []StateDelta
	coded  codedState
}

// Encode codes cur against base (nil: a keyframe) into parts of at most
// maxBody bytes each (at most MaxBodySize, at least 128), with h's Tick,
// ServerTime, Base, Flags and StateHash (DeltaKeyframe is set or cleared
// to match base), and returns the bodies, valid until the next call. It
// returns nil when the tick needs more than 255 parts.
func (e *StateEncoder) Encode(h *StateDelta, base, cur *State, maxBody int) [][]byte {
	return e.EncodePrior(h, base, nil, cur, maxBody)
}

// EncodePrior is Encode with a prior tick (nil: none) for coded parts
// (DeltaCoded) that set DeltaPrior: h.Prior names it, a tick older than
// the baseline that every receiver of the parts holds as well. Without
// one, DeltaPrior is cleared.
func (e *StateEncoder) EncodePrior(h *StateDelta, base, prior, cur *State, maxBody int) [][]byte {
	maxBody = min(max(maxBody, 128), MaxBodySize)
	if e.pay == nil {
		e.pay = make([]byte, MaxBodySize)
	}
	e.parts = e.parts[:0]
	var empty State
	if base == nil {
		base = &empty
	}
	hdr := *h
	hdr.Flags &^= DeltaKeyframe
	if base == &empty {
		hdr.Flags |= DeltaKeyframe
		hdr.Base = 0
	}
	hdr.PlayerCount = uint16(min(len(cur.Players), 65535))
	hdr.EntityCount = uint16(min(len(cur.Entities), 65535))
	room := maxBody - StateDeltaFixedSize
	if hdr.Flags&DeltaHasHash != 0 {
		room -= SnapshotHashSize
	}
	roomBits := room * 8
	if hdr.Flags&DeltaCoded != 0 {
		return e.encodeCoded(&hdr, base, prior, cur, maxBody)
	}
	hdr.Flags &^= DeltaAvatarGrid | DeltaPrior | DeltaPriorEntities
	hdr.Prior = 0

	// One merged walk over the players, then one over the entities.
	e.begin(&hdr, 0, 0)
	prev := -1 // last coded id in this part's range, or -1
	from := 0
	bp, cp := base.Players, cur.Players
	for len(bp) > 0 || len(cp) > 0 {
		var id uint16
		op := -1
		var b, c *QPlayer
		switch {
		case len(cp) == 0 || len(bp) > 0 && bp[0].ClientID < cp[0].ClientID:
			b, id, op = &bp[0], bp[0].ClientID, opRemoved
			bp = bp[1:]
		case len(bp) == 0 || cp[0].ClientID < bp[0].ClientID:
			c, id, op = &cp[0], cp[0].ClientID, opNew
			cp = cp[1:]
		default:
			b, c, id = &bp[0], &cp[0], cp[0].ClientID
			bp, cp = bp[1:], cp[1:]
			if *b == *c {
				continue
			}
			op = opChanged
		}
		if e.w.n+maxPlayerRecordBits > roomBits {
			e.cur.PlayerTo = id - 1
			if !e.end() {
				return nil
			}
			e.begin(&hdr, int(id), 0)
			from, prev = int(id), -1
		}
		e.gap(from, prev, int(id))
		prev = int(id)
		e.w.write(uint64(op), 2)
		e.cur.PlayerRecords++
		switch op {
		case opNew:
			e.w.write(uint64(c.Seq), 32)
			e.w.write(uint64(c.Tracking), 8)
			for i := range c.Poses {
				e.rawPose(&c.Poses[i])
			}
		case opChanged:
			e.w.writeCode(codeSeq, zigzag(wrapDelta(uint64(b.Seq), uint64(c.Seq), 32)))
			e.flag8(b.Tracking, c.Tracking)
			for i := range c.Poses {
				e.poseDelta(&b.Poses[i], &c.Poses[i])
			}
		}
	}
	e.cur.PlayerTo = 65535
	e.cur.EntityFrom, e.cur.EntityTo = 0, 65535
	from, prev = 0, -1
	be, ce := base.Entities, cur.Entities
	for len(be) > 0 || len(ce) > 0 {
		var id uint16
		op := -1
		var b, c *QEntity
		switch {
		case len(ce) == 0 || len(be) > 0 && be[0].ID < ce[0].ID:
			b, id, op = &be[0], be[0].ID, opRemoved
			be = be[1:]
		case len(be) == 0 || ce[0].ID < be[0].ID:
			c, id, op = &ce[0], ce[0].ID, opNew
			ce = ce[1:]
		default:
			b, c, id = &be[0], &ce[0], ce[0].ID
			be, ce = be[1:], ce[1:]
			if *b == *c {
				continue
			}
			op = opChanged
		}
		if e.w.n+maxEntityRecordBits > roomBits {
			e.cur.EntityTo = id - 1
			if !e.end() {
				return nil
			}
			e.begin(&hdr, -1, int(id))
			from, prev = int(id), -1
		}
		e.gap(from, prev, int(id))
		prev = int(id)
		e.w.write(uint64(op), 2)
		e.cur.EntityRecords++
		switch op {
		case opNew:
			e.w.write(uint64(c.Flags), 8)
			e.rawPose(&c.Pose)
		case opChanged:
			e.flag8(b.Flags, c.Flags)
			e.poseDelta(&b.Pose, &c.Pose)
		}
	}
	if !e.end() {
		return nil
	}
	e.out = e.out[:0]
	for i := range e.parts {
		e.parts[i].Parts = uint8(len(e.parts))
		e.out = append(e.out, e.parts[i].Append(e.bodies[i][:0]))
	}
	return e.out
}

// begin starts a part: with playerFrom ≥ 0, one whose player range starts
// there (and whose entity range is empty until the players end); else one
// with no players whose entity range starts at entityFrom. Ranges run to
// the end of the id space until a later record closes them.
func (e *StateEncoder) begin(h *StateDelta, playerFrom, entityFrom int) {
	e.cur = *h
	if playerFrom >= 0 {
		e.cur.PlayerFrom, e.cur.PlayerTo = uint16(playerFrom), 65535
		e.cur.EntityFrom, e.cur.EntityTo = 1, 0
	} else {
		e.cur.PlayerFrom, e.cur.PlayerTo = 1, 0
		e.cur.EntityFrom, e.cur.EntityTo = uint16(entityFrom), 65535
	}
	e.cur.PlayerRecords, e.cur.EntityRecords = 0, 0
	e.w.reset(e.pay)
}

// end closes the part and keeps its body; false past 255 parts.
func (e *StateEncoder) end() bool {
	if len(e.parts) == 255 {
		return false
	}
	i := len(e.parts)
	for len(e.bodies) <= i {
		e.bodies = append(e.bodies, make([]byte, 0, MaxBodySize))
	}
	p := e.w.bytes()
	e.cur.Part = uint8(i)
	e.cur.Bits = uint16(e.w.n)
	copy(e.cur.Payload[:], p)
	e.parts = append(e.parts, e.cur)
	return true
}

func (e *StateEncoder) gap(from, prev, id int) {
	if prev < 0 {
		e.w.writeCode(codeGap, uint64(id-from))
	} else {
		e.w.writeCode(codeGap, uint64(id-prev-1))
	}
}

func (e *StateEncoder) flag8(b, c uint8) {
	if b == c {
		e.w.write(0, 1)
		return
	}
	e.w.write(1, 1)
	e.w.write(uint64(c), 8)
}

func (e *StateEncoder) rawPose(p *QPose) {
	e.w.write(uint64(p.X), 16)
	e.w.write(uint64(p.Y), 16)
	e.w.write(uint64(p.Z), 16)
	e.w.write38(p.Rot & rotWordMask)
}

func (e *StateEncoder) poseDelta(b, c *QPose) {
	if b.X == c.X && b.Y == c.Y && b.Z == c.Z {
		e.w.write(0, 1)
	} else {
		e.w.write(1, 1)
		e.w.writeCode(codePos, zigzag(wrapDelta(uint64(b.X), uint64(c.X), 16)))
		e.w.writeCode(codePos, zigzag(wrapDelta(uint64(b.Y), uint64(c.Y), 16)))
		e.w.writeCode(codePos, zigzag(wrapDelta(uint64(b.Z), uint64(c.Z), 16)))
	}
	br, cr := b.Rot&rotWordMask, c.Rot&rotWordMask
	if br == cr {
		e.w.write(0, 1)
		return
	}
	e.w.write(1, 1)
	if br&3 != cr&3 {
		e.w.write(0, 1)
		e.w.write38(cr)
		return
	}
	e.w.write(1, 1)
	for k := range 3 {
		sh := uint(rotIdxBits + k*rotBits)
		e.w.writeCode(codeRot, zigzag(wrapDelta(br>>sh&rotMask, cr>>sh&rotMask, rotBits)))
	}
}

// ---- decoding ----

// StateDecoder applies StateDelta parts. It keeps scratch space between
// calls and grows it only to the largest state seen.
type StateDecoder struct {
	ops      []deltaOp
	players  []QPlayer
	entities []QEntity
	mergedP  []QPlayer
	mergedE  []QEntity
	models   codedModels // of the coded part being applied
}

type deltaOp struct {
	id uint16
	op uint8
	i  int32 // index into players/entities scratch of the new record
	at int32 // a changed record's index in the state
}

// ApplyStateDelta applies part m to st, which must hold m.Base's state
// (or, for a keyframe, the records of the tick's other parts applied so
// far, starting from nothing) with every part of m.Tick applied so far:
// within m's ranges, records are replaced, added or removed as coded. On
// error st is unchanged. It fails with ErrField on a payload that does
// not decode exactly (wrong op, ids out of order or outside the ranges, a
// change or removal of a record st lacks, a new record st has, bits left
// over or missing). When every part of a tick is applied, st holds
// PlayerCount players and EntityCount entities, or the tick is corrupt.
func (d *StateDecoder) Apply(m *StateDelta, st *State) error { return d.ApplyPrior(m, st, nil) }

// ApplyPrior is Apply for a part that may name a prior tick
// (DeltaPrior): prior is that tick's state, which the receiver holds
// (nil: it does not, and such a part fails with ErrField).
func (d *StateDecoder) ApplyPrior(m *StateDelta, st, prior *State) error {
	d.ops = d.ops[:0]
	d.players = d.players[:0]
	d.entities = d.entities[:0]
	var playerOps int
	var err error
	if m.Flags&DeltaParity != 0 {
		return ErrField // not records: a receiver rebuilds a lost part with it
	}
	if m.Flags&DeltaCoded != 0 {
		playerOps, err = d.applyCoded(m, st, prior)
	} else {
		playerOps, err = d.applyBits(m, st)
	}
	if err != nil {
		return err
	}
	return d.commit(st, playerOps)
}

// applyBits decodes a bit-packed part's records into d.ops and the
// scratch records, against st.
func (d *StateDecoder) applyBits(m *StateDelta, st *State) (int, error) {
	// The reader is local: the payload points into the caller's datagram,
	// which must not be kept (nor made to escape) past the call.
	r := bitReader{buf: m.Payload[:], end: int(m.Bits)}

	// Players: decode against st, which is sorted by id.
	j := 0 // index in st.Players of the first id ≥ the next one
	prev := -1
	for range m.PlayerRecords {
		g := r.readCode(codeGap)
		var id int
		if prev < 0 {
			id = int(m.PlayerFrom) + int(g)
		} else {
			id = prev + 1 + int(g)
		}
		if r.bad || id > int(m.PlayerTo) || id > 65535 {
			return 0, ErrField
		}
		prev = id
		for j < len(st.Players) && int(st.Players[j].ClientID) < id {
			j++
		}
		have := j < len(st.Players) && int(st.Players[j].ClientID) == id
		op := uint8(r.read(2))
		switch {
		case op == opNew && !have:
			var c QPlayer
			c.ClientID = uint16(id)
			c.Seq = uint32(r.read(32))
			c.Tracking = uint8(r.read(8))
			for i := range c.Poses {
				readRawPose(&r, &c.Poses[i])
			}
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.players)), -1})
			d.players = append(d.players, c)
		case op == opChanged && have:
			c := st.Players[j]
			c.Seq = uint32(int64(c.Seq) + unzigzag(r.readCode(codeSeq)))
			at := int32(j)
			c.Tracking = flag8(&r, c.Tracking)
			for i := range c.Poses {
				readPoseDelta(&r, &c.Poses[i])
			}
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.players)), at})
			d.players = append(d.players, c)
		case op == opRemoved && have:
			d.ops = append(d.ops, deltaOp{uint16(id), op, -1, -1})
		default:
			return 0, ErrField
		}
	}
	playerOps := len(d.ops)
	j, prev = 0, -1
	for range m.EntityRecords {
		g := r.readCode(codeGap)
		var id int
		if prev < 0 {
			id = int(m.EntityFrom) + int(g)
		} else {
			id = prev + 1 + int(g)
		}
		if r.bad || id > int(m.EntityTo) || id > 65535 {
			return 0, ErrField
		}
		prev = id
		for j < len(st.Entities) && int(st.Entities[j].ID) < id {
			j++
		}
		have := j < len(st.Entities) && int(st.Entities[j].ID) == id
		op := uint8(r.read(2))
		switch {
		case op == opNew && !have:
			var c QEntity
			c.ID = uint16(id)
			c.Flags = uint8(r.read(8))
			readRawPose(&r, &c.Pose)
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.entities)), -1})
			d.entities = append(d.entities, c)
		case op == opChanged && have:
			c := st.Entities[j]
			c.Flags = flag8(&r, c.Flags)
			at := int32(j)
			readPoseDelta(&r, &c.Pose)
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.entities)), at})
			d.entities = append(d.entities, c)
		case op == opRemoved && have:
			d.ops = append(d.ops, deltaOp{uint16(id), op, -1, -1})
		default:
			return 0, ErrField
		}
	}
	if r.bad || r.pos != r.end {
		return 0, ErrField
	}
	return playerOps, nil
}

// commit applies the decoded ops to st, or fails leaving it unchanged.
func (d *StateDecoder) commit(st *State, playerOps int) error {
	if grown(len(st.Players), d.ops[:playerOps]) > MaxStatePlayers || grown(len(st.Entities), d.ops[playerOps:]) > MaxStateEntities {
		return ErrCount // more than any server sends: a receiver's memory stays bounded
	}
	if playerOps > 0 {
		if !inPlace(st.Players, d.ops[:playerOps], d.players) {
			d.mergedP = mergeOps(d.mergedP[:0], st.Players, d.ops[:playerOps], d.players, func(p *QPlayer) uint16 { return p.ClientID })
			st.Players = append(st.Players[:0], d.mergedP...)
		}
	}
	if len(d.ops) > playerOps {
		if !inPlace(st.Entities, d.ops[playerOps:], d.entities) {
			d.mergedE = mergeOps(d.mergedE[:0], st.Entities, d.ops[playerOps:], d.entities, func(e *QEntity) uint16 { return e.ID })
			st.Entities = append(st.Entities[:0], d.mergedE...)
		}
	}
	return nil
}

// grown is how many records n become with ops applied.
func grown(n int, ops []deltaOp) int {
	for _, o := range ops {
		switch o.op {
		case opNew:
			n++
		case opRemoved:
			n--
		}
	}
	return n
}

// inPlace applies ops to s where they only change records, and reports
// whether it did (otherwise s is untouched and needs mergeOps): a part
// with no record added or removed costs its records, not the state's.
func inPlace[T any](s []T, ops []deltaOp, recs []T) bool {
	for _, o := range ops {
		if o.op != opChanged {
			return false
		}
	}
	for _, o := range ops {
		s[o.at] = recs[o.i]
	}
	return true
}

// mergeOps appends to dst the records of s with ops (sorted by id, checked
// against s) applied.
func mergeOps[T any](dst, s []T, ops []deltaOp, recs []T, id func(*T) uint16) []T {
	r := 0
	for _, o := range ops {
		for r < len(s) && id(&s[r]) < o.id {
			dst = append(dst, s[r])
			r++
		}
		switch o.op {
		case opNew:
			dst = append(dst, recs[o.i])
		case opChanged:
			dst = append(dst, recs[o.i])
			r++
		case opRemoved:
			r++
		}
	}
	return append(dst, s[r:]...)
}

func flag8(r *bitReader, v uint8) uint8 {
	if r.read(1) == 0 {
		return v
	}
	return uint8(r.read(8))
}

func readRawPose(r *bitReader, p *QPose) {
	p.X = uint16(r.read(16))
	p.Y = uint16(r.read(16))
	p.Z = uint16(r.read(16))
	p.Rot = r.read(2 + 3*rotBits)
}

func readPoseDelta(r *bitReader, p *QPose) {
	if r.read(1) == 1 {
		p.X = uint16(int64(p.X) + unzigzag(r.readCode(codePos)))
		p.Y = uint16(int64(p.Y) + unzigzag(r.readCode(codePos)))
		p.Z = uint16(int64(p.Z) + unzigzag(r.readCode(codePos)))
	}
	if r.read(1) == 0 {
		return
	}
	if r.read(1) == 0 {
		p.Rot = r.read(2 + 3*rotBits)
		return
	}
	w := p.Rot & 3
	for k := range 3 {
		sh := uint(rotIdxBits + k*rotBits)
		c := uint64(int64(p.Rot>>sh&rotMask)+unzigzag(r.readCode(codeRot))) & rotMask
		w |= c << sh
	}
	p.Rot = w
}

// EntityRecordBits is how many payload bits the record of c costs coded
// against b (nil: as a new record), id gap aside.
func EntityRecordBits(b, c *QEntity) int {
	if b == nil {
		return 2 + 8 + 48 + 2 + 3*rotBits
	}
	if *b == *c {
		return 0
	}
	n := 2 + 1 + poseDeltaBits(&b.Pose, &c.Pose)
	if b.Flags != c.Flags {
		n += 8
	}
	return n
}

func poseDeltaBits(b, c *QPose) int {
	n := 2
	if b.X != c.X || b.Y != c.Y || b.Z != c.Z {
		n += codeBits(codePos, zigzag(wrapDelta(uint64(b.X), uint64(c.X), 16))) +
			codeBits(codePos, zigzag(wrapDelta(uint64(b.Y), uint64(c.Y), 16))) +
			codeBits(codePos, zigzag(wrapDelta(uint64(b.Z), uint64(c.Z), 16)))
	}
	br, cr := b.Rot&rotWordMask, c.Rot&rotWordMask
	switch {
	case br == cr:
	case br&3 != cr&3:
		n += 1 + 2 + 3*rotBits
	default:
		n++
		for k := range 3 {
			sh := uint(rotIdxBits + k*rotBits)
			n += codeBits(codeRot, zigzag(wrapDelta(br>>sh&rotMask, cr>>sh&rotMask, rotBits)))
		}
	}
	return n
}

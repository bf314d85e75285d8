package wire

import "math"

// Coded StateDelta payloads (docs/PROTOCOL.md §10.4, "Coded payload"): the
// same records as the bit-packed payload, range-coded (rangecoder.go) with
// models that adapt within the part, and the avatars' rotations on a grid
// four times coarser where the part says so. A session that set
// ConnectCodedState and got AcceptedCodedState may be sent them; a
// multicast group only when every client on it did.

// Negotiation of coded payloads, in ConnectRequest / ChallengeResponse
// Flags and in Accepted Flags.
const (
	// ConnectCodedState: the client decodes coded StateDelta payloads
	// (DeltaCoded). Meaningful with ConnectDeltaState.
	ConnectCodedState = 1 << 4
	// AcceptedCodedState: the server may send this client coded
	// StateDelta payloads.
	AcceptedCodedState = 1 << 4
)

// StateDelta flags of coded payloads.
const (
	// DeltaCoded: the payload is range-coded; its length in bits is a
	// multiple of 8.
	DeltaCoded = 1 << 2
	// DeltaAvatarGrid (with DeltaCoded): every player pose rotation in
	// the part, and in the baseline records it is coded against, has
	// each sent component on the avatar grid (q ≡ 2 mod 4).
	DeltaAvatarGrid = 1 << 3
	// DeltaPrior (with DeltaCoded): the prior tick is present, a second
	// tick the receiver holds, older than the baseline; changed players'
	// poses are coded as residuals of a prediction from the two.
	DeltaPrior = 1 << 4
	// DeltaPriorEntities (with DeltaPrior): changed entities' poses are
	// predicted too.
	DeltaPriorEntities = 1 << 5
)

// statePriorSize is the prior tick field's size.
const statePriorSize = 4

// Avatar grid: a rotation component q (12 bits) is on it when q mod 4 is
// avatarGridOff; it is coded as q >> avatarGridShift.
const (
	avatarGridShift = 2
	avatarGridOff   = 2
	avatarGridBits  = rotBits - avatarGridShift
	avatarGridMask  = (1<<rotBits - 1) &^ (1<<avatarGridShift - 1)
)

// onAvatarGrid reports whether every sent component of rot is on the
// avatar grid.
func onAvatarGrid(rot uint64) bool {
	for k := range 3 {
		if rot>>(rotIdxBits+k*rotBits)&(1<<avatarGridShift-1) != avatarGridOff {
			return false
		}
	}
	return true
}

// AvatarGrid moves rot (a rotation word, on the 12-bit grid) to the
// nearest point of the avatar grid, the centre of its cell of four
// (q → q − q mod 4 + 2), then makes it canonical on that grid as §3.3 step
// 5 does, in steps of four. The result is still a rotation word of §3.3:
// receivers decode it as any other. The angle moved is at most about
// 0.2°, below the rotation noise of tracked heads and hands.
func AvatarGrid(rot uint64) uint64 {
	var s [3]int
	for k := range s {
		s[k] = int(rot>>(rotIdxBits+k*rotBits)&rotMask)&avatarGridMask | avatarGridOff
	}
	canonRotStep(&s, 1<<avatarGridShift)
	return rot&(1<<rotIdxBits-1) | uint64(s[0])<<rotIdxBits | uint64(s[1])<<(rotIdxBits+rotBits) | uint64(s[2])<<(rotIdxBits+2*rotBits)
}

// AvatarGridPlayer puts every pose of p on the avatar grid.
func AvatarGridPlayer(p *QPlayer) {
	for i := range p.Poses {
		p.Poses[i].Rot = AvatarGrid(p.Poses[i].Rot & rotWordMask)
	}
}

// ---- models ----

// poseModels are the models of one kind of pose (a head, a hand, an
// entity): position deltas across (x, z) and up (y), rotation component
// deltas (all three), and whether the rotation's omitted component stayed.
type poseModels struct {
	across, up, rot intModel
	same            prob
}

func (p *poseModels) init() {
	p.across.init()
	p.up.init()
	p.rot.init()
	p.same = probStart
}

// codedModels are the models of one part, reset at its start.
type codedModels struct {
	gap   [2]intModel // players, entities
	op    [2][2]prob  // per kind: changed or not; then new or removed
	seq   intModel
	track prob
	flags prob
	pose  [3]poseModels // heads, hands, entities
}

func (m *codedModels) init() {
	for i := range m.gap {
		m.gap[i].init()
		m.op[i] = [2]prob{probStart, probStart}
	}
	m.seq.init()
	m.track, m.flags = probStart, probStart
	for i := range m.pose {
		m.pose[i].init()
	}
}

// poseModel returns the models of pose i of a player (0 head, 1 and 2
// hands).
func (m *codedModels) poseModel(i int) *poseModels {
	return &m.pose[min(i, 1)]
}

const entityPose = 2 // index of the entity pose models

// predictor is what a pose delta is predicted from: the record in the
// prior tick, and how far apart the three are (num/den: the time from
// the baseline to the tick over that from the prior to the baseline).
type predictor struct {
	prior    *QPose // nil: no prediction, the baseline is the prediction
	num, den int64
}

// predict returns the prediction of a field of n bits from its value b in
// the baseline and a in the prior: b + (b − a)·num/den, rounded half away
// from zero, modulo 2ⁿ.
func (pr *predictor) predict(a, b uint64, n uint) uint64 {
	d := wrapDelta(a, b, n) * pr.num
	q := (abs64(d) + pr.den/2) / pr.den
	if d < 0 {
		q = -q
	}
	return uint64(int64(b)+q) & (1<<n - 1)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// ---- encoding ----

// item is one record of a tick that differs from its baseline.
type item struct {
	player bool
	op     uint8
	id     uint16
	b, c   int32 // index in the baseline's and in the tick's records, or -1
	a      int32 // index in the prior's records, or -1
}

// codedRecordMax bounds a record's coded size, bytes: taken once a part
// is within it of full, a snapshot of the coder lets a record that does
// not fit be taken back.
const codedRecordMax = 96

// codedState is the encoder's part of StateEncoder for coded payloads.
type codedState struct {
	items []item
	rc    rcEncoder
	m     codedModels
	// snapshot, before the last record near the end of a part
	snapRC rcEncoder
	snapM  codedModels
}

// encodeCoded is Encode for DeltaCoded parts; prior (nil: none) is the
// tick predictions are made from, with DeltaPrior.
func (e *StateEncoder) encodeCoded(hdr *StateDelta, base, prior, cur *State, maxBody int) [][]byte {
	c := &e.coded
	if prior == nil || hdr.Flags&DeltaKeyframe != 0 {
		hdr.Flags &^= DeltaPrior | DeltaPriorEntities
		hdr.Prior = 0
	}
	if hdr.Flags&DeltaPrior == 0 {
		hdr.Flags &^= DeltaPriorEntities
		prior = nil
	}
	grid := hdr.Flags&DeltaAvatarGrid != 0
	c.items = c.items[:0]
	var ap []QPlayer
	var ae []QEntity
	if prior != nil {
		ap, ae = prior.Players, prior.Entities
	}
	ai := int32(0)
	priorPlayer := func(id uint16) int32 {
		for len(ap) > 0 && ap[0].ClientID < id {
			ap, ai = ap[1:], ai+1
		}
		if len(ap) > 0 && ap[0].ClientID == id {
			return ai
		}
		return -1
	}
	bp, cp := base.Players, cur.Players
	bi, ci := int32(0), int32(0)
	for len(bp) > 0 || len(cp) > 0 {
		switch {
		case len(cp) == 0 || len(bp) > 0 && bp[0].ClientID < cp[0].ClientID:
			c.items = append(c.items, item{true, opRemoved, bp[0].ClientID, bi, -1, -1})
			bp, bi = bp[1:], bi+1
		case len(bp) == 0 || cp[0].ClientID < bp[0].ClientID:
			grid = grid && playerOnGrid(&cp[0])
			c.items = append(c.items, item{true, opNew, cp[0].ClientID, -1, ci, -1})
			cp, ci = cp[1:], ci+1
		default:
			if bp[0] != cp[0] {
				grid = grid && playerOnGrid(&bp[0]) && playerOnGrid(&cp[0])
				c.items = append(c.items, item{true, opChanged, cp[0].ClientID, bi, ci, priorPlayer(cp[0].ClientID)})
			}
			bp, cp, bi, ci = bp[1:], cp[1:], bi+1, ci+1
		}
	}
	ai = 0
	priorEntity := func(id uint16) int32 {
		for len(ae) > 0 && ae[0].ID < id {
			ae, ai = ae[1:], ai+1
		}
		if len(ae) > 0 && ae[0].ID == id {
			return ai
		}
		return -1
	}
	be, ce := base.Entities, cur.Entities
	bi, ci = 0, 0
	for len(be) > 0 || len(ce) > 0 {
		switch {
		case len(ce) == 0 || len(be) > 0 && be[0].ID < ce[0].ID:
			c.items = append(c.items, item{false, opRemoved, be[0].ID, bi, -1, -1})
			be, bi = be[1:], bi+1
		case len(be) == 0 || ce[0].ID < be[0].ID:
			c.items = append(c.items, item{false, opNew, ce[0].ID, -1, ci, -1})
			ce, ci = ce[1:], ci+1
		default:
			if be[0] != ce[0] {
				a := int32(-1)
				if hdr.Flags&DeltaPriorEntities != 0 {
					a = priorEntity(ce[0].ID)
				}
				c.items = append(c.items, item{false, opChanged, ce[0].ID, bi, ci, a})
			}
			be, ce, bi, ci = be[1:], ce[1:], bi+1, ci+1
		}
	}
	if !grid {
		hdr.Flags &^= DeltaAvatarGrid
	}
	room := maxBody - StateDeltaFixedSize
	if hdr.Flags&DeltaHasHash != 0 {
		room -= SnapshotHashSize
	}
	if hdr.Flags&DeltaPrior != 0 {
		room -= statePriorSize
	}
	inPlayers := true
	e.begin(hdr, 0, 0)
	c.begin(e.pay[:room])
	prev := -1
	for i := 0; i < len(c.items); i++ {
		it := &c.items[i]
		if inPlayers && !it.player {
			// The players end in this part: its player range runs to
			// the end and its entity range starts at 0.
			inPlayers = false
			e.cur.PlayerTo = 65535
			e.cur.EntityFrom, e.cur.EntityTo = 0, 65535
			prev = -1
		}
		near := c.rc.size()+codedRecordMax > room
		if near {
			c.snapRC, c.snapM = c.rc, c.m
		}
		c.code(it, prev, &e.cur, base, prior, cur, grid)
		if c.rc.size() <= room && !c.rc.over {
			prev = int(it.id)
			if it.player {
				e.cur.PlayerRecords++
			} else {
				e.cur.EntityRecords++
			}
			continue
		}
		if !near || e.cur.PlayerRecords+e.cur.EntityRecords == 0 {
			return nil // a record larger than a part: cannot be
		}
		c.rc, c.m = c.snapRC, c.snapM // take the record back; it starts the next part
		if it.player {
			e.cur.PlayerTo = it.id - 1
		} else {
			e.cur.EntityTo = it.id - 1
		}
		if !e.endCoded() {
			return nil
		}
		if it.player {
			e.begin(hdr, int(it.id), 0)
		} else {
			e.begin(hdr, -1, int(it.id))
		}
		c.begin(e.pay[:room])
		prev = -1
		i--
	}
	if inPlayers {
		e.cur.PlayerTo = 65535
		e.cur.EntityFrom, e.cur.EntityTo = 0, 65535
	}
	if !e.endCoded() {
		return nil
	}
	e.out = e.out[:0]
	for i := range e.parts {
		e.parts[i].Parts = uint8(len(e.parts))
		e.out = append(e.out, e.parts[i].Append(e.bodies[i][:0]))
	}
	return e.out
}

func playerOnGrid(p *QPlayer) bool {
	for i := range p.Poses {
		if !onAvatarGrid(p.Poses[i].Rot) {
			return false
		}
	}
	return true
}

func (c *codedState) begin(buf []byte) {
	c.rc.reset(buf)
	c.m.init()
}

// endCoded closes a coded part and keeps its body; false past 255 parts.
func (e *StateEncoder) endCoded() bool {
	if len(e.parts) == 255 {
		return false
	}
	p := e.coded.rc.finish()
	i := len(e.parts)
	for len(e.bodies) <= i {
		e.bodies = append(e.bodies, make([]byte, 0, MaxBodySize))
	}
	e.cur.Part = uint8(i)
	e.cur.Bits = uint16(8 * len(p))
	copy(e.cur.Payload[:], p)
	e.parts = append(e.parts, e.cur)
	return true
}

// playerPredictor is the prediction of a changed player's poses: from its
// record a in the prior (nil: none) and b in the baseline, with c.Seq the
// tick's input seq, when the prior, baseline and tick are in that order of
// input seq and the baseline is at most twice as far from the tick as
// from the prior.
func playerPredictor(a, b *QPlayer, seq uint32) predictor {
	if a == nil {
		return predictor{}
	}
	num, den := int64(int32(seq-b.Seq)), int64(int32(b.Seq-a.Seq))
	if num <= 0 || den <= 0 || num > 2*den {
		return predictor{}
	}
	return predictor{&a.Poses[0], num, den}
}

// entityPredictor is the same for entities, by tick: prior tick pt,
// baseline bt, tick t.
func entityPredictor(a *QEntity, pt, bt, t uint32) predictor {
	if a == nil {
		return predictor{}
	}
	num, den := int64(int32(t-bt)), int64(int32(bt-pt))
	if num <= 0 || den <= 0 || num > 2*den {
		return predictor{}
	}
	return predictor{&a.Pose, num, den}
}

// code codes one record: id gap, op, fields.
func (c *codedState) code(it *item, prev int, part *StateDelta, base, prior, cur *State, grid bool) {
	rc, m := &c.rc, &c.m
	k := 1
	from := int(part.EntityFrom)
	if it.player {
		k, from = 0, int(part.PlayerFrom)
	}
	if prev < 0 {
		rc.uint(&m.gap[k], uint64(int(it.id)-from))
	} else {
		rc.uint(&m.gap[k], uint64(int(it.id)-prev-1))
	}
	switch it.op {
	case opChanged:
		rc.bit(&m.op[k][0], 0)
	case opNew:
		rc.bit(&m.op[k][0], 1)
		rc.bit(&m.op[k][1], 0)
	case opRemoved:
		rc.bit(&m.op[k][0], 1)
		rc.bit(&m.op[k][1], 1)
		return
	}
	if it.player {
		cp := &cur.Players[it.c]
		if it.op == opNew {
			rc.direct(uint64(cp.Seq), 32)
			rc.direct(uint64(cp.Tracking), 8)
			for i := range cp.Poses {
				c.rawPose(&cp.Poses[i], grid)
			}
			return
		}
		bp := &base.Players[it.b]
		rc.int(&m.seq, wrapDelta(uint64(bp.Seq), uint64(cp.Seq), 32))
		c.flag8(&m.track, bp.Tracking, cp.Tracking)
		var a *QPlayer
		if it.a >= 0 {
			a = &prior.Players[it.a]
		}
		pr := playerPredictor(a, bp, cp.Seq)
		for i := range cp.Poses {
			pi := pr
			if pi.prior != nil {
				pi.prior = &a.Poses[i]
			}
			c.poseDelta(m.poseModel(i), &pi, &bp.Poses[i], &cp.Poses[i], grid)
		}
		return
	}
	ce := &cur.Entities[it.c]
	if it.op == opNew {
		rc.direct(uint64(ce.Flags), 8)
		c.rawPose(&ce.Pose, false)
		return
	}
	be := &base.Entities[it.b]
	c.flag8(&m.flags, be.Flags, ce.Flags)
	var pr predictor
	if it.a >= 0 {
		pr = entityPredictor(&prior.Entities[it.a], part.Prior, part.Base, part.Tick)
	}
	c.poseDelta(&m.pose[entityPose], &pr, &be.Pose, &ce.Pose, false)
}

func (c *codedState) flag8(p *prob, b, v uint8) {
	if b == v {
		c.rc.bit(p, 0)
		return
	}
	c.rc.bit(p, 1)
	c.rc.direct(uint64(v), 8)
}

func (c *codedState) rawPose(p *QPose, grid bool) {
	rc := &c.rc
	rc.direct(uint64(p.X), 16)
	rc.direct(uint64(p.Y), 16)
	rc.direct(uint64(p.Z), 16)
	c.rawRot(p.Rot&rotWordMask, grid)
}

func (c *codedState) rawRot(r uint64, grid bool) {
	c.rc.direct(r&3, rotIdxBits)
	for k := range 3 {
		q := r >> (rotIdxBits + k*rotBits) & rotMask
		if grid {
			c.rc.direct(q>>avatarGridShift, avatarGridBits)
		} else {
			c.rc.direct(q, rotBits)
		}
	}
}

// posPred returns the predictions of a pose's position from b.
func posPred(pr *predictor, b *QPose) (x, y, z uint64) {
	x, y, z = uint64(b.X), uint64(b.Y), uint64(b.Z)
	if a := pr.prior; a != nil {
		x, y, z = pr.predict(uint64(a.X), x, 16), pr.predict(uint64(a.Y), y, 16), pr.predict(uint64(a.Z), z, 16)
	}
	return x, y, z
}

// rotPred returns the prediction of rotation component k (on the grid
// when grid: in its units) from b.
func rotPred(pr *predictor, b uint64, k int, grid bool) uint64 {
	sh := uint(rotIdxBits + k*rotBits)
	n, g := uint(rotBits), uint(0)
	if grid {
		n, g = avatarGridBits, avatarGridShift
	}
	v := b >> sh & rotMask >> g
	if a := pr.prior; a != nil && a.Rot&3 == b&3 {
		v = pr.predict(a.Rot>>sh&rotMask>>g, v, n)
	}
	return v
}

func (c *codedState) poseDelta(m *poseModels, pr *predictor, b, p *QPose, grid bool) {
	rc := &c.rc
	x, y, z := posPred(pr, b)
	rc.int(&m.across, wrapDelta(x, uint64(p.X), 16))
	rc.int(&m.up, wrapDelta(y, uint64(p.Y), 16))
	rc.int(&m.across, wrapDelta(z, uint64(p.Z), 16))
	br, pw := b.Rot&rotWordMask, p.Rot&rotWordMask
	if br&3 != pw&3 {
		rc.bit(&m.same, 1)
		c.rawRot(pw, grid)
		return
	}
	rc.bit(&m.same, 0)
	for k := range 3 {
		sh := uint(rotIdxBits + k*rotBits)
		v := pw >> sh & rotMask
		if grid {
			rc.int(&m.rot, wrapDelta(rotPred(pr, br, k, true), v>>avatarGridShift, avatarGridBits))
		} else {
			rc.int(&m.rot, wrapDelta(rotPred(pr, br, k, false), v, rotBits))
		}
	}
}

// ---- decoding ----

// codedReader is the decoder's state for one coded part. It lives on the
// stack of one Apply: its range decoder reads the caller's payload, which
// must not be kept (nor made to escape) past the call.
type codedReader struct {
	rc rcDecoder
	m  *codedModels
}

func (r *codedReader) flag8(p *prob, v uint8) uint8 {
	if r.rc.bit(p) == 0 {
		return v
	}
	return uint8(r.rc.direct(8))
}

func (r *codedReader) rawRot(grid bool) uint64 {
	w := r.rc.direct(rotIdxBits)
	for k := range 3 {
		var q uint64
		if grid {
			q = r.rc.direct(avatarGridBits)<<avatarGridShift | avatarGridOff
		} else {
			q = r.rc.direct(rotBits)
		}
		w |= q << (rotIdxBits + k*rotBits)
	}
	return w
}

func (r *codedReader) rawPose(p *QPose, grid bool) {
	p.X = uint16(r.rc.direct(16))
	p.Y = uint16(r.rc.direct(16))
	p.Z = uint16(r.rc.direct(16))
	p.Rot = r.rawRot(grid)
}

// poseDelta decodes a pose delta into p, which holds the baseline's pose.
func (r *codedReader) poseDelta(m *poseModels, pr *predictor, p *QPose, grid bool) {
	x, y, z := posPred(pr, p)
	p.X = uint16(int64(x) + r.rc.int(&m.across))
	p.Y = uint16(int64(y) + r.rc.int(&m.up))
	p.Z = uint16(int64(z) + r.rc.int(&m.across))
	if r.rc.bit(&m.same) == 1 {
		p.Rot = r.rawRot(grid)
		return
	}
	b := p.Rot & rotWordMask
	w := b & 3
	for k := range 3 {
		sh := uint(rotIdxBits + k*rotBits)
		var q uint64
		if grid {
			q = uint64(int64(rotPred(pr, b, k, true))+r.rc.int(&m.rot))&(1<<avatarGridBits-1)<<avatarGridShift | avatarGridOff
		} else {
			q = uint64(int64(rotPred(pr, b, k, false))+r.rc.int(&m.rot)) & rotMask
		}
		w |= q << sh
	}
	p.Rot = w
}

// canonRotStep is canonRot on a grid of the given step: while the decoded
// omitted component is not larger than each sent one by rotMargin, the
// sent component of largest magnitude moves one step toward zero.
func canonRotStep(s *[3]int, step int) {
	for range 1 << rotBits {
		var a [3]float64
		for i, q := range s {
			a[i] = float64(float64(q)*rotStep) - rotOffset
		}
		w := math.Sqrt(max(0, 1-(sq(a[0])+sq(a[1])+sq(a[2]))))
		k := 0
		for i := 1; i < 3; i++ {
			if math.Abs(a[i]) > math.Abs(a[k]) {
				k = i
			}
		}
		if w-math.Abs(a[k]) >= rotMargin {
			return
		}
		if float64(s[k]) > rotCenterQ {
			s[k] -= step
		} else {
			s[k] += step
		}
	}
}

// applyCoded decodes a coded part's records into d.ops and the scratch
// records, against st.
func (d *StateDecoder) applyCoded(m *StateDelta, st, prior *State) (playerOps int, err error) {
	var r codedReader
	r.m = &d.models
	if m.Flags&DeltaPrior == 0 {
		prior = nil
	} else if prior == nil {
		return 0, ErrField // the caller must hold the prior tick
	}
	var ap []QPlayer
	var ae []QEntity
	if prior != nil {
		ap, ae = prior.Players, prior.Entities
		if m.Flags&DeltaPriorEntities == 0 {
			ae = nil
		}
	}
	r.rc = rcDecoder{buf: m.Payload[:int(m.Bits)/8]}
	r.rc.start()
	r.m.init()
	grid := m.Flags&DeltaAvatarGrid != 0
	if int(m.PlayerRecords) > MaxStatePlayers || int(m.EntityRecords) > MaxStateEntities {
		return 0, ErrCount
	}
	j, prev := 0, -1
	for range m.PlayerRecords {
		g := r.rc.uint(&r.m.gap[0])
		id := int(m.PlayerFrom) + int(g)
		if prev >= 0 {
			id = prev + 1 + int(g)
		}
		if r.rc.bad || id > int(m.PlayerTo) {
			return 0, ErrField
		}
		prev = id
		for j < len(st.Players) && int(st.Players[j].ClientID) < id {
			j++
		}
		have := j < len(st.Players) && int(st.Players[j].ClientID) == id
		op := uint8(opChanged)
		if r.rc.bit(&r.m.op[0][0]) == 1 {
			op = opNew + uint8(r.rc.bit(&r.m.op[0][1]))
		}
		switch {
		case op == opNew && !have:
			var c QPlayer
			c.ClientID = uint16(id)
			c.Seq = uint32(r.rc.direct(32))
			c.Tracking = uint8(r.rc.direct(8))
			for i := range c.Poses {
				r.rawPose(&c.Poses[i], grid)
			}
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.players)), -1})
			d.players = append(d.players, c)
		case op == opChanged && have:
			c := st.Players[j]
			c.Seq = uint32(int64(c.Seq) + r.rc.int(&r.m.seq))
			c.Tracking = r.flag8(&r.m.track, c.Tracking)
			for len(ap) > 0 && int(ap[0].ClientID) < id {
				ap = ap[1:]
			}
			var a *QPlayer
			if len(ap) > 0 && int(ap[0].ClientID) == id {
				a = &ap[0]
			}
			pr := playerPredictor(a, &st.Players[j], c.Seq)
			for i := range c.Poses {
				pi := pr
				if pi.prior != nil {
					pi.prior = &a.Poses[i]
				}
				r.poseDelta(r.m.poseModel(i), &pi, &c.Poses[i], grid)
			}
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.players)), int32(j)})
			d.players = append(d.players, c)
		case op == opRemoved && have:
			d.ops = append(d.ops, deltaOp{uint16(id), op, -1, -1})
		default:
			return 0, ErrField
		}
	}
	playerOps = len(d.ops)
	j, prev = 0, -1
	for range m.EntityRecords {
		g := r.rc.uint(&r.m.gap[1])
		id := int(m.EntityFrom) + int(g)
		if prev >= 0 {
			id = prev + 1 + int(g)
		}
		if r.rc.bad || id > int(m.EntityTo) {
			return 0, ErrField
		}
		prev = id
		for j < len(st.Entities) && int(st.Entities[j].ID) < id {
			j++
		}
		have := j < len(st.Entities) && int(st.Entities[j].ID) == id
		op := uint8(opChanged)
		if r.rc.bit(&r.m.op[1][0]) == 1 {
			op = opNew + uint8(r.rc.bit(&r.m.op[1][1]))
		}
		switch {
		case op == opNew && !have:
			var c QEntity
			c.ID = uint16(id)
			c.Flags = uint8(r.rc.direct(8))
			r.rawPose(&c.Pose, false)
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.entities)), -1})
			d.entities = append(d.entities, c)
		case op == opChanged && have:
			c := st.Entities[j]
			c.Flags = r.flag8(&r.m.flags, c.Flags)
			for len(ae) > 0 && int(ae[0].ID) < id {
				ae = ae[1:]
			}
			var pr predictor
			if len(ae) > 0 && int(ae[0].ID) == id {
				pr = entityPredictor(&ae[0], m.Prior, m.Base, m.Tick)
			}
			r.poseDelta(&r.m.pose[entityPose], &pr, &c.Pose, false)
			d.ops = append(d.ops, deltaOp{uint16(id), op, int32(len(d.entities)), int32(j)})
			d.entities = append(d.entities, c)
		case op == opRemoved && have:
			d.ops = append(d.ops, deltaOp{uint16(id), op, -1, -1})
		default:
			return 0, ErrField
		}
	}
	if r.rc.bad {
		return 0, ErrField
	}
	return playerOps, nil
}

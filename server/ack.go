package server

// ackWindow tracks which of a peer's packet sequence numbers arrived, in the
// form the header carries: the newest sequence and a 32-bit field for the 32
// before it.
type ackWindow struct {
	newest uint16
	bits   uint32
	any    bool
}

// seqNewer reports whether a is newer than b on the uint16 circle.
func seqNewer(a, b uint16) bool { return int16(a-b) > 0 }

func (w *ackWindow) record(seq uint16) {
	switch {
	case !w.any:
		w.newest, w.bits, w.any = seq, 0, true
	case seqNewer(seq, w.newest):
		shift := uint32(seq - w.newest)
		if shift > 32 {
			w.bits = 0
		} else {
			// The old newest becomes bit shift-1.
			w.bits = w.bits<<shift | 1<<(shift-1)
		}
		w.newest = seq
	case seq != w.newest:
		d := uint32(w.newest - seq)
		if d <= 32 {
			w.bits |= 1 << (d - 1)
		}
	}
}

func (w *ackWindow) header() (ack uint16, bits uint32) { return w.newest, w.bits }

package wire

import (
	"fmt"
	"testing"
)

func BenchmarkHeaderParse(b *testing.B) {
	d := (&Header{Type: TypePoseInput, Token: 1}).Append(nil)
	var h Header
	b.ReportAllocs()
	b.SetBytes(HeaderSize)
	for b.Loop() {
		if _, err := h.Parse(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPoseInputAppend(b *testing.B) {
	m := samplePoseInput()
	buf := make([]byte, 0, MaxDatagramSize)
	b.ReportAllocs()
	b.SetBytes(PoseInputSize)
	for b.Loop() {
		buf = m.Append(buf[:0])
	}
}

func BenchmarkPoseInputParse(b *testing.B) {
	d := samplePoseInput().Append(nil)
	var m PoseInput
	b.ReportAllocs()
	b.SetBytes(PoseInputSize)
	for b.Loop() {
		if _, err := m.Parse(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshotAppend(b *testing.B) {
	for _, n := range []int{16, 64} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			m := benchSnapshot(n)
			buf := make([]byte, 0, MaxDatagramSize)
			b.ReportAllocs()
			b.SetBytes(int64(m.Len()))
			for b.Loop() {
				buf = m.Append(buf[:0])
			}
		})
	}
}

func BenchmarkSnapshotParse(b *testing.B) {
	for _, n := range []int{16, 64} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			d := benchSnapshot(n).Append(nil)
			var m Snapshot
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			for b.Loop() {
				if _, err := m.Parse(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// An entity update typically carries one grab chain, a few entities, and
// one cause; a busy coalesced one many of both.
var benchUpdateSizes = []struct{ causes, entities int }{{1, 3}, {16, 64}}

func BenchmarkEntityUpdateAppend(b *testing.B) {
	for _, n := range benchUpdateSizes {
		b.Run(fmt.Sprintf("causes=%d/entities=%d", n.causes, n.entities), func(b *testing.B) {
			m := benchEntityUpdate(n.causes, n.entities)
			buf := make([]byte, 0, MaxDatagramSize)
			b.ReportAllocs()
			b.SetBytes(int64(m.Len()))
			for b.Loop() {
				buf = m.Append(buf[:0])
			}
		})
	}
}

func BenchmarkEntityUpdateParse(b *testing.B) {
	for _, n := range benchUpdateSizes {
		b.Run(fmt.Sprintf("causes=%d/entities=%d", n.causes, n.entities), func(b *testing.B) {
			d := benchEntityUpdate(n.causes, n.entities).Append(nil)
			var m EntityUpdate
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			for b.Loop() {
				if _, err := m.Parse(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// goldenMessage returns the message of the named golden vector.
func goldenMessage(name string) codec {
	for _, v := range goldenVectors() {
		if v.name == name {
			return v.msg
		}
	}
	panic("no vector " + name)
}

// BenchmarkDelivery measures the two delivery messages, which every
// multicast client handles a few times per second.
func BenchmarkDelivery(b *testing.B) {
	for _, name := range []string{"delivery_probe", "delivery_report"} {
		m := goldenMessage(name)
		b.Run(name+"/append", func(b *testing.B) {
			buf := make([]byte, 0, MaxDatagramSize)
			b.ReportAllocs()
			b.SetBytes(int64(m.Len()))
			for b.Loop() {
				buf = m.Append(buf[:0])
			}
		})
		b.Run(name+"/parse", func(b *testing.B) {
			d := m.Append(nil)
			dst := newCodec(m)
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			for b.Loop() {
				if _, err := dst.Parse(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkQuantizePose(b *testing.B) {
	p := samplePoseInput().Hands[Left]
	b.ReportAllocs()
	for b.Loop() {
		p = QuantizePose(p)
	}
}

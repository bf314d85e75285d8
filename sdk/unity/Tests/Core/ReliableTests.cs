using System;
using System.Collections.Generic;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The reliable channel (§15) between two ReliableChannels over an in-memory link that
    /// loses and reorders packets: every message arrives once, in order per stream, whole.</summary>
    public static class ReliableTests
    {
        sealed class End
        {
            public readonly ReliableChannel Ch = new ReliableChannel();
            public readonly SeqWindow Rx = new SeqWindow();
            public ushort Seq = 0xFFFF;
            public readonly List<byte[]>[] Got = new List<byte[]>[4];

            public End()
            {
                for (int i = 0; i < 4; i++) Got[i] = new List<byte[]>();
                Ch.OnDeliver = (s, d, n) =>
                {
                    var m = new byte[n];
                    Buffer.BlockCopy(d, 0, m, 0, n);
                    Got[s].Add(m);
                };
            }
        }

        struct Packet { public ushort Seq, Ack; public uint Bits; public byte[] Payload; public int Len; public long At; }

        static byte[] Msg(int i, int len)
        {
            var m = new byte[len];
            for (int k = 0; k < len; k++) m[k] = (byte)(i * 31 + k);
            return m;
        }

        public static void DeliversEverythingUnderLossAndReorder()
        {
            var a = new End();
            var b = new End();
            var rng = new Random(3);
            var want = new List<byte[]>[4];
            for (int s = 0; s < 4; s++) want[s] = new List<byte[]>();
            int[] sizes = { 3, 20, 1171, 1172, 3000, 9000, 1 };
            for (int i = 0; i < 60; i++)
            {
                int s = i % 3;
                var m = Msg(i, sizes[i % sizes.Length]);
                T.True(a.Ch.Send(s, m, 0, m.Length), "queued " + i);
                want[s].Add(m);
            }
            var wire = new List<Packet>();
            var back = new List<Packet>();
            long now = 0;
            var buf = new byte[Proto.MaxMessagePayload];
            for (int step = 0; step < 20000; step++)
            {
                now += 500;
                // a → b: data; b → a: acks (every datagram carries them).
                ushort seq = ++a.Seq;
                int l = a.Ch.Build(buf, 0, seq, now);
                if (l > 0 && rng.Next(100) >= 20)
                {
                    var p = new byte[l];
                    Buffer.BlockCopy(buf, 0, p, 0, l);
                    wire.Add(new Packet { Seq = seq, Payload = p, Len = l, At = now + rng.Next(3000) });
                }
                for (int i = wire.Count - 1; i >= 0; i--)
                {
                    if (wire[i].At > now) continue;
                    var p = wire[i];
                    wire.RemoveAt(i);
                    bool stored, rel;
                    T.True(b.Ch.OnPayload(p.Payload, 0, p.Len, out stored, out rel), "valid payload");
                    if (stored) b.Rx.Record(p.Seq);
                }
                ushort ack; uint bits;
                b.Rx.Ack(out ack, out bits);
                if (b.Rx.Any && rng.Next(100) >= 20) back.Add(new Packet { Ack = ack, Bits = bits, At = now + rng.Next(3000) });
                for (int i = back.Count - 1; i >= 0; i--)
                {
                    if (back[i].At > now) continue;
                    a.Ch.OnAck(back[i].Ack, back[i].Bits, now);
                    back.RemoveAt(i);
                }
                a.Ch.Timeouts(now);
                bool done = true;
                for (int s = 0; s < 4; s++) done &= b.Got[s].Count == want[s].Count;
                if (done) break;
            }
            for (int s = 0; s < 4; s++)
            {
                T.Equal(want[s].Count, b.Got[s].Count, "messages delivered on stream " + s);
                for (int i = 0; i < want[s].Count; i++)
                    T.Bytes(want[s][i], want[s][i].Length, b.Got[s][i], b.Got[s][i].Length, "stream " + s + " message " + i);
            }
            T.True(a.Ch.Retransmits > 0, "with 20 % loss something was resent");
            T.Log("60 messages (1 B … 9000 B) over 20 % loss and reordering: delivered in order, {0} chunks resent", a.Ch.Retransmits);
        }

        public static void BadChunksIgnoreThePayload()
        {
            var ch = new ReliableChannel();
            bool stored, rel;
            var p = new byte[16];
            Chunk.WriteWhole(p, 0, 5, 0, 2); // stream 5: neither below 4 nor 127
            T.True(!ch.OnPayload(p, 0, 7, out stored, out rel), "stream 5 refused");
            Chunk.WriteWhole(p, 0, 0, 0, 9); // data runs past the payload
            T.True(!ch.OnPayload(p, 0, 7, out stored, out rel), "short data refused");
            Chunk.WriteFragment(p, 0, 0, 0, 3, 10, 4, 2); // last fragment of 10 in 4s is 2 bytes, not 3
            T.True(!ch.OnPayload(p, 0, 16, out stored, out rel), "wrong fragment length refused");
            p[0] = 0x7f | 0x80;
            T.True(!ch.OnPayload(p, 0, 16, out stored, out rel), "fragment on stream 127 refused");
            T.True(ch.OnPayload(p, 0, 0, out stored, out rel) && stored && !rel, "an empty payload is a pure ack");
        }

        public static void OutsideWindowIsNotAcknowledged()
        {
            var ch = new ReliableChannel();
            bool stored, rel;
            var p = new byte[8];
            Chunk.WriteWhole(p, 0, 0, 300, 2); // message 300 with nothing delivered: beyond the 256-message window
            T.True(ch.OnPayload(p, 0, 7, out stored, out rel), "valid");
            T.True(!stored && rel, "not stored, so not acknowledged");
            Chunk.WriteWhole(p, 0, 0, 0xFFF0, 2); // behind the next to deliver: a duplicate
            T.True(ch.OnPayload(p, 0, 7, out stored, out rel) && stored, "old duplicate is acknowledged");
        }

        public static void GoldenFragmentParses()
        {
            var d = Hex.ReadFile(System.IO.Path.Combine(T.Root, "testdata", "wire", "message_fragment.hex"));
            var m = new MessageBody();
            T.True(m.Parse(d, 22, d.Length - 22), "message parses");
            var c = new Chunk();
            T.Equal(m.PayloadOffset + m.PayloadLength, c.Parse(d, m.PayloadOffset, m.PayloadOffset + m.PayloadLength), "one chunk");
            T.True(c.Fragment, "a fragment");
            T.Equal(2, c.Stream, "stream");
            T.Equal((ushort)65535, c.MsgId, "message id");
            T.Equal(3000U, c.MsgLen, "message length");
            T.Equal((ushort)1163, c.FragSize, "fragment size");
            T.Equal((ushort)2, c.Index, "index");
            T.Equal(674, c.Length, "data bytes");
        }
    }
}

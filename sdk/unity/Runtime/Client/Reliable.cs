using System;
using System.Collections.Generic;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>The client's end of a session's reliable channel (docs/PROTOCOL.md §15):
    /// four reliable-ordered streams, fragmentation and reassembly, packet
    /// acknowledgements from the session headers, fast retransmit after 3 later
    /// packets and RTO (RFC 6298) otherwise. Pure logic: time is passed in (µs) and
    /// the caller owns the socket and the packet numbers.</summary>
    public sealed class ReliableChannel
    {
        public const int Streams = Chunk.Streams;
        public const int RecvWindow = 256, MaxInFlight = 32, MaxChunksPerPacket = 64, PacketThreshold = 3;
        public const int MaxQueuedMessages = 8192, SendQueueBytes = 1 << 20, RecvBufferBytes = 1 << 20;
        public const long MinRto = 5000, MaxRto = 500000, InitialRtt = 10000, AckDelay = 1000;
        public const int AckEvery = 2;

        /// <summary>Payload bytes a Message may carry (1176 in clear, 1176 − 24 sealed, §17.3).</summary>
        public int Mtu = Proto.MaxMessagePayload;

        // ---- sender
        const byte FragPending = 0, FragInFlight = 1, FragAcked = 2;

        sealed class OutMsg
        {
            public int Stream;
            public ushort Id;
            public byte[] Data;
            public int Len, Frags, FragSize, Acked;
            public byte[] State; // per fragment: pending, in flight, acked
            public int Timeouts;
        }

        sealed class SentPacket
        {
            public bool Live;
            public ushort Seq;
            public long SentAt;
            public int N;
            public readonly OutMsg[] Msg = new OutMsg[MaxChunksPerPacket];
            public readonly int[] Frag = new int[MaxChunksPerPacket];
        }

        readonly List<OutMsg>[] queue = new List<OutMsg>[Streams];
        readonly int[] queuedBytes = new int[Streams];
        readonly ushort[] nextSendId = new ushort[Streams];
        readonly SentPacket[] sent = new SentPacket[MaxInFlight];
        int inFlight;
        int rr; // stream to serve first, in turn
        long srtt = InitialRtt, rttvar = InitialRtt / 2;
        bool rttSampled;

        // ---- receiver
        sealed class InMsg
        {
            public bool Used, Complete;
            public ushort Id;
            public byte[] Data;
            public int Len, FragSize, Frags, Have;
            public bool[] Got;
        }

        readonly InMsg[][] slots = new InMsg[Streams][];
        readonly ushort[] nextDeliver = new ushort[Streams];
        int heldBytes;

        /// <summary>Called for each message delivered, in order per stream: stream, data, length. The array is the message's own.</summary>
        public Action<int, byte[], int> OnDeliver;

        /// <summary>Counters.</summary>
        public long Retransmits, Delivered, Refused;

        /// <summary>Reliable packets received and not yet acknowledged by a datagram of ours; when the first arrived; whether one came out of order.</summary>
        public int AckPending;
        public long AckPendingSince;
        public bool AckNow;

        public ReliableChannel()
        {
            for (int s = 0; s < Streams; s++)
            {
                queue[s] = new List<OutMsg>();
                slots[s] = new InMsg[RecvWindow];
                for (int i = 0; i < RecvWindow; i++) slots[s][i] = new InMsg();
            }
            for (int i = 0; i < MaxInFlight; i++) sent[i] = new SentPacket();
        }

        public long Rto { get { return Math.Min(MaxRto, Math.Max(MinRto, srtt + 4 * rttvar)); } }
        public long SmoothedRtt { get { return srtt; } }

        /// <summary>Queues one message (an RPC: type id, then body) on a reliable stream; false if the queue is full or the message too large.</summary>
        public bool Send(int stream, byte[] msg, int off, int len)
        {
            if (stream < 0 || stream >= Streams || len < 1 || len > Chunk.MaxMessage) return false;
            var q = queue[stream];
            if (q.Count >= MaxQueuedMessages || queuedBytes[stream] + len > SendQueueBytes) return false;
            var m = new OutMsg { Stream = stream, Id = nextSendId[stream]++, Data = new byte[len], Len = len };
            Buffer.BlockCopy(msg, off, m.Data, 0, len);
            if (len + Chunk.HeaderSize <= Mtu)
            {
                m.Frags = 1; m.FragSize = len;
            }
            else
            {
                m.FragSize = Mtu - Chunk.HeaderSize - Chunk.FragmentExtSize;
                m.Frags = (len + m.FragSize - 1) / m.FragSize;
            }
            m.State = new byte[m.Frags];
            q.Add(m);
            queuedBytes[stream] += len;
            return true;
        }

        /// <summary>Calls fn, stream by stream and in order, with every message not yet acknowledged
        /// whole: what a new channel to another server must carry again (a standby pair's takeover,
        /// §18.5). The array is the channel's own copy (length first); fn must not keep it.</summary>
        public void Unacked(Action<int, byte[], int> fn)
        {
            for (int s = 0; s < Streams; s++)
                foreach (var m in queue[s])
                    if (m.Acked < m.Frags) fn(s, m.Data, m.Len);
        }

        /// <summary>Whether Build would write reliable data now.</summary>
        public bool HasDataToSend
        {
            get
            {
                if (inFlight >= MaxInFlight) return false;
                for (int s = 0; s < Streams; s++)
                    foreach (var m in queue[s])
                        for (int f = 0; f < m.Frags; f++)
                            if (m.State[f] == FragPending) return true;
                return false;
            }
        }

        /// <summary>Writes the chunks of the next Message payload at b[o..] (at most Mtu bytes) for packet seq;
        /// returns the payload length (0: nothing to send).</summary>
        public int Build(byte[] b, int o, ushort seq, long now)
        {
            if (inFlight >= MaxInFlight) return 0;
            SentPacket pk = null;
            for (int i = 0; i < MaxInFlight; i++) if (!sent[i].Live) { pk = sent[i]; break; }
            if (pk == null) return 0;
            pk.N = 0;
            int p = o, end = o + Mtu;
            for (int k = 0; k < Streams && pk.N < MaxChunksPerPacket; k++)
            {
                int s = (rr + k) % Streams;
                var q = queue[s];
                for (int mi = 0; mi < q.Count && pk.N < MaxChunksPerPacket; mi++)
                {
                    var m = q[mi];
                    if ((ushort)(m.Id - q[0].Id) > RecvWindow - 1) break; // never more than 255 past the oldest unacked
                    for (int f = 0; f < m.Frags && pk.N < MaxChunksPerPacket; f++)
                    {
                        if (m.State[f] != FragPending) continue;
                        if (m.Frags == 1)
                        {
                            if (p + Chunk.HeaderSize + m.Len > end) goto full;
                            int d = Chunk.WriteWhole(b, p, s, m.Id, m.Len);
                            Buffer.BlockCopy(m.Data, 0, b, d, m.Len);
                            p = d + m.Len;
                        }
                        else
                        {
                            int start = f * m.FragSize, n = Math.Min(m.FragSize, m.Len - start);
                            if (p + Chunk.HeaderSize + Chunk.FragmentExtSize + n > end) goto full;
                            int d = Chunk.WriteFragment(b, p, s, m.Id, n, (uint)m.Len, (ushort)m.FragSize, (ushort)f);
                            Buffer.BlockCopy(m.Data, start, b, d, n);
                            p = d + n;
                        }
                        m.State[f] = FragInFlight;
                        pk.Msg[pk.N] = m; pk.Frag[pk.N] = f; pk.N++;
                    }
                }
            }
        full:
            rr = (rr + 1) % Streams;
            if (pk.N == 0) return 0;
            pk.Live = true; pk.Seq = seq; pk.SentAt = now;
            inFlight++;
            return p - o;
        }

        static bool Acked(ushort seq, ushort ack, uint bits)
        {
            if (seq == ack) return true;
            int d = (ushort)(ack - seq) - 1;
            return d >= 0 && d < 32 && (bits >> d & 1) != 0;
        }

        /// <summary>Applies a session datagram's ack and ack bits: acknowledged packets free their chunks; packets 3 or more behind the ack, or past their RTO, are lost and their chunks resent.</summary>
        public void OnAck(ushort ack, uint bits, long now)
        {
            // Packets, then losses: a packet not acknowledged is lost when one sent 3 or more later
            // was (the ack names every packet of ours, whatever its type), or when a later reliable
            // packet was acknowledged and it was sent more than 9/8 of max(SRTT, latest RTT) ago.
            long newestAckedSent = long.MinValue;
            for (int i = 0; i < MaxInFlight; i++)
            {
                var pk = sent[i];
                if (!pk.Live || !Acked(pk.Seq, ack, bits)) continue;
                if (pk.Seq == ack) Sample(now - pk.SentAt);
                newestAckedSent = Math.Max(newestAckedSent, pk.SentAt);
                for (int c = 0; c < pk.N; c++) AckFrag(pk.Msg[c], pk.Frag[c]);
                Free(pk);
            }
            long timeThreshold = 9 * Math.Max(srtt, latestRtt) / 8;
            for (int i = 0; i < MaxInFlight; i++)
            {
                var pk = sent[i];
                if (!pk.Live) continue;
                if ((short)(ack - pk.Seq) >= PacketThreshold || (pk.SentAt < newestAckedSent && now - pk.SentAt > timeThreshold))
                    Lose(pk);
            }
            Timeouts(now);
        }

        /// <summary>Declares lost the packets past their RTO (doubling per timeout of their messages, at most 500 ms).</summary>
        public void Timeouts(long now)
        {
            for (int i = 0; i < MaxInFlight; i++)
            {
                var pk = sent[i];
                if (!pk.Live) continue;
                int t = 0;
                for (int c = 0; c < pk.N; c++) t = Math.Max(t, pk.Msg[c].Timeouts);
                long rto = Math.Min(MaxRto, Rto << Math.Min(6, t));
                if (now - pk.SentAt < rto) continue;
                for (int c = 0; c < pk.N; c++) pk.Msg[c].Timeouts++;
                Lose(pk);
            }
        }

        /// <summary>The earliest time a retransmission timer expires, or long.MaxValue.</summary>
        public long NextTimeout()
        {
            long t = long.MaxValue;
            for (int i = 0; i < MaxInFlight; i++)
                if (sent[i].Live) t = Math.Min(t, sent[i].SentAt + Rto);
            return t;
        }

        long latestRtt = InitialRtt;

        void Sample(long r)
        {
            if (r < 0) return;
            latestRtt = r;
            if (!rttSampled) { srtt = r; rttvar = r / 2; rttSampled = true; return; }
            long err = Math.Abs(srtt - r);
            rttvar = (3 * rttvar + err) / 4;
            srtt = (7 * srtt + r) / 8;
        }

        void AckFrag(OutMsg m, int f)
        {
            if (m.State[f] == FragAcked) return;
            m.State[f] = FragAcked;
            if (++m.Acked < m.Frags) return;
            queue[m.Stream].Remove(m);
            queuedBytes[m.Stream] -= m.Len;
        }

        void Lose(SentPacket pk)
        {
            for (int c = 0; c < pk.N; c++)
            {
                var m = pk.Msg[c];
                if (m.State[pk.Frag[c]] == FragInFlight) { m.State[pk.Frag[c]] = FragPending; Retransmits++; }
            }
            Free(pk);
        }

        void Free(SentPacket pk)
        {
            pk.Live = false;
            for (int c = 0; c < pk.N; c++) pk.Msg[c] = null;
            pk.N = 0;
            inFlight--;
        }

        /// <summary>Takes a Message payload b[o..o+n). Returns false when a chunk breaks §15.2 (the whole
        /// payload is ignored, acks included). stored is false when a reliable chunk could not be kept (the
        /// packet must not be acknowledged); reliable is whether it carried reliable chunks.</summary>
        public bool OnPayload(byte[] b, int o, int n, out bool stored, out bool reliable)
        {
            stored = true; reliable = false;
            int end = o + n;
            var c = new Chunk();
            for (int p = o; p < end;)
            {
                p = c.Parse(b, p, end);
                if (p < 0) return false;
            }
            for (int p = o; p < end;)
            {
                p = c.Parse(b, p, end);
                if (c.Stream == Chunk.UnreliableStream) continue; // no RPC travels on it in version 1
                reliable = true;
                if (!Store(ref c, b)) { stored = false; Refused++; }
            }
            for (int s = 0; s < Streams; s++) DeliverReady(s);
            return true;
        }

        bool Store(ref Chunk c, byte[] b)
        {
            int s = c.Stream;
            int dist = (ushort)(c.MsgId - nextDeliver[s]);
            if (dist >= 32768) return true; // delivered already: a duplicate
            if (dist >= RecvWindow) return false;
            var m = slots[s][c.MsgId & (RecvWindow - 1)];
            if (m.Used)
            {
                if (m.Complete) return true;
                if (!c.Fragment || m.Len != (int)c.MsgLen || m.FragSize != c.FragSize) return false;
                if (m.Got[c.Index]) return true;
            }
            else
            {
                int need = (int)c.MsgLen;
                if (dist != 0 && heldBytes + need > RecvBufferBytes) return false; // the head message is exempt
                m.Used = true; m.Id = c.MsgId; m.Len = need; m.Data = new byte[Math.Max(1, need)];
                heldBytes += need;
                if (!c.Fragment)
                {
                    Buffer.BlockCopy(b, c.DataOffset, m.Data, 0, c.Length);
                    m.Complete = true;
                    return true;
                }
                m.FragSize = c.FragSize;
                m.Frags = (need + c.FragSize - 1) / c.FragSize;
                m.Got = new bool[m.Frags];
                m.Have = 0;
            }
            Buffer.BlockCopy(b, c.DataOffset, m.Data, c.Index * m.FragSize, c.Length);
            m.Got[c.Index] = true;
            if (++m.Have == m.Frags) m.Complete = true;
            return true;
        }

        void DeliverReady(int s)
        {
            for (;;)
            {
                var m = slots[s][nextDeliver[s] & (RecvWindow - 1)];
                if (!m.Used || !m.Complete || m.Id != nextDeliver[s]) return;
                var data = m.Data;
                int len = m.Len;
                heldBytes -= len;
                m.Used = false; m.Complete = false; m.Data = null; m.Got = null;
                nextDeliver[s]++;
                Delivered++;
                if (OnDeliver != null) OnDeliver(s, data, len);
            }
        }

        /// <summary>Notes a reliable packet received (to acknowledge), inOrder whether its seq was the next expected.</summary>
        public void NoteReceived(long now, bool inOrder)
        {
            if (AckPending == 0) AckPendingSince = now;
            AckPending++;
            if (!inOrder || AckPending >= AckEvery) AckNow = true;
        }

        /// <summary>Whether a pure acknowledgement is due (nothing else was sent since the packets arrived).</summary>
        public bool AckDue(long now) { return AckPending > 0 && (AckNow || now - AckPendingSince >= AckDelay); }

        /// <summary>Any datagram we send carries the acks: nothing is pending any more.</summary>
        public void AcksSent() { AckPending = 0; AckNow = false; }
    }
}

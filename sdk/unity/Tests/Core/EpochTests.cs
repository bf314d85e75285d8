using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The session across a standby pair's takeover (docs/PROTOCOL.md §18.4, §18.5): the fence
    /// by epoch, the move to a higher one with its sequence windows and reliable channel started
    /// again, and the allocation budget of epoch-stamped datagrams.</summary>
    public static partial class SessionTests
    {
        // Datagram d as a standby pair's server sends it under epoch e (§18.1).
        static byte[] Stamp(byte[] d, uint e)
        {
            var s = new byte[d.Length + HeaderFlags.EpochSize];
            Buffer.BlockCopy(d, 0, s, 0, d.Length);
            s[Header.OffFlags] |= HeaderFlags.Epoch;
            Bytes.PutU32(s, d.Length, e);
            return s;
        }

        // As Connect, the server's replies under epoch e: a session of a pair's active server.
        static Session ConnectEpoch(FakeNet net, long now, uint e)
        {
            var s = new Session(new ClientConfig { Server = new IPEndPoint(IPAddress.Loopback, 7777), Name = "t" }, net);
            s.Start(now);
            var cr = new ConnectRequest();
            var req = net.Last(PacketType.ConnectRequest);
            T.True(cr.Parse(req, 22, req.Length - 22), "ConnectRequest parses");
            var ch = new Challenge { Nonce = cr.Nonce };
            var d = Stamp(Datagram(PacketType.Challenge, 0, 0, (b, o) => ch.Write(b, o)), e);
            s.OnDatagram(d, d.Length, false, now);
            var r = new ChallengeResponse();
            var resp = net.Last(PacketType.ChallengeResponse);
            T.True(resp != null && r.Parse(resp, 22, resp.Length - 22), "ChallengeResponse sent to a stamped Challenge");
            var acc = new Accepted { Nonce = r.Nonce, ClientId = 7, TickRate = Rate, ServerTime = (ulong)now, McastPort = 7778, GroupToken = Group };
            acc.McastAddr[0] = 239; acc.McastAddr[1] = 255; acc.McastAddr[2] = 77; acc.McastAddr[3] = 77;
            d = Stamp(Datagram(PacketType.Accepted, Token, 0, (b, o) => acc.Write(b, o)), e);
            s.OnDatagram(d, d.Length, false, now);
            T.Equal(ConnectionState.Connected, s.State, "connected by a stamped Accepted");
            return s;
        }

        // The tick whose server time the session's clock (server time = client time) says at now.
        static uint TickAt(long now) { return (uint)(now * Rate / 1000000) - 1; }

        static byte[] SnapAt(long now, ushort seq, bool group, uint e)
        {
            uint t = TickAt(now);
            return Stamp(Snap(t, TimeOf(t), seq, group, 3), e);
        }

        // The header of the newest datagram the session sent.
        static Header LastSent(FakeNet net)
        {
            var h = new Header();
            var d = net.Sent[net.Sent.Count - 1];
            h.Parse(d, d.Length);
            return h;
        }

        /// <summary>A session accepts state only under the highest epoch it has seen, moves to a higher
        /// one at once (a standby took over: its sequence starts again), refuses the old primary's state
        /// and state without an epoch, and takes a lower epoch only after FenceLease of silence under
        /// its own (§18.4); a session whose server sends no epoch fences nothing.</summary>
        public static void EpochFence()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = ConnectEpoch(net, now, 2);
            T.True(s.HasEpoch && s.Epoch == 2, "after an Accepted under epoch 2: epoch " + s.Epoch);
            now += 8333;
            var d = SnapAt(now, 40, true, 2);
            s.OnDatagram(d, d.Length, true, now);
            d = SnapAt(now, 50, false, 2);
            s.OnDatagram(d, d.Length, false, now);
            long ticks = s.Stats.TicksComplete;
            T.True(ticks >= 1, "the primary's tick taken");
            T.True(!s.Moved(), "no move under the first epoch");

            // The standby takes over under epoch 3: its sequences start at 0.
            now += 8333;
            d = SnapAt(now, 0, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            T.True(s.Moved() && !s.Moved(), "Moved is true once after the epoch rose");
            T.Equal(3U, s.Epoch, "epoch after the takeover");
            T.Equal(ticks + 1, s.Stats.TicksComplete, "the new server's first state taken");
            d = SnapAt(now, 0, false, 3);
            s.OnDatagram(d, d.Length, false, now);
            s.SendPose(ref pose0, now);
            var h = LastSent(net);
            T.Equal((ushort)0, h.Ack, "the ack names the new server's seq 0, not the old server's 50");
            T.Equal(0U, h.AckBits, "no ack bits of the old server's numbering");
            T.Equal(0L, s.GroupLost, "the group's new numbering is not counted as loss");

            // The old primary, back: under epoch 2, or with no epoch at all.
            now += 8333;
            d = SnapAt(now, 51, true, 2);
            s.OnDatagram(d, d.Length, true, now);
            var plain = Snap(TickAt(now), TimeOf(TickAt(now)), 52, false, 3);
            s.OnDatagram(plain, plain.Length, false, now);
            T.Equal(2L, s.Stats.DroppedStaleEpoch, "stale-epoch drops");
            T.Equal(ticks + 1, s.Stats.TicksComplete, "nothing of the old primary taken");
            d = SnapAt(now, 1, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            T.Equal(ticks + 2, s.Stats.TicksComplete, "the new server's next tick taken");

            // Another session's datagram under a higher epoch moves nothing; nor does a trailer that does not fit.
            var other = Snap(TickAt(now), TimeOf(TickAt(now)), 2, false, 3);
            Bytes.PutU64(other, Header.OffToken, 0x0badc0deUL);
            other = Stamp(other, 9);
            T.True(!s.MayMove(other, other.Length, false, now), "another session's datagram is no candidate");
            s.OnDatagram(other, other.Length, false, now);
            var shortd = Datagram(PacketType.Snapshot, Group, 3, (b, o) => o + 2);
            shortd[Header.OffFlags] |= HeaderFlags.Epoch;
            long dropped = s.Stats.Dropped;
            s.OnDatagram(shortd, shortd.Length, true, now);
            T.Equal(dropped + 1, s.Stats.Dropped, "a trailer that does not fit is dropped");
            T.Equal(3U, s.Epoch, "epoch after foreign and short datagrams");
            T.Equal(1L, s.Stats.EpochChanges, "epoch changes");

            // Candidates for a move (what the Client reads the source of).
            d = SnapAt(now, 60, false, 2);
            T.True(!s.MayMove(d, d.Length, false, now), "a lower epoch within the lease is no candidate");
            d = SnapAt(now, 60, true, 5);
            T.True(s.MayMove(d, d.Length, true, now), "a higher epoch from the group is a candidate");
            T.True(!s.MayMove(plain, plain.Length, false, now), "a datagram without an epoch is no candidate");

            // Nothing under epoch 3 for longer than the lease: epoch 2 is taken.
            now += Session.FenceLease + 1000;
            d = SnapAt(now, 53, true, 2);
            T.True(s.MayMove(d, d.Length, true, now), "after the lease a lower epoch is a candidate");
            s.OnDatagram(d, d.Length, true, now);
            T.Equal(2U, s.Epoch, "epoch after the lease ran out");
            T.Equal(2L, s.Stats.EpochChanges, "epoch changes after the lease");
            T.Equal(ticks + 3, s.Stats.TicksComplete, "the lower epoch's state taken after the lease");
            T.True(s.Moved(), "the lease's move is reported");

            // A server that is not of a pair: nothing is fenced.
            var net2 = new FakeNet();
            var s2 = Connect(net2, 1000000);
            d = Snap(TickAt(1008333), TimeOf(TickAt(1008333)), 1, true, 3);
            s2.OnDatagram(d, d.Length, true, 1008333);
            T.True(!s2.HasEpoch && s2.Stats.TicksComplete == 1 && s2.Stats.DroppedStaleEpoch == 0, "no epoch: nothing fenced");
            T.True(!s2.MayMove(SnapAt(1008333, 2, true, 9), 22 + 100, true, 1008333), "no epoch: no candidate");
        }

        static PoseSample pose0 = new PoseSample { HeadRW = 1, LeftRW = 1, RightRW = 1, HeadY = 1.6f };

        /// <summary>At a move to a higher epoch the session's reliable channel starts again, as the new
        /// server's does (§18.5), with the RPCs the old server had not acknowledged queued on it again,
        /// in order, under message ids from 0: the next Step sends them.</summary>
        public static void EpochMoveRestartsReliable()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = ConnectEpoch(net, now, 2);
            now += 1000;
            // Ids 0..4 go to the old server; it acknowledges the first two (its Pong's header acks
            // every datagram the session sent so far, the RPCs' among them).
            for (int i = 0; i < 2; i++) T.True(s.SendRpc(Rpc.StreamControl, new byte[] { 0x7f, 0x00, (byte)i }, 0, 3, now), "RPC queued");
            var sent = net.Sent[net.Sent.Count - 1];
            var ackd = Datagram(PacketType.Pong, Token, 1, (b, o) => new Pong().Write(b, o));
            Bytes.PutU16(ackd, Header.OffAck, Bytes.U16(sent, Header.OffSeq));
            Bytes.PutU32(ackd, Header.OffAckBits, 0xffffffff);
            ackd = Stamp(ackd, 2);
            s.OnDatagram(ackd, ackd.Length, false, now);
            int before = 0;
            s.Reliable.Unacked((st, m, l) => before++);
            T.Equal(0, before, "the old server acknowledged the first two");
            for (int i = 2; i < 5; i++) T.True(s.SendRpc(Rpc.StreamControl, new byte[] { 0x7f, 0x00, (byte)i }, 0, 3, now), "RPC queued");
            var old = s.Reliable;

            now += 1000;
            var d = SnapAt(now, 0, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            T.True(s.Reliable != old, "the reliable channel is the old server's after the move");
            var again = new List<byte>();
            s.Reliable.Unacked((st, m, l) => { T.Equal(Rpc.StreamControl, st, "stream"); T.Equal(3, l, "length"); again.Add(m[2]); });
            T.Equal("2,3,4", string.Join(",", again), "queued on the new channel, in order");

            int mark = net.Sent.Count;
            s.Step(now + 1000);
            var ids = new List<string>();
            for (int i = mark; i < net.Sent.Count; i++)
            {
                var m = net.Sent[i];
                if (m[Header.OffType] != PacketType.Message) continue;
                var body = new MessageBody();
                T.True(body.Parse(m, 22, m.Length - 22), "Message parses");
                var c = new Chunk();
                for (int p = body.PayloadOffset, end = p + body.PayloadLength; p < end;)
                {
                    p = c.Parse(m, p, end);
                    T.True(p > 0, "chunk parses");
                    ids.Add(c.MsgId + ":" + m[c.DataOffset + 2]);
                }
            }
            T.Equal("0:2,1:3,2:4", string.Join(",", ids), "the new server gets ids 0.. for the unacknowledged RPCs, in order");
            T.Equal(0L, s.Stats.RpcsLostAtMove, "no RPC lost at the move");
        }

        /// <summary>A session of a pair's server takes epoch-stamped snapshots (and drops stale ones)
        /// without allocating, as it does unstamped ones; MayMove allocates nothing either.</summary>
        public static void EpochStampedReceiveAllocatesNothing()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = ConnectEpoch(net, now, 3);
            net.Keep = false;
            var snaps = new byte[2000][];
            for (int i = 0; i < snaps.Length; i++)
            {
                uint t = (uint)(119 + i);
                snaps[i] = Stamp(Snap(t, TimeOf(t), (ushort)(i + 1), true, 3, 4, 5), 3);
            }
            var stale = Stamp(Snap(119, TimeOf(119), 1, true, 3), 2);
            for (int i = 0; i < 100; i++) { s.OnDatagram(snaps[i], snaps[i].Length, true, now + i * 8333); Drain(s); }
            var p = pose0;
            var buf = new byte[1200];
            ClientEvent e;
            bool any = false;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 100; i < snaps.Length; i++)
            {
                long at = now + i * 8333;
                Buffer.BlockCopy(snaps[i], 0, buf, 0, snaps[i].Length);
                any |= s.MayMove(buf, snaps[i].Length, true, at);
                s.OnDatagram(buf, snaps[i].Length, true, at);
                Buffer.BlockCopy(stale, 0, buf, 0, stale.Length);
                any |= s.MayMove(buf, stale.Length, true, at);
                s.OnDatagram(buf, stale.Length, true, at);
                while (s.Events.TryPop(out e)) { }
                s.SendPose(ref p, at);
            }
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            T.Log("{0} stamped snapshots and {0} stale ones received, {0} poses sent: {1} bytes allocated", snaps.Length - 100, bytes);
            T.Equal(0L, bytes, "bytes allocated");
            T.True(!any, "no candidate for a move under the session's own epoch");
            T.Equal((long)(snaps.Length - 100), s.Stats.DroppedStaleEpoch, "every stale one dropped");
            T.True(s.Stats.TicksComplete >= 1900, "ticks completed: " + s.Stats.TicksComplete);
        }

        /// <summary>A session of a pair's server takes every golden vector mutated at random, with and
        /// without FlagEpoch and trailers of any epoch (most with its tokens, as anyone on the LAN can
        /// send them): nothing throws, MayMove agrees with what the session does, and it stays
        /// connected (forged Disconnects left out, as in HostileInputTests). A forged higher epoch
        /// moves an open-mode session, as §18.4 says.</summary>
        public static void MutatedStampedDatagramsNeverThrow()
        {
            var files = Directory.GetFiles(Path.Combine(T.Root, "testdata", "wire"), "*.hex");
            var vectors = new byte[files.Length][];
            for (int i = 0; i < files.Length; i++) vectors[i] = Hex.ReadFile(files[i]);
            var net = new FakeNet();
            var s = ConnectEpoch(net, 1000000, 2);
            net.Keep = false;
            var rng = new Random(13);
            var buf = new byte[Proto.MaxDatagramSize + 64];
            int disagreed = 0;
            for (int round = 0; round < 20000; round++)
            {
                var v = vectors[rng.Next(vectors.Length)];
                int len = Math.Min(Proto.MaxDatagramSize + 8, Math.Max(0, v.Length + (rng.Next(4) == 0 ? rng.Next(-30, 30) : 0)));
                Buffer.BlockCopy(v, 0, buf, 0, Math.Min(len, v.Length));
                for (int k = v.Length; k < len; k++) buf[k] = (byte)rng.Next(256);
                int flips = rng.Next(0, 4);
                for (int k = 0; k < flips && len > 0; k++) buf[rng.Next(len)] ^= (byte)(1 << rng.Next(8));
                bool group = rng.Next(2) == 0;
                long now = 1000000 + round * 100L;
                if (len >= Proto.HeaderSize)
                {
                    if (rng.Next(4) != 0) Bytes.PutU64(buf, Header.OffToken, group ? s.GroupToken : s.Token);
                    if (rng.Next(3) != 0 && len + 4 <= buf.Length)
                    {
                        // Stamped: the session's epoch mostly, a neighbour or any other sometimes.
                        uint e = s.Epoch;
                        int pick = rng.Next(8);
                        if (pick == 0) e = (uint)rng.Next();
                        else if (pick == 1) e = s.Epoch - 1;
                        else if (pick == 2 && round % 500 == 0) e = s.Epoch + 1;
                        buf[Header.OffFlags] |= HeaderFlags.Epoch;
                        Bytes.PutU32(buf, len, e);
                        len += 4;
                    }
                    if (len > Header.OffType && buf[Header.OffType] == PacketType.Disconnect) buf[Header.OffType] = PacketType.Ping;
                }
                bool may = s.MayMove(buf, len, group, now);
                long changes = s.Stats.EpochChanges;
                s.OnDatagram(buf, len, group, now);
                bool movedNow = s.Stats.EpochChanges != changes;
                s.Moved();
                if (movedNow && !may && (buf[Header.OffFlags] & HeaderFlags.Sealed) == 0) disagreed++;
                if (round % 64 == 0) // the real server (of the session's epoch) keeps the session alive
                {
                    var pong = Stamp(Datagram(PacketType.Pong, s.Token, (ushort)(60000 + round / 64), (b, o) => o + 28), s.Epoch);
                    s.OnDatagram(pong, pong.Length, false, now);
                }
                s.Step(now);
                ClientEvent ev;
                while (s.Events.TryPop(out ev)) { }
            }
            T.Equal(ConnectionState.Connected, s.State, "still connected");
            T.Equal(0, disagreed, "moves that MayMove did not foresee");
            T.Log("20000 mutated datagrams, most stamped, through a pair's session: no exception; epoch {0} after {1} changes, {2} stale-epoch drops, {3} dropped",
                s.Epoch, s.Stats.EpochChanges, s.Stats.DroppedStaleEpoch, s.Stats.Dropped + s.Stats.DroppedToken);
        }
    }
}

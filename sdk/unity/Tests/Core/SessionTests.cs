using System;
using System.Collections.Generic;
using System.Net;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The Session's protocol logic against a hand-written fake server: the handshake, the
    /// state rules of §10 and §10.2, leaving, and the allocation budget of the receive path.</summary>
    public static partial class SessionTests
    {
        sealed class FakeNet : ITransport
        {
            public readonly List<byte[]> Sent = new List<byte[]>();
            public bool Joined;
            public bool Keep = true;

            public void Send(byte[] b, int n)
            {
                if (!Keep) return;
                var c = new byte[n];
                Buffer.BlockCopy(b, 0, c, 0, n);
                Sent.Add(c);
            }

            public bool JoinGroup(byte[] addr, int port) { Joined = true; return true; }

            public byte[] Last(byte type)
            {
                for (int i = Sent.Count - 1; i >= 0; i--) if (Sent[i][4] == type) return Sent[i];
                return null;
            }
        }

        const ulong Token = 0x1122334455667788UL, Group = 0xc0ffee0ddba11ad5UL;
        const ushort Rate = 120;

        static byte[] Datagram(byte type, ulong token, ushort seq, Func<byte[], int, int> body)
        {
            var b = new byte[Proto.MaxDatagramSize];
            var h = new Header { Type = type, Token = token, Seq = seq, Ack = 0xFFFF };
            h.Write(b);
            int e = body(b, Proto.HeaderSize);
            var d = new byte[e];
            Buffer.BlockCopy(b, 0, d, 0, e);
            return d;
        }

        // A session connected at now = 1 s, server clock = client clock (server time 1 s).
        static Session Connect(FakeNet net, long now, int events = 0)
        {
            var s = new Session(new ClientConfig { Server = new IPEndPoint(IPAddress.Loopback, 7777), Name = "t", EventCapacity = events }, net);
            s.Start(now);
            var cr = new ConnectRequest();
            var req = net.Last(PacketType.ConnectRequest);
            T.Equal(1200, req.Length, "ConnectRequest is 1200 bytes");
            T.True(cr.Parse(req, 22, req.Length - 22), "ConnectRequest parses");
            var ch = new Challenge { Nonce = cr.Nonce };
            for (int i = 0; i < 32; i++) ch.Cookie[i] = (byte)i;
            var d = Datagram(PacketType.Challenge, 0, 0, (b, o) => ch.Write(b, o));
            s.OnDatagram(d, d.Length, false, now);
            var resp = net.Last(PacketType.ChallengeResponse);
            var r = new ChallengeResponse();
            T.True(resp != null && r.Parse(resp, 22, resp.Length - 22), "ChallengeResponse sent");
            T.Equal(cr.Nonce, r.Nonce, "same nonce");
            T.Equal((byte)5, r.Cookie[5], "cookie returned");
            var acc = new Accepted { Nonce = r.Nonce, ClientId = 7, TickRate = Rate, ServerTime = (ulong)now, McastPort = 7778, GroupToken = Group };
            acc.McastAddr[0] = 239; acc.McastAddr[1] = 255; acc.McastAddr[2] = 77; acc.McastAddr[3] = 77;
            d = Datagram(PacketType.Accepted, Token, 0, (b, o) => acc.Write(b, o));
            s.OnDatagram(d, d.Length, false, now);
            T.Equal(ConnectionState.Connected, s.State, "connected");
            T.True(net.Joined, "joined the group");
            T.Equal((ushort)7, s.ClientId, "client id");
            return s;
        }

        // The snapshot of tick t (server time within its period), one part, players ids.
        static byte[] Snap(uint tick, ulong serverTime, ushort seq, bool group, params ushort[] ids)
        {
            var sn = new Snapshot { Tick = tick, ServerTime = serverTime, Part = 0, Parts = 1, PlayerCount = (ushort)ids.Length };
            sn.NumPlayers = ids.Length;
            for (int i = 0; i < ids.Length; i++)
                sn.Players[i] = new PlayerRecord { ClientId = ids[i], InputSeq = tick, Head = QPose.Identity, Left = QPose.Identity, Right = QPose.Identity };
            sn.NumEntities = 1;
            sn.Entities[0] = new EntityRecord { Id = 9, Flags = 4, Pose = QPose.From(0, 1, (float)(tick % 100) / 100f, 0, 0, 0, 1) };
            return Datagram(PacketType.Snapshot, group ? Group : Token, seq, (b, o) => sn.Write(b, o));
        }

        static ulong TimeOf(uint tick) { return (tick + 1) * 1000000UL / Rate + 10; }

        static List<ClientEvent> Drain(Session s)
        {
            var l = new List<ClientEvent>();
            ClientEvent e;
            while (s.Events.TryPop(out e)) l.Add(e);
            return l;
        }

        static int Count(List<ClientEvent> l, EventKind k, ushort id)
        {
            int n = 0;
            foreach (var e in l) if (e.Kind == k && (id == 0 || e.Id == id)) n++;
            return n;
        }

        /// <summary>A session connected at now by the fake server, sending nowhere.</summary>
        public static Session Connected(long now)
        {
            var net = new FakeNet();
            var s = Connect(net, now);
            net.Keep = false;
            return s;
        }

        public static void JoinAndLeaveByCompleteTicks()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = Connect(net, now);
            Drain(s);
            uint t = 119; // server time ≈ 1 s
            var d = Snap(t, TimeOf(t), 1, true, 3, 4);
            s.OnDatagram(d, d.Length, true, now);
            var ev = Drain(s);
            T.Equal(1, Count(ev, EventKind.PlayerJoined, 3), "3 joined");
            T.Equal(1, Count(ev, EventKind.PlayerJoined, 4), "4 joined");
            T.Equal(1, Count(ev, EventKind.Entity, 9), "entity applied");
            d = Snap(t + 1, TimeOf(t + 1), 2, true, 3);
            s.OnDatagram(d, d.Length, true, now + 8000);
            ev = Drain(s);
            T.Equal(1, Count(ev, EventKind.PlayerLeft, 4), "4 left with the first complete tick without it");
            T.Equal(0, Count(ev, EventKind.PlayerLeft, 3), "3 stays");
        }

        public static void DuplicatesAndStaleStateAreIgnored()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = Connect(net, now);
            uint t = 119;
            var d = Snap(t, TimeOf(t), 1, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            Drain(s);
            var u = Snap(t, TimeOf(t), 5, false, 3); // the same tick by unicast: a copy
            s.OnDatagram(u, u.Length, false, now);
            T.Equal(0, Drain(s).Count, "a part received by both paths is applied once");
            T.Equal(1L, s.Stats.DroppedDuplicate, "counted as a duplicate");
            var old = Snap(t - 1, TimeOf(t - 1), 6, true, 3);
            s.OnDatagram(old, old.Length, true, now);
            T.Equal(0, Drain(s).Count, "an older tick is ignored");
        }

        public static void ForgedFutureStateIsBounded()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = Connect(net, now);
            // 300 ms ahead of the server clock: refused outright.
            uint far = 119 + 36;
            var d = Snap(far, TimeOf(far), 1, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            T.Equal(1L, s.Stats.DroppedImplausible, "300 ms ahead is implausible");
            // A tick that does not match its server time: refused.
            d = Snap(119 + 10, TimeOf(119), 2, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            T.Equal(2L, s.Stats.DroppedImplausible, "tick 10 off its server time is implausible");
            // 200 ms ahead: taken, but real older state still wins it back, since it is > 30 ms ahead.
            uint ahead = 119 + 24;
            d = Snap(ahead, TimeOf(ahead), 3, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            Drain(s);
            d = Snap(119, TimeOf(119), 4, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            var ev = Drain(s);
            T.Equal(1, Count(ev, EventKind.TickComplete, 0), "the real older tick is taken over the forged future one");
        }

        public static void EntityUpdateCopiesByTheOtherPathAreIgnored()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = Connect(net, now);
            var d = Snap(119, TimeOf(119), 1, true, 3);
            s.OnDatagram(d, d.Length, true, now);
            Drain(s);
            var upd = new EntityUpdate { Tick = 119, ServerTime = TimeOf(119) + 100, NumEntities = 1 };
            upd.Entities[0] = new EntityRecord { Id = 9, Flags = 1, Pose = QPose.Identity };
            var g = Datagram(PacketType.EntityUpdate, Group, 2, (b, o) => upd.Write(b, o));
            var u = Datagram(PacketType.EntityUpdate, Token, 2, (b, o) => upd.Write(b, o));
            s.OnDatagram(g, g.Length, true, now);
            s.OnDatagram(u, u.Length, false, now);
            var ev = Drain(s);
            T.Equal(1, Count(ev, EventKind.Entity, 9), "the update applied once");
            T.Equal(1, ev[0].Reason, "marked as from an update");
            // An older snapshot record does not undo the newer update (§10.2).
            var later = Snap(119, TimeOf(119), 3, true, 3);
            s.OnDatagram(later, later.Length, true, now);
            T.Equal(0, Count(Drain(s), EventKind.Entity, 9), "a snapshot older than the update does not replace it");
        }

        public static void DroppedEventsAreFollowedByAResync()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = Connect(net, now, 64);
            Drain(s);
            // 20 ticks of 3 players and an entity without polling: the 64-event ring overflows.
            for (int i = 0; i < 20; i++)
            {
                uint t = (uint)(119 + i);
                var d = Snap(t, TimeOf(t), (ushort)(i + 1), true, 3, 4, 5);
                s.OnDatagram(d, d.Length, true, now + i * 8333);
            }
            T.True(s.Events.Dropped > 0, "events were dropped");
            Drain(s);
            var d2 = Snap(139, TimeOf(139), 21, true, 3, 5);
            s.OnDatagram(d2, d2.Length, true, now + 20 * 8333);
            var ev = Drain(s);
            T.Equal(1, Count(ev, EventKind.Resync, 0), "a resync follows once there is room");
            T.Equal(1, Count(ev, EventKind.ResyncEnd, 0), "and ends");
            T.Equal(1, Count(ev, EventKind.PlayerLeft, 4), "4 left in this tick");
            int afterResync = 0;
            bool inResync = false;
            foreach (var e in ev)
            {
                if (e.Kind == EventKind.Resync) inResync = true;
                else if (e.Kind == EventKind.ResyncEnd) inResync = false;
                else if (inResync && e.Kind == EventKind.PlayerJoined) afterResync++;
            }
            T.Equal(2, afterResync, "the resync names the 2 players present");
        }

        public static void ReceiveAndSendAllocateNothing()
        {
            var net = new FakeNet();
            long now = 1000000;
            var s = Connect(net, now);
            net.Keep = false;
            var snaps = new byte[2000][];
            for (int i = 0; i < snaps.Length; i++)
            {
                uint t = (uint)(119 + i);
                snaps[i] = Snap(t, TimeOf(t), (ushort)(i + 1), true, 3, 4, 5);
            }
            for (int i = 0; i < 100; i++) { s.OnDatagram(snaps[i], snaps[i].Length, true, now + i * 8333); Drain(s); }
            var p = new PoseSample { HeadRW = 1, LeftRW = 1, RightRW = 1, HeadY = 1.6f, Tracking = 7 };
            var buf = new byte[1200];
            ClientEvent e;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 100; i < snaps.Length; i++)
            {
                Buffer.BlockCopy(snaps[i], 0, buf, 0, snaps[i].Length);
                s.OnDatagram(buf, snaps[i].Length, true, now + i * 8333);
                while (s.Events.TryPop(out e)) { }
                s.SendPose(ref p, now + i * 8333);
            }
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            T.Log("{0} snapshots received and {0} poses sent: {1} bytes allocated", snaps.Length - 100, bytes);
            // What a received snapshot costs, against decoding it alone (Snapshot.Parse), in the same run.
            for (int i = 0; i < snaps.Length; i++)
            {
                uint t = (uint)(119 + snaps.Length + i);
                snaps[i] = Snap(t, TimeOf(t), (ushort)(snaps.Length + i + 1), true, 3, 4, 5);
            }
            long drops = s.Stats.DroppedStale + s.Stats.DroppedImplausible + s.Stats.DroppedDuplicate;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 100; i < snaps.Length; i++)
            {
                Buffer.BlockCopy(snaps[i], 0, buf, 0, snaps[i].Length);
                s.OnDatagram(buf, snaps[i].Length, true, now + (snaps.Length + i) * 8333);
                while (s.Events.TryPop(out e)) { }
            }
            T.Equal(drops, s.Stats.DroppedStale + s.Stats.DroppedImplausible + s.Stats.DroppedDuplicate, "every timed snapshot was applied");
            double full = sw.Elapsed.TotalMilliseconds * 1000 / (snaps.Length - 100);
            var parse = new Snapshot();
            sw.Restart();
            for (int i = 100; i < snaps.Length; i++)
            {
                Buffer.BlockCopy(snaps[i], 0, buf, 0, snaps[i].Length);
                parse.Parse(buf, Proto.HeaderSize, snaps[i].Length - Proto.HeaderSize);
            }
            double alone = sw.Elapsed.TotalMilliseconds * 1000 / (snaps.Length - 100);
            T.Log("a 3-player snapshot through the session: {0:F2} µs, {1:F1}× decoding it alone ({2:F2} µs; shared box, not asserted)", full, full / alone, alone);
            T.Equal(0L, bytes, "bytes allocated");
            T.True(s.Stats.TicksComplete >= 1900, "ticks completed: " + s.Stats.TicksComplete);
        }
    }
}

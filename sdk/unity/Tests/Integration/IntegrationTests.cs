using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>Two C# clients against the real arcade-server, which tools/csharp starts on loopback
    /// and names in ARCADE_SERVER (host:port). A test that needs the server restarted prints
    /// "RESTART" and waits for a line on stdin. Without ARCADE_SERVER these tests do nothing but say so.</summary>
    public static partial class IntegrationTests
    {
        static IPEndPoint Server()
        {
            var s = Environment.GetEnvironmentVariable("ARCADE_SERVER");
            if (string.IsNullOrEmpty(s)) return null;
            int c = s.LastIndexOf(':');
            return new IPEndPoint(IPAddress.Parse(s.Substring(0, c)), int.Parse(s.Substring(c + 1)));
        }

        /// <summary>A headset of the test: a client and the poses it sends.</summary>
        sealed class Headset
        {
            public Client C;
            public PoseSample Pose;
            public readonly List<ushort> Joined = new List<ushort>(), Left = new List<ushort>();
            public readonly List<ConnectionState> States = new List<ConnectionState>();
            public readonly List<StateReason> Reasons = new List<StateReason>();
            public readonly List<string> Scenes = new List<string>(), Texts = new List<string>();
            public readonly List<EventRpc> Events = new List<EventRpc>();

            public Headset(IPEndPoint server, string name, byte[] playerId, string passphrase, float x, float z, bool delta = false,
                bool coded = false, double loss = 0, bool unicast = false)
            {
                var cfg = new ClientConfig
                {
                    Server = server, Name = name, PlayerId = playerId, Passphrase = passphrase,
                    MulticastInterface = IPAddress.Loopback, DeltaState = delta || coded, CodedState = coded, SimulatedStateLoss = loss,
                    WantUnicast = unicast,
                };
                C = new Client(cfg);
                C.PlayerJoined += id => Joined.Add(id);
                C.PlayerLeft += id => Left.Add(id);
                C.StateChanged += (s, why, code) => { States.Add(s); Reasons.Add(why); };
                C.SceneChanged += s => Scenes.Add(s);
                C.TextReceived += s => Texts.Add(s);
                C.EventReceived += e => Events.Add(e);
                SetPose(x, z);
                C.Start();
            }

            public void SetPose(float x, float z)
            {
                Pose = new PoseSample
                {
                    HeadX = x, HeadY = 1.6f, HeadZ = z, HeadRX = 0.1f, HeadRY = 0.3f, HeadRZ = -0.05f, HeadRW = 0.948f,
                    LeftX = x - 0.25f, LeftY = 1.2f, LeftZ = z + 0.3f, LeftRX = -0.2f, LeftRY = 0.1f, LeftRZ = 0.7f, LeftRW = 0.68f,
                    RightX = x + 0.25f, RightY = 1.21f, RightZ = z + 0.31f, RightRX = 0.5f, RightRY = -0.5f, RightRZ = 0.5f, RightRW = -0.5f,
                    Tracking = Tracking.All,
                };
            }
        }

        // Pumps the headsets as a game's main thread would: a pose each 11 ms (90 Hz) and Poll, until cond or the time is up.
        static bool Run(double seconds, Func<bool> cond, params Headset[] hs)
        {
            var sw = Stopwatch.StartNew();
            long next = 0;
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                foreach (var h in hs) h.C.Poll();
                if (cond()) return true;
                if (sw.ElapsedMilliseconds >= next)
                {
                    foreach (var h in hs) h.C.SendPose(ref h.Pose);
                    next = sw.ElapsedMilliseconds + 11;
                }
                System.Threading.Thread.Sleep(1);
            }
            foreach (var h in hs) h.C.Poll();
            return cond();
        }

        static bool Sees(Headset a, Headset b)
        {
            PlayerState p;
            return a.C.World.TryGetPlayer(b.C.ClientId, out p) && p.Present && SamePose(p, ref b.Pose);
        }

        static bool SamePose(PlayerState p, ref PoseSample s)
        {
            return p.Head.Equals(QPose.From(s.HeadX, s.HeadY, s.HeadZ, s.HeadRX, s.HeadRY, s.HeadRZ, s.HeadRW))
                && p.Left.Equals(QPose.From(s.LeftX, s.LeftY, s.LeftZ, s.LeftRX, s.LeftRY, s.LeftRZ, s.LeftRW))
                && p.Right.Equals(QPose.From(s.RightX, s.RightY, s.RightZ, s.RightRX, s.RightRY, s.RightRZ, s.RightRW));
        }

        static void CheckError(QPose q, float x, float y, float z, float rx, float ry, float rz, float rw, string what)
        {
            const float posErr = 1f / 2048f;
            T.True(Math.Abs(q.PX - x) <= posErr && Math.Abs(q.PY - y) <= posErr && Math.Abs(q.PZ - z) <= posErr,
                what + " position within 1/2048 m: " + q);
            float qx, qy, qz, qw;
            q.Rotation(out qx, out qy, out qz, out qw);
            double n = Math.Sqrt(rx * rx + ry * ry + rz * rz + rw * rw);
            double dot = Math.Abs((qx * rx + qy * ry + qz * rz + qw * rw) / n);
            double deg = 2 * Math.Acos(Math.Min(1, dot)) * 180 / Math.PI;
            T.True(deg < 0.1, what + " rotation within 0.1° (" + deg + "°)");
        }

        static void Restart()
        {
            Console.WriteLine("RESTART");
            Console.Out.Flush();
            var line = Console.ReadLine();
            T.True(line != null && line.Trim() == "go", "the harness restarted the server");
        }

        public static void TwoClients()
        {
            RunScenario(null);
        }

        /// <summary>Both clients take StateDelta (§10.4), so the group is sent StateDelta: each sees the
        /// other's exact poses and the scene's entities, acknowledges ticks, and allocates nothing per part.</summary>
        public static void TwoClientsDelta()
        {
            var server = Server();
            if (server == null || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ARCADE_PASSPHRASE"))) { T.Log("ARCADE_SERVER not set (or sealed): not run"); return; }
            var a = new Headset(server, "dora", null, null, 0.5f, -1f, true);
            var b = new Headset(server, "dave", null, null, -0.5f, 1f, true);
            try
            {
                T.True(Run(5, () => a.C.State == ConnectionState.Connected && b.C.State == ConnectionState.Connected, a, b), "both connected");
                T.True(a.C.Session.DeltaOn && b.C.Session.DeltaOn, "the server takes ConnectDeltaState (AcceptedDeltaState)");
                T.True(Run(5, () => Sees(a, b) && Sees(b, a), a, b), "each sees the other with the exact quantized poses, by StateDelta");
                T.True(Run(3, () => a.C.World.EntityCount > 0, a, b), "the scene's entities, by StateDelta");
                long parts0 = a.C.Stats.DeltaParts + b.C.Stats.DeltaParts;
                long snaps0 = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured;
                long bytes0 = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes;
                Run(1.5, () => false, a, b);
                long parts = a.C.Stats.DeltaParts + b.C.Stats.DeltaParts - parts0;
                long snaps = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured - snaps0;
                long bytes = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes - bytes0;
                T.True(parts >= 100, "StateDelta parts applied: " + parts);
                T.Equal(0L, a.C.Stats.DeltaBad + b.C.Stats.DeltaBad, "corrupt parts");
                T.Log("StateDelta: {0} parts applied in 1.5 s, {1} without their baseline, {2} snapshots; {3} bytes allocated over {4} state datagrams",
                    parts, a.C.Stats.DeltaNoBaseline + b.C.Stats.DeltaNoBaseline, a.C.Stats.Snapshots + b.C.Stats.Snapshots, bytes, snaps);
                T.Equal(0L, bytes, "bytes allocated handling state datagrams");
            }
            finally
            {
                a.C.Dispose();
                b.C.Dispose();
            }
        }

        // Whether a sees b's newest poses within the quantization error (§3.1: positions exactly on the
        // grid) and, for coded state, the avatar grid (§10.4: rotations at most 0.3° from those sent).
        static bool SeesNear(Headset a, Headset b)
        {
            PlayerState p;
            if (!a.C.World.TryGetPlayer(b.C.ClientId, out p) || !p.Present) return false;
            var s = b.Pose;
            return Near(p.Head, s.HeadX, s.HeadY, s.HeadZ, s.HeadRX, s.HeadRY, s.HeadRZ, s.HeadRW)
                && Near(p.Left, s.LeftX, s.LeftY, s.LeftZ, s.LeftRX, s.LeftRY, s.LeftRZ, s.LeftRW)
                && Near(p.Right, s.RightX, s.RightY, s.RightZ, s.RightRX, s.RightRY, s.RightRZ, s.RightRW);
        }

        static double worstDeg;

        static bool Near(QPose q, float x, float y, float z, float rx, float ry, float rz, float rw)
        {
            var want = QPose.From(x, y, z, rx, ry, rz, rw);
            if (q.X != want.X || q.Y != want.Y || q.Z != want.Z) return false;
            float qx, qy, qz, qw;
            q.Rotation(out qx, out qy, out qz, out qw);
            double n = Math.Sqrt(rx * rx + ry * ry + rz * rz + rw * rw);
            double deg = 2 * Math.Acos(Math.Min(1, Math.Abs((qx * rx + qy * ry + qz * rz + qw * rw) / n))) * 180 / Math.PI;
            if (deg > 0.35) return false; // 0.3° of the avatar grid, and the 12-bit grid's own error
            worstDeg = Math.Max(worstDeg, deg);
            return true;
        }

        /// <summary>Three clients take coded StateDelta (ConnectCodedState, §10.4), so the group is sent coded
        /// parts: each sees the others' poses within the quantization error and the scene's entities, and
        /// allocates nothing per part. The third drops 10 % of its state datagrams on arrival: it keeps
        /// holding ticks whole (the next tick is coded against a baseline it holds, a lost baseline is sent
        /// again), sees every move of the others, and its acknowledgements keep up.</summary>
        public static void TwoClientsCoded()
        {
            var server = Server();
            if (server == null || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ARCADE_PASSPHRASE"))) { T.Log("ARCADE_SERVER not set (or sealed): not run"); return; }
            var a = new Headset(server, "cora", null, null, 0.7f, -1f, coded: true);
            var b = new Headset(server, "cole", null, null, -0.7f, 1f, coded: true);
            var c = new Headset(server, "lossy", null, null, 0f, 2f, coded: true, loss: 0.1);
            try
            {
                T.True(Run(5, () => a.C.State == ConnectionState.Connected && b.C.State == ConnectionState.Connected && c.C.State == ConnectionState.Connected, a, b, c), "all connected");
                T.True(a.C.Session.CodedOn && b.C.Session.CodedOn && c.C.Session.CodedOn, "the server takes ConnectCodedState (AcceptedCodedState)");
                worstDeg = 0;
                T.True(Run(5, () => SeesNear(a, b) && SeesNear(b, a) && SeesNear(c, a) && SeesNear(c, b), a, b, c), "each sees the others within the quantization error, by coded StateDelta");
                T.True(Run(3, () => a.C.World.EntityCount > 0 && c.C.World.EntityCount > 0, a, b, c), "the scene's entities, by coded StateDelta");
                long coded0 = a.C.Stats.DeltaCoded + b.C.Stats.DeltaCoded;
                long snaps0 = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured;
                long bytes0 = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes;
                long ticksA0 = a.C.Stats.TicksComplete, ticksC0 = c.C.Stats.TicksComplete;
                // Moves, each seen by the lossy client.
                int moves = 0;
                for (int i = 0; i < 5; i++)
                {
                    a.SetPose(0.7f + 0.05f * i, -1f + 0.03f * i);
                    b.SetPose(-0.7f - 0.04f * i, 1f);
                    if (Run(3, () => SeesNear(c, a) && SeesNear(c, b) && SeesNear(a, b), a, b, c)) moves++;
                }
                Run(1, () => false, a, b, c);
                long coded = a.C.Stats.DeltaCoded + b.C.Stats.DeltaCoded - coded0;
                long snaps = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured - snaps0;
                long bytes = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes - bytes0;
                long ticksA = a.C.Stats.TicksComplete - ticksA0, ticksC = c.C.Stats.TicksComplete - ticksC0;
                T.Equal(5, moves, "moves the lossy client saw");
                T.True(coded >= 100, "coded parts applied: " + coded);
                T.Equal(0L, a.C.Stats.DeltaBad + b.C.Stats.DeltaBad + c.C.Stats.DeltaBad, "corrupt parts");
                T.True(ticksC * 2 >= ticksA, "the lossy client completes ticks: " + ticksC + " of " + ticksA);
                uint at; ulong mask;
                T.True(c.C.Session.HeldTicks(out at, out mask) && mask != 0, "the lossy client acknowledges ticks it holds");
                T.Log("coded StateDelta: {0} coded parts applied by the two, {1} bytes allocated over {2} state datagrams; worst rotation error seen {3:F3}°",
                    coded, bytes, snaps, worstDeg);
                T.Log("10 % state loss: {0} ticks whole of {1} a lossless client completed ({2:F1} %), {3} parts without their baseline, {4} rebuilt from parity, {5} coded parts",
                    ticksC, ticksA, 100.0 * ticksC / Math.Max(1, ticksA), c.C.Stats.DeltaNoBaseline, c.C.Stats.DeltaRecovered, c.C.Stats.DeltaCoded);
                T.Equal(0L, bytes, "bytes allocated handling state datagrams");
            }
            finally
            {
                a.C.Dispose();
                b.C.Dispose();
                c.C.Dispose();
            }
        }

        public static void TwoClientsSealed()
        {
            var pass = Environment.GetEnvironmentVariable("ARCADE_PASSPHRASE");
            if (string.IsNullOrEmpty(pass)) { T.Log("ARCADE_PASSPHRASE not set: not run"); return; }
            if (PassphraseCrypto.Factory == null) throw new TestFailure("ARCADE_PASSPHRASE set but no passphrase crypto is linked");
            // A headset with the wrong passphrase, and one with none, get no session.
            var server = Server();
            var wrong = new Headset(server, "mallory", null, pass + "x", 0, 0);
            var none = new Headset(server, "nobody", null, null, 0, 0);
            try
            {
                T.True(Run(5, () => wrong.C.State == ConnectionState.Closed && none.C.State == ConnectionState.Closed, wrong, none),
                    "refused: " + wrong.C.State + ", " + none.C.State);
                T.True(wrong.Reasons.Contains(StateReason.BadPassphrase), "the wrong passphrase ends as BadPassphrase");
                T.True(none.Reasons.Contains(StateReason.BadPassphrase), "no passphrase: Denied(BadPassphrase)");
                T.Log("wrong passphrase and none: refused (BadPassphrase) without a session");
            }
            finally
            {
                wrong.C.Dispose();
                none.C.Dispose();
            }
            RunScenario(pass);
        }

        static void RunScenario(string pass)
        {
            var server = Server();
            if (server == null) { T.Log("ARCADE_SERVER not set: not run (tools/csharp runs it against arcade-server)"); return; }
            if ((pass == null) != string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ARCADE_PASSPHRASE"))) { T.Log("server mode differs: not run"); return; }
            var a = new Headset(server, "alice", null, pass, 1f, 0f);
            var b = new Headset(server, "bob", null, pass, -1f, 2f);
            try
            {
                T.True(Run(5, () => a.C.State == ConnectionState.Connected && b.C.State == ConnectionState.Connected, a, b),
                    "both connected: " + a.C.State + ", " + b.C.State);
                T.True(a.C.ClientId != b.C.ClientId, "two client ids");
                T.Equal(pass != null, a.C.Session.Sealed, "sealed session");
                T.True(Run(5, () => Sees(a, b) && Sees(b, a), a, b), "each sees the other with the exact quantized poses it sent");
                PlayerState pb;
                a.C.World.TryGetPlayer(b.C.ClientId, out pb);
                var s = b.Pose;
                CheckError(pb.Head, s.HeadX, s.HeadY, s.HeadZ, s.HeadRX, s.HeadRY, s.HeadRZ, s.HeadRW, "bob's head seen by alice");
                CheckError(pb.Right, s.RightX, s.RightY, s.RightZ, s.RightRX, s.RightRY, s.RightRZ, s.RightRW, "bob's right hand seen by alice");
                T.True(a.Joined.Contains(b.C.ClientId), "alice got PlayerJoined for bob");
                T.Log("handshake, poses: ids {0}, {1}; rtt {2} µs; clock offset {3} µs", a.C.ClientId, b.C.ClientId, a.C.Rtt, a.C.Session.Clock.Offset);

                // 0 allocations per received snapshot, on the receive threads.
                long snaps0 = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured;
                long bytes0 = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes;
                Run(1.5, () => false, a, b);
                long snaps = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured - snaps0;
                long bytes = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes - bytes0;
                T.True(snaps >= 100, "snapshots measured: " + snaps);
                T.Log("allocated on the receive threads over {0} snapshots: {1} bytes (GC.GetAllocatedBytesForCurrentThread)", snaps, bytes);
                T.Equal(0L, bytes, "bytes allocated handling snapshots");
                T.Log("alice: {0} group datagrams received, {1} lost, {2} refused as badly sealed or signed, {3} delivery reports sent",
                    a.C.Session.GroupReceived, a.C.Session.GroupLost, a.C.Stats.DroppedBadSeal, a.C.Stats.ReportsSent);
                T.True(a.C.Session.GroupReceived > 0, "the group's datagrams arrive and open");
                T.Equal(0L, a.C.Stats.DroppedBadSeal, "no real datagram refused");

                Grab(a, b);

                // Server → client RPCs (arcade-server --echo-rpc): a SceneChange to all, a Text and an Event to the sender.
                T.True(a.C.RequestScene("arena"), "scene change request queued");
                T.True(a.C.Button(3, true), "button event queued");
                T.True(Run(2, () => a.Scenes.Contains("arena") && b.Scenes.Contains("arena") && a.Texts.Contains("button 3 down") && a.Events.Count > 0, a, b),
                    "SceneChange to both, Text and Event to alice: scenes " + a.Scenes.Count + "/" + b.Scenes.Count + ", texts " + string.Join("|", a.Texts) + ", events " + a.Events.Count);
                T.Equal((byte)Rpc.EventSound, a.Events[0].Kind, "event kind");
                T.Equal((ushort)3, a.Events[0].Cue, "event cue");
                T.Equal((byte)255, a.Events[0].Strength, "event strength");
                T.Equal(0, b.Texts.Count, "the Text went to the sender only");
                T.Log("RPCs from the server: SceneChange \"arena\" to both, Text \"{0}\" and Event cue {1} to the sender", a.Texts[0], a.Events[0].Cue);

                // Disconnect: bob leaves, alice sees it; bob comes back with his player id and is resumed.
                ushort bobId = b.C.ClientId;
                var bobPlayer = b.C.PlayerId;
                b.C.Dispose();
                T.True(Run(3, () => a.Left.Contains(bobId), a), "alice saw bob leave");
                b = new Headset(server, "bob", bobPlayer, pass, -1f, 2f);
                T.True(Run(5, () => b.C.State == ConnectionState.Connected, a, b), "bob back: " + b.C.State);
                T.True(b.C.Session.Resumed, "bob's session resumed");
                T.Equal(bobId, b.C.ClientId, "bob's client id kept");
                T.True(Run(5, () => Sees(a, b) && Sees(b, a), a, b), "each sees the other again");

                // Reconnect: the server is killed and started again; both come back by themselves.
                Restart();
                T.True(Run(10, () => a.C.Stats.Reconnects > 0 && b.C.Stats.Reconnects > 0
                    && a.C.State == ConnectionState.Connected && b.C.State == ConnectionState.Connected, a, b),
                    "both reconnected: " + a.C.State + ", " + b.C.State);
                T.Log("after the restart both reconnected: {0} ms and {1} ms from the session lost (UnknownSession or silence) to the new Accepted",
                    a.C.Stats.LastReconnectUs / 1000.0, b.C.Stats.LastReconnectUs / 1000.0);
                T.True(Run(5, () => Sees(a, b) && Sees(b, a), a, b), "each sees the other after the restart");
                T.True(a.States.Contains(ConnectionState.Reconnecting), "alice went through Reconnecting");
            }
            finally
            {
                a.C.Dispose();
                b.C.Dispose();
            }
        }

        // A grab through the reliable channel: alice puts her right hand on a resting grabbable entity,
        // asks to grab it, then moves; the entity follows in EntityUpdates, flagged held.
        static void Grab(Headset a, Headset b)
        {
            EntityState target = default(EntityState);
            bool found = false;
            for (int i = 0; i < a.C.World.EntityCount; i++)
            {
                var e = a.C.World.EntityAt(i);
                if ((e.Flags & EntityFlags.Grabbable) != 0 && (e.Flags & EntityFlags.Held) == 0) { target = e; found = true; break; }
            }
            T.True(found, "a grabbable entity in the world (" + a.C.World.EntityCount + " entities)");
            float ex = target.Pose.PX, ey = target.Pose.PY, ez = target.Pose.PZ;
            a.Pose.RightX = ex; a.Pose.RightY = ey; a.Pose.RightZ = ez;
            PlayerState me;
            T.True(Run(2, () => a.C.World.TryGetPlayer(a.C.ClientId, out me) && Math.Abs(me.Right.PX - ex) < 0.001f, a, b), "alice's hand at the entity");
            var sw = Stopwatch.StartNew();
            T.True(a.C.Grab(1, target.Id), "grab request queued");
            EntityState got = default(EntityState);
            T.True(Run(2, () => a.C.World.TryGetEntity(target.Id, out got) && (got.Flags & EntityFlags.Held) != 0, a, b), "entity " + target.Id + " held");
            long heldMs = sw.ElapsedMilliseconds;
            a.Pose.RightY = ey + 0.2f;
            T.True(Run(2, () => b.C.World.TryGetEntity(target.Id, out got) && got.FromUpdate && (got.Flags & EntityFlags.Held) != 0
                && Math.Abs(got.Pose.PY - (ey + 0.2f)) < 0.01f, a, b), "bob saw the held entity follow alice's hand in an EntityUpdate: " + got.Pose);
            T.Log("grab: entity {0} held {1} ms after the request; followed the hand in EntityUpdates", target.Id, heldMs);
            T.True(a.C.Release(1), "release queued");
            T.True(Run(2, () => a.C.World.TryGetEntity(target.Id, out got) && (got.Flags & EntityFlags.Held) == 0, a, b), "entity released");
        }
    }
}

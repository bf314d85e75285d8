using System;
using System.Diagnostics;
using System.Net;

namespace Arcade.Tests
{
    public static partial class IntegrationTests
    {
        /// <summary>A standby pair's takeover (docs/PROTOCOL.md §18.5) with two real arcade-servers on
        /// loopback: tools/csharp names the primary in ARCADE_SERVER and its standby in
        /// ARCADE_STANDBY, kills the primary (SIGKILL) when the test prints "KILL", and when it prints
        /// "KILL2" starts the primary again (it follows the standby) and kills the standby. Two
        /// headsets, one on the group and one by unicast, connected to the primary under epoch 2, go on
        /// with the standby under epoch 3 without a new handshake: the same client ids, their new poses
        /// in the new server's state, an RPC answered through the new reliable channel, and nothing
        /// allocated per received snapshot under the new epoch; then back with the primary under
        /// epoch 4.</summary>
        public static void PairTakeover()
        {
            var server = Server();
            var standby = Environment.GetEnvironmentVariable("ARCADE_STANDBY");
            if (server == null || string.IsNullOrEmpty(standby)) { T.Log("ARCADE_SERVER or ARCADE_STANDBY not set: not run"); return; }
            var a = new Headset(server, "gina", null, null, 0.5f, -1f);
            var b = new Headset(server, "ugo", null, null, -0.5f, 1f, unicast: true);
            try
            {
                T.True(Run(10, () => a.C.State == ConnectionState.Connected && b.C.State == ConnectionState.Connected, a, b), "both connected to the primary");
                T.Equal(2U, a.C.Epoch, "the group headset's epoch under the primary");
                T.Equal(2U, b.C.Epoch, "the unicast headset's epoch under the primary");
                T.True(a.C.Session.Unicast == false && b.C.Session.Unicast, "one headset on the group, one by unicast");
                // The standby holds the sessions once their poses show in the primary's state.
                T.True(Run(10, () => Sees(a, a) && Sees(a, b) && Sees(b, a) && Sees(b, b), a, b), "the primary's state shows both headsets' poses");
                a.C.Button(3, true);
                T.True(Run(5, () => a.Texts.Contains("button 3 down"), a, b), "the primary answers an RPC");
                Run(0.2, () => false, a, b);
                ushort idA = a.C.ClientId, idB = b.C.ClientId;

                Kill("KILL");
                var sw = Stopwatch.StartNew();
                a.SetPose(1.5f, 0.25f);
                b.SetPose(-1.5f, -0.25f);
                T.True(Run(10, () => a.C.Stats.ServerMoves == 1 && b.C.Stats.ServerMoves == 1, a, b),
                    string.Format("both moved: moves {0} and {1}, epochs {2} and {3}", a.C.Stats.ServerMoves, b.C.Stats.ServerMoves, a.C.Epoch, b.C.Epoch));
                double moved = sw.Elapsed.TotalMilliseconds;
                T.Equal(3U, a.C.Epoch, "the group headset's epoch after the takeover");
                T.Equal(3U, b.C.Epoch, "the unicast headset's epoch after the takeover");
                T.Equal(standby, a.C.Server.ToString(), "the group headset sends to the standby");
                T.Equal(standby, b.C.Server.ToString(), "the unicast headset sends to the standby");
                T.True(Run(10, () => Sees(a, a) && Sees(a, b) && Sees(b, a) && Sees(b, b), a, b), "the new server's state shows both headsets' new poses");
                T.Equal(idA, a.C.ClientId, "the group headset's client id");
                T.Equal(idB, b.C.ClientId, "the unicast headset's client id");
                foreach (var h in new[] { a, b })
                {
                    T.Equal(ConnectionState.Connected, h.C.State, "connected throughout");
                    T.Equal(0L, h.C.Stats.Reconnects, "no new handshake");
                    T.Equal(1L, h.C.Stats.EpochChanges, "one epoch change");
                    T.True(!h.States.Contains(ConnectionState.Reconnecting), "never reconnecting");
                }
                b.C.Button(5, true);
                T.True(Run(5, () => b.Texts.Contains("button 5 down"), a, b), "the new server answers an RPC on the new reliable channel");

                // Snapshots under epoch 3 cost the receive threads nothing.
                long bytes0 = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes;
                long snaps0 = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured;
                Run(1, () => false, a, b);
                long bytes = a.C.SnapshotAllocatedBytes + b.C.SnapshotAllocatedBytes - bytes0;
                long snaps = a.C.SnapshotsMeasured + b.C.SnapshotsMeasured - snaps0;
                T.True(snaps > 100, "snapshots of the new server measured: " + snaps);
                T.Equal(0L, bytes, "bytes allocated on the receive threads over " + snaps + " snapshots under epoch 3");
                T.Log("moved to {0} {1:F0} ms after the harness reported the kill (group headset: {2} stale-epoch drops; unicast: {3} foreign-source drops); then {4} snapshots, {5} bytes allocated",
                    standby, moved, a.C.Stats.DroppedStaleEpoch, b.C.Stats.ForeignSource, snaps, bytes);

                // The primary returns as the standby's follower; the standby dies; the primary takes over.
                Kill("KILL2");
                a.SetPose(0.75f, 0.5f);
                b.SetPose(-0.75f, -0.5f);
                T.True(Run(10, () => a.C.Stats.ServerMoves == 2 && b.C.Stats.ServerMoves == 2, a, b),
                    string.Format("both moved back: moves {0} and {1}, epochs {2} and {3}", a.C.Stats.ServerMoves, b.C.Stats.ServerMoves, a.C.Epoch, b.C.Epoch));
                T.Equal(4U, a.C.Epoch, "the group headset's epoch after the second takeover");
                T.Equal(4U, b.C.Epoch, "the unicast headset's epoch after the second takeover");
                T.Equal(server.ToString(), a.C.Server.ToString(), "the group headset sends to the primary again");
                T.Equal(server.ToString(), b.C.Server.ToString(), "the unicast headset sends to the primary again");
                T.True(Run(10, () => Sees(a, a) && Sees(a, b) && Sees(b, a) && Sees(b, b), a, b), "the primary's state shows both headsets' newest poses");
                foreach (var h in new[] { a, b })
                {
                    T.Equal(ConnectionState.Connected, h.C.State, "connected throughout");
                    T.Equal(0L, h.C.Stats.Reconnects, "no new handshake");
                    T.Equal(2L, h.C.Stats.EpochChanges, "two epoch changes");
                }
                T.Equal(idA, a.C.ClientId, "the group headset's client id at epoch 4");
                T.Equal(idB, b.C.ClientId, "the unicast headset's client id at epoch 4");
                a.C.Button(7, true);
                T.True(Run(5, () => a.Texts.Contains("button 7 down"), a, b), "the primary answers an RPC at epoch 4");
            }
            finally
            {
                a.C.Dispose();
                b.C.Dispose();
            }
        }

        // Asks the harness to do what word says and waits until it is done.
        static void Kill(string word)
        {
            Console.WriteLine(word);
            Console.Out.Flush();
            var line = Console.ReadLine();
            T.True(line != null && line.Trim() == "go", "the harness did " + word);
        }
    }
}

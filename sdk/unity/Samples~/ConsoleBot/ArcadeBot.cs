// ArcadeBot: N simulated headsets in one console process, built from the SDK's core
// (the same Arcade.Client.dll a Unity app uses). Each streams poses at --rate Hz on
// a circle of its own for --duration, then the bot prints what every headset saw:
// the other players present in its world whose input seq advanced, and the loss on
// its snapshot path. --delta takes the state as StateDelta, --coded as coded StateDelta.
//
//   mono ArcadeBot.exe --server 127.0.0.1:7777 [--clients 16] [--duration 10]
//        [--rate 90] [--unicast] [--delta] [--coded] [--passphrase P] [--iface-addr 127.0.0.1] [--expect N]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Threading;
using Arcade;
using Arcade.Wire;

static class ArcadeBot
{
    sealed class Bot
    {
        public Client C;
        public PoseSample Pose;
        public readonly Dictionary<ushort, uint> FirstSeq = new Dictionary<ushort, uint>();
        public double Phase;
    }

    static int Main(string[] args)
    {
        string server = "127.0.0.1:7777", pass = null, iface = null;
        int clients = 16, rate = 90, expect = -1;
        double duration = 10;
        bool unicast = false, delta = false, coded = false;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--server": server = args[++i]; break;
                    case "--clients": clients = int.Parse(args[++i]); break;
                    case "--duration": duration = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--rate": rate = int.Parse(args[++i]); break;
                    case "--unicast": unicast = true; break;
                    case "--delta": delta = true; break;
                    case "--coded": delta = true; coded = true; break;
                    case "--passphrase": pass = args[++i]; break;
                    case "--iface-addr": iface = args[++i]; break;
                    case "--expect": expect = int.Parse(args[++i]); break;
                    default: throw new ArgumentException("unknown flag " + args[i]);
                }
            }
            if (clients < 1 || clients > 1024) throw new ArgumentException("--clients: 1..1024, is " + clients);
            if (rate < 1 || rate > 1000) throw new ArgumentException("--rate: 1..1000, is " + rate);
        }
        catch (Exception e) when (e is ArgumentException || e is FormatException || e is IndexOutOfRangeException)
        {
            Console.Error.WriteLine("arcade-bot (C#): " + e.Message);
            return 2;
        }
        int c = server.LastIndexOf(':');
        var ep = new IPEndPoint(IPAddress.Parse(server.Substring(0, c)), int.Parse(server.Substring(c + 1)));
        var bots = new List<Bot>();
        for (int i = 0; i < clients; i++)
        {
            var cfg = new ClientConfig
            {
                Server = ep, Name = "cs-bot-" + i, WantUnicast = unicast, Passphrase = pass, DeltaState = delta, CodedState = coded,
                MulticastInterface = iface == null ? null : IPAddress.Parse(iface),
            };
            var b = new Bot { C = new Client(cfg), Phase = i * 2 * Math.PI / clients };
            b.C.Start();
            bots.Add(b);
        }
        var sw = Stopwatch.StartNew();
        // Connect (at most 10 s), then stream.
        while (sw.Elapsed.TotalSeconds < 10 && bots.Exists(b => b.C.State != ConnectionState.Connected))
        {
            foreach (var b in bots) b.C.Poll();
            Thread.Sleep(5);
        }
        int connected = bots.FindAll(b => b.C.State == ConnectionState.Connected).Count;
        long period = Stopwatch.Frequency / rate;
        long next = Stopwatch.GetTimestamp();
        var start = Stopwatch.StartNew();
        // Allocations are counted after a warm-up second (first-use set-up, such as the Ed25519
        // key's table with a passphrase, is allocated once per session).
        long warmBytes = -1, warmSnaps = 0;
        while (start.Elapsed.TotalSeconds < duration)
        {
            double t = start.Elapsed.TotalSeconds;
            if (warmBytes < 0 && t >= Math.Min(1, duration / 2))
            {
                warmBytes = 0;
                foreach (var b in bots) { warmBytes += b.C.SnapshotAllocatedBytes; warmSnaps += b.C.SnapshotsMeasured; }
            }
            foreach (var b in bots)
            {
                b.C.Poll();
                double a = b.Phase + t;
                float x = (float)(2 * Math.Cos(a)), z = (float)(2 * Math.Sin(a));
                b.Pose = new PoseSample
                {
                    HeadX = x, HeadY = 1.7f, HeadZ = z, HeadRY = (float)Math.Sin(a / 2), HeadRW = (float)Math.Cos(a / 2),
                    LeftX = x - 0.2f, LeftY = 1.2f, LeftZ = z, LeftRW = 1,
                    RightX = x + 0.2f, RightY = 1.2f, RightZ = z, RightRW = 1, Tracking = Tracking.All,
                };
                b.C.SendPose(ref b.Pose);
                for (int k = 0; k < b.C.World.PlayerCount; k++)
                {
                    var p = b.C.World.PlayerAt(k);
                    if (p.Id == b.C.ClientId || !p.Present) continue;
                    if (!b.FirstSeq.ContainsKey(p.Id)) b.FirstSeq[p.Id] = p.InputSeq;
                }
            }
            next += period;
            long wait = next - Stopwatch.GetTimestamp();
            if (wait > 0) Thread.Sleep((int)(wait * 1000 / Stopwatch.Frequency));
        }
        // Report: peers present at the end whose input seq advanced since first seen.
        int minPeers = int.MaxValue, maxPeers = 0;
        long recv = 0, lost = 0, snaps = 0, allocBytes = 0, allocSnaps = 0, parts = 0, codedParts = 0, bad = 0, ticks = 0;
        var per = new List<string>();
        foreach (var b in bots)
        {
            b.C.Poll();
            int advancing = 0;
            foreach (var kv in b.FirstSeq)
            {
                PlayerState p;
                if (b.C.World.TryGetPlayer(kv.Key, out p) && p.Present && p.InputSeq != kv.Value) advancing++;
            }
            minPeers = Math.Min(minPeers, advancing);
            maxPeers = Math.Max(maxPeers, advancing);
            recv += b.C.Session.GroupReceived;
            lost += b.C.Session.GroupLost;
            snaps += b.C.Stats.Snapshots;
            parts += b.C.Stats.DeltaParts; codedParts += b.C.Stats.DeltaCoded; bad += b.C.Stats.DeltaBad; ticks += b.C.Stats.TicksComplete;
            allocBytes += b.C.SnapshotAllocatedBytes;
            allocSnaps += b.C.SnapshotsMeasured;
            per.Add(string.Format("{{\"client_id\":{0},\"peers_advancing\":{1},\"snapshots\":{2},\"group_received\":{3},\"group_lost\":{4},\"rtt_us\":{5}}}",
                b.C.ClientId, advancing, b.C.Stats.Snapshots, b.C.Session.GroupReceived, b.C.Session.GroupLost, b.C.Rtt));
        }
        double lossPct = recv + lost == 0 ? 0 : 100.0 * lost / (recv + lost);
        if (warmBytes >= 0) { allocBytes -= warmBytes; allocSnaps -= warmSnaps; }
        Console.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture,
            "{{\"clients_requested\":{0},\"clients_connected\":{1},\"peers_advancing_min\":{2},\"peers_advancing_max\":{3},\"snapshots_received\":{4},\"group_received\":{5},\"group_lost\":{6},\"snapshot_loss_pct\":{7:F3},\"snapshot_alloc_bytes\":{8},\"snapshots_alloc_measured\":{9},\"delta_parts\":{11},\"coded_parts\":{12},\"delta_bad\":{13},\"ticks_complete\":{14},\"clients\":[{10}]}}",
            clients, connected, minPeers, maxPeers, snaps, recv, lost, lossPct, allocBytes, allocSnaps, string.Join(",", per), parts, codedParts, bad, ticks));
        foreach (var b in bots) b.C.Dispose();
        if (connected < clients) return 1;
        if (expect >= 0 && minPeers < expect) return 1;
        return 0;
    }
}

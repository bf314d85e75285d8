using System;
using System.IO;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>A stream of coded StateDelta parts written by tools/csharp (coded_test.go), each line a body
    /// in hex and what the Go receiver (statesync.Receiver) made of it: DeltaReceiver makes the same of
    /// every part, rebuilds the same parts from parity, and holds the same state for every whole tick.
    /// Without ARCADE_CODED_STREAM it does nothing but say so.</summary>
    public static class CodedStreamTests
    {
        static readonly string[] names = { "partial", "whole", "copy", "duplicate", "no-baseline", "bad-delta" };

        /// <summary>The hash of coded_test.go's stateSum: FNV-1a 64 over the records, little-endian.</summary>
        static ulong Sum(TickState st)
        {
            ulong h = 14695981039346656037UL;
            var b = new byte[64];
            Func<int, ulong> mix = n => { for (int i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211UL; } return h; };
            for (int i = 0; i < st.NumPlayers; i++)
            {
                var p = st.Players[i];
                int o = Bytes.PutU16(b, 0, p.Id);
                o = Bytes.PutU32(b, o, p.Seq);
                b[o++] = p.Tracking;
                o = Pose(b, o, p.Head); o = Pose(b, o, p.Left); o = Pose(b, o, p.Right);
                mix(o);
            }
            for (int i = 0; i < st.NumEntities; i++)
            {
                var e = st.Entities[i];
                int o = Bytes.PutU16(b, 0, e.Id);
                b[o++] = e.Flags;
                o = Pose(b, o, e.Pose);
                mix(o);
            }
            return h;
        }

        static int Pose(byte[] b, int o, QPose p)
        {
            o = Bytes.PutU16(b, o, p.X); o = Bytes.PutU16(b, o, p.Y); o = Bytes.PutU16(b, o, p.Z);
            return Bytes.PutU64(b, o, p.Rot & Quant.RotMask);
        }

        const uint WarmUp = 1100; // the stream's ticks start at 1000

        public static void MatchesStatesync()
        {
            var path = Environment.GetEnvironmentVariable("ARCADE_CODED_STREAM");
            if (string.IsNullOrEmpty(path)) { T.Log("ARCADE_CODED_STREAM not set: not run (tools/csharp writes it)"); return; }
            var rx = new DeltaReceiver();
            rx.PrepareParity();
            var h = new StateDeltaHeader();
            var body = new byte[Proto.MaxBodySize];
            int line = 0, whole = 0, rebuilt = 0;
            long bytes0 = 0, measured = 0, ticksTaken = 0, payload = 0;
            foreach (var l in File.ReadLines(path))
            {
                line++;
                var f = l.Split(' ');
                int n = f[0].Length / 2;
                for (int i = 0; i < n; i++) body[i] = Convert.ToByte(f[0].Substring(2 * i, 2), 16);
                T.True(h.Parse(body, 0, n), "line " + line + ": parses");
                TickState st;
                long a = GC.GetAllocatedBytesForCurrentThread();
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                var o = rx.Take(h, body, out st);
                long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                if (h.Tick >= WarmUp) { bytes0 += GC.GetAllocatedBytesForCurrentThread() - a; measured++; ticksTaken += t1 - t0; payload += n; }
                T.Equal(f[1], names[(int)o], "line " + line + " (tick " + h.Tick + " part " + h.Part + (h.IsParity ? " parity" : "") + "): outcome");
                T.Equal(f[2], rx.RecoveredParts.ToString(), "line " + line + ": parts rebuilt from repair parts");
                rebuilt += rx.RecoveredParts;
                if (o == DeltaOutcome.Whole)
                {
                    whole++;
                    T.Equal(f[3], Sum(st).ToString("x16"), "line " + line + " (tick " + h.Tick + "): the whole tick's state");
                }
            }
            T.True(measured > 0, "the stream has datagrams past the warm-up");
            T.Log("{0} datagrams as statesync.Receiver took them: {1} ticks whole, {2} parts rebuilt from repair parts; {3} bytes allocated over {4} parts from tick {5} on (before it, the held ticks grow to the room's size, all at once)",
                line, whole, rebuilt, bytes0, measured, WarmUp);
            T.Log("from tick {0} on: {1:F1} µs a datagram taken, {2} bytes on average (shared box, not asserted)",
                WarmUp, ticksTaken * 1e6 / System.Diagnostics.Stopwatch.Frequency / Math.Max(1, measured), payload / Math.Max(1, measured));
            T.Equal(0L, bytes0, "bytes allocated per part");
        }
    }
}

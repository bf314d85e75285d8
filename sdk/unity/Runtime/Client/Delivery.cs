using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>The multicast client's side of §10.3: per tick, when the tick's first multicast
    /// datagram (part 0) and its unicast reference (DeliveryProbe, or part 0 by unicast) arrived;
    /// every 250 ms a DeliveryReport of the window. Pure logic; time in µs.</summary>
    public sealed class DeliveryMeter
    {
        public const long Interval = 250000;
        public const int UnicastWindows = 16, MinUnicastExpected = 20;
        const int Ticks = 256;
        readonly uint[] tick = new uint[Ticks];
        readonly long[] mcastAt = new long[Ticks];
        readonly long[] uniAt = new long[Ticks];
        readonly bool[] paired = new bool[Ticks];
        readonly int[] samples = new int[512];
        int nSamples;
        readonly int[] uniRecv = new int[UnicastWindows];
        readonly int[] uniLost = new int[UnicastWindows];
        int uniNext;
        long windowStart = -1;
        public bool NotJoined;

        public void Reset()
        {
            Array.Clear(tick, 0, Ticks); Array.Clear(paired, 0, Ticks);
            Array.Clear(mcastAt, 0, Ticks); Array.Clear(uniAt, 0, Ticks);
            Array.Clear(uniRecv, 0, UnicastWindows); Array.Clear(uniLost, 0, UnicastWindows);
            nSamples = 0; uniNext = 0; windowStart = -1; NotJoined = false;
        }

        /// <summary>Starts the first window at now (the session opened).</summary>
        public void Start(long now) { windowStart = now; }

        void Note(uint t, long now, bool mcast)
        {
            int i = (int)(t % Ticks);
            if (tick[i] != t) { tick[i] = t; mcastAt[i] = 0; uniAt[i] = 0; paired[i] = false; }
            if (mcast) { if (mcastAt[i] == 0) mcastAt[i] = now; }
            else if (uniAt[i] == 0) uniAt[i] = now;
            if (!paired[i] && mcastAt[i] != 0 && uniAt[i] != 0 && nSamples < samples.Length)
            {
                paired[i] = true;
                long d = mcastAt[i] - uniAt[i];
                samples[nSamples++] = (int)Math.Max(int.MinValue, Math.Min(int.MaxValue, d));
            }
        }

        /// <summary>Part 0 of tick t arrived by multicast at now.</summary>
        public void MulticastPart0(uint t, long now) { Note(t, now, true); }

        /// <summary>The unicast reference of tick t (a probe, or part 0 by unicast) arrived at now.</summary>
        public void UnicastReference(uint t, long now) { Note(t, now, false); }

        /// <summary>When the next report is due (long.MaxValue before Start).</summary>
        public long NextDue { get { return windowStart < 0 ? long.MaxValue : windowStart + Interval; } }

        /// <summary>Whether a report is due at now.</summary>
        public bool Due(long now) { return windowStart >= 0 && now - windowStart >= Interval; }

        /// <summary>Fills r with the window ending at now, from the group path's and the session path's
        /// seq counts, and starts the next window.</summary>
        public void Report(long now, SeqWindow group, SeqWindow session, DeliveryReport r)
        {
            long w = (now - windowStart) / 1000; // measured, whole ms, truncated (§10.3)
            r.WindowMs = (ushort)Math.Max(1, Math.Min(65535, w));
            int recv, lost;
            group.Take(out recv, out lost);
            r.McastReceived = (ushort)Math.Min(65535, recv);
            r.McastLost = (ushort)Math.Min(65535, lost);
            r.Samples = (ushort)nSamples;
            if (nSamples > 0)
            {
                Array.Sort(samples, 0, nSamples);
                r.ExcessP50 = samples[(nSamples - 1) / 2];
                r.ExcessP90 = samples[(nSamples - 1) * 9 / 10];
            }
            else { r.ExcessP50 = 0; r.ExcessP90 = 0; }
            session.Take(out recv, out lost);
            uniRecv[uniNext] = recv; uniLost[uniNext] = lost;
            uniNext = (uniNext + 1) % UnicastWindows;
            long tr = 0, tl = 0;
            for (int i = 0; i < UnicastWindows; i++) { tr += uniRecv[i]; tl += uniLost[i]; }
            r.UnicastLoss = tr + tl < MinUnicastExpected ? Proto.UnicastLossUnknown : (ushort)((tl * Proto.MaxUnicastLoss + (tr + tl) / 2) / (tr + tl));
            r.Flags = NotJoined ? DeliveryFlags.NotJoined : (byte)0;
            nSamples = 0;
            windowStart = now;
        }

    }
}

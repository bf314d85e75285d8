namespace Arcade
{
    /// <summary>Clock offset from Ping/Pong (§8.4): of the last 8 samples, the offset of the one
    /// with the smallest round trip. Before the first Pong, the Accepted's server time gives a
    /// first estimate (its one-way delay included).</summary>
    public sealed class ClockSync
    {
        public const int Samples = 8;
        readonly long[] offs = new long[Samples];
        readonly long[] rtts = new long[Samples];
        int n, next;
        long offset;
        bool have;

        /// <summary>Server clock − client clock, µs.</summary>
        public long Offset { get { return offset; } }
        /// <summary>The smallest round trip among the samples kept, µs (0 before any).</summary>
        public long Rtt { get; private set; }
        public bool HasPong { get { return n > 0; } }

        public void Reset() { n = 0; next = 0; have = false; offset = 0; Rtt = 0; }

        /// <summary>A first estimate: the server's time when it sent the Accepted, received at now.</summary>
        public void Seed(ulong serverTime, long now)
        {
            if (n > 0) return;
            offset = (long)serverTime - now;
            have = true;
        }

        public bool Known { get { return have; } }

        /// <summary>One Ping/Pong: t1 sent, t2 server receive, t3 server send, t4 received.</summary>
        public void Add(long t1, long t2, long t3, long t4)
        {
            long rtt = (t4 - t1) - (t3 - t2);
            if (rtt < 0) rtt = 0;
            offs[next] = ((t2 - t1) + (t3 - t4)) / 2;
            rtts[next] = rtt;
            next = (next + 1) % Samples;
            if (n < Samples) n++;
            int best = 0;
            for (int i = 1; i < n; i++) if (rtts[i] < rtts[best]) best = i;
            offset = offs[best];
            Rtt = rtts[best];
            have = true;
        }

        /// <summary>The estimate of the server clock at client time now.</summary>
        public long ServerNow(long now) { return now + offset; }
    }
}

using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The delivery report's arithmetic (PROTOCOL §10.3).</summary>
    public static class DeliveryTests
    {
        public static void ReportArithmetic()
        {
            var m = new DeliveryMeter();
            var group = new SeqWindow();
            var session = new SeqWindow();
            m.Start(1000000);
            // Four ticks, each with a multicast part 0 and a probe: excess −100, 50, 200, 3000 µs.
            int[] excess = { -100, 50, 200, 3000 };
            for (int i = 0; i < excess.Length; i++)
            {
                m.UnicastReference((uint)(10 + i), 1010000 + i * 10000);
                m.MulticastPart0((uint)(10 + i), 1010000 + i * 10000 + excess[i]);
            }
            for (ushort s = 0; s < 30; s++) if (s != 7) group.Record(s); // one lost
            for (ushort s = 0; s < 30; s++) if (s % 10 != 3) session.Record(s); // three lost of 30
            var r = new DeliveryReport();
            T.True(m.Due(1250000) && !m.Due(1249999), "due after 250 ms");
            m.Report(1250999, group, session, r);
            T.Equal((ushort)250, r.WindowMs, "measured window, truncated to whole ms");
            T.Equal((ushort)29, r.McastReceived, "received");
            T.Equal((ushort)1, r.McastLost, "lost");
            T.Equal((ushort)4, r.Samples, "samples");
            T.Equal(50, r.ExcessP50, "median of an even count: the lower middle");
            T.Equal(200, r.ExcessP90, "p90: index ⌊(n−1)·9/10⌋");
            T.Equal((ushort)1000, r.UnicastLoss, "3 of 30: 10.00 %");
            var b = new byte[32];
            int e = r.Write(b, 0);
            var back = new DeliveryReport();
            T.True(back.Parse(b, 0, e), "the report parses");
        }
    }
}

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

namespace Arcade.Tests
{
    /// <summary>Sequence windows (§8.2) and the session's reactions to the server's Disconnects (§8.5, §7.6).</summary>
    public static class SeqAndDisconnectTests
    {
        public static void ForgedJumpIsRecoveredFrom()
        {
            var w = new SeqWindow();
            for (ushort s = 100; s < 110; s++) w.Record(s);
            w.Record(30000); // forged, far ahead: no loss counted
            ushort ack; uint bits;
            w.Ack(out ack, out bits);
            T.Equal((ushort)30000, ack, "the forged number is the newest for a while");
            T.Equal(0, w.Lost, "a jump past 4096 is not loss");
            for (ushort s = 110; s < 118; s++) w.Record(s); // the real sequence goes on
            w.Ack(out ack, out bits);
            T.Equal((ushort)117, ack, "8 old datagrams in a row move the window back");
            w.Record(118);
            w.Ack(out ack, out bits);
            T.Equal((ushort)118, ack, "and the real sequence is acknowledged again");
        }

        public static void DisconnectReasons()
        {
            foreach (var reason in new[] { DisconnectReason.ClientLeft, DisconnectReason.Kicked, DisconnectReason.UnknownSession, DisconnectReason.Timeout })
            {
                var s = SessionTests.Connected(1000000);
                var d = new byte[Proto.HeaderSize + 1];
                new Header { Type = PacketType.Disconnect, Token = s.Token }.Write(d);
                d[Proto.HeaderSize] = (byte)reason;
                s.OnDatagram(d, d.Length, false, 1100000);
                bool reconnects = reason == DisconnectReason.UnknownSession || reason == DisconnectReason.Timeout;
                T.Equal(reconnects ? ConnectionState.Reconnecting : ConnectionState.Closed, s.State, reason + ": state");
                if (reconnects) T.Equal(1L, s.Stats.Reconnects, reason + ": a new handshake at once");
            }
        }
    }
}

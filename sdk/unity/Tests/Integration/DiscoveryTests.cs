using System;
using System.Net;
using Arcade.Discovery;

namespace Arcade.Tests
{
    /// <summary>Discovery against the real arcade-server (tools/csharp starts it with --discovery on lo,
    /// its beacon port in ARCADE_BEACON and its unique name in ARCADE_NAME), and the reasons given
    /// when nothing answers.</summary>
    public static class DiscoveryTests
    {
        public static void NothingAnswersGivesAReason()
        {
            // A port nobody listens on: no reply, and the reason says so.
            var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var ep = (IPEndPoint)s.LocalEndPoint;
            s.Close();
            var r = Finder.Beacon(ep, 300);
            T.True(!r.Found, "nothing found");
            T.True(r.Reason.Contains("no beacon reply from " + ep) && r.Reason.Contains("300 ms"), "reason: " + r.Reason);
            T.Log("beacon to a closed port: {0}", r.Reason);
        }

        public static void FindsTheServer()
        {
            var beacon = Environment.GetEnvironmentVariable("ARCADE_BEACON");
            var name = Environment.GetEnvironmentVariable("ARCADE_NAME");
            var game = Environment.GetEnvironmentVariable("ARCADE_SERVER");
            if (string.IsNullOrEmpty(beacon) || string.IsNullOrEmpty(name)) { T.Log("ARCADE_BEACON not set: not run"); return; }
            int c = beacon.LastIndexOf(':');
            var r = Finder.Beacon(new IPEndPoint(IPAddress.Parse(beacon.Substring(0, c)), int.Parse(beacon.Substring(c + 1))), 1000);
            T.True(r.Found, "beacon found a server: " + r.Reason);
            var s = r.Servers[0];
            T.Equal(name, s.Name, "instance name");
            T.Equal(game, s.Address.ToString(), "game address");
            T.True(s.SameVersion, "v=1");
            T.Equal("120", s.Get("tick"), "tick rate");
            T.Log("beacon: {0}, {1}", s, string.Join(" ", s.Strings));
            var m = Finder.Browse(IPAddress.Loopback, 3000);
            ServerInfo mine = m.Servers.Find(x => x.Name == name);
            T.True(mine != null, "mDNS browse on lo found " + name + ": " + (m.Found ? m.Servers.Count + " others" : m.Reason));
            T.Equal(s.Address.Port, mine.Address.Port, "mDNS game port");
            T.Equal(s.Get("id"), mine.Get("id"), "the same server run");
            T.Log("mDNS: {0}", mine);
        }
    }

    /// <summary>The mDNS browse against the two servers of a standby pair on lo under one name
    /// (tools/csharp runs them: ARCADE_PAIR_NAME, the game port and epoch of the one to be found in
    /// ARCADE_PAIR_PORT and ARCADE_PAIR_EPOCH, ARCADE_PAIR_STALE=1 when the other answers too under a
    /// lower epoch, 0 when it is the standby and silent).</summary>
    public static class StandbyPairTests
    {
        public static void BrowseTakesTheHigherEpoch()
        {
            var name = Environment.GetEnvironmentVariable("ARCADE_PAIR_NAME");
            if (string.IsNullOrEmpty(name)) { T.Log("ARCADE_PAIR_NAME not set: not run"); return; }
            int port = int.Parse(Environment.GetEnvironmentVariable("ARCADE_PAIR_PORT"));
            uint epoch = uint.Parse(Environment.GetEnvironmentVariable("ARCADE_PAIR_EPOCH"));
            bool stale = Environment.GetEnvironmentVariable("ARCADE_PAIR_STALE") == "1";
            ServerInfo got = null;
            int ignored = 0;
            // Bounded: the pair's first active may still be probing for its name.
            for (int i = 0; i < 8 && (got == null || stale && ignored == 0); i++)
            {
                var m = Finder.Browse(IPAddress.Loopback, 2000);
                var s = m.Servers.Find(x => x.Name == name);
                ignored += m.Stale;
                if (s == null) { T.Log("browse {0}: {1} not found ({2})", i, name, m.Found ? m.Servers.Count + " others" : m.Reason); continue; }
                T.Equal(port, s.Address.Port, "the game port of the active server");
                T.Equal(epoch, s.Epoch, "its epoch");
                got = s;
                T.Log("browse {0}: {1} ({2} stale answers ignored)", i, s, m.Stale);
            }
            T.True(got != null, name + " found by mDNS on lo");
            if (stale) T.True(ignored > 0, "the stale server's answers were heard, and ignored");
            else T.Equal(0, ignored, "answers from the standby");
        }
    }
}

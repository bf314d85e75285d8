using System.Collections.Generic;
using System.Net;
using Arcade.Discovery;
using Dns = Arcade.Discovery.Dns;

namespace Arcade.Tests
{
    /// <summary>The mDNS browse's bookkeeping (Finder.Browse's BrowseState) and the beacon's choice,
    /// response by response, for the two servers of a standby pair (docs/PROTOCOL.md §18.7).</summary>
    public static class BrowseTests
    {
        const string Inst = "Pair._arcade._udp.local";

        /// <summary>One server of a pair as a browse hears it.</summary>
        sealed class Box
        {
            public string Host;
            public int Port;
            public IPAddress Addr;
            public uint Epoch;

            /// <summary>A response from this server with the records named in parts (P PTR, S SRV, T TXT, A).</summary>
            public List<Dns.Record> Response(string parts)
            {
                var rrs = new List<Dns.Record>();
                foreach (var c in parts)
                {
                    switch (c)
                    {
                        case 'P': rrs.Add(new Dns.Record { Name = "_arcade._udp.local", Type = Dns.PTR, Target = Inst }); break;
                        case 'S': rrs.Add(new Dns.Record { Name = Inst, Type = Dns.SRV, Target = Host, Port = Port }); break;
                        case 'T':
                            var t = new Dns.Record { Name = Inst, Type = Dns.TXT };
                            t.Strings.AddRange(new[] { "v=1", "id=00112233aabbccdd", "tick=120", "mcast=off", "players=0/8" });
                            if (Epoch != 0) t.Strings.Add("epoch=" + Epoch);
                            rrs.Add(t);
                            break;
                        case 'A': rrs.Add(new Dns.Record { Name = Host, Type = Dns.A, Address = Addr }); break;
                    }
                }
                return rrs;
            }
        }

        static readonly Box A = new Box { Host = "box-a.local", Port = 7001, Addr = IPAddress.Parse("192.0.2.21"), Epoch = 2 };
        static readonly Box B = new Box { Host = "box-b.local", Port = 7002, Addr = IPAddress.Parse("192.0.2.22"), Epoch = 3 };
        static readonly Box BOnA = new Box { Host = "box-b.local", Port = 7002, Addr = IPAddress.Parse("192.0.2.21"), Epoch = 3 };

        static ServerInfo Heard(string what, int wantStale, params object[] heard)
        {
            var st = new BrowseState();
            for (int i = 0; i < heard.Length; i += 2)
            {
                var box = (Box)heard[i];
                st.Handle(box.Response((string)heard[i + 1]), box.Addr);
            }
            bool pending;
            var found = st.Servers(out pending);
            T.True(!pending, what + ": complete");
            T.Equal(1, found.Count, what + ": servers found");
            T.Equal(wantStale, st.Stale, what + ": stale responses ignored");
            T.Equal("Pair", found[0].Name, what + ": name");
            return found[0];
        }

        static void Want(Box want, ServerInfo got, string what)
        {
            T.Equal(new IPEndPoint(want.Addr, want.Port).ToString(), got.Address.ToString(), what + ": address");
            T.Equal(want.Epoch, got.Epoch, what + ": epoch");
        }

        public static void BrowseTakesTheHigherEpoch()
        {
            Want(B, Heard("stale first", 0, A, "PSTA", B, "PSTA"), "stale first");
            Want(B, Heard("stale last", 1, B, "PSTA", A, "PSTA"), "stale last");
            Want(BOnA, Heard("one address", 1, A, "PSTA", BOnA, "PSTA", A, "PSTA"), "one address");
            // The stale one's SRV without its TXT (an answer to a question) is not mixed in.
            Want(B, Heard("no TXT from the stale", 0, B, "PSTA", A, "PS"), "no TXT from the stale");
            // Piece by piece, as legacy unicast replies come: PTR, then SRV and TXT, then A.
            Want(B, Heard("piecewise", 1, B, "P", B, "ST", A, "ST", B, "A"), "piecewise");
            Want(A, Heard("alone", 0, A, "PSTA"), "alone");
        }

        public static void EpochStringIsStrict()
        {
            foreach (var v in new[] { "", "0", "03", "-3", "+3", "3x", " 3", "4294967296", "99999999999" })
            {
                bool bad;
                uint e = Txt.Epoch(new List<string> { "v=1", "epoch=" + v }, out bad);
                T.True(e == 0 && bad, "epoch=" + v + " is malformed: read as none");
            }
            bool b2;
            T.Equal(4294967295U, Txt.Epoch(new List<string> { "EPOCH=4294967295", "epoch=7" }, out b2), "the first epoch=, case-insensitive");
            T.True(!b2, "well-formed");
            T.Equal(0U, Txt.Epoch(new List<string> { "v=1" }, out b2), "no epoch");
            T.True(!b2, "absent is not malformed");
        }

        public static void BeaconKeepsTheHigherEpoch()
        {
            var servers = new List<ServerInfo>();
            foreach (var x in new[] { new[] { "Pair", "192.0.2.21", "2" }, new[] { "pair", "192.0.2.22", "3" }, new[] { "Solo", "192.0.2.30", "" }, new[] { "Solo", "192.0.2.31", "" } })
            {
                var s = new ServerInfo { Name = x[0], Address = new IPEndPoint(IPAddress.Parse(x[1]), 7777), Method = "beacon" };
                s.Strings.Add("v=1");
                if (x[2] != "") s.Strings.Add("epoch=" + x[2]);
                servers.Add(s);
                Finder.KeepHighestEpoch(servers);
            }
            T.Equal(3, servers.Count, "servers kept");
            T.True(servers.Exists(s => s.Epoch == 3) && !servers.Exists(s => s.Epoch == 2), "the higher epoch kept");
            T.Equal(2, servers.FindAll(s => s.Name == "Solo").Count, "servers not in a pair untouched");
        }
    }
}

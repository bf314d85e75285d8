using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Arcade.Wire;

namespace Arcade.Discovery
{
    /// <summary>A server found by discovery: where to send the ConnectRequest, and its key=value strings (§14.2).</summary>
    public sealed class ServerInfo
    {
        public string Name = "";
        public IPEndPoint Address;
        /// <summary>"beacon" or "mdns".</summary>
        public string Method = "";
        public readonly List<string> Strings = new List<string>();

        /// <summary>The first string's value for key (case-insensitive), or null.</summary>
        public string Get(string key) { return Txt.Get(Strings, key); }

        /// <summary>The epoch= of a standby pair's active server (§18.7): of servers answering under one
        /// name, the search keeps the highest epoch's. 0 for a server not in a pair, or a malformed epoch=.</summary>
        public uint Epoch { get { return Txt.Epoch(Strings); } }

        /// <summary>Whether the server speaks this client's protocol version (v=1).</summary>
        public bool SameVersion { get { return Get("v") == Proto.Version.ToString(); } }

        public override string ToString() { return string.Format("{0} at {1} ({2})", Name, Address, Method); }
    }

    /// <summary>What a search found; when nothing, why.</summary>
    public sealed class FindResult
    {
        public readonly List<ServerInfo> Servers = new List<ServerInfo>();
        /// <summary>Why nothing was found (empty when something was).</summary>
        public string Reason = "";
        /// <summary>Answers left out because another server answers under the same name with a higher
        /// epoch (the active of a standby pair, §18.7): mDNS responses, or beacon replies.</summary>
        public int Stale;
        public bool Found { get { return Servers.Count > 0; } }
    }

    /// <summary>Finds Arcade servers on the LAN (docs/PROTOCOL.md §14): the UDP beacon, which works
    /// where multicast does not (Android without a MulticastLock, Quest's mDNS), and an mDNS/DNS-SD
    /// browse by legacy unicast queries from an ephemeral port (RFC 6762 §6.7), so it needs no port
    /// 5353 of its own. Both block for at most their timeout: call them off the main thread.</summary>
    public static class Finder
    {
        public const int DefaultBeaconTimeoutMs = 1000, DefaultBrowseTimeoutMs = 1500, RetryMs = 250, GraceMs = 200;
        static readonly IPEndPoint MdnsGroup = new IPEndPoint(IPAddress.Parse("224.0.0.251"), 5353);
        const string Service = "_arcade._udp.local";

        /// <summary>The beacon first, then mDNS; the reasons of both when neither finds a server.</summary>
        public static FindResult Find(IPAddress localInterface = null)
        {
            var r = Beacon(null, DefaultBeaconTimeoutMs);
            if (r.Found) return r;
            var m = Browse(localInterface, DefaultBrowseTimeoutMs);
            if (!m.Found) m.Reason = "beacon: " + r.Reason + "; mDNS: " + m.Reason;
            return m;
        }

        /// <summary>Sends 512-byte beacon probes to target (null: broadcast 255.255.255.255:7779) every
        /// 250 ms, and collects replies for 200 ms after the first (at most timeoutMs).</summary>
        public static FindResult Beacon(IPEndPoint target, int timeoutMs)
        {
            var res = new FindResult();
            target = target ?? new IPEndPoint(IPAddress.Broadcast, Discovery.Beacon.Port);
            var rnd = new byte[4];
            using (var g = System.Security.Cryptography.RandomNumberGenerator.Create()) g.GetBytes(rnd);
            uint nonce = BitConverter.ToUInt32(rnd, 0);
            int bad = 0, errors = 0;
            string lastError = null;
            using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                s.EnableBroadcast = true;
                s.Bind(new IPEndPoint(IPAddress.Any, 0));
                var probe = new byte[Discovery.Beacon.ProbeSize];
                int n = Discovery.Beacon.WriteProbe(probe, nonce, probe.Length);
                var buf = new byte[Discovery.Beacon.MaxSize + 1];
                var sw = Stopwatch.StartNew();
                long nextSend = 0, firstAt = -1;
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                while (sw.ElapsedMilliseconds < timeoutMs && (firstAt < 0 || sw.ElapsedMilliseconds < firstAt + GraceMs))
                {
                    if (sw.ElapsedMilliseconds >= nextSend && firstAt < 0)
                    {
                        try { s.SendTo(probe, 0, n, SocketFlags.None, target); }
                        catch (SocketException e) { errors++; lastError = e.SocketErrorCode.ToString(); }
                        nextSend = sw.ElapsedMilliseconds + RetryMs;
                    }
                    if (!s.Poll(10000, SelectMode.SelectRead)) continue;
                    int got;
                    try { got = s.ReceiveFrom(buf, ref from); }
                    catch (SocketException e) { errors++; lastError = e.SocketErrorCode.ToString(); continue; }
                    var rep = new BeaconReply();
                    if (!rep.Parse(buf, got) || rep.Nonce != nonce) { bad++; continue; }
                    var ip = (IPEndPoint)from;
                    var info = new ServerInfo { Name = rep.Name, Address = new IPEndPoint(ip.Address, rep.GamePort), Method = "beacon" };
                    info.Strings.AddRange(rep.Strings);
                    if (!res.Servers.Exists(x => x.Address.Equals(info.Address))) res.Servers.Add(info);
                    res.Stale += KeepHighestEpoch(res.Servers);
                    if (firstAt < 0) firstAt = sw.ElapsedMilliseconds;
                }
            }
            if (!res.Found)
                res.Reason = string.Format("no beacon reply from {0} within {1} ms{2}{3}", target, timeoutMs,
                    bad > 0 ? string.Format(" ({0} datagrams ignored: not a reply to this probe)", bad) : "",
                    errors > 0 ? string.Format(" ({0} socket errors, last {1}: is the beacon port open, is broadcast allowed?)", errors, lastError) : "");
            return res;
        }

        /// <summary>Of servers under one name with an epoch (the two of a standby pair, §18.7), removes
        /// all but the highest epoch's and returns how many it removed; servers without an epoch stay.</summary>
        public static int KeepHighestEpoch(List<ServerInfo> servers)
        {
            return servers.RemoveAll(x => x.Epoch != 0 && servers.Exists(y => string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase) && y.Epoch > x.Epoch));
        }

        /// <summary>Browses _arcade._udp.local by mDNS on the interface with address localInterface
        /// (null: the system's choice): a PTR query, then SRV, TXT and A queries for each instance,
        /// re-sent every 250 ms, for at most timeoutMs: it ends 200 ms after every instance that
        /// answered is complete (one with v=1 at least).</summary>
        public static FindResult Browse(IPAddress localInterface, int timeoutMs)
        {
            var res = new FindResult();
            var st = new BrowseState();
            int answers = 0, bad = 0;
            string sendError = null;
            using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                s.Bind(new IPEndPoint(IPAddress.Any, 0));
                if (localInterface != null)
                    s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, localInterface.GetAddressBytes());
                s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
                var buf = new byte[9000];
                var sw = Stopwatch.StartNew();
                long nextSend = 0, completeAt = -1;
                ushort id = (ushort)Environment.TickCount;
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                while (sw.ElapsedMilliseconds < timeoutMs && (completeAt < 0 || sw.ElapsedMilliseconds < completeAt + GraceMs))
                {
                    if (sw.ElapsedMilliseconds >= nextSend)
                    {
                        var q = Dns.Query(id, st.Questions());
                        try { s.SendTo(q, MdnsGroup); }
                        catch (SocketException e) { sendError = e.SocketErrorCode.ToString(); }
                        nextSend = sw.ElapsedMilliseconds + RetryMs;
                    }
                    if (!s.Poll(10000, SelectMode.SelectRead)) continue;
                    int n;
                    try { n = s.ReceiveFrom(buf, ref from); }
                    catch (SocketException) { continue; }
                    var rrs = new List<Dns.Record>();
                    if (!Dns.Parse(buf, n, rrs)) { bad++; continue; }
                    answers += rrs.Count;
                    st.Handle(rrs, ((IPEndPoint)from).Address);
                    bool pending;
                    var found = st.Servers(out pending);
                    res.Servers.Clear();
                    res.Servers.AddRange(found);
                    res.Stale = st.Stale;
                    // The grace starts once every instance that answered is complete: a second
                    // server still answering is waited for (up to timeoutMs), not cut off by the first.
                    if (pending) completeAt = -1;
                    else if (completeAt < 0 && res.Servers.Count > 0) completeAt = sw.ElapsedMilliseconds;
                }
            }
            if (!res.Found)
                res.Reason = sendError != null ? "mDNS query not sent: " + sendError + " (no multicast route? on Android, hold a MulticastLock)"
                    : st.Instances > 0 ? string.Format("{0} instance(s) answered but none completely (SRV, TXT with v=1, A) within {1} ms", st.Instances, timeoutMs)
                    : string.Format("no mDNS answer for {0} within {1} ms ({2} records, {3} malformed replies)", Service, timeoutMs, answers, bad);
            return res;
        }
    }

    /// <summary>What an mDNS browse has heard, response by response. The records of one response come
    /// from one server; for an instance that the two servers of a standby pair answer (§18.7), the TXT's
    /// epoch in a response says whose its records are, and the highest epoch's are kept: a response
    /// under a lower epoch is ignored (counted in Stale), one under a higher epoch replaces what the
    /// instance had, and one without the instance's TXT is not mixed with another address's.</summary>
    public sealed class BrowseState
    {
        const string Service = "_arcade._udp.local";
        /// <summary>Bounds what a LAN of forged answers can make a browse hold.</summary>
        public const int MaxInstances = 64, MaxHosts = 64;

        sealed class Inst
        {
            public string Name = "";
            public string Host;
            public int Port;
            public List<string> Txt;
            public uint Epoch;
            public IPAddress From;

            public void Reset() { Host = null; Port = 0; Txt = null; Epoch = 0; From = null; }
        }

        readonly List<Inst> insts = new List<Inst>();
        readonly Dictionary<string, IPAddress> addrs = new Dictionary<string, IPAddress>(StringComparer.OrdinalIgnoreCase);

        /// <summary>Responses ignored for an instance because another server answers it under a higher epoch.</summary>
        public int Stale;
        public int Instances { get { return insts.Count; } }

        Inst Find(string name, bool add)
        {
            var i = insts.Find(x => Dns.NameEquals(x.Name, name));
            if (i == null && add && insts.Count < MaxInstances)
            {
                i = new Inst { Name = name };
                insts.Add(i);
            }
            return i;
        }

        /// <summary>Records one response's records, heard from the address from.</summary>
        public void Handle(List<Dns.Record> rrs, IPAddress from)
        {
            // First the TXT records: they say which server the response's records for an instance are from.
            var take = new Dictionary<Inst, bool>();
            foreach (var r in rrs)
            {
                if (r.Type != Dns.TXT) continue;
                var i = Find(r.Name, false);
                if (i == null || take.ContainsKey(i)) continue;
                uint e = Txt.Epoch(r.Strings);
                bool t = true;
                if (i.Txt == null)
                {
                    if (i.From != null && !i.From.Equals(from)) i.Reset(); // another server's, epoch unknown: ask again
                }
                else if (e < i.Epoch) { t = false; Stale++; }
                else if (e > i.Epoch) i.Reset();
                take[i] = t;
            }
            foreach (var r in rrs)
            {
                if (r.Type == Dns.PTR)
                {
                    if (Dns.NameEquals(r.Name, Service)) Find(r.Target, true);
                    continue;
                }
                if (r.Type == Dns.A)
                {
                    if (addrs.ContainsKey(r.Name) || addrs.Count < MaxHosts) addrs[r.Name] = r.Address;
                    continue;
                }
                var i = Find(r.Name, false);
                if (i == null) continue;
                bool t;
                if (take.TryGetValue(i, out t) ? !t : i.Txt != null && i.Epoch != 0 && i.From != null && !i.From.Equals(from)) continue;
                if (r.Type == Dns.SRV) { i.Host = r.Target; i.Port = r.Port; i.From = from; }
                else if (r.Type == Dns.TXT) { i.Txt = r.Strings; i.Epoch = Txt.Epoch(r.Strings); i.From = from; }
            }
        }

        /// <summary>The next query's questions: the PTR, and what each instance still lacks.</summary>
        public List<KeyValuePair<string, ushort>> Questions()
        {
            var qs = new List<KeyValuePair<string, ushort>> { new KeyValuePair<string, ushort>(Service, Dns.PTR) };
            foreach (var i in insts)
            {
                if (i.Host == null) qs.Add(new KeyValuePair<string, ushort>(i.Name, Dns.SRV));
                if (i.Txt == null) qs.Add(new KeyValuePair<string, ushort>(i.Name, Dns.TXT));
                if (i.Host != null && !addrs.ContainsKey(i.Host)) qs.Add(new KeyValuePair<string, ushort>(i.Host, Dns.A));
            }
            return qs;
        }

        /// <summary>The complete instances that speak this client's version; pending when an instance
        /// is still to answer a record.</summary>
        public List<ServerInfo> Servers(out bool pending)
        {
            pending = false;
            var res = new List<ServerInfo>();
            foreach (var i in insts)
            {
                IPAddress a;
                if (i.Host == null || i.Txt == null || !addrs.TryGetValue(i.Host, out a)) { pending = true; continue; }
                var info = new ServerInfo { Name = Dns.FirstLabel(i.Name), Address = new IPEndPoint(a, i.Port), Method = "mdns" };
                info.Strings.AddRange(i.Txt);
                if (!info.SameVersion) continue; // §14.1: a TXT of another version is not ours
                res.Add(info);
            }
            return res;
        }
    }

    /// <summary>The little of the DNS message format (RFC 1035) that a DNS-SD browse needs.</summary>
    public static class Dns
    {
        public const ushort A = 1, PTR = 12, TXT = 16, SRV = 33;

        public sealed class Record
        {
            public string Name = "", Target = "";
            public ushort Type;
            public int Port;
            public IPAddress Address;
            public List<string> Strings = new List<string>();
        }

        static ushort BE16(byte[] b, int o) { return (ushort)(b[o] << 8 | b[o + 1]); }

        public static byte[] Query(ushort id, List<KeyValuePair<string, ushort>> qs)
        {
            var b = new List<byte> { (byte)(id >> 8), (byte)id, 0, 0, 0, (byte)qs.Count, 0, 0, 0, 0, 0, 0 };
            foreach (var q in qs)
            {
                foreach (var label in q.Key.TrimEnd('.').Split('.'))
                {
                    var l = System.Text.Encoding.UTF8.GetBytes(label);
                    b.Add((byte)Math.Min(63, l.Length));
                    for (int i = 0; i < Math.Min(63, l.Length); i++) b.Add(l[i]);
                }
                b.Add(0);
                b.Add((byte)(q.Value >> 8)); b.Add((byte)q.Value);
                b.Add(0); b.Add(1); // class IN
            }
            return b.ToArray();
        }

        public static bool NameEquals(string a, string b) { return string.Equals(a.TrimEnd('.'), b.TrimEnd('.'), StringComparison.OrdinalIgnoreCase); }

        public static string FirstLabel(string name)
        {
            // Instance labels may hold dots escaped by nothing: the service suffix is what we strip.
            string n = name.TrimEnd('.');
            int i = n.ToLowerInvariant().LastIndexOf("." + Service.ToLowerInvariant(), StringComparison.Ordinal);
            return i > 0 ? n.Substring(0, i) : n;
        }

        const string Service = "_arcade._udp.local";

        static int ReadName(byte[] b, int n, int o, System.Text.StringBuilder sb)
        {
            int end = -1, jumps = 0;
            while (true)
            {
                if (o >= n) return -1;
                int l = b[o];
                if (l == 0) { if (end < 0) end = o + 1; return end; }
                if ((l & 0xC0) == 0xC0)
                {
                    if (o + 1 >= n || ++jumps > 16) return -1;
                    if (end < 0) end = o + 2;
                    o = (l & 0x3F) << 8 | b[o + 1];
                    continue;
                }
                if (l > 63 || o + 1 + l > n) return -1;
                if (sb.Length > 0) sb.Append('.');
                sb.Append(System.Text.Encoding.UTF8.GetString(b, o + 1, l));
                if (sb.Length > 1024) return -1;
                o += 1 + l;
            }
        }

        /// <summary>Parses a response's answers and additional records of the types above into rrs.</summary>
        public static bool Parse(byte[] b, int n, List<Record> rrs)
        {
            if (n < 12 || (b[2] & 0x80) == 0) return false; // not a response
            int qd = BE16(b, 4), an = BE16(b, 6), ns = BE16(b, 8), ar = BE16(b, 10);
            int o = 12;
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < qd; i++)
            {
                sb.Length = 0;
                o = ReadName(b, n, o, sb);
                if (o < 0 || o + 4 > n) return false;
                o += 4;
            }
            for (int i = 0; i < an + ns + ar; i++)
            {
                sb.Length = 0;
                o = ReadName(b, n, o, sb);
                if (o < 0 || o + 10 > n) return false;
                var r = new Record { Name = sb.ToString(), Type = BE16(b, o) };
                int rdlen = BE16(b, o + 8);
                int rd = o + 10;
                if (rd + rdlen > n) return false;
                o = rd + rdlen;
                switch (r.Type)
                {
                    case PTR:
                        sb.Length = 0;
                        if (ReadName(b, n, rd, sb) < 0) return false;
                        r.Target = sb.ToString();
                        break;
                    case SRV:
                        if (rdlen < 7) return false;
                        r.Port = BE16(b, rd + 4);
                        sb.Length = 0;
                        if (ReadName(b, n, rd + 6, sb) < 0) return false;
                        r.Target = sb.ToString();
                        break;
                    case TXT:
                        for (int p = rd; p < rd + rdlen;)
                        {
                            int l = b[p];
                            if (p + 1 + l > rd + rdlen) return false;
                            r.Strings.Add(System.Text.Encoding.UTF8.GetString(b, p + 1, l));
                            p += 1 + l;
                        }
                        break;
                    case A:
                        if (rdlen != 4) return false;
                        r.Address = new IPAddress(new[] { b[rd], b[rd + 1], b[rd + 2], b[rd + 3] });
                        break;
                    default:
                        continue;
                }
                rrs.Add(r);
            }
            return true;
        }
    }
}

using System;
using System.IO;
using System.Net;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The LAN is hostile: every golden vector, mutated at random (bytes flipped, cut,
    /// extended), goes through every decoder and through a connected Session by both paths,
    /// most with the right token. Nothing throws, and the session stays connected (forged
    /// Disconnects, which end an open-mode session by design, are left out).</summary>
    public static class HostileInputTests
    {
        public static void MutatedVectorsNeverThrow()
        {
            var files = Directory.GetFiles(Path.Combine(T.Root, "testdata", "wire"), "*.hex");
            var vectors = new byte[files.Length][];
            for (int i = 0; i < files.Length; i++) vectors[i] = Hex.ReadFile(files[i]);
            var s = SessionTests.Connected(1000000);
            var rng = new Random(11);
            var buf = new byte[Proto.MaxDatagramSize + 64];
            var snap = new Snapshot(); var upd = new EntityUpdate(); var acc = new Accepted(); var cr = new ChallengeResponse();
            var pi = new PoseInput(); var sd = new StateDeltaHeader(); var rep = new DeliveryReport(); var ch = new Chunk();
            var rel = new ReliableChannel();
            var ev = new EventRpc();
            long n = 0;
            for (int round = 0; round < 20000; round++)
            {
                var v = vectors[rng.Next(vectors.Length)];
                int len = Math.Min(buf.Length, Math.Max(0, v.Length + (rng.Next(4) == 0 ? rng.Next(-30, 30) : 0)));
                Buffer.BlockCopy(v, 0, buf, 0, Math.Min(len, v.Length));
                for (int k = v.Length; k < len; k++) buf[k] = (byte)rng.Next(256);
                int flips = rng.Next(1, 6);
                for (int k = 0; k < flips && len > 0; k++) buf[rng.Next(len)] ^= (byte)(1 << rng.Next(8));
                int o = Proto.HeaderSize, bl = Math.Max(0, len - o);
                if (len >= o)
                {
                    snap.Parse(buf, o, bl); upd.Parse(buf, o, bl); acc.Parse(buf, o, bl); cr.Parse(buf, o, bl);
                    pi.Parse(buf, o, bl); sd.Parse(buf, o, bl); rep.Parse(buf, o, bl);
                    var m = new MessageBody();
                    if (m.Parse(buf, o, bl))
                    {
                        for (int p = m.PayloadOffset, end = p + m.PayloadLength; p >= 0 && p < end;) p = ch.Parse(buf, p, end);
                        bool stored, r;
                        rel.OnPayload(buf, m.PayloadOffset, m.PayloadLength, out stored, out r);
                    }
                    ev.Parse(buf, o, bl);
                    Rpc.ParseScene(buf, o, bl);
                    Rpc.ParseText(buf, o, bl);
                }
                bool group = rng.Next(2) == 0;
                // Most forgeries carry the right token, as anyone on the LAN can read it.
                if (len >= Proto.HeaderSize && rng.Next(4) != 0) Bytes.PutU64(buf, Header.OffToken, group ? s.GroupToken : s.Token);
                long now = 1000000 + round * 100;
                // A forged Disconnect ends an open-mode session, as the spec says (§17.5); the others must not.
                if (len > Header.OffType && buf[Header.OffType] == PacketType.Disconnect) buf[Header.OffType] = PacketType.Ping;
                s.OnDatagram(buf, len, group, now);
                if (round % 64 == 0) // the real server keeps the session alive
                {
                    var pong = new byte[Proto.HeaderSize + 28];
                    new Header { Type = PacketType.Pong, Token = s.Token, Seq = (ushort)(60000 + round / 64) }.Write(pong);
                    s.OnDatagram(pong, pong.Length, false, now);
                }
                s.Step(now);
                ClientEvent e;
                while (s.Events.TryPop(out e)) n++;
                n++;
            }
            T.True(n >= 20000, "all rounds ran");
            T.Equal(ConnectionState.Connected, s.State, "still connected");
            T.Log("20000 mutated datagrams through every decoder and a session: no exception; session state {0}, {1} dropped", s.State, s.Stats.Dropped + s.Stats.DroppedToken);
        }
    }
}

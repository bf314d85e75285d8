using System;
using System.IO;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>Every golden vector of testdata/wire decodes and re-encodes to its exact bytes
    /// (docs/PROTOCOL.md §12), and selected ones decode to their commented values.</summary>
    public static class GoldenTests
    {
        static string Dir { get { return Path.Combine(T.Root, "testdata", "wire"); } }

        static byte[] Load(string name) { return Hex.ReadFile(Path.Combine(Dir, name + ".hex")); }

        /// <summary>Decodes d's body by type and encodes it again after the same header; returns the length.</summary>
        static int ReEncode(byte[] d, byte[] out_, out Header h)
        {
            h = new Header();
            var err = h.Parse(d, d.Length);
            if (err != HeaderError.None) throw new TestFailure("header: " + err);
            uint epoch;
            int bodyEnd = HeaderFlags.SplitEpoch(d, d.Length, out epoch);
            if (bodyEnd < 0) throw new TestFailure("no room for the epoch trailer");
            int n = bodyEnd - Proto.HeaderSize, o = Proto.HeaderSize;
            h.Write(out_);
            if ((h.Flags & HeaderFlags.Sealed) != 0)
            {
                // Sealed bodies are opened by the crypto tests; here the header alone round trips.
                Buffer.BlockCopy(d, o, out_, o, n);
                return d.Length;
            }
            bool ok;
            int e;
            switch (h.Type)
            {
                case PacketType.ConnectRequest: { var m = new ConnectRequest(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Challenge: { var m = new Challenge(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.ChallengeResponse: { var m = new ChallengeResponse(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Accepted: { var m = new Accepted(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Denied: { var m = new Denied(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.PoseInput: { var m = new PoseInput(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Snapshot: { var m = new Snapshot(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Ping: { var m = new Ping(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Pong: { var m = new Pong(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Disconnect: { var m = new Disconnect(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.EntityUpdate: { var m = new EntityUpdate(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.DeliveryProbe: { var m = new DeliveryProbe(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.DeliveryReport: { var m = new DeliveryReport(); ok = m.Parse(d, o, n); e = m.Write(out_, o); break; }
                case PacketType.Message:
                    {
                        var m = new MessageBody();
                        ok = m.Parse(d, o, n);
                        // Every chunk must pass §15.2; then write the chunks again field by field.
                        e = MessageBody.WriteHeader(out_, o, m.PayloadLength) ;
                        int p = m.PayloadOffset, end = m.PayloadOffset + m.PayloadLength;
                        var c = new Chunk();
                        while (ok && p < end)
                        {
                            int next = c.Parse(d, p, end);
                            if (next < 0) { ok = false; break; }
                            int data = c.Fragment
                                ? Chunk.WriteFragment(out_, e, c.Stream, c.MsgId, c.Length, c.MsgLen, c.FragSize, c.Index)
                                : Chunk.WriteWhole(out_, e, c.Stream, c.MsgId, c.Length);
                            Buffer.BlockCopy(d, c.DataOffset, out_, data, c.Length);
                            e = data + c.Length;
                            p = next;
                        }
                        break;
                    }
                case PacketType.StateDelta: { var m = new StateDeltaHeader(); ok = m.Parse(d, o, n); e = m.Write(out_, o, d, m.PayloadOffset); break; }
                default: throw new TestFailure("unknown type " + h.Type);
            }
            if (!ok) throw new TestFailure("body of type " + h.Type + " did not parse");
            if ((h.Flags & HeaderFlags.Epoch) != 0) e = Bytes.PutU32(out_, e, epoch);
            return e;
        }

        public static void EveryVectorRoundTrips()
        {
            var files = Directory.GetFiles(Dir, "*.hex");
            T.True(files.Length >= 45, "found " + files.Length + " vectors in " + Dir);
            var buf = new byte[Proto.MaxDatagramSize];
            foreach (var f in files)
            {
                var d = Hex.ReadFile(f);
                Header h;
                int n;
                try { n = ReEncode(d, buf, out h); }
                catch (TestFailure e) { throw new TestFailure(Path.GetFileName(f) + ": " + e.Message); }
                T.Bytes(d, d.Length, buf, n, Path.GetFileName(f));
            }
            T.Log("{0} wire vectors decoded and re-encoded byte for byte", files.Length);
        }

        public static void EpochTrailerValues()
        {
            var d = Load("pong_epoch");
            uint epoch;
            int end = HeaderFlags.SplitEpoch(d, d.Length, out epoch);
            T.Equal(7U, epoch, "epoch");
            T.Equal(d.Length - HeaderFlags.EpochSize, end, "the body ends before the trailer");
            var p = new Pong();
            T.True(p.Parse(d, Proto.HeaderSize, end - Proto.HeaderSize), "pong parses");
            var plain = Load("pong");
            T.Equal(plain.Length, HeaderFlags.SplitEpoch(plain, plain.Length, out epoch), "no FlagEpoch: nothing split");
            T.Equal(0U, epoch, "no FlagEpoch: epoch 0");
            T.Equal(-1, HeaderFlags.SplitEpoch(d, Proto.HeaderSize + 3, out epoch), "FlagEpoch without room for the trailer");
        }

        public static void SnapshotHashValues()
        {
            var d = Load("snapshot_hash");
            var h = new Header();
            T.Equal(HeaderError.None, h.Parse(d, d.Length), "header");
            T.Equal(0x8877665544332211UL, h.Token, "token");
            var hs = new Header();
            foreach (var name in new[] { "connect_request_empty_name", "challenge_response", "accepted_unicast", "accepted_resumed" })
            {
                var hd = Load(name);
                hs.Parse(hd, hd.Length);
                T.Equal((ushort)0xFFFF, hs.Ack, name + ": a handshake datagram acks nothing");
                T.Equal(0U, hs.AckBits, name + " ack bits");
            }
            var m0 = Load("snapshot_multipart_0");
            var m1 = Load("snapshot_multipart_1");
            var p0 = new Snapshot();
            var p1 = new Snapshot();
            T.True(p0.Parse(m0, 22, m0.Length - 22) && p1.Parse(m1, 22, m1.Length - 22), "multipart parses");
            T.Equal(p1.Flags, p0.Flags, "every part repeats the flags");
            T.Equal(p1.Hash, p0.Hash, "and the hash");
            T.Equal((ushort)41, h.Seq, "seq");
            T.Equal(0xffU, h.AckBits, "ack bits");
            var s = new Snapshot();
            T.True(s.Parse(d, 22, d.Length - 22), "parse");
            T.Equal(90000U, s.Tick, "tick");
            T.Equal(1000000000UL, s.ServerTime, "server time");
            T.Equal(0xdeadbeefcafef00dUL, s.Hash, "hash");
            T.Equal(2, s.NumPlayers, "players");
            T.Equal(3, s.NumEntities, "entities");
            T.Equal((ushort)1, s.Players[0].ClientId, "player 0 id");
            T.Equal(1000U, s.Players[0].InputSeq, "player 0 seq");
            T.Equal(-3f, s.Players[0].Head.PX, "player 0 head x");
            T.Equal(1.7001953125f, s.Players[0].Head.PY, "player 0 head y");
            T.Equal(-2.7998046875f, s.Players[0].Right.PX, "player 0 right x");
            T.Equal(0UL, s.Players[0].Right.Rot & 3, "right hand rotation omits X");
            T.Equal((ushort)102, s.Entities[2].Id, "entity 2 id");
            T.Equal(11.419921875f, s.Entities[2].Pose.PZ, "entity 2 z");
        }

        public static void NewPlayerHasNoInput()
        {
            var d = Load("snapshot_new_player");
            var s = new Snapshot();
            T.True(s.Parse(d, 22, d.Length - 22), "parse");
            T.Equal(1, s.NumPlayers, "one player");
            T.Equal((byte)Tracking.NoInput, s.Players[0].Tracking, "TrackNoInput set, nothing tracked");
            T.Equal(0U, s.Players[0].InputSeq, "seq 0");
            T.True(s.Players[0].Head.Equals(QPose.Identity), "origin pose, identity rotation");
        }

        public static void EntityUpdateValues()
        {
            var d = Load("entity_update");
            var u = new EntityUpdate();
            T.True(u.Parse(d, 22, d.Length - 22), "parse");
            T.Equal(2, u.NumCauses, "causes: each client once");
            T.Equal((ushort)5, u.Causes[0].ClientId, "cause 0 client");
            T.Equal(77U, u.Causes[0].InputSeq, "cause 0 seq");
            T.Equal((ushort)3, u.Causes[1].ClientId, "cause 1 client");
            T.Equal(4243U, u.Causes[1].InputSeq, "cause 1 seq: client 3's newest");
            T.Equal(3, u.NumEntities, "entities");
            T.Equal((byte)(EntityFlags.Held | EntityFlags.Grabbable), u.Entities[0].Flags, "entity 0 flags");
            T.Equal((byte)(0x80 | EntityFlags.Sleeping | EntityFlags.Grabbable), u.Entities[2].Flags, "entity 2 flags");
        }

        public static void MaxVectorsAreAtTheLimits()
        {
            var s = new Snapshot();
            var d = Load("snapshot_max_entities");
            T.Equal(1197, d.Length, "snapshot_max_entities length");
            T.True(s.Parse(d, 22, d.Length - 22), "parse");
            T.Equal(82, s.NumEntities, "entities");
            var u = new EntityUpdate();
            d = Load("entity_update_max_causes");
            T.True(u.Parse(d, 22, d.Length - 22), "parse max causes");
            T.Equal(193, u.NumCauses, "causes");
            d = Load("entity_update_max_players");
            T.True(u.Parse(d, 22, d.Length - 22), "parse max players");
            T.Equal(29, u.NumPlayers, "players");
            d = Load("entity_update_max_entities");
            T.True(u.Parse(d, 22, d.Length - 22), "parse max entities");
            T.Equal(83, u.NumEntities, "entities");
        }

        public static void HandshakeValues()
        {
            var d = Load("accepted_multicast");
            var a = new Accepted();
            T.True(a.Parse(d, 22, d.Length - 22), "parse accepted");
            T.Equal(0xef, (int)a.McastAddr[0], "group first byte");
            T.Equal((ushort)7778, a.McastPort, "group port");
            T.True(!a.Unicast && !a.Sealed, "multicast, clear");
            d = Load("accepted_unicast");
            T.True(a.Parse(d, 22, d.Length - 22) && a.Unicast && a.NoGroup, "unicast without group");
            d = Load("accepted_sealed");
            T.True(a.Parse(d, 22, d.Length - 22) && a.Sealed, "sealed accepted");
            T.Equal(Proto.AcceptedSealedSize, d.Length - 22, "sealed accepted body");
            d = Load("challenge_response");
            var cr = new ChallengeResponse();
            T.True(cr.Parse(d, 22, d.Length - 22), "parse challenge response");
            T.Equal("6f1c3a9e4b274d0a8e55c21970b3fd42", Hex.Encode(cr.PlayerId, 0, 16), "player id");
            T.Equal(3, cr.Name.Length, "name length");
            d = Load("connect_request_name32");
            var cq = new ConnectRequest();
            T.Equal(1200, d.Length, "connect request size");
            T.True(cq.Parse(d, 22, d.Length - 22), "parse connect request");
            T.Equal(32, cq.Name.Length, "32-byte name");
            T.True((cq.Flags & ConnectFlags.WantUnicast) != 0, "unicast wanted");
            d = Load("denied_unknown_reason");
            var dn = new Denied();
            T.True(dn.Parse(d, 22, d.Length - 22), "unknown reason accepted");
            T.Equal((DenyReason)200, dn.Reason, "reason");
        }

        public static void MessageRpcValues()
        {
            var d = Load("message_rpc");
            var m = new MessageBody();
            T.True(m.Parse(d, 22, d.Length - 22), "parse");
            var c = new Chunk();
            int p = m.PayloadOffset, end = p + m.PayloadLength;
            p = c.Parse(d, p, end);
            T.Equal(Rpc.GrabRequest, Bytes.U16(d, c.DataOffset), "chunk 0 rpc");
            p = c.Parse(d, p, end);
            T.Equal(5000123UL, Bytes.U64(d, c.DataOffset + 4), "button time");
            p = c.Parse(d, p, end);
            T.Equal(1, c.Stream, "scene stream");
            int l = Rpc.ParseScene(d, c.DataOffset + 2, c.Length - 2);
            T.Equal("lobby", System.Text.Encoding.UTF8.GetString(d, c.DataOffset + 3, l), "scene");
            p = c.Parse(d, p, end);
            var ev = new EventRpc();
            T.True(ev.Parse(d, c.DataOffset + 2, c.Length - 2), "event");
            T.Equal(-2f, ev.Z, "event z");
            T.Equal(1000250000UL, ev.ServerTime, "event time");
            T.Equal((byte)200, ev.Strength, "strength");
            T.Equal(end, p, "payload consumed");
            // Re-encode the Event from its fields.
            var buf = new byte[64];
            int e = Rpc.WriteEvent(buf, 0, ref ev);
            for (int i = 0; i < e; i++) T.Equal(d[c.DataOffset + i], buf[i], "event byte " + i);
        }

        /// <summary>The coded StateDelta vectors' fields (§6.15), and the drop rules on them.</summary>
        public static void CodedStateDeltaFields()
        {
            var m = new StateDeltaHeader();
            var d = Load("state_delta_coded_keyframe");
            T.True(m.Parse(d, 22, d.Length - 22), "coded keyframe parses");
            T.Equal((byte)(StateDeltaHeader.FlagKeyframe | StateDeltaHeader.FlagCoded | StateDeltaHeader.FlagAvatarGrid), m.Flags, "keyframe flags");
            T.Equal(960, (int)m.PayloadBits, "keyframe payload bits");
            d = Load("state_delta_coded_changes");
            T.True(m.Parse(d, 22, d.Length - 22), "coded changes parse");
            T.Equal(1003U, m.Tick, "tick");
            T.Equal(1000U, m.BaselineTick, "baseline");
            T.Equal(996U, m.PriorTick, "prior tick, after the hash");
            T.Equal(0x0123456789abcdefUL, m.Hash, "hash");
            T.Equal(22 + 23 + 8 + 4, m.RangesOffset, "ranges after hash and prior");
            T.Equal((ushort)3, m.PlayerRecords, "player records");
            T.Equal((ushort)4, m.EntityRecords, "entity records");
            T.Equal(560, (int)m.PayloadBits, "payload bits");
            d = Load("state_delta_coded_parity");
            T.True(m.Parse(d, 22, d.Length - 22) && m.IsParity, "parity part parses");
            T.Equal(0, m.PlayerRecords + m.EntityRecords, "a parity part has no records");
            T.Equal(84, m.PayloadLength, "parity payload");
            // Drop rules: each mutation of a valid part is refused.
            var c = Load("state_delta_coded_changes");
            int f = 22 + StateDeltaHeader.OffFlags;
            Action<string, Action<byte[]>> refused = (what, mut) =>
            {
                var x = (byte[])c.Clone();
                mut(x);
                T.True(!new StateDeltaHeader().Parse(x, 22, x.Length - 22), what);
            };
            refused("coded-only flags without DeltaCoded", x => x[f] &= unchecked((byte)~StateDeltaHeader.FlagCoded));
            refused("prior entities without prior", x => { x[f] &= unchecked((byte)~StateDeltaHeader.FlagPrior); });
            refused("a prior not older than the baseline", x => Bytes.PutU32(x, 22 + 31, 1000));
            refused("coded bits not a multiple of 8", x => Bytes.PutU16(x, 22 + 35 + 12, 559));
            refused("parity with records", x => x[f] |= StateDeltaHeader.FlagParity);
            refused("a prior in a keyframe", x => { x[f] |= StateDeltaHeader.FlagKeyframe; Bytes.PutU32(x, 22 + 12, 0); });
        }

        public static void DiscoveryVectorsRoundTrip()
        {
            var dir = Path.Combine(T.Root, "testdata", "discovery");
            var probe = Hex.ReadFile(Path.Combine(dir, "probe.hex"));
            uint nonce;
            T.True(Arcade.Discovery.Beacon.ParseProbe(probe, probe.Length, out nonce), "probe parses");
            T.Equal(0xdeadbeefU, nonce, "probe nonce");
            var buf = new byte[1200];
            int n = Arcade.Discovery.Beacon.WriteProbe(buf, nonce, Arcade.Discovery.Beacon.ProbeSize);
            T.Bytes(probe, probe.Length, buf, n, "probe.hex");
            var min = Hex.ReadFile(Path.Combine(dir, "probe_min.hex"));
            n = Arcade.Discovery.Beacon.WriteProbe(buf, 0x11223344, 64);
            T.Bytes(min, min.Length, buf, n, "probe_min.hex");
            foreach (var name in new[] { "reply.hex", "reply_truncated.hex", "reply_epoch.hex" })
            {
                var d = Hex.ReadFile(Path.Combine(dir, name));
                var r = new Arcade.Discovery.BeaconReply();
                T.True(r.Parse(d, d.Length), name + " parses");
                n = r.Write(buf);
                T.Bytes(d, d.Length, buf, n, name);
                T.Equal("Arena", r.Name, name + " name");
                T.Equal((ushort)7777, r.GamePort, name + " port");
                T.Equal("1", r.Get("v"), name + " v");
                T.Equal("120", r.Get("TICK"), name + " tick, looked up case-insensitively");
                T.Equal(name == "reply_epoch.hex" ? 3U : 0U, r.Epoch, name + " epoch (§18.7)");
            }
        }
    }
}

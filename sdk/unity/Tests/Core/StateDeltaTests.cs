using System;
using System.IO;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The StateDelta vectors decode in sequence (keyframe 1000, 1003 against 1000, 1004
    /// against 1003) to states of the counts their headers announce; corrupt payloads are refused.</summary>
    public static class StateDeltaTests
    {
        static byte[] Load(string n) { return Hex.ReadFile(Path.Combine(T.Root, "testdata", "wire", n + ".hex")); }

        public static void VectorsDecodeInSequence()
        {
            var dec = new DeltaDecoder();
            var h = new StateDeltaHeader();
            var st = new TickState();
            var d = Load("state_delta_keyframe");
            T.True(h.Parse(d, 22, d.Length - 22), "keyframe parses");
            T.True((h.Flags & StateDeltaHeader.FlagKeyframe) != 0 && h.BaselineTick == 0, "a keyframe");
            T.True(dec.Apply(h, d, st), "keyframe applies to nothing");
            T.Equal((int)h.PlayerCount, st.NumPlayers, "keyframe players");
            T.Equal((int)h.EntityCount, st.NumEntities, "keyframe entities");
            var k = new TickState();
            k.CopyFrom(st);
            d = Load("state_delta_changes");
            T.True(h.Parse(d, 22, d.Length - 22), "changes parse");
            T.Equal(1000U, h.BaselineTick, "against 1000");
            T.True(dec.Apply(h, d, st), "changes apply to 1000");
            T.Equal((int)h.PlayerCount, st.NumPlayers, "1003 players");
            T.Equal((int)h.EntityCount, st.NumEntities, "1003 entities");
            for (int i = 1; i < st.NumEntities; i++) T.True(st.Entities[i - 1].Id < st.Entities[i].Id, "entities sorted");
            var s1003 = new TickState();
            s1003.CopyFrom(st);
            d = Load("state_delta_unchanged");
            T.True(h.Parse(d, 22, d.Length - 22) && dec.Apply(h, d, st), "unchanged applies to 1003");
            T.Equal(s1003.NumPlayers, st.NumPlayers, "unchanged players");
            for (int i = 0; i < st.NumEntities; i++) T.True(st.Entities[i].Pose.Equals(s1003.Entities[i].Pose), "unchanged entity " + i);
            // The changes coded against the keyframe's state do not apply to 1003's (a new record it has).
            d = Load("state_delta_changes");
            h.Parse(d, 22, d.Length - 22);
            var before = st.NumEntities;
            T.True(!dec.Apply(h, d, st), "a part against the wrong state is refused");
            T.Equal(before, st.NumEntities, "and leaves the state unchanged");
            // One bit less: the payload no longer decodes exactly.
            d = Load("state_delta_keyframe");
            h.Parse(d, 22, d.Length - 22);
            h.PayloadBits--;
            T.True(!dec.Apply(h, d, new TickState()), "a payload one bit short is refused");
            T.Log("keyframe: {0} players, {1} entities; 1003: {2} players, {3} entities", k.NumPlayers, k.NumEntities, s1003.NumPlayers, s1003.NumEntities);
        }

        static TickState Decode(DeltaDecoder dec, string name, TickState onto, TickState prior)
        {
            var d = Load(name);
            var h = new StateDeltaHeader();
            T.True(h.Parse(d, 22, d.Length - 22), name + " parses");
            T.True(dec.Apply(h, d, onto, prior), name + " applies");
            T.Equal((int)h.PlayerCount, onto.NumPlayers, name + " players");
            T.Equal((int)h.EntityCount, onto.NumEntities, name + " entities");
            return onto;
        }

        static double Degrees(QPose a, QPose b)
        {
            float ax, ay, az, aw, bx, by, bz, bw;
            a.Rotation(out ax, out ay, out az, out aw);
            b.Rotation(out bx, out by, out bz, out bw);
            double dot = Math.Abs(ax * bx + ay * by + az * bz + aw * bw);
            return 2 * Math.Acos(Math.Min(1, dot)) * 180 / Math.PI;
        }

        static bool OnGrid(ulong rot)
        {
            for (int k = 0; k < 3; k++) if ((rot >> (2 + 12 * k) & 3) != 2) return false;
            return true;
        }

        // A coded player is the bit-packed vector's player with its rotations on the avatar grid (§10.4):
        // the same id, seq, tracking and positions; each rotation on the grid, at most 0.3° away.
        static void SamePlayerOnGrid(DeltaPlayer want, DeltaPlayer got, string what)
        {
            T.Equal(want.Id, got.Id, what + " id");
            T.Equal(want.Seq, got.Seq, what + " seq");
            T.Equal(want.Tracking, got.Tracking, what + " tracking");
            var w = new[] { want.Head, want.Left, want.Right };
            var g = new[] { got.Head, got.Left, got.Right };
            for (int i = 0; i < 3; i++)
            {
                T.True(w[i].X == g[i].X && w[i].Y == g[i].Y && w[i].Z == g[i].Z, what + " pose " + i + " position: " + g[i] + ", want " + w[i]);
                T.True(OnGrid(g[i].Rot), what + " pose " + i + " rotation on the avatar grid");
                double deg = Degrees(w[i], g[i]);
                T.True(deg <= 0.3, what + " pose " + i + " rotation within 0.3°: " + deg);
            }
        }

        /// <summary>The coded vectors decode to the documented worlds (wire/statedelta_golden_test.go
        /// codedWorlds): the keyframe to state_delta_keyframe's with the avatars on the avatar grid, the
        /// changes (against it, predicted from prior tick 996) to state_delta_changes's likewise, entities
        /// exact; without the prior tick the changes are refused; the parity vector alone rebuilds the
        /// changes part, through the receiver, and its tick is then whole.</summary>
        public static void CodedVectorsDecodeToTheirWorlds()
        {
            var dec = new DeltaDecoder();
            var plain = Decode(dec, "state_delta_keyframe", new TickState(), null);
            var plain1003 = new TickState(); plain1003.CopyFrom(plain);
            Decode(dec, "state_delta_changes", plain1003, null);

            var key = Decode(dec, "state_delta_coded_keyframe", new TickState(), null);
            for (int i = 0; i < key.NumPlayers; i++) SamePlayerOnGrid(plain.Players[i], key.Players[i], "keyframe player " + i);
            for (int i = 0; i < key.NumEntities; i++) T.Equal(plain.Entities[i], key.Entities[i], "keyframe entity " + i);
            key.Tick = 1000;

            // Tick 996: player 1 stood 2 mm back in x and z two input samples before; entity 2 turned a little less.
            var prior = new TickState(); prior.CopyFrom(key); prior.Tick = 996;
            prior.Players[0].Seq = 498;
            prior.Players[0].Head.X -= 2; prior.Players[0].Head.Z += 2;
            prior.Entities[1].Pose.Rot -= 3UL << 2;

            var cur = new TickState(); cur.CopyFrom(key);
            Decode(dec, "state_delta_coded_changes", cur, prior);
            for (int i = 0; i < cur.NumPlayers; i++) SamePlayerOnGrid(plain1003.Players[i], cur.Players[i], "1003 player " + i);
            for (int i = 0; i < cur.NumEntities; i++) T.Equal(plain1003.Entities[i], cur.Entities[i], "1003 entity " + i);
            T.Equal((ushort)4, cur.Players[1].Id, "player 4 joined");
            T.Equal((ushort)9, cur.Entities[4].Id, "entity 9 is new");

            var d = Load("state_delta_coded_changes");
            var h = new StateDeltaHeader();
            h.Parse(d, 22, d.Length - 22);
            var st = new TickState(); st.CopyFrom(key);
            T.True(!dec.Apply(h, d, st, null), "without the prior tick the part is refused");
            var wrong = new TickState(); wrong.CopyFrom(key);
            // Against another prior (the baseline itself: no motion to predict) it decodes to other poses.
            T.True(dec.Apply(h, d, wrong, key) && !wrong.Players[0].Head.Equals(cur.Players[0].Head), "the prediction is from the prior named");

            // The parity vector alone, through a receiver holding 996 and 1000.
            var rx = new DeltaReceiver();
            rx.Keep(prior);
            rx.Keep(key);
            var p = Load("state_delta_coded_parity");
            var ph = new StateDeltaHeader();
            T.True(ph.Parse(p, 22, p.Length - 22), "parity parses");
            TickState got;
            var o = rx.Take(ph, p, out got);
            T.Equal(DeltaOutcome.Whole, o, "the parity part alone rebuilds the tick's one part");
            T.True(rx.RecoveredParts == 1 && rx.RecoveredPart(0).Part == 0 && !rx.RecoveredPart(0).IsParity, "the rebuilt part");
            T.Equal(h.PayloadBits, rx.RecoveredPart(0).PayloadBits, "rebuilt payload bits");
            for (int i = 0; i < got.NumEntities; i++) T.Equal(cur.Entities[i], got.Entities[i], "rebuilt 1003 entity " + i);
            for (int i = 0; i < got.NumPlayers; i++) T.Equal(cur.Players[i].Head, got.Players[i].Head, "rebuilt 1003 head " + i);
            T.True(rx.Holds(1003), "1003 held whole");
            uint at; ulong mask;
            T.True(rx.Ack(out at, out mask) && at == 1003 && mask == (1UL | 1UL << 3 | 1UL << 7), "acknowledged: 1003, 1000, 996: " + at + " " + mask.ToString("x"));
            T.Equal(DeltaOutcome.Copy, rx.Take(h, d, out got), "the data part after it: a copy");

            // Repair part 1 (a unicast repair: the data part times c(1, 0) in GF(2⁸)) alone rebuilds it too.
            rx = new DeltaReceiver();
            rx.Keep(prior); rx.Keep(key);
            var p1 = Load("state_delta_coded_repair1");
            var p1h = new StateDeltaHeader();
            T.True(p1h.Parse(p1, 22, p1.Length - 22) && p1h.IsParity && p1h.Part == 1 && p1h.Parts == 1, "repair part 1 of one part parses");
            T.Equal(DeltaOutcome.Whole, rx.Take(p1h, p1, out got), "repair part 1 alone rebuilds the tick's one part");
            T.True(rx.RecoveredParts == 1 && rx.RecoveredPart(0).Part == 0, "the rebuilt part, from repair part 1");
            for (int i = 0; i < got.NumEntities; i++) T.Equal(cur.Entities[i], got.Entities[i], "rebuilt from repair 1: 1003 entity " + i);
            T.Equal(0x7f, (int)DeltaRepair.Coef(1, 0), "c(1, 0) = 255/254");
            for (int i = 0; i < 254; i++) T.Equal(1, (int)DeltaRepair.Coef(0, i), "repair part 0 is the XOR: c(0, " + i + ")");

            // The data part, then the parity part: nothing to rebuild.
            rx = new DeltaReceiver();
            rx.Keep(prior); rx.Keep(key);
            T.Equal(DeltaOutcome.Whole, rx.Take(h, d, out got), "the data part makes the tick whole");
            T.Equal(DeltaOutcome.Copy, rx.Take(ph, p, out got), "the parity part after it: a copy");
            // Without the prior: no-baseline, counted.
            rx = new DeltaReceiver();
            rx.Keep(key);
            T.Equal(DeltaOutcome.NoBaseline, rx.Take(h, d, out got), "without the prior tick");
            T.Equal(1L, rx.NoBaseline, "counted");
            T.Log("coded keyframe: {0} players, {1} entities; 1003 from the keyframe and prior 996, and rebuilt from parity alone", key.NumPlayers, key.NumEntities);

            // The decoding cost of the same changes, coded and bit-packed (logged, not asserted: the box is shared).
            var pd = Load("state_delta_changes");
            var phh = new StateDeltaHeader();
            phh.Parse(pd, 22, pd.Length - 22);
            const int rounds = 20000;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < rounds; i++) { st.CopyFrom(key); dec.Apply(h, d, st, prior); }
            double coded = sw.Elapsed.TotalMilliseconds * 1000 / rounds;
            sw.Restart();
            for (int i = 0; i < rounds; i++) { st.CopyFrom(plain); dec.Apply(phh, pd, st, null); }
            double bits = sw.Elapsed.TotalMilliseconds * 1000 / rounds;
            T.Log("the changes of tick 1003 (7 records): coded {0:F2} µs, {1} payload bytes; bit-packed {2:F2} µs, {3} payload bytes ({4:F1}× the time; shared box, not asserted)",
                coded, h.PayloadLength, bits, phh.PayloadLength, coded / bits);
        }

        /// <summary>The coded vectors mutated at random (bytes flipped in the payload and fields, cut,
        /// extended) through the parser and a receiver holding their baseline and prior: nothing throws,
        /// and a refused part shows nothing.</summary>
        public static void CodedMutationsNeverThrow()
        {
            var dec = new DeltaDecoder();
            var key = Decode(dec, "state_delta_coded_keyframe", new TickState(), null);
            key.Tick = 1000;
            var prior = new TickState(); prior.CopyFrom(key); prior.Tick = 996; prior.Players[0].Seq = 498;
            var vs = new[] { Load("state_delta_coded_keyframe"), Load("state_delta_coded_changes"), Load("state_delta_coded_parity"), Load("state_delta_coded_repair1") };
            var rng = new Random(14);
            var buf = new byte[Proto.MaxDatagramSize + 64];
            var h = new StateDeltaHeader();
            var rx = new DeltaReceiver();
            int parsed = 0, applied = 0;
            for (int round = 0; round < 20000; round++)
            {
                if (round % 500 == 0) { rx.Reset(); rx.Keep(prior); rx.Keep(key); }
                var v = vs[rng.Next(vs.Length)];
                int len = Math.Min(buf.Length, Math.Max(0, v.Length + (rng.Next(4) == 0 ? rng.Next(-30, 30) : 0)));
                Buffer.BlockCopy(v, 0, buf, 0, Math.Min(len, v.Length));
                for (int k = v.Length; k < len; k++) buf[k] = (byte)rng.Next(256);
                int flips = rng.Next(1, 6);
                for (int k = 0; k < flips && len > 22; k++) buf[22 + rng.Next(len - 22)] ^= (byte)(1 << rng.Next(8));
                if (len < 22 || !h.Parse(buf, 22, len - 22)) continue;
                parsed++;
                TickState st;
                var o = rx.Take(h, buf, out st);
                if (o == DeltaOutcome.Partial || o == DeltaOutcome.Whole) applied++;
                if (o == DeltaOutcome.Bad || o == DeltaOutcome.NoBaseline) T.True(st == null, "a refused part shows nothing");
            }
            T.True(parsed > 1000, "mutations that parse: " + parsed);
            T.Log("20000 mutated coded parts: {0} parsed, {1} applied (a flipped payload bit still decodes to some records), no exception", parsed, applied);
        }
    }
}

using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>What became of one StateDelta part (DeltaReceiver.Take).</summary>
    public enum DeltaOutcome
    {
        /// <summary>Applied; its tick awaits other parts.</summary>
        Partial,
        /// <summary>Applied; its tick is now whole, and kept.</summary>
        Whole,
        /// <summary>Its tick is held whole already (a copy, or by the other path).</summary>
        Copy,
        /// <summary>This part of its tick was applied already.</summary>
        Duplicate,
        /// <summary>The baseline tick (or the prior tick) is not held.</summary>
        NoBaseline,
        /// <summary>It did not decode, or its tick's parts do not add up.</summary>
        Bad,
    }

    /// <summary>The receiving side of §10.4: the 64 newest ticks held whole (baselines and priors), at
    /// most two assemblies (the newest tick and an older repair), each from a copy of its baseline, with
    /// the repair of coded ticks that rebuilds as many lost parts as repair parts came, and the
    /// acknowledgement sent in every PoseInput. Pure logic under the session's receive lock; nothing
    /// allocates once the states have grown to the room's size and the repairs are set up (PrepareParity).</summary>
    public sealed class DeltaReceiver
    {
        public const int Held = Proto.StateTicksHeld;
        const int MaxParts = 255;
        readonly TickState[] held = new TickState[Held];
        readonly bool[] heldValid = new bool[Held];
        uint newest;
        bool hasNewest;
        readonly DeltaDecoder dec = new DeltaDecoder();
        // The parts the last Take rebuilt from repair parts (rec[0…nrec)), and their bodies.
        readonly StateDeltaHeader[] rec = new StateDeltaHeader[DeltaRepair.MaxRepairs];
        readonly byte[][] recBody = new byte[DeltaRepair.MaxRepairs][];
        int nrec;

        sealed class Assembly
        {
            public bool Live;
            public uint Tick, Baseline, Prior;
            public bool Keyframe, HasPrior;
            public int Parts, Got;
            public readonly ulong[] Mask = new ulong[4];
            // Ranges of the parts applied (player from, to, entity from, to): a part of another
            // encoding of the tick overlaps one of them.
            public readonly ushort[] Ranges = new ushort[MaxParts * 4];
            public readonly TickState St = new TickState();
            public DeltaRepair Par; // set up by the first multi-part coded tick
            public bool ParSet;

            public bool Has(int part) { return (Mask[part >> 6] >> (part & 63) & 1) != 0; }

            public void Set(int part, StateDeltaHeader m)
            {
                Mask[part >> 6] |= 1UL << (part & 63);
                Ranges[4 * part] = m.PlayerFrom; Ranges[4 * part + 1] = m.PlayerTo;
                Ranges[4 * part + 2] = m.EntityFrom; Ranges[4 * part + 3] = m.EntityTo;
                Got++;
            }

            public bool SameRanges(int part, StateDeltaHeader m)
            {
                return Ranges[4 * part] == m.PlayerFrom && Ranges[4 * part + 1] == m.PlayerTo
                    && Ranges[4 * part + 2] == m.EntityFrom && Ranges[4 * part + 3] == m.EntityTo;
            }

            static bool Meet(int f1, int t1, int f2, int t2) { return f1 <= t1 && f2 <= t2 && f1 <= t2 && f2 <= t1; }

            /// <summary>Whether m's ranges meet those of a part applied other than m itself: the parts of
            /// one encoding of a tick never do.</summary>
            public bool Overlaps(StateDeltaHeader m)
            {
                for (int i = 0; i < Parts; i++)
                {
                    if (i == m.Part || !Has(i)) continue;
                    if (Meet(Ranges[4 * i], Ranges[4 * i + 1], m.PlayerFrom, m.PlayerTo)
                        || Meet(Ranges[4 * i + 2], Ranges[4 * i + 3], m.EntityFrom, m.EntityTo)) return true;
                }
                return false;
            }

            /// <summary>Whether the parts' ranges, in part order, cover every player id and every entity id once.</summary>
            public bool Covers()
            {
                for (int k = 0; k < 4; k += 2)
                {
                    int next = 0;
                    for (int i = 0; i < Parts; i++)
                    {
                        int from = Ranges[4 * i + k], to = Ranges[4 * i + k + 1];
                        if (from > to) continue; // empty
                        if (from != next) return false;
                        next = to + 1;
                    }
                    if (next != 1 << 16) return false;
                }
                return true;
            }
        }

        readonly Assembly[] asm = { new Assembly(), new Assembly() };
        int next;
        public long NoBaseline, BadDelta, Copies, Applied, Recovered;

        public DeltaReceiver()
        {
            for (int i = 0; i < Held; i++) held[i] = new TickState();
        }

        public void Reset()
        {
            Array.Clear(heldValid, 0, Held);
            hasNewest = false;
            asm[0].Live = false; asm[1].Live = false;
            next = 0;
            nrec = 0;
        }

        TickState Find(uint tick)
        {
            int i = (int)(tick % Held);
            return heldValid[i] && held[i].Tick == tick ? held[i] : null;
        }

        public bool Holds(uint tick) { return Find(tick) != null; }

        /// <summary>The whole state of tick, or null.</summary>
        public TickState State(uint tick) { return Find(tick); }

        /// <summary>The newest tick held whole and the mask of the 64 ticks ending there (bit i: tick − i held); false before any.</summary>
        public bool Ack(out uint tick, out ulong mask)
        {
            tick = newest; mask = 0;
            if (!hasNewest) return false;
            for (uint i = 0; i < Held; i++) if (Holds(newest - i)) mask |= 1UL << (int)i;
            return true;
        }

        /// <summary>How many parts the last Take rebuilt from repair parts (and applied: their records,
        /// within their ranges, are in the state Take returned); RecoveredPart(i) is each. Valid until the
        /// next Take.</summary>
        public int RecoveredParts { get { return nrec; } }

        public StateDeltaHeader RecoveredPart(int i) { return i >= 0 && i < nrec ? rec[i] : null; }

        /// <summary>Keeps st as a tick held whole (a receiver's own records, or a test's), as a completed assembly is.</summary>
        public void Keep(TickState st)
        {
            if (hasNewest && (int)(newest - st.Tick) >= Held) return; // older than anything a server codes against
            int slot = (int)(st.Tick % Held);
            if (heldValid[slot] && (int)(held[slot].Tick - st.Tick) > 0) return; // the slot holds a newer tick
            if (held[slot].Players.Length < st.NumPlayers || held[slot].Entities.Length < st.NumEntities) Grow(held[slot], st.NumPlayers, st.NumEntities);
            held[slot].CopyFrom(st);
            heldValid[slot] = true;
            if (!hasNewest || (int)(st.Tick - newest) > 0) { newest = st.Tick; hasNewest = true; }
        }

        // The room grew: every held tick and assembly grows now, by half again at least, rather than
        // each slot when it is next used (which would allocate on ticks to come).
        void Grow(TickState slot, int np, int ne)
        {
            if (slot.Players.Length < np) np = Math.Max(np, slot.Players.Length * 3 / 2);
            if (slot.Entities.Length < ne) ne = Math.Max(ne, slot.Entities.Length * 3 / 2);
            foreach (var t in held) t.Reserve(np, ne);
            foreach (var a in asm) a.St.Reserve(np, ne);
        }

        /// <summary>Takes part h (its body in buf). st is, when the part's records are known, the state of
        /// its tick: within h's ranges (and a recovered part's) that is the tick's, whatever becomes of the
        /// other parts; whole for Whole and Copy. Valid until the next call.</summary>
        public DeltaOutcome Take(StateDeltaHeader h, byte[] buf, out TickState st)
        {
            nrec = 0;
            st = Find(h.Tick);
            if (st != null) { Copies++; return DeltaOutcome.Copy; }
            bool keyframe = (h.Flags & StateDeltaHeader.FlagKeyframe) != 0;
            Assembly a = null;
            for (int i = 0; i < 2; i++) if (asm[i].Live && asm[i].Tick == h.Tick) a = asm[i];
            if (a != null && (a.Baseline != h.BaselineTick || a.Keyframe != keyframe || a.Parts != h.Parts || a.HasPrior != h.HasPrior
                || h.HasPrior && a.Prior != h.PriorTick || !h.IsParity && a.Overlaps(h)))
            {
                // The same tick coded otherwise (a repair against another baseline, or split elsewhere): start again from this part.
                a.Live = false;
                a = null;
            }
            TickState prior = null;
            if (h.HasPrior && (prior = Find(h.PriorTick)) == null)
            {
                // The prior is looked up for every part: the receiver must hold it, as it holds the baseline.
                if (a != null) a.Live = false;
                NoBaseline++;
                return DeltaOutcome.NoBaseline;
            }
            if (a == null)
            {
                TickState baseline = null;
                if (!keyframe && (baseline = Find(h.BaselineTick)) == null) { NoBaseline++; return DeltaOutcome.NoBaseline; }
                // The slots take new ticks in turn: the older of two assemblies gives way.
                a = asm[next];
                next = (next + 1) % asm.Length;
                a.Live = true; a.Tick = h.Tick; a.Baseline = h.BaselineTick; a.Keyframe = keyframe; a.Parts = h.Parts; a.Got = 0;
                a.HasPrior = h.HasPrior; a.Prior = h.PriorTick;
                Array.Clear(a.Mask, 0, a.Mask.Length);
                a.ParSet = false;
                if (keyframe) a.St.Clear(); else a.St.CopyFrom(baseline);
                a.St.Tick = h.Tick;
            }
            if (h.IsParity) return Parity(a, h, buf, prior, out st);
            if (a.Has(h.Part))
            {
                if (!a.SameRanges(h.Part, h))
                {
                    a.Live = false; // the same part of another encoding: start again from it
                    return Take(h, buf, out st);
                }
                st = a.St;
                Copies++;
                return DeltaOutcome.Duplicate;
            }
            if (!dec.Apply(h, buf, a.St, prior)) { a.Live = false; BadDelta++; return DeltaOutcome.Bad; }
            Applied++;
            a.Set(h.Part, h);
            a.St.ServerTime = h.ServerTime;
            if (h.Coded && a.Parts > 1)
            {
                // Kept for repair parts that may rebuild lost ones.
                Repair(a).AddData(h.Part, buf, h.RangesOffset, h.PayloadOffset + h.PayloadLength);
                DeltaOutcome o;
                if (Recover(a, prior, out o, out st)) return o;
            }
            return Done(a, h, out st);
        }

        // What a's tick is after a part was applied: Partial, or Whole (and kept) when every part is, or
        // Bad when they do not add up to the tick.
        DeltaOutcome Done(Assembly a, StateDeltaHeader h, out TickState st)
        {
            st = a.St;
            if (a.Got < a.Parts) return DeltaOutcome.Partial;
            a.Live = false;
            if (a.St.NumPlayers != h.PlayerCount || a.St.NumEntities != h.EntityCount || !a.Covers())
            {
                st = null;
                BadDelta++;
                return DeltaOutcome.Bad;
            }
            Keep(a.St);
            return DeltaOutcome.Whole;
        }

        /// <summary>Sets up the repairs of both assemblies now (about 640 KB), so that no coded tick
        /// allocates them later: for a session that takes coded parts.</summary>
        public void PrepareParity()
        {
            foreach (var a in asm) if (a.Par == null) a.Par = new DeltaRepair();
            for (int i = 0; i < rec.Length; i++)
            {
                if (rec[i] == null) rec[i] = new StateDeltaHeader();
                if (recBody[i] == null) recBody[i] = new byte[Proto.MaxBodySize];
            }
        }

        DeltaRepair Repair(Assembly a)
        {
            PrepareParity();
            if (!a.ParSet) { a.ParSet = true; a.Par.Reset(a.Parts); }
            return a.Par;
        }

        DeltaOutcome Parity(Assembly a, StateDeltaHeader h, byte[] buf, TickState prior, out TickState st)
        {
            var g = Repair(a);
            st = a.St;
            if (g.HasRepair(h.Part)) { Copies++; return DeltaOutcome.Duplicate; }
            g.AddRepair(h, buf);
            DeltaOutcome o;
            if (Recover(a, prior, out o, out st)) return o;
            st = a.St;
            return DeltaOutcome.Partial;
        }

        // Rebuilds and applies the parts a lacks, if its repair can (true).
        bool Recover(Assembly a, TickState prior, out DeltaOutcome o, out TickState st)
        {
            o = DeltaOutcome.Partial; st = null;
            var g = Repair(a);
            int e;
            if (!g.Missing(out e) || e > rec.Length || !g.Recover()) return false;
            StateDeltaHeader last = null;
            for (int part = 0; part < a.Parts; part++)
            {
                if (a.Has(part)) continue;
                var r = rec[nrec];
                var body = recBody[nrec];
                int n = g.Body(body, part);
                if (n < 0 || !r.Parse(body, 0, n) || r.Part != part || r.IsParity)
                {
                    a.Live = false; BadDelta++; o = DeltaOutcome.Bad;
                    return true;
                }
                if (!dec.Apply(r, body, a.St, prior)) { a.Live = false; BadDelta++; o = DeltaOutcome.Bad; return true; }
                Applied++; Recovered++;
                a.Set(part, r);
                nrec++;
                last = r;
            }
            if (last == null) return false;
            o = Done(a, last, out st);
            return true;
        }
    }
}

using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>The receiving side of §10.4: the 64 newest ticks held whole (baselines), at most two
    /// assemblies (the newest tick and an older repair), and the acknowledgement sent in every
    /// PoseInput. Pure logic under the session's receive lock; nothing allocates once the states
    /// have grown to the room's size.</summary>
    public sealed class DeltaReceiver
    {
        public const int Held = Proto.StateTicksHeld;
        readonly TickState[] held = new TickState[Held];
        readonly bool[] heldValid = new bool[Held];
        readonly DeltaDecoder dec = new DeltaDecoder();

        sealed class Assembly
        {
            public bool Live;
            public uint Tick, Baseline;
            public int Parts, Got;
            public readonly ulong[] Mask = new ulong[4];
            public ushort PlayerCount, EntityCount;
            public ulong ServerTime;
            public readonly TickState St = new TickState();
        }

        readonly Assembly[] asm = { new Assembly(), new Assembly() };
        public long NoBaseline, BadDelta, Copies, Applied;

        public DeltaReceiver()
        {
            for (int i = 0; i < Held; i++) held[i] = new TickState();
        }

        public void Reset()
        {
            Array.Clear(heldValid, 0, Held);
            asm[0].Live = false; asm[1].Live = false;
        }

        TickState Find(uint tick)
        {
            int i = (int)(tick % Held);
            return heldValid[i] && held[i].Tick == tick ? held[i] : null;
        }

        public bool Holds(uint tick) { return Find(tick) != null; }

        /// <summary>The newest tick held whole and the mask of the 64 ticks ending there (bit i: tick − i held); false before any.</summary>
        public bool Ack(out uint tick, out ulong mask)
        {
            tick = 0; mask = 0;
            bool any = false;
            for (int i = 0; i < Held; i++)
                if (heldValid[i] && (!any || (int)(held[i].Tick - tick) > 0)) { tick = held[i].Tick; any = true; }
            if (!any) return false;
            for (int i = 0; i < Held; i++)
            {
                if (!heldValid[i]) continue;
                uint d = tick - held[i].Tick;
                if (d < 64) mask |= 1UL << (int)d;
            }
            return true;
        }

        /// <summary>Applies part h (payload in buf). Returns the assembly's state when the part was applied
        /// (show its ranges), or null; complete is set when the tick became whole (then kept as a baseline).</summary>
        public TickState Take(StateDeltaHeader h, byte[] buf, out bool complete)
        {
            complete = false;
            if (Holds(h.Tick)) { Copies++; return null; }
            bool keyframe = (h.Flags & StateDeltaHeader.FlagKeyframe) != 0;
            Assembly a = null;
            for (int i = 0; i < 2; i++) if (asm[i].Live && asm[i].Tick == h.Tick) a = asm[i];
            if (a != null && (a.Baseline != h.BaselineTick || a.Parts != h.Parts)) a.Live = false; // restarts from this part
            if (a == null || !a.Live)
            {
                TickState baseline = null;
                if (!keyframe && (baseline = Find(h.BaselineTick)) == null) { NoBaseline++; return null; }
                if (a == null)
                {
                    // The slot of the older assembly (or a free one) takes the new tick.
                    a = !asm[0].Live ? asm[0] : !asm[1].Live ? asm[1] : (int)(asm[0].Tick - asm[1].Tick) < 0 ? asm[0] : asm[1];
                }
                a.Live = true; a.Tick = h.Tick; a.Baseline = h.BaselineTick; a.Parts = h.Parts; a.Got = 0;
                Array.Clear(a.Mask, 0, 4);
                if (keyframe) a.St.Clear(); else a.St.CopyFrom(baseline);
                a.St.Tick = h.Tick;
            }
            if ((a.Mask[h.Part >> 6] >> (h.Part & 63) & 1) != 0) { Copies++; return null; }
            if (!dec.Apply(h, buf, a.St)) { a.Live = false; BadDelta++; return null; }
            Applied++;
            a.Mask[h.Part >> 6] |= 1UL << (h.Part & 63);
            a.Got++;
            a.ServerTime = h.ServerTime; a.St.ServerTime = h.ServerTime;
            a.PlayerCount = h.PlayerCount; a.EntityCount = h.EntityCount;
            if (a.Got < a.Parts) return a.St;
            a.Live = false;
            if (a.St.NumPlayers != a.PlayerCount || a.St.NumEntities != a.EntityCount) { BadDelta++; return a.St; }
            int slot = (int)(h.Tick % Held);
            complete = true;
            if (heldValid[slot] && (int)(held[slot].Tick - h.Tick) > 0) return a.St; // older than the 64 newest: not kept
            held[slot].CopyFrom(a.St);
            heldValid[slot] = true;
            return held[slot];
        }
    }
}

using Arcade.Wire;

namespace Arcade
{
    /// <summary>The models of one kind of pose (heads; hands; entities), §10.4 "Models".</summary>
    public sealed class PoseModels
    {
        public readonly IntModel Across = new IntModel(), Up = new IntModel(), Rot = new IntModel();
        public Prob Same;

        public void Init() { Across.Init(); Up.Init(); Rot.Init(); Same = Prob.Start; }
    }

    /// <summary>The models of one coded part, fresh at its start: a part decodes alone.</summary>
    public sealed class CodedModels
    {
        public readonly IntModel GapP = new IntModel(), GapE = new IntModel(), Seq = new IntModel();
        public Prob OpP0, OpP1, OpE0, OpE1, Track, Flags;
        public readonly PoseModels Heads = new PoseModels(), Hands = new PoseModels(), Entities = new PoseModels();

        public void Init()
        {
            GapP.Init(); GapE.Init(); Seq.Init();
            OpP0 = OpP1 = OpE0 = OpE1 = Track = Flags = Prob.Start;
            Heads.Init(); Hands.Init(); Entities.Init();
        }
    }

    /// <summary>What a pose residual is predicted from (§10.4 "Prediction"): the record's pose in the
    /// prior tick, and num/den, how far the tick is from the baseline over how far the baseline is from
    /// the prior. Off: the baseline value is the prediction.</summary>
    public struct Predictor
    {
        public bool On;
        public QPose A;
        public long Num, Den;

        /// <summary>The predictor of a changed player's poses from its prior record's input seq aSeq (has:
        /// the prior holds the player) and baseline's bSeq, with seq the tick's input seq just decoded;
        /// its A is set per pose.</summary>
        public static Predictor Player(bool has, uint aSeq, uint bSeq, uint seq)
        {
            var p = new Predictor();
            if (!has) return p;
            long num = (int)(seq - bSeq), den = (int)(bSeq - aSeq);
            if (num <= 0 || den <= 0 || num > 2 * den) return p;
            p.On = true; p.Num = num; p.Den = den;
            return p;
        }

        /// <summary>The same for an entity, by tick: prior tick pt, baseline bt, tick t.</summary>
        public static Predictor Entity(bool has, ref DeltaEntity a, uint pt, uint bt, uint t)
        {
            var p = new Predictor();
            if (!has) return p;
            long num = (int)(t - bt), den = (int)(bt - pt);
            if (num <= 0 || den <= 0 || num > 2 * den) return p;
            p.On = true; p.Num = num; p.Den = den; p.A = a.Pose;
            return p;
        }

        /// <summary>(b − a) as a signed delta of n bits.</summary>
        public static long WrapDelta(ulong a, ulong b, int n)
        {
            ulong d = (b - a) & ((1UL << n) - 1);
            return d >= 1UL << (n - 1) ? (long)d - (1L << n) : (long)d;
        }

        /// <summary>b + round((b − a)·num/den), half away from zero, modulo 2ⁿ.</summary>
        public ulong Predict(ulong a, ulong b, int n)
        {
            long d = WrapDelta(a, b, n) * Num;
            long q = ((d < 0 ? -d : d) + Den / 2) / Den;
            if (d < 0) q = -q;
            return (ulong)((long)b + q) & ((1UL << n) - 1);
        }
    }

    public sealed partial class DeltaDecoder
    {
        // Avatar grid: a player rotation component q of a DeltaAvatarGrid part is sent as q >> 2, q = that << 2 | 2.
        const int GridShift = 2, GridBits = 10, RotBits = 12, RotIdxBits = 2;
        const ulong GridOff = 2, RotCompMask = (1UL << RotBits) - 1;

        readonly RangeDecoder rc = new RangeDecoder();
        readonly CodedModels cm = new CodedModels();

        ulong RawRot(bool grid)
        {
            ulong w = rc.Direct(RotIdxBits);
            for (int k = 0; k < 3; k++)
            {
                ulong q = grid ? rc.Direct(GridBits) << GridShift | GridOff : rc.Direct(RotBits);
                w |= q << (RotIdxBits + k * RotBits);
            }
            return w;
        }

        void CodedRawPose(ref QPose p, bool grid)
        {
            p.X = (ushort)rc.Direct(16); p.Y = (ushort)rc.Direct(16); p.Z = (ushort)rc.Direct(16);
            p.Rot = RawRot(grid);
        }

        byte CodedFlag8(ref Prob p, byte v) { return rc.Bit(ref p) == 0 ? v : (byte)rc.Direct(8); }

        // The prediction of rotation component k of b (in grid units with grid).
        static ulong RotPred(ref Predictor pr, ulong b, int k, bool grid)
        {
            int sh = RotIdxBits + k * RotBits, n = grid ? GridBits : RotBits, g = grid ? GridShift : 0;
            ulong v = (b >> sh & RotCompMask) >> g;
            if (pr.On && (pr.A.Rot & 3) == (b & 3)) v = pr.Predict((pr.A.Rot >> sh & RotCompMask) >> g, v, n);
            return v;
        }

        // A pose residual into p, which holds the baseline's pose.
        void Residual(PoseModels m, ref Predictor pr, ref QPose p, bool grid)
        {
            ulong x = p.X, y = p.Y, z = p.Z;
            if (pr.On) { x = pr.Predict(pr.A.X, x, 16); y = pr.Predict(pr.A.Y, y, 16); z = pr.Predict(pr.A.Z, z, 16); }
            p.X = (ushort)((long)x + rc.Int(m.Across));
            p.Y = (ushort)((long)y + rc.Int(m.Up));
            p.Z = (ushort)((long)z + rc.Int(m.Across));
            if (rc.Bit(ref m.Same) == 1) { p.Rot = RawRot(grid); return; }
            ulong b = p.Rot & Quant.RotMask, w = b & 3;
            for (int k = 0; k < 3; k++)
            {
                ulong q = grid
                    ? ((ulong)((long)RotPred(ref pr, b, k, true) + rc.Int(m.Rot)) & ((1UL << GridBits) - 1)) << GridShift | GridOff
                    : (ulong)((long)RotPred(ref pr, b, k, false) + rc.Int(m.Rot)) & RotCompMask;
                w |= q << (RotIdxBits + k * RotBits);
            }
            p.Rot = w;
        }

        // The records of a coded part (§10.4 "Coded payload") into the scratch arrays, against st, with
        // poses predicted from prior when the part names it.
        bool DecodeCoded(StateDeltaHeader h, byte[] buf, TickState st, TickState prior, out int added, out int addedE)
        {
            added = 0; addedE = 0;
            if (!h.HasPrior) prior = null;
            else if (prior == null) return false; // the caller must hold the prior tick
            bool grid = (h.Flags & StateDeltaHeader.FlagAvatarGrid) != 0;
            bool priorEntities = prior != null && (h.Flags & StateDeltaHeader.FlagPriorEntities) != 0;
            rc.Start(buf, h.PayloadOffset, h.PayloadLength);
            cm.Init();
            int np = h.PlayerRecords, ne = h.EntityRecords;
            int j = 0, a = 0;
            long prev = -1;
            for (int i = 0; i < np; i++)
            {
                long g = (long)rc.UInt(cm.GapP);
                long id = prev < 0 ? h.PlayerFrom + g : prev + 1 + g;
                if (rc.Bad || id > h.PlayerTo) return false;
                prev = id;
                while (j < st.NumPlayers && st.Players[j].Id < id) j++;
                bool have = j < st.NumPlayers && st.Players[j].Id == id;
                int op = OpChanged;
                if (rc.Bit(ref cm.OpP0) == 1) op = OpNew + (int)rc.Bit(ref cm.OpP1);
                if (op == OpNew && !have)
                {
                    var c = new DeltaPlayer { Id = (ushort)id, Seq = (uint)rc.Direct(32), Tracking = (byte)rc.Direct(8) };
                    CodedRawPose(ref c.Head, grid); CodedRawPose(ref c.Left, grid); CodedRawPose(ref c.Right, grid);
                    newP[i] = c; added++;
                }
                else if (op == OpChanged && have)
                {
                    var c = st.Players[j];
                    c.Seq = (uint)(c.Seq + rc.Int(cm.Seq));
                    c.Tracking = CodedFlag8(ref cm.Track, c.Tracking);
                    bool hasA = false;
                    if (prior != null)
                    {
                        while (a < prior.NumPlayers && prior.Players[a].Id < id) a++;
                        hasA = a < prior.NumPlayers && prior.Players[a].Id == id;
                    }
                    var pr = Predictor.Player(hasA, hasA ? prior.Players[a].Seq : 0, st.Players[j].Seq, c.Seq);
                    if (pr.On) pr.A = prior.Players[a].Head;
                    Residual(cm.Heads, ref pr, ref c.Head, grid);
                    if (pr.On) pr.A = prior.Players[a].Left;
                    Residual(cm.Hands, ref pr, ref c.Left, grid);
                    if (pr.On) pr.A = prior.Players[a].Right;
                    Residual(cm.Hands, ref pr, ref c.Right, grid);
                    newP[i] = c; atP[i] = j;
                }
                else if (op == OpRemoved && have) { newP[i].Id = (ushort)id; added--; }
                else return false;
                opP[i] = (byte)op;
            }
            j = 0; a = 0; prev = -1;
            for (int i = 0; i < ne; i++)
            {
                long g = (long)rc.UInt(cm.GapE);
                long id = prev < 0 ? h.EntityFrom + g : prev + 1 + g;
                if (rc.Bad || id > h.EntityTo) return false;
                prev = id;
                while (j < st.NumEntities && st.Entities[j].Id < id) j++;
                bool have = j < st.NumEntities && st.Entities[j].Id == id;
                int op = OpChanged;
                if (rc.Bit(ref cm.OpE0) == 1) op = OpNew + (int)rc.Bit(ref cm.OpE1);
                if (op == OpNew && !have)
                {
                    var c = new DeltaEntity { Id = (ushort)id, Flags = (byte)rc.Direct(8) };
                    CodedRawPose(ref c.Pose, false);
                    newE[i] = c; addedE++;
                }
                else if (op == OpChanged && have)
                {
                    var c = st.Entities[j];
                    c.Flags = CodedFlag8(ref cm.Flags, c.Flags);
                    var pr = new Predictor();
                    if (priorEntities)
                    {
                        while (a < prior.NumEntities && prior.Entities[a].Id < id) a++;
                        if (a < prior.NumEntities && prior.Entities[a].Id == id)
                            pr = Predictor.Entity(true, ref prior.Entities[a], h.PriorTick, h.BaselineTick, h.Tick);
                    }
                    Residual(cm.Entities, ref pr, ref c.Pose, false);
                    newE[i] = c; atE[i] = j;
                }
                else if (op == OpRemoved && have) { newE[i].Id = (ushort)id; addedE--; }
                else return false;
                opE[i] = (byte)op;
            }
            return !rc.Bad;
        }
    }
}

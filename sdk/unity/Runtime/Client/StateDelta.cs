using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>A player record on the wire's grid, as a tick's state holds it (§10.4).</summary>
    public struct DeltaPlayer
    {
        public ushort Id;
        public uint Seq;
        public byte Tracking;
        public QPose Head, Left, Right;
    }

    /// <summary>An entity record on the wire's grid.</summary>
    public struct DeltaEntity
    {
        public ushort Id;
        public byte Flags;
        public QPose Pose;
    }

    /// <summary>A whole tick's state: players sorted by client id, entities by id. Its arrays grow
    /// to the largest state seen and are reused.</summary>
    public sealed class TickState
    {
        public uint Tick;
        public ulong ServerTime;
        public DeltaPlayer[] Players = new DeltaPlayer[16];
        public DeltaEntity[] Entities = new DeltaEntity[64];
        public int NumPlayers, NumEntities;

        public void CopyFrom(TickState o)
        {
            Tick = o.Tick; ServerTime = o.ServerTime;
            if (Players.Length < o.NumPlayers) Players = new DeltaPlayer[o.Players.Length];
            if (Entities.Length < o.NumEntities) Entities = new DeltaEntity[o.Entities.Length];
            Array.Copy(o.Players, Players, o.NumPlayers);
            Array.Copy(o.Entities, Entities, o.NumEntities);
            NumPlayers = o.NumPlayers; NumEntities = o.NumEntities;
        }

        public void Clear() { NumPlayers = 0; NumEntities = 0; }

        /// <summary>Grows the arrays, keeping what they hold, to at least np players and ne entities.</summary>
        public void Reserve(int np, int ne)
        {
            if (Players.Length < np) Array.Resize(ref Players, np);
            if (Entities.Length < ne) Array.Resize(ref Entities, ne);
        }
    }

    /// <summary>Reads a StateDelta bit payload (§10.4): least significant bit of each byte first,
    /// a field least significant bit first; a read past the end marks it bad.</summary>
    public struct BitReader
    {
        byte[] buf;
        int off, pos, end;
        public bool Bad;

        public BitReader(byte[] b, int byteOffset, int bits) { buf = b; off = byteOffset; pos = 0; end = bits; Bad = false; }

        public int Pos { get { return pos; } }
        public int End { get { return end; } }

        public ulong Read(int n)
        {
            if (pos + n > end) { Bad = true; pos = end; return 0; }
            ulong v = 0;
            for (int i = 0; i < n;)
            {
                int p = pos + i;
                int bit = p & 7;
                int take = Math.Min(8 - bit, n - i);
                ulong chunk = (ulong)(buf[off + (p >> 3)] >> bit) & ((1UL << take) - 1);
                v |= chunk << i;
                i += take;
            }
            pos += n;
            return v;
        }

        /// <summary>A four-tier code: 0 → tier 0; 1 0 → tier 1; 1 1 0 → tier 2; 1 1 1 → tier 3; then the value.</summary>
        public ulong Code(int w0, int w1, int w2, int w3)
        {
            if (Read(1) == 0) return Read(w0);
            if (Read(1) == 0) return Read(w1);
            if (Read(1) == 0) return Read(w2);
            return Read(w3);
        }

        public static long Unzigzag(ulong v) { return (long)(v >> 1) ^ -(long)(v & 1); }
    }

    /// <summary>Applies StateDelta parts to a tick's state (§10.4): within the part's ranges, changed
    /// records replaced, new ones added, removed ones taken out; a part that does not decode to
    /// exactly its bits, or codes a change or removal of a record the state lacks or a new record
    /// it has, leaves the state unchanged and is refused. Scratch grows once, then is reused.</summary>
    public sealed partial class DeltaDecoder
    {
        const int OpChanged = 0, OpNew = 1, OpRemoved = 2;
        DeltaPlayer[] newP = new DeltaPlayer[16];
        DeltaEntity[] newE = new DeltaEntity[64];
        byte[] opP = new byte[16], opE = new byte[64];
        int[] atP = new int[16], atE = new int[64];
        DeltaPlayer[] mergedP = new DeltaPlayer[16];
        DeltaEntity[] mergedE = new DeltaEntity[64];

        static void Grow<T>(ref T[] a, int n) { if (a.Length < n) Array.Resize(ref a, Math.Max(n, a.Length * 2)); }

        static void RawPose(ref BitReader r, ref QPose p)
        {
            p.X = (ushort)r.Read(16); p.Y = (ushort)r.Read(16); p.Z = (ushort)r.Read(16);
            p.Rot = r.Read(38);
        }

        static void PoseDelta(ref BitReader r, ref QPose p)
        {
            if (r.Read(1) == 1)
            {
                p.X = (ushort)(p.X + BitReader.Unzigzag(r.Code(3, 6, 10, 16)));
                p.Y = (ushort)(p.Y + BitReader.Unzigzag(r.Code(3, 6, 10, 16)));
                p.Z = (ushort)(p.Z + BitReader.Unzigzag(r.Code(3, 6, 10, 16)));
            }
            if (r.Read(1) == 0) return;
            if (r.Read(1) == 0) { p.Rot = r.Read(38); return; }
            ulong w = p.Rot & 3;
            for (int k = 0; k < 3; k++)
            {
                int sh = 2 + 12 * k;
                ulong c = (ulong)((long)(p.Rot >> sh & 0xFFF) + BitReader.Unzigzag(r.Code(3, 6, 9, 12))) & 0xFFF;
                w |= c << sh;
            }
            p.Rot = w;
        }

        static byte Flag8(ref BitReader r, byte v) { return r.Read(1) == 0 ? v : (byte)r.Read(8); }

        /// <summary>Applies part h (payload in buf) to st; false when it is refused (st unchanged).</summary>
        public bool Apply(StateDeltaHeader h, byte[] buf, TickState st) { return Apply(h, buf, st, null); }

        /// <summary>Apply for a part that may name a prior tick (FlagPrior): prior is that tick's state, which the
        /// receiver holds (null: it does not, and such a part is refused). A parity part applies nothing.</summary>
        public bool Apply(StateDeltaHeader h, byte[] buf, TickState st, TickState prior)
        {
            if (h.IsParity) return false; // not records: a receiver rebuilds a lost part with it
            int np = h.PlayerRecords, ne = h.EntityRecords;
            if (h.Coded && (np > Proto.MaxStatePlayers || ne > Proto.MaxStateEntities)) return false;
            Grow(ref newP, np); Grow(ref opP, np); Grow(ref atP, np);
            Grow(ref newE, ne); Grow(ref opE, ne); Grow(ref atE, ne);
            int added, addedE;
            bool ok = h.Coded ? DecodeCoded(h, buf, st, prior, out added, out addedE) : DecodeBits(h, buf, st, out added, out addedE);
            if (!ok) return false;
            if (st.NumPlayers + added > Proto.MaxStatePlayers || st.NumEntities + addedE > Proto.MaxStateEntities) return false;
            MergePlayers(st, np);
            MergeEntities(st, ne);
            return true;
        }

        // The records of a bit-packed part into the scratch arrays, against st.
        bool DecodeBits(StateDeltaHeader h, byte[] buf, TickState st, out int added, out int addedE)
        {
            added = 0; addedE = 0;
            var r = new BitReader(buf, h.PayloadOffset, h.PayloadBits);
            int np = h.PlayerRecords, ne = h.EntityRecords;
            int j = 0, prev = -1;
            for (int i = 0; i < np; i++)
            {
                long g = (long)r.Code(2, 5, 9, 16);
                long id = prev < 0 ? h.PlayerFrom + g : prev + 1 + g;
                if (r.Bad || id > h.PlayerTo || id > 65535) return false;
                prev = (int)id;
                while (j < st.NumPlayers && st.Players[j].Id < id) j++;
                bool have = j < st.NumPlayers && st.Players[j].Id == id;
                int op = (int)r.Read(2);
                if (op == OpNew && !have)
                {
                    var c = new DeltaPlayer { Id = (ushort)id, Seq = (uint)r.Read(32), Tracking = (byte)r.Read(8) };
                    RawPose(ref r, ref c.Head); RawPose(ref r, ref c.Left); RawPose(ref r, ref c.Right);
                    newP[i] = c; added++;
                }
                else if (op == OpChanged && have)
                {
                    var c = st.Players[j];
                    c.Seq = (uint)(c.Seq + BitReader.Unzigzag(r.Code(2, 5, 12, 32)));
                    c.Tracking = Flag8(ref r, c.Tracking);
                    PoseDelta(ref r, ref c.Head); PoseDelta(ref r, ref c.Left); PoseDelta(ref r, ref c.Right);
                    newP[i] = c; atP[i] = j;
                }
                else if (op == OpRemoved && have) { newP[i].Id = (ushort)id; added--; }
                else return false;
                opP[i] = (byte)op;
            }
            j = 0; prev = -1;
            for (int i = 0; i < ne; i++)
            {
                long g = (long)r.Code(2, 5, 9, 16);
                long id = prev < 0 ? h.EntityFrom + g : prev + 1 + g;
                if (r.Bad || id > h.EntityTo || id > 65535) return false;
                prev = (int)id;
                while (j < st.NumEntities && st.Entities[j].Id < id) j++;
                bool have = j < st.NumEntities && st.Entities[j].Id == id;
                int op = (int)r.Read(2);
                if (op == OpNew && !have)
                {
                    var c = new DeltaEntity { Id = (ushort)id, Flags = (byte)r.Read(8) };
                    RawPose(ref r, ref c.Pose);
                    newE[i] = c; addedE++;
                }
                else if (op == OpChanged && have)
                {
                    var c = st.Entities[j];
                    c.Flags = Flag8(ref r, c.Flags);
                    PoseDelta(ref r, ref c.Pose);
                    newE[i] = c; atE[i] = j;
                }
                else if (op == OpRemoved && have) { newE[i].Id = (ushort)id; addedE--; }
                else return false;
                opE[i] = (byte)op;
            }
            return !r.Bad && r.Pos == r.End;
        }

        void MergePlayers(TickState st, int n)
        {
            bool inPlace = true;
            for (int i = 0; i < n; i++) if (opP[i] != OpChanged) { inPlace = false; break; }
            if (inPlace) { for (int i = 0; i < n; i++) st.Players[atP[i]] = newP[i]; return; }
            Grow(ref mergedP, st.NumPlayers + n);
            int m = 0, k = 0;
            for (int i = 0; i < n; i++)
            {
                while (k < st.NumPlayers && st.Players[k].Id < newP[i].Id) mergedP[m++] = st.Players[k++];
                if (opP[i] == OpNew) mergedP[m++] = newP[i];
                else if (opP[i] == OpChanged) { mergedP[m++] = newP[i]; k++; }
                else k++;
            }
            while (k < st.NumPlayers) mergedP[m++] = st.Players[k++];
            if (st.Players.Length < m) st.Players = new DeltaPlayer[Math.Max(m, st.Players.Length * 2)];
            Array.Copy(mergedP, st.Players, m);
            st.NumPlayers = m;
        }

        void MergeEntities(TickState st, int n)
        {
            bool inPlace = true;
            for (int i = 0; i < n; i++) if (opE[i] != OpChanged) { inPlace = false; break; }
            if (inPlace) { for (int i = 0; i < n; i++) st.Entities[atE[i]] = newE[i]; return; }
            Grow(ref mergedE, st.NumEntities + n);
            int m = 0, k = 0;
            for (int i = 0; i < n; i++)
            {
                while (k < st.NumEntities && st.Entities[k].Id < newE[i].Id) mergedE[m++] = st.Entities[k++];
                if (opE[i] == OpNew) mergedE[m++] = newE[i];
                else if (opE[i] == OpChanged) { mergedE[m++] = newE[i]; k++; }
                else k++;
            }
            while (k < st.NumEntities) mergedE[m++] = st.Entities[k++];
            if (st.Entities.Length < m) st.Entities = new DeltaEntity[Math.Max(m, st.Entities.Length * 2)];
            Array.Copy(mergedE, st.Entities, m);
            st.NumEntities = m;
        }
    }
}

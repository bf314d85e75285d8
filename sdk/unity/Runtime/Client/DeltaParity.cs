using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>One parity group of a coded tick being assembled (§10.4 "Parity"): the XOR of the
    /// data part bodies received (from `player ids from` on), and the parity part's once it came.
    /// When it has every data part but one and the parity part, Recover rebuilds the missing body.
    /// Fixed size; nothing it holds grows with what it is fed.</summary>
    public sealed class DeltaParityGroup
    {
        readonly byte[] acc = new byte[Proto.MaxBodySize];
        readonly byte[] prefix = new byte[StateDeltaHeader.OffOptional + StateDeltaHeader.HashSize + StateDeltaHeader.PriorSize];
        int n, h, size;
        int got; // bit i: data part i of the group was had
        bool parity;

        /// <summary>Empties the group, of size data parts (at most ParityGroup).</summary>
        public void Reset(int groupSize)
        {
            Array.Clear(acc, 0, n);
            n = 0; h = 0; got = 0; parity = false;
            size = Math.Min(groupSize, StateDeltaHeader.ParityGroup);
        }

        public bool HasParity { get { return parity; } }

        void Add(byte[] b, int from, int end)
        {
            int l = Math.Min(end - from, acc.Length);
            for (int i = 0; i < l; i++) acc[i] ^= b[from + i];
            if (l > n) n = l;
        }

        /// <summary>Takes in data part i (0 … size−1 within the group), once: its body from `player ids
        /// from` (b[from]) to the payload's end (b[end]). from &lt; 0: counted as had, nothing added.</summary>
        public void AddData(int i, byte[] b, int from, int end)
        {
            if (i < 0 || i >= size || (got >> i & 1) != 0) return;
            got |= 1 << i;
            if (from >= 0) Add(b, from, end);
        }

        /// <summary>Takes in the group's parity part m (in b), once.</summary>
        public void AddParity(StateDeltaHeader m, byte[] b)
        {
            if (parity) return;
            parity = true;
            h = StateDeltaHeader.CommonLength(m.Flags);
            Buffer.BlockCopy(b, m.RangesOffset - h, prefix, 0, h);
            Add(b, m.PayloadOffset, m.PayloadOffset + m.PayloadLength);
        }

        /// <summary>The index of the one data part the group lacks, when it has every other and the parity part.</summary>
        public bool Missing(out int i)
        {
            i = 0;
            if (!parity) return false;
            int lack = ~got & ((1 << size) - 1);
            if (lack == 0 || (lack & (lack - 1)) != 0) return false;
            while (lack >> i != 1) i++;
            return true;
        }

        /// <summary>Writes to dst[0…] the body of the missing data part, part number part of its tick: the
        /// parity part's common fields with that part number and the parity flag cleared, then the XOR.
        /// Returns its length (trailing zero padding included, which a parse ignores), or -1.</summary>
        public int Recover(byte[] dst, int part)
        {
            int i;
            if (!Missing(out i) || h + n > dst.Length) return -1;
            Buffer.BlockCopy(prefix, 0, dst, 0, h);
            dst[StateDeltaHeader.OffPart] = (byte)part;
            dst[StateDeltaHeader.OffFlags] &= unchecked((byte)~StateDeltaHeader.FlagParity);
            Buffer.BlockCopy(acc, 0, dst, h, n);
            return h + n;
        }
    }
}

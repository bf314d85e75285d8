using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>The repair of one coded tick being assembled (§10.4 "Parity"): the bodies of its data parts
    /// (from `player ids from` on) and of the first repair parts that came. Repair part j of data parts
    /// D_0 … D_{k−1} is Σ_i c(j, i)·D_i over GF(2⁸) (polynomial 0x11D), c(j, i) = (255 ⊕ i) / ((255 − j) ⊕ i):
    /// any e repair parts rebuild any e lost data parts. Fixed size (about 320 KB); nothing it holds grows
    /// with what it is fed.</summary>
    public sealed class DeltaRepair
    {
        /// <summary>How many repair parts of one tick are kept (the first that come).</summary>
        public const int MaxRepairs = 16;
        const int MaxParts = 255;

        static readonly byte[] exp = new byte[510];
        static readonly int[] log = new int[256];
        static readonly byte[,] mul = new byte[256, 256];

        static DeltaRepair()
        {
            int x = 1;
            for (int i = 0; i < 255; i++)
            {
                exp[i] = exp[i + 255] = (byte)x;
                log[x] = i;
                x <<= 1;
                if ((x & 0x100) != 0) x ^= 0x11D;
            }
            for (int a = 1; a < 256; a++)
                for (int b = 1; b < 256; b++)
                    mul[a, b] = exp[log[a] + log[b]];
        }

        static byte Inv(byte a) { return exp[255 - log[a]]; }

        /// <summary>c(j, i), the coefficient of data part i in repair part j.</summary>
        public static byte Coef(int j, int i) { return mul[255 ^ i, Inv((byte)((255 - j) ^ i))]; }

        /// <summary>Whether j is a repair part index of a tick of parts data parts: j ≤ 255 − parts.</summary>
        public static bool RepairOk(int j, int parts) { return j >= 0 && parts >= 1 && j + parts <= 255; }

        // dst[d…d+n) += c·src[s…s+n).
        static void MulAdd(byte[] dst, int d, byte[] src, int s, int n, byte c)
        {
            if (c == 0) return;
            if (c == 1) { for (int i = 0; i < n; i++) dst[d + i] ^= src[s + i]; return; }
            for (int i = 0; i < n; i++) dst[d + i] ^= mul[c, src[s + i]];
        }

        readonly byte[][] data = new byte[MaxParts][];
        readonly int[] dlen = new int[MaxParts];
        readonly ulong[] had = new ulong[4];
        readonly byte[][] rep = new byte[MaxRepairs][];
        readonly int[] rlen = new int[MaxRepairs];
        readonly int[] ridx = new int[MaxRepairs];
        readonly byte[] prefix = new byte[StateDeltaHeader.OffOptional + StateDeltaHeader.HashSize + StateDeltaHeader.PriorSize];
        readonly int[] lack = new int[MaxRepairs];
        readonly byte[,] m = new byte[MaxRepairs, 2 * MaxRepairs];
        int k, nHad, nRep, h;

        public DeltaRepair()
        {
            for (int i = 0; i < MaxParts; i++) data[i] = new byte[Proto.MaxBodySize];
            for (int i = 0; i < MaxRepairs; i++) rep[i] = new byte[Proto.MaxBodySize];
        }

        /// <summary>Empties the repair, for a tick of parts data parts.</summary>
        public void Reset(int parts)
        {
            k = Math.Min(Math.Max(parts, 0), MaxParts);
            Array.Clear(had, 0, had.Length);
            nHad = 0; nRep = 0; h = 0;
        }

        public bool Has(int i) { return i >= 0 && i < k && (had[i >> 6] >> (i & 63) & 1) != 0; }

        /// <summary>Takes in data part i, once: its body from `player ids from` (b[from]) to the payload's end (b[end]).</summary>
        public void AddData(int i, byte[] b, int from, int end)
        {
            if (i < 0 || i >= k || Has(i)) return;
            had[i >> 6] |= 1UL << (i & 63);
            nHad++;
            int l = Math.Min(end - from, Proto.MaxBodySize);
            Buffer.BlockCopy(b, from, data[i], 0, l);
            dlen[i] = l;
        }

        public bool HasRepair(int j)
        {
            for (int a = 0; a < nRep; a++) if (ridx[a] == j) return true;
            return false;
        }

        /// <summary>Takes in repair part hd (in b), once per index, the first MaxRepairs of them.</summary>
        public void AddRepair(StateDeltaHeader hd, byte[] b)
        {
            if (nRep == MaxRepairs || !RepairOk(hd.Part, k) || HasRepair(hd.Part)) return;
            h = StateDeltaHeader.CommonLength(hd.Flags);
            Buffer.BlockCopy(b, hd.RangesOffset - h, prefix, 0, h);
            int l = Math.Min(hd.PayloadLength, Proto.MaxBodySize);
            Buffer.BlockCopy(b, hd.PayloadOffset, rep[nRep], 0, l);
            rlen[nRep] = l;
            ridx[nRep] = hd.Part;
            nRep++;
        }

        /// <summary>How many data parts the tick lacks; true when as many repair parts came to rebuild them.</summary>
        public bool Missing(out int n)
        {
            n = k - nHad;
            return n > 0 && nRep >= n;
        }

        /// <summary>Rebuilds every data part lacked, when it can (Missing): the first e repair parts less the
        /// parts had leave e·e coefficients times the lacked parts, solved by Gauss–Jordan elimination.</summary>
        public bool Recover()
        {
            int e;
            if (!Missing(out e)) return false;
            int l = 0;
            for (int a = 0; a < e; a++) l = Math.Max(l, rlen[a]);
            int n = 0;
            for (int i = 0; i < k; i++) if (!Has(i)) lack[n++] = i;
            for (int a = 0; a < e; a++)
            {
                Array.Clear(rep[a], rlen[a], l - rlen[a]);
                for (int i = 0; i < k; i++)
                    if (Has(i)) MulAdd(rep[a], 0, data[i], 0, Math.Min(dlen[i], l), Coef(ridx[a], i));
            }
            for (int a = 0; a < e; a++)
            {
                for (int b = 0; b < 2 * e; b++) m[a, b] = 0;
                for (int b = 0; b < e; b++) m[a, b] = Coef(ridx[a], lack[b]);
                m[a, e + a] = 1;
            }
            for (int c = 0; c < e; c++)
            {
                int piv = c;
                while (piv < e && m[piv, c] == 0) piv++;
                if (piv == e) return false;
                for (int b = 0; b < 2 * e; b++) { byte t = m[c, b]; m[c, b] = m[piv, b]; m[piv, b] = t; }
                byte inv = Inv(m[c, c]);
                for (int b = 0; b < 2 * e; b++) m[c, b] = mul[inv, m[c, b]];
                for (int r = 0; r < e; r++)
                {
                    byte f = m[r, c];
                    if (r == c || f == 0) continue;
                    for (int b = 0; b < 2 * e; b++) m[r, b] ^= mul[f, m[c, b]];
                }
            }
            for (int b = 0; b < e; b++)
            {
                int i = lack[b];
                Array.Clear(data[i], 0, l);
                for (int a = 0; a < e; a++) MulAdd(data[i], 0, rep[a], 0, l, m[b, e + a]);
                dlen[i] = l;
            }
            for (int b = 0; b < e; b++) had[lack[b] >> 6] |= 1UL << (lack[b] & 63);
            nHad += e;
            nRep = 0; // spent: their buffers hold syndromes now
            return true;
        }

        /// <summary>Writes to dst[0…] the body of data part i (had or rebuilt): the repair parts' common fields
        /// with part i and the parity flag cleared, then its bytes. Returns its length (trailing zero padding
        /// included, which a parse ignores), or -1.</summary>
        public int Body(byte[] dst, int i)
        {
            if (!Has(i) || h == 0 || h + dlen[i] > dst.Length) return -1;
            Buffer.BlockCopy(prefix, 0, dst, 0, h);
            dst[StateDeltaHeader.OffPart] = (byte)i;
            dst[StateDeltaHeader.OffFlags] &= unchecked((byte)~StateDeltaHeader.FlagParity);
            Buffer.BlockCopy(data[i], 0, dst, h, dlen[i]);
            return h + dlen[i];
        }
    }
}

namespace Arcade
{
    /// <summary>An adaptive probability (§10.4, "Coded payload"): the chance, in 12 bits, that the next
    /// bit is 0, and how many times it adapted (up to 5): it moves by a half, a quarter, … of the way
    /// to the outcome at first, then by 1/32.</summary>
    public struct Prob
    {
        public ushort P;
        public byte N;

        public const int Bits = 12, One = 1 << Bits, Shift = 5;
        public static readonly Prob Start = new Prob { P = One / 2 };

        public void Update(uint b)
        {
            if (N < Shift) N++;
            if (b == 0) P += (ushort)((One - P) >> N);
            else P -= (ushort)(P >> N);
        }
    }

    /// <summary>The model of one kind of integer: a zero probability, a sign probability, and 32 length
    /// and 32 top probabilities.</summary>
    public sealed class IntModel
    {
        public const int MaxBits = 32;
        public Prob Zero, Sign;
        public readonly Prob[] Length = new Prob[MaxBits], Top = new Prob[MaxBits];

        public void Init()
        {
            Zero = Prob.Start; Sign = Prob.Start;
            for (int i = 0; i < MaxBits; i++) { Length[i] = Prob.Start; Top[i] = Prob.Start; }
        }
    }

    /// <summary>The binary range decoder of coded StateDelta payloads (§10.4, LZMA's): 32-bit range,
    /// renormalised a byte at a time. It reads only the payload's bytes; past the end it reads zeros,
    /// and more than four of them mark it Bad, so a hostile payload costs at most the decisions its
    /// record counts allow. One instance is reused for every part.</summary>
    public sealed class RangeDecoder
    {
        const uint Top = 1u << 24;
        /// <summary>Zero bytes past the end a decoder may read (the encoder trims trailing zeros).</summary>
        public const int Slack = 4;

        byte[] buf;
        int pos, end, past;
        uint code, range;
        public bool Bad;

        /// <summary>Starts decoding the payload b[off, off+len).</summary>
        public void Start(byte[] b, int off, int len)
        {
            buf = b; pos = off; end = off + len; past = 0; Bad = false;
            code = 0; range = 0xFFFFFFFF;
            for (int i = 0; i < 4; i++) code = code << 8 | Next();
        }

        uint Next()
        {
            if (pos < end) return buf[pos++];
            if (++past > Slack) Bad = true;
            return 0;
        }

        /// <summary>A bit coded with p; p adapts.</summary>
        public uint Bit(ref Prob p)
        {
            uint bound = (range >> Prob.Bits) * p.P;
            uint b;
            if (code < bound) { range = bound; b = 0; }
            else { code -= bound; range -= bound; b = 1; }
            p.Update(b);
            while (range < Top) { range <<= 8; code = code << 8 | Next(); }
            return b;
        }

        /// <summary>n bits (n ≤ 32) at one half each, most significant first.</summary>
        public ulong Direct(int n)
        {
            ulong v = 0;
            for (int i = 0; i < n; i++)
            {
                range >>= 1;
                ulong b = 0;
                if (code >= range) { code -= range; b = 1; }
                v = v << 1 | b;
                while (range < Top) { range <<= 8; code = code << 8 | Next(); }
            }
            return v;
        }

        /// <summary>A magnitude m ≥ 1: its bit length in unary, the bit below the leading one, the rest direct.</summary>
        ulong Mag(IntModel m)
        {
            int k = 0;
            while (k < IntModel.MaxBits - 1 && Bit(ref m.Length[k]) == 1) k++;
            ulong u = 1UL << k;
            if (k >= 1)
            {
                u |= (ulong)Bit(ref m.Top[k]) << (k - 1);
                u |= Direct(k - 1) & ((1UL << (k - 1)) - 1);
            }
            return u;
        }

        /// <summary>A signed integer with m.</summary>
        public long Int(IntModel m)
        {
            if (Bit(ref m.Zero) == 0) return 0;
            bool neg = Bit(ref m.Sign) == 1;
            long u = (long)Mag(m);
            return neg ? -u : u;
        }

        /// <summary>An unsigned integer with m (no sign).</summary>
        public ulong UInt(IntModel m)
        {
            if (Bit(ref m.Zero) == 0) return 0;
            return Mag(m);
        }
    }
}

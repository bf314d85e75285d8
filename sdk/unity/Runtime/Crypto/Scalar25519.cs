// Scalars mod L = 2^252 + 27742317777372353535851937790883648493, the
// order of the prime-order group of edwards25519 and of ristretto255.
//
// Reduce takes a 64-byte little-endian number (a SHA-512 output, or a
// 32-byte scalar padded with zeros) to its residue mod L. It works in 21-bit
// signed limbs: a limb at 2^(21 i) with i >= 12 sits 2^252 above limb i - 12,
// and 2^252 = -27742317777372353535851937790883648493 (mod L), whose signed
// 21-bit digits are the six constants below; folding the high limbs down in
// three rounds, with carries between them, leaves twelve limbs below L.
namespace Arcade.Crypto
{
    internal static class Scalar25519
    {
        // Size of an encoded scalar.
        internal const int Size = 32;

        // The signed 21-bit digits of 2^252 mod L, least significant first.
        const long C0 = 666643, C1 = 470296, C2 = 654183, C3 = -997805, C4 = 136657, C5 = -683901;

        // L, little-endian.
        static readonly byte[] order =
        {
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        };

        // IsCanonical reports whether s[off..off+32] is a little-endian
        // number below L (RFC 8032's check on S). Not constant time: it
        // only sees public values.
        internal static bool IsCanonical(byte[] s, int off)
        {
            for (int i = Size - 1; i >= 0; i--)
            {
                if (s[off + i] < order[i])
                {
                    return true;
                }
                if (s[off + i] > order[i])
                {
                    return false;
                }
            }
            return false; // s = L
        }

        // Reduce writes (s[off..off+64] mod L) as 32 little-endian bytes to
        // dst[dstOff..]. limbs is scratch of at least 24 longs. dst may
        // overlap s.
        internal static void Reduce(byte[] dst, int dstOff, byte[] s, int off, long[] limbs)
        {
            long[] a = limbs;
            for (int i = 0; i < 23; i++)
            {
                int bit = 21 * i;
                a[i] = (Load4(s, off + (bit >> 3)) >> (bit & 7)) & 0x1fffff;
            }
            a[23] = Load4(s, off + 60) >> 3;

            for (int i = 23; i >= 18; i--)
            {
                Fold(a, i);
            }
            for (int i = 6; i <= 16; i++)
            {
                CarryRound(a, i);
            }
            for (int i = 17; i >= 12; i--)
            {
                Fold(a, i);
            }
            for (int i = 0; i <= 11; i++)
            {
                CarryRound(a, i);
            }
            Fold(a, 12);
            for (int i = 0; i <= 11; i++)
            {
                CarryFloor(a, i);
            }
            Fold(a, 12);
            for (int i = 0; i <= 10; i++)
            {
                CarryFloor(a, i);
            }

            ulong acc = 0;
            int nb = 0, o = 0;
            for (int k = 0; k < 12; k++)
            {
                acc |= (ulong)a[k] << nb;
                nb += 21;
                while (nb >= 8 && o < Size - 1)
                {
                    dst[dstOff + o++] = (byte)acc;
                    acc >>= 8;
                    nb -= 8;
                }
            }
            dst[dstOff + Size - 1] = (byte)acc;
            for (int i = 0; i < 24; i++)
            {
                a[i] = 0;
            }
        }

        // Fold moves limb i (i >= 12) onto limbs i-12 … i-7.
        static void Fold(long[] a, int i)
        {
            long x = a[i];
            a[i - 12] += x * C0;
            a[i - 11] += x * C1;
            a[i - 10] += x * C2;
            a[i - 9] += x * C3;
            a[i - 8] += x * C4;
            a[i - 7] += x * C5;
            a[i] = 0;
        }

        // CarryRound leaves limb i in [-2^20, 2^20), carrying the rest up.
        static void CarryRound(long[] a, int i)
        {
            long c = (a[i] + (1L << 20)) >> 21;
            a[i + 1] += c;
            a[i] -= c << 21;
        }

        // CarryFloor leaves limb i in [0, 2^21), carrying the rest up.
        static void CarryFloor(long[] a, int i)
        {
            long c = a[i] >> 21;
            a[i + 1] += c;
            a[i] -= c << 21;
        }

        static long Load4(byte[] s, int i)
        {
            return s[i] | (long)s[i + 1] << 8 | (long)s[i + 2] << 16 | (long)s[i + 3] << 24;
        }
    }
}

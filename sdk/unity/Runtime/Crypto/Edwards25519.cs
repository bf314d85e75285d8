// The twisted Edwards curve edwards25519, -x^2 + y^2 = 1 + d x^2 y^2 over
// GF(2^255 - 19), in the coordinates of Hisil, Wong, Carter and Dawson
// ("Twisted Edwards curves revisited", 2008) that ristretto255 (RFC 9496)
// and Ed25519 (RFC 8032) both compute in:
//
//   - P3, extended: (X : Y : Z : T) with x = X/Z, y = Y/Z, x y = T/Z;
//   - P1, completed: (E, F, G, H), the point (E/G, H/F)… kept as the four
//     factors of an addition or doubling before its last multiplications:
//     X = E F, Y = G H, Z = F G, T = E H (ToP3; ToP2 skips T, which a
//     doubling does not need);
//   - Cached: (Y + X, Y - X, Z, 2 d T) of a point that is added often;
//   - Niels: (y + x, y - x, 2 d x y) of an affine point (Z = 1), for the
//     base point's precomputed multiples.
//
// The addition formula (a = -1) is complete on the curve, so adding the
// identity or a point to itself needs no special case. ScalarMult is
// constant time (fixed signed 4-bit windows, table entries chosen by
// masks); DoubleScalarMultVartime, for signature checks on public values,
// is not.
using System;

namespace Arcade.Crypto
{
    internal struct P3
    {
        internal Fe X, Y, Z, T;
    }

    internal struct P1
    {
        internal Fe E, F, G, H;
    }

    internal struct Cached
    {
        internal Fe YPlusX, YMinusX, Z, T2d;
    }

    internal struct Niels
    {
        internal Fe YPlusX, YMinusX, XY2d;
    }

    internal static class Edwards25519
    {
        // Identity sets p to the neutral element (0, 1).
        internal static void Identity(out P3 p)
        {
            Fe.Zero(out p.X);
            Fe.One(out p.Y);
            Fe.One(out p.Z);
            Fe.Zero(out p.T);
        }

        internal static void ToP3(out P3 r, ref P1 p)
        {
            Fe.Mul(out r.X, ref p.E, ref p.F);
            Fe.Mul(out r.Y, ref p.G, ref p.H);
            Fe.Mul(out r.Z, ref p.F, ref p.G);
            Fe.Mul(out r.T, ref p.E, ref p.H);
        }

        // ToP2 is ToP3 without T: enough for a doubling or an encoding.
        internal static void ToP2(ref P3 r, ref P1 p)
        {
            Fe.Mul(out r.X, ref p.E, ref p.F);
            Fe.Mul(out r.Y, ref p.G, ref p.H);
            Fe.Mul(out r.Z, ref p.F, ref p.G);
        }

        internal static void ToCached(out Cached c, ref P3 p)
        {
            Fe.Add(out c.YPlusX, ref p.Y, ref p.X);
            Fe.Carry(ref c.YPlusX);
            Fe.Sub(out c.YMinusX, ref p.Y, ref p.X);
            Fe.Carry(ref c.YMinusX);
            c.Z = p.Z;
            Fe.Mul(out c.T2d, ref p.T, ref Fe.D2);
        }

        // ToNiels makes the affine form of p (one inversion).
        internal static void ToNiels(out Niels n, ref P3 p)
        {
            Fe zi, x, y;
            Fe.Invert(out zi, ref p.Z);
            Fe.Mul(out x, ref p.X, ref zi);
            Fe.Mul(out y, ref p.Y, ref zi);
            Fe.Add(out n.YPlusX, ref y, ref x);
            Fe.Carry(ref n.YPlusX);
            Fe.Sub(out n.YMinusX, ref y, ref x);
            Fe.Carry(ref n.YMinusX);
            Fe.Mul(out n.XY2d, ref x, ref y);
            Fe.Mul(out n.XY2d, ref n.XY2d, ref Fe.D2);
        }

        // Double sets r = 2p, reading only X, Y and Z of p.
        internal static void Double(out P1 r, ref P3 p)
        {
            Fe a, b, c, t;
            Fe.Square(out a, ref p.X);
            Fe.Square(out b, ref p.Y);
            Fe.Square(out t, ref p.Z);
            Fe.Add(out c, ref t, ref t);             // 2 Z^2
            Fe.Add(out r.H, ref a, ref b);           // A + B
            Fe.Add(out t, ref p.X, ref p.Y);
            Fe.Square(out t, ref t);                 // (X + Y)^2
            Fe.Sub(out r.E, ref r.H, ref t);         // A + B - (X + Y)^2 = -2 X Y
            Fe.Sub(out r.G, ref a, ref b);           // A - B
            Fe.Add(out r.F, ref c, ref r.G);         // 2 Z^2 + A - B
        }

        // Add sets r = p + q.
        internal static void Add(out P1 r, ref P3 p, ref Cached q)
        {
            Fe a, b, c, d, t;
            Fe.Sub(out t, ref p.Y, ref p.X);
            Fe.Mul(out a, ref t, ref q.YMinusX);
            Fe.Add(out t, ref p.Y, ref p.X);
            Fe.Mul(out b, ref t, ref q.YPlusX);
            Fe.Mul(out c, ref p.T, ref q.T2d);
            Fe.Mul(out t, ref p.Z, ref q.Z);
            Fe.Add(out d, ref t, ref t);
            Fe.Sub(out r.E, ref b, ref a);
            Fe.Sub(out r.F, ref d, ref c);
            Fe.Add(out r.G, ref d, ref c);
            Fe.Add(out r.H, ref b, ref a);
        }

        // Sub sets r = p - q.
        internal static void Sub(out P1 r, ref P3 p, ref Cached q)
        {
            Fe a, b, c, d, t;
            Fe.Sub(out t, ref p.Y, ref p.X);
            Fe.Mul(out a, ref t, ref q.YPlusX);
            Fe.Add(out t, ref p.Y, ref p.X);
            Fe.Mul(out b, ref t, ref q.YMinusX);
            Fe.Mul(out c, ref p.T, ref q.T2d);
            Fe.Mul(out t, ref p.Z, ref q.Z);
            Fe.Add(out d, ref t, ref t);
            Fe.Sub(out r.E, ref b, ref a);
            Fe.Add(out r.F, ref d, ref c);
            Fe.Sub(out r.G, ref d, ref c);
            Fe.Add(out r.H, ref b, ref a);
        }

        // AddNiels sets r = p + q for an affine q.
        internal static void AddNiels(out P1 r, ref P3 p, ref Niels q)
        {
            Fe a, b, c, d, t;
            Fe.Sub(out t, ref p.Y, ref p.X);
            Fe.Mul(out a, ref t, ref q.YMinusX);
            Fe.Add(out t, ref p.Y, ref p.X);
            Fe.Mul(out b, ref t, ref q.YPlusX);
            Fe.Mul(out c, ref p.T, ref q.XY2d);
            Fe.Add(out d, ref p.Z, ref p.Z);
            Fe.Sub(out r.E, ref b, ref a);
            Fe.Sub(out r.F, ref d, ref c);
            Fe.Add(out r.G, ref d, ref c);
            Fe.Add(out r.H, ref b, ref a);
        }

        // SubNiels sets r = p - q for an affine q.
        internal static void SubNiels(out P1 r, ref P3 p, ref Niels q)
        {
            Fe a, b, c, d, t;
            Fe.Sub(out t, ref p.Y, ref p.X);
            Fe.Mul(out a, ref t, ref q.YPlusX);
            Fe.Add(out t, ref p.Y, ref p.X);
            Fe.Mul(out b, ref t, ref q.YMinusX);
            Fe.Mul(out c, ref p.T, ref q.XY2d);
            Fe.Add(out d, ref p.Z, ref p.Z);
            Fe.Sub(out r.E, ref b, ref a);
            Fe.Add(out r.F, ref d, ref c);
            Fe.Sub(out r.G, ref d, ref c);
            Fe.Add(out r.H, ref b, ref a);
        }

        // AddP3 sets r = p + q.
        internal static void AddP3(out P3 r, ref P3 p, ref P3 q)
        {
            Cached c;
            ToCached(out c, ref q);
            P1 t;
            Add(out t, ref p, ref c);
            ToP3(out r, ref t);
        }

        // Neg sets r = -p.
        internal static void Neg(out P3 r, ref P3 p)
        {
            Fe.Neg(out r.X, ref p.X);
            r.Y = p.Y;
            r.Z = p.Z;
            Fe.Neg(out r.T, ref p.T);
        }

        static int EqualSmall(int a, int b)
        {
            uint x = (uint)(a ^ b);
            return (int)((x - 1) >> 31);
        }

        // ScalarMult sets r = s p for a scalar s (32 bytes little-endian at
        // s[off], below 2^255: Reduce it first), in constant time. s is
        // cut into 64 signed 4-bit digits in [-8, 8]; each step is four
        // doublings and one addition of a multiple of p chosen from a table
        // of eight by masks, so neither timing nor memory access depends on
        // s.
        internal static void ScalarMult(out P3 r, byte[] s, int off, ref P3 p)
        {
            var digits = new int[64];
            for (int i = 0; i < 32; i++)
            {
                digits[2 * i] = s[off + i] & 15;
                digits[2 * i + 1] = (s[off + i] >> 4) & 15;
            }
            int carry = 0;
            for (int i = 0; i < 63; i++)
            {
                digits[i] += carry;
                carry = (digits[i] + 8) >> 4;
                digits[i] -= carry << 4;
            }
            digits[63] += carry;

            var table = new Cached[8];
            P3 m = p;
            ToCached(out table[0], ref m);
            for (int j = 1; j < 8; j++)
            {
                P1 t;
                Add(out t, ref m, ref table[0]);
                ToP3(out m, ref t);
                ToCached(out table[j], ref m);
            }

            Identity(out r);
            for (int i = 63; i >= 0; i--)
            {
                P1 t;
                for (int k = 0; k < 4; k++)
                {
                    Double(out t, ref r);
                    ToP3(out r, ref t);
                }
                int d = digits[i];
                int neg = (d >> 31) & 1;
                int abs = d - ((-neg & d) << 1);
                Cached sel;
                Fe.One(out sel.YPlusX);
                Fe.One(out sel.YMinusX);
                Fe.One(out sel.Z);
                Fe.Zero(out sel.T2d);
                for (int j = 0; j < 8; j++)
                {
                    int hit = EqualSmall(abs, j + 1);
                    Fe.Select(ref sel.YPlusX, ref table[j].YPlusX, hit);
                    Fe.Select(ref sel.YMinusX, ref table[j].YMinusX, hit);
                    Fe.Select(ref sel.Z, ref table[j].Z, hit);
                    Fe.Select(ref sel.T2d, ref table[j].T2d, hit);
                }
                // -q = (Y - X, Y + X, Z, -2dT).
                Fe swap = sel.YPlusX;
                Fe.Select(ref sel.YPlusX, ref sel.YMinusX, neg);
                Fe.Select(ref sel.YMinusX, ref swap, neg);
                Fe.CondNeg(ref sel.T2d, neg);
                Add(out t, ref r, ref sel);
                ToP3(out r, ref t);
            }
            // The scalar's digits and the multiples of p (a secret generator,
            // in CPace) do not outlive the call.
            Array.Clear(digits, 0, digits.Length);
            Array.Clear(table, 0, table.Length);
            m = default(P3);
        }

        // Slide writes the width-w non-adjacent form of the 256-bit
        // little-endian a[off..off+32] to naf[0..256]: odd digits of
        // magnitude at most max (2^(w-1) - 1), zero elsewhere, sum naf[i]
        // 2^i = a. a must be below 2^255. Variable time.
        internal static void Slide(int[] naf, byte[] a, int off, int max)
        {
            for (int i = 0; i < 256; i++)
            {
                naf[i] = 1 & (a[off + (i >> 3)] >> (i & 7));
            }
            for (int i = 0; i < 256; i++)
            {
                if (naf[i] == 0)
                {
                    continue;
                }
                for (int b = 1; b <= 8 && i + b < 256; b++)
                {
                    if (naf[i + b] == 0)
                    {
                        continue;
                    }
                    int v = naf[i + b] << b;
                    if (naf[i] + v <= max)
                    {
                        naf[i] += v;
                        naf[i + b] = 0;
                    }
                    else if (naf[i] - v >= -max)
                    {
                        naf[i] -= v;
                        for (int k = i + b; k < 256; k++)
                        {
                            if (naf[k] == 0)
                            {
                                naf[k] = 1;
                                break;
                            }
                            naf[k] = 0;
                        }
                    }
                    else
                    {
                        break;
                    }
                }
            }
        }

        // The base point B of Ed25519 (= the ristretto255 generator) and its
        // odd multiples B, 3B, … 127B in affine form.
        internal static P3 Base;
        internal const int BaseWindowMax = 127;
        // The key's table is as wide as the base point's: a verifier builds
        // it once per key (Ed25519 keeps it while the key stays the same).
        internal const int PointWindowMax = 127;
        internal const int OddCount = (PointWindowMax + 1) / 2;
        static readonly Niels[] baseOdd = new Niels[64];

        static Edwards25519()
        {
            var enc = new byte[32];
            enc[0] = 0x58;
            for (int i = 1; i < 32; i++)
            {
                enc[i] = 0x66;
            }
            DecodeEd25519(out Base, enc, 0);
            P1 t;
            P3 b2, m = Base;
            Double(out t, ref Base);
            ToP3(out b2, ref t);
            Cached c2;
            ToCached(out c2, ref b2);
            for (int j = 0; j < 64; j++)
            {
                ToNiels(out baseOdd[j], ref m);
                Add(out t, ref m, ref c2);
                ToP3(out m, ref t);
            }
        }

        // OddMultiples fills odd[0..64] with A, 3A, … 127A, the table
        // DoubleScalarMultVartime adds from.
        internal static void OddMultiples(Cached[] odd, ref P3 A)
        {
            P1 t;
            P3 u, a2;
            ToCached(out odd[0], ref A);
            Double(out t, ref A);
            ToP3(out a2, ref t);
            for (int j = 1; j < OddCount; j++)
            {
                Add(out t, ref a2, ref odd[j - 1]);
                ToP3(out u, ref t);
                ToCached(out odd[j], ref u);
            }
        }

        // DoubleScalarMultVartime sets r = a A + b B (B the base point) for
        // scalars a and b below 2^255, as X, Y, Z only (enough to encode
        // it); aOdd is OddMultiples of A (OddCount entries). nafA and nafB
        // (256 ints each) are scratch. Variable time: for public values
        // only.
        internal static void DoubleScalarMultVartime(ref P3 r, byte[] a, int aOff, Cached[] aOdd, byte[] b, int bOff,
            int[] nafA, int[] nafB)
        {
            Slide(nafA, a, aOff, PointWindowMax);
            Slide(nafB, b, bOff, BaseWindowMax);

            P1 t;
            P3 u;
            Identity(out r);
            int i = 255;
            while (i >= 0 && nafA[i] == 0 && nafB[i] == 0)
            {
                i--;
            }
            for (; i >= 0; i--)
            {
                Double(out t, ref r);
                int da = nafA[i], db = nafB[i];
                if (da > 0)
                {
                    ToP3(out u, ref t);
                    Add(out t, ref u, ref aOdd[da >> 1]);
                }
                else if (da < 0)
                {
                    ToP3(out u, ref t);
                    Sub(out t, ref u, ref aOdd[(-da) >> 1]);
                }
                if (db > 0)
                {
                    ToP3(out u, ref t);
                    AddNiels(out t, ref u, ref baseOdd[db >> 1]);
                }
                else if (db < 0)
                {
                    ToP3(out u, ref t);
                    SubNiels(out t, ref u, ref baseOdd[(-db) >> 1]);
                }
                ToP2(ref r, ref t);
            }
        }

        // DecodeEd25519 reads the RFC 8032 encoding of a point (y with the
        // sign of x in bit 255) as Go's crypto/ed25519 does: y of p or more
        // is taken mod p, and x = 0 with the sign bit set is accepted as x =
        // 0; it fails (returns false, p undefined) when no x satisfies the
        // curve equation. Variable time in what it rejects only.
        internal static bool DecodeEd25519(out P3 p, byte[] s, int off)
        {
            Fe y, u, v, yy, one, x;
            Fe.FromBytes(out y, s, off);
            Fe.One(out one);
            Fe.Square(out yy, ref y);
            Fe.Sub(out u, ref yy, ref one);          // y^2 - 1
            Fe.Mul(out v, ref yy, ref Fe.D);
            Fe.Add(out v, ref v, ref one);           // d y^2 + 1
            int ok = Fe.SqrtRatioM1(out x, ref u, ref v);
            Fe.CondNeg(ref x, s[off + 31] >> 7);
            p.X = x;
            p.Y = y;
            Fe.One(out p.Z);
            Fe.Mul(out p.T, ref x, ref y);
            return ok == 1;
        }

        // EncodeEd25519 writes the RFC 8032 encoding of p (only X, Y, Z are
        // read) to s[off..off+32].
        internal static void EncodeEd25519(byte[] s, int off, ref P3 p)
        {
            Fe zi, x, y;
            Fe.Invert(out zi, ref p.Z);
            Fe.Mul(out x, ref p.X, ref zi);
            Fe.Mul(out y, ref p.Y, ref zi);
            Fe.ToBytes(s, off, ref y);
            s[off + 31] |= (byte)(Fe.IsNegative(ref x) << 7);
        }
    }
}

namespace Arcade.Crypto
{
    // Ristretto255 is the prime-order group of RFC 9496 built on
    // edwards25519: 32-byte canonical encodings (§4.3.1 decode, §4.3.2
    // encode), the one-way map from 64 uniform bytes (§4.3.4) and scalar
    // multiplication, which is what CPace (CPACE-RISTR255-SHA512) needs.
    // Elements cross this API only as encodings; scalars are 32 bytes
    // little-endian, taken mod the group order. Encoding, the map and
    // scalar multiplication run in constant time; decoding only ever sees
    // public messages and rejects in variable time. Nothing here throws on
    // bad input: a bad encoding makes the call return false.
    public static class Ristretto255
    {
        // Size of an encoded element and of a scalar.
        public const int Size = 32;

        // UniformSize is the input size of FromUniformBytes.
        public const int UniformSize = 64;

        // The encoding of the generator (the Ed25519 base point).
        static readonly byte[] generator =
        {
            0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
            0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
        };

        // Generator returns a new copy of the generator's encoding.
        public static byte[] Generator()
        {
            return (byte[])generator.Clone();
        }

        // IsValid reports whether enc[off..off+32] is the canonical
        // encoding of an element.
        public static bool IsValid(byte[] enc, int off)
        {
            P3 p;
            return Decode(out p, enc, off);
        }

        // IsIdentity reports whether enc[off..off+32] encodes the identity:
        // 32 zero bytes, checked in constant time.
        public static bool IsIdentity(byte[] enc, int off)
        {
            if (enc == null || off < 0 || off > enc.Length - Size)
            {
                return false;
            }
            int acc = 0;
            for (int i = 0; i < Size; i++)
            {
                acc |= enc[off + i];
            }
            return acc == 0;
        }

        // ScalarMult writes the encoding of s·P to dst[dstOff..], where s
        // is scalar[sOff..sOff+32] (little-endian, any value: it is taken
        // mod the group order) and P the element point[pOff..pOff+32]. It
        // returns false, writing nothing, when P is not a valid encoding.
        public static bool ScalarMult(byte[] dst, int dstOff, byte[] scalar, int sOff, byte[] point, int pOff)
        {
            if (!Fits(dst, dstOff, Size) || !Fits(scalar, sOff, Size))
            {
                return false;
            }
            P3 p;
            if (!Decode(out p, point, pOff))
            {
                return false;
            }
            var s = new byte[64];
            System.Buffer.BlockCopy(scalar, sOff, s, 0, Size);
            Scalar25519.Reduce(s, 0, s, 0, new long[24]);
            P3 r;
            Edwards25519.ScalarMult(out r, s, 0, ref p);
            System.Array.Clear(s, 0, s.Length);
            Encode(dst, dstOff, ref r);
            return true;
        }

        // FromUniformBytes writes the encoding of the element that the
        // one-way map (RFC 9496 §4.3.4, "element derivation") gives
        // b[off..off+64] to dst[dstOff..]. It returns false only when a
        // buffer is too short.
        public static bool FromUniformBytes(byte[] dst, int dstOff, byte[] b, int off)
        {
            if (!Fits(dst, dstOff, Size) || !Fits(b, off, UniformSize))
            {
                return false;
            }
            P3 r;
            FromUniform(out r, b, off);
            Encode(dst, dstOff, ref r);
            return true;
        }

        // Add writes the encoding of P + Q to dst[dstOff..]; false if P or
        // Q is not a valid encoding.
        public static bool Add(byte[] dst, int dstOff, byte[] p, int pOff, byte[] q, int qOff)
        {
            if (!Fits(dst, dstOff, Size))
            {
                return false;
            }
            P3 a, b, r;
            if (!Decode(out a, p, pOff) || !Decode(out b, q, qOff))
            {
                return false;
            }
            Edwards25519.AddP3(out r, ref a, ref b);
            Encode(dst, dstOff, ref r);
            return true;
        }

        static bool Fits(byte[] b, int off, int n)
        {
            return b != null && off >= 0 && off <= b.Length - n;
        }

        // Decode is RFC 9496 §4.3.1: it accepts only the canonical
        // encoding (s < p, s non-negative) of a point of the group.
        internal static bool Decode(out P3 p, byte[] enc, int off)
        {
            p = default(P3);
            if (!Fits(enc, off, Size))
            {
                return false;
            }
            Fe s;
            Fe.FromBytes(out s, enc, off);
            var canon = new byte[Size];
            Fe.ToBytes(canon, 0, ref s);
            int diff = 0;
            for (int i = 0; i < Size; i++)
            {
                diff |= canon[i] ^ enc[off + i];
            }
            if (diff != 0 || Fe.IsNegative(ref s) == 1)
            {
                return false;
            }
            Fe one, ss, u1, u2, u2sq, v, t, invsqrt, denX, denY, x, y;
            Fe.One(out one);
            Fe.Square(out ss, ref s);
            Fe.Sub(out u1, ref one, ref ss);                 // 1 - s^2
            Fe.Add(out u2, ref one, ref ss);                 // 1 + s^2
            Fe.Square(out u2sq, ref u2);
            Fe.Square(out t, ref u1);
            Fe.Mul(out t, ref t, ref Fe.D);
            Fe.Neg(out t, ref t);
            Fe.Sub(out v, ref t, ref u2sq);                  // -(D u1^2) - u2^2
            Fe.Mul(out t, ref v, ref u2sq);
            int wasSquare = Fe.SqrtRatioM1(out invsqrt, ref one, ref t);
            Fe.Mul(out denX, ref invsqrt, ref u2);
            Fe.Mul(out t, ref invsqrt, ref denX);
            Fe.Mul(out denY, ref t, ref v);
            Fe.Add(out t, ref s, ref s);
            Fe.Mul(out x, ref t, ref denX);
            Fe.Abs(ref x);                                    // |2 s den_x|
            Fe.Mul(out y, ref u1, ref denY);
            Fe.Mul(out t, ref x, ref y);
            if (wasSquare == 0 || Fe.IsNegative(ref t) == 1 || Fe.IsZero(ref y) == 1)
            {
                return false;
            }
            p.X = x;
            p.Y = y;
            Fe.One(out p.Z);
            p.T = t;
            return true;
        }

        // Encode is RFC 9496 §4.3.2.
        internal static void Encode(byte[] dst, int off, ref P3 p)
        {
            Fe u1, u2, t, invsqrt, den1, den2, zInv, ix, iy, enchanted, x, y, denInv, one;
            Fe.One(out one);
            Fe.Add(out t, ref p.Z, ref p.Y);
            Fe.Sub(out u1, ref p.Z, ref p.Y);
            Fe.Mul(out u1, ref t, ref u1);                   // (Z + Y)(Z - Y)
            Fe.Mul(out u2, ref p.X, ref p.Y);
            Fe.Square(out t, ref u2);
            Fe.Mul(out t, ref u1, ref t);
            Fe.SqrtRatioM1(out invsqrt, ref one, ref t);
            Fe.Mul(out den1, ref invsqrt, ref u1);
            Fe.Mul(out den2, ref invsqrt, ref u2);
            Fe.Mul(out t, ref den1, ref den2);
            Fe.Mul(out zInv, ref t, ref p.T);
            Fe.Mul(out ix, ref p.X, ref Fe.SqrtM1);
            Fe.Mul(out iy, ref p.Y, ref Fe.SqrtM1);
            Fe.Mul(out enchanted, ref den1, ref Fe.InvSqrtAMinusD);
            Fe.Mul(out t, ref p.T, ref zInv);
            int rotate = Fe.IsNegative(ref t);
            x = p.X;
            y = p.Y;
            Fe.Select(ref x, ref iy, rotate);
            Fe.Select(ref y, ref ix, rotate);
            denInv = den2;
            Fe.Select(ref denInv, ref enchanted, rotate);
            Fe.Mul(out t, ref x, ref zInv);
            Fe.CondNeg(ref y, Fe.IsNegative(ref t));
            Fe.Sub(out t, ref p.Z, ref y);
            Fe s;
            Fe.Mul(out s, ref denInv, ref t);
            Fe.Abs(ref s);
            Fe.ToBytes(dst, off, ref s);
        }

        // Equal is RFC 9496 §4.3.3: whether p and q are the same element.
        internal static bool Equal(ref P3 p, ref P3 q)
        {
            Fe a, b;
            Fe.Mul(out a, ref p.X, ref q.Y);
            Fe.Mul(out b, ref p.Y, ref q.X);
            int e1 = Fe.Equal(ref a, ref b);
            Fe.Mul(out a, ref p.Y, ref q.Y);
            Fe.Mul(out b, ref p.X, ref q.X);
            int e2 = Fe.Equal(ref a, ref b);
            return (e1 | e2) == 1;
        }

        // FromUniform is the element derivation of RFC 9496 §4.3.4: MAP of
        // each half (bit 255 of each ignored), added.
        internal static void FromUniform(out P3 r, byte[] b, int off)
        {
            Fe t1, t2;
            Fe.FromBytes(out t1, b, off);
            Fe.FromBytes(out t2, b, off + 32);
            P3 p1, p2;
            Map(out p1, ref t1);
            Map(out p2, ref t2);
            Edwards25519.AddP3(out r, ref p1, ref p2);
        }

        // Map is RFC 9496's MAP (Elligator 2 for ristretto255).
        static void Map(out P3 p, ref Fe t)
        {
            Fe one, minusOne, r, u, v, s, t0, t1, c, n, w0, w1, w2, w3, ss;
            Fe.One(out one);
            Fe.Neg(out minusOne, ref one);
            Fe.Square(out t0, ref t);
            Fe.Mul(out r, ref t0, ref Fe.SqrtM1);            // SQRT_M1 t^2
            Fe.Add(out t0, ref r, ref one);
            Fe.Mul(out u, ref t0, ref Fe.OneMinusDSq);       // (r + 1) ONE_MINUS_D_SQ
            Fe.Mul(out t0, ref r, ref Fe.D);
            Fe.Sub(out t0, ref minusOne, ref t0);            // -1 - r D
            Fe.Add(out t1, ref r, ref Fe.D);                 // r + D
            Fe.Mul(out v, ref t0, ref t1);
            int wasSquare = Fe.SqrtRatioM1(out s, ref u, ref v);
            Fe sPrime;
            Fe.Mul(out sPrime, ref s, ref t);
            Fe.Abs(ref sPrime);
            Fe.Neg(out sPrime, ref sPrime);                  // -|s t|
            Fe.Select(ref sPrime, ref s, wasSquare);
            s = sPrime;
            c = r;
            Fe.Select(ref c, ref minusOne, wasSquare);
            Fe.Sub(out t0, ref r, ref one);
            Fe.Mul(out t0, ref c, ref t0);
            Fe.Mul(out t0, ref t0, ref Fe.DMinusOneSq);
            Fe.Sub(out n, ref t0, ref v);                    // c (r - 1) D_MINUS_ONE_SQ - v
            Fe.Add(out t0, ref s, ref s);
            Fe.Mul(out w0, ref t0, ref v);                   // 2 s v
            Fe.Mul(out w1, ref n, ref Fe.SqrtADMinusOne);
            Fe.Square(out ss, ref s);
            Fe.Sub(out w2, ref one, ref ss);
            Fe.Add(out w3, ref one, ref ss);
            Fe.Mul(out p.X, ref w0, ref w3);
            Fe.Mul(out p.Y, ref w2, ref w1);
            Fe.Mul(out p.Z, ref w1, ref w3);
            Fe.Mul(out p.T, ref w0, ref w2);
        }
    }
}

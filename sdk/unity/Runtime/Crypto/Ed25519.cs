namespace Arcade.Crypto
{
    // Ed25519 checks the server's signatures (RFC 8032, Ed25519 pure, no
    // context), which every multicast datagram of a sealed server carries
    // (docs/PROTOCOL.md §17.3). It decides exactly as Go's crypto/ed25519
    // does:
    //
    //   - S (the second half of the signature) must be below the group
    //     order L (bits 253–255 set, or S >= L, is a rejection);
    //   - the public key A decodes as crypto/ed25519 decodes it: a y of p or
    //     more is taken mod p, x = 0 with the sign bit set is x = 0; a y
    //     with no x on the curve is a rejection;
    //   - k = SHA-512(R ‖ A ‖ M) mod L, and the check is cofactorless: the
    //     encoding of [S]B - [k]A must equal the 32 bytes R as given (so a
    //     non-canonical R never verifies).
    //
    // Verify does not allocate: each thread keeps its own scratch (the
    // hash, the digits, and the decoded key with its table of multiples,
    // reused while the key stays the same, which is the case for a client:
    // one server key per session).
    public static class Ed25519
    {
        // Sizes of a public key and of a signature.
        public const int PublicKeySize = 32;
        public const int SignatureSize = 64;

        sealed class Scratch
        {
            internal readonly Sha512 Sha = new Sha512();
            internal readonly byte[] Hash = new byte[Sha512.Size];
            internal readonly byte[] R = new byte[32];
            internal readonly long[] Limbs = new long[24];
            internal readonly int[] NafA = new int[256];
            internal readonly int[] NafB = new int[256];
            internal readonly Cached[] NegAOdd = new Cached[Edwards25519.OddCount];
            internal readonly byte[] Key = new byte[PublicKeySize];
            internal bool HaveKey;
        }

        [System.ThreadStatic]
        static Scratch scratch;

        // Verify reports whether sig[sigOff..sigOff+64] is pub32's valid
        // signature of msg[off..off+len]. Any bad input (null, short
        // buffers, bad offsets, a key that is no point, a forged signature)
        // makes it return false; it never throws.
        public static bool Verify(byte[] pub32, byte[] msg, int off, int len, byte[] sig, int sigOff)
        {
            if (pub32 == null || pub32.Length != PublicKeySize || msg == null || off < 0 || len < 0 ||
                off > msg.Length - len || sig == null || sigOff < 0 || sigOff > sig.Length - SignatureSize)
            {
                return false;
            }
            if ((sig[sigOff + 63] & 0xe0) != 0 || !Scalar25519.IsCanonical(sig, sigOff + 32))
            {
                return false;
            }
            Scratch sc = scratch;
            if (sc == null)
            {
                sc = new Scratch();
                scratch = sc;
            }
            if (!sc.HaveKey || !SameBytes(sc.Key, pub32))
            {
                sc.HaveKey = false;
                P3 a, negA;
                if (!Edwards25519.DecodeEd25519(out a, pub32, 0))
                {
                    return false;
                }
                Edwards25519.Neg(out negA, ref a);
                Edwards25519.OddMultiples(sc.NegAOdd, ref negA);
                System.Buffer.BlockCopy(pub32, 0, sc.Key, 0, PublicKeySize);
                sc.HaveKey = true;
            }
            Sha512 h = sc.Sha;
            h.Reset();
            h.Update(sig, sigOff, 32);
            h.Update(pub32, 0, PublicKeySize);
            h.Update(msg, off, len);
            h.Final(sc.Hash, 0);
            Scalar25519.Reduce(sc.Hash, 0, sc.Hash, 0, sc.Limbs);

            P3 r = default(P3);
            Edwards25519.DoubleScalarMultVartime(ref r, sc.Hash, 0, sc.NegAOdd, sig, sigOff + 32, sc.NafA, sc.NafB);
            Edwards25519.EncodeEd25519(sc.R, 0, ref r);
            int diff = 0;
            for (int i = 0; i < 32; i++)
            {
                diff |= sc.R[i] ^ sig[sigOff + i];
            }
            return diff == 0;
        }

        static bool SameBytes(byte[] a, byte[] b)
        {
            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }
            return true;
        }
    }
}

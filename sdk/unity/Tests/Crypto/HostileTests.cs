// Hostile input and allocation checks of Arcade.Crypto (part of the
// console program in CryptoTests.cs).
#if !UNITY_5_3_OR_NEWER
using System;
using System.Numerics;

namespace Arcade.Crypto.Tests
{
    static partial class CryptoTests
    {
        // HostileTests: whatever the LAN sends, decoding, opening and
        // verifying return false and never throw.
        static void HostileTests()
        {
            var rng = new Random(5);
            int threw = 0, accepted = 0;
            byte[] key = new byte[16];
            rng.NextBytes(key);
            var gcm = new AesGcm128(key);
            var session = new SealedSession(key, key);
            var groupOpener = new GroupOpener(key, new byte[32]);
            var pub = new byte[32];
            var dst = new byte[2048];
            byte[] ya = new byte[32];
            const int rounds = 3000;
            for (int i = 0; i < rounds; i++)
            {
                int len = rng.Next(0, 1300);
                var d = new byte[len];
                rng.NextBytes(d);
                rng.NextBytes(pub);
                try
                {
                    // AES-GCM: random datagrams, random offsets and lengths,
                    // some out of range.
                    int off = rng.Next(-2, 40), n = rng.Next(-2, len + 4);
                    if (gcm.Open((uint)rng.Next(3), (ulong)rng.Next(), d, off, n, d, 0, Math.Min(22, len), dst, 0)) accepted++;
                    if (gcm.Open(new byte[12], 0, d, 0, len, null, 0, 0, dst, 0)) accepted++;
                    if (gcm.Open(null, 0, d, 0, len, null, 0, 0, dst, 0)) accepted++;
                    if (gcm.Open(new byte[12], 0, d, 0, len, null, 0, 0, new byte[1], 0)) accepted++;
                    // Sealed sessions and the group: random datagrams and
                    // header lengths.
                    int bl;
                    if (session.Open(d, len, rng.Next(-2, 30), dst, 0, out bl) == SealResult.Ok) accepted++;
                    if (groupOpener.Open(d, len, rng.Next(-2, 30), dst, 0, out bl) == SealResult.Ok) accepted++;
                    if (session.Open(d, rng.Next(-2, len + 3), 22, dst, 0, out bl) == SealResult.Ok) accepted++;
                    // Ed25519: random keys and signatures, over the datagram.
                    if (len >= 64 && Ed25519.Verify(pub, d, 0, len - 64, d, len - 64)) accepted++;
                    if (Ed25519.Verify(pub, d, rng.Next(-3, 5), rng.Next(-3, len + 3), d, rng.Next(-3, len + 3))) accepted++;
                    if (Ed25519.Verify(null, d, 0, 0, d, 0) || Ed25519.Verify(pub, null, 0, 0, d, 0) || Ed25519.Verify(pub, d, 0, 0, null, 0)) accepted++;
                    if (Ed25519.Verify(new byte[31], d, 0, 0, new byte[64], 0)) accepted++;
                    // ristretto255: random encodings (about one in eight is
                    // valid, which is not a failure: Go's verdicts on such
                    // bytes are checked in RistrettoTests).
                    if (len >= 32)
                    {
                        Ristretto255.IsValid(d, 0);
                        Ristretto255.ScalarMult(dst, 0, d, 0, d, len - 32);
                        Ristretto255.Add(dst, 0, d, 0, d, len - 32);
                    }
                    if (Ristretto255.IsValid(d, len - 31) || Ristretto255.IsValid(null, 0) || Ristretto255.IsValid(d, -1)) accepted++;
                    if (Ristretto255.ScalarMult(dst, 0, d, 0, null, 0) || Ristretto255.FromUniformBytes(dst, 0, d, len - 63)) accepted++;
                    // CPace: a random Accepted (Yb, tag, wrapped key) never
                    // completes; short or missing fields are refused.
                    if (len >= 96 && i % 10 == 0)
                    {
                        var Yb = new byte[32];
                        var tag = new byte[32];
                        Buffer.BlockCopy(d, 0, Yb, 0, 32);
                        Buffer.BlockCopy(d, 32, tag, 0, 32);
                        rng.NextBytes(ya);
                        ya[31] &= 0x0f;
                        SealedKeys keys;
                        if (Cpace.Complete(ya, Yb, new byte[40], Yb, pub, 1, tag, 0, d, 64, out keys) || keys != null) accepted++;
                        byte[] isk;
                        Cpace.Finish(new byte[32], Yb, Yb, pub, 1, new byte[40], out isk);
                        byte[] gk;
                        if (Cpace.UnwrapGroupKey(d, 1, d, 0, out gk) || Cpace.UnwrapGroupKey(new byte[64], 1, d, len - 31, out gk)) accepted++;
                    }
                    byte[] isk2;
                    if (Cpace.Finish(null, d, d, d, 0, d, out isk2) || Cpace.Finish(new byte[32], new byte[32], new byte[31], new byte[32], 0, new byte[40], out isk2)) accepted++;
                    if (Cpace.CheckServerConfirm(new byte[64], new byte[32], new byte[32], new byte[32], 0, d, len - 31)) accepted++;
                    if (Cpace.CheckServerConfirm(null, null, null, null, 0, null, 0)) accepted++;
                }
                catch (Exception e)
                {
                    threw++;
                    if (threw < 5)
                    {
                        Fail("hostile input threw: " + e);
                    }
                }
            }
            gcm.Dispose();
            session.Dispose();
            groupOpener.Dispose();
            Check(threw == 0, "hostile input: " + threw + " of " + rounds + " rounds threw");
            Check(accepted == 0, "hostile input: " + accepted + " forgeries accepted");
            Check(!gcm.Open(new byte[12], 0, new byte[16], 0, 16, null, 0, 0, dst, 0), "a disposed AesGcm128 opens nothing");
            // The identity as Yb: K would be the identity, the draft's abort.
            byte[] iskI;
            Check(!Cpace.Finish(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
                new byte[32], new byte[32], new byte[32], 0, new byte[40], out iskI) && iskI == null, "Yb = identity aborts");
        }

        // AllocationTests: the per-datagram paths (AES-GCM Seal and Open,
        // Ed25519.Verify) allocate nothing once warmed up.
        static void AllocationTests()
        {
            var key = new byte[16];
            var gcm = new AesGcm128(key);
            var header = new byte[22];
            var body = new byte[1100];
            var sealedBuf = new byte[1200];
            var plain = new byte[1200];
            var pubs = Vectors("ed25519.txt")[0].Value;
            byte[] pub = Unhex(pubs[0]), msg = Unhex(pubs[1]), sig = Unhex(pubs[2]);
            // Warm up: JIT, the per-thread scratch, the key cache.
            for (int i = 0; i < 3; i++)
            {
                gcm.Seal(2, (ulong)i, body, 0, body.Length, header, 0, header.Length, sealedBuf, 0);
                gcm.Open(2, (ulong)i, sealedBuf, 0, body.Length + 16, header, 0, header.Length, plain, 0);
                Ed25519.Verify(pub, msg, 0, msg.Length, sig, 0);
            }
            long before = GC.GetAllocatedBytesForCurrentThread();
            bool ok = true;
            for (int i = 0; i < 200; i++)
            {
                gcm.Seal(2, (ulong)i, body, 0, body.Length, header, 0, header.Length, sealedBuf, 0);
                ok &= gcm.Open(2, (ulong)i, sealedBuf, 0, body.Length + 16, header, 0, header.Length, plain, 0);
            }
            long gcmBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Check(ok, "the allocation loop's datagrams open");
            Check(gcmBytes == 0, "AES-GCM Seal+Open: " + gcmBytes + " bytes allocated in 200 calls");
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++)
            {
                ok &= Ed25519.Verify(pub, msg, 0, msg.Length, sig, 0);
            }
            long edBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Check(ok, "the allocation loop's signatures verify");
            Check(edBytes == 0, "Ed25519.Verify: " + edBytes + " bytes allocated in 50 calls");
            gcm.Dispose();
        }

        // Sign is RFC 8032 §5.1.6 signing, for tests and benchmarks only
        // (the SDK only verifies): a slow reference built on
        // Edwards25519.ScalarMult and BigInteger.
        internal static void Sign(byte[] seed, byte[] msg, out byte[] pub, out byte[] sig)
        {
            var sha = new Sha512();
            var h = new byte[64];
            sha.Update(seed, 0, 32);
            sha.Final(h, 0);
            h[0] &= 248;
            h[31] &= 127;
            h[31] |= 64;
            BigInteger a = Mod(FromLE(h, 0, 32), L);
            pub = new byte[32];
            P3 A;
            Edwards25519.ScalarMult(out A, ToLE(a, 32), 0, ref Edwards25519.Base);
            Edwards25519.EncodeEd25519(pub, 0, ref A);
            var rh = new byte[64];
            sha.Update(h, 32, 32);
            sha.Update(msg, 0, msg.Length);
            sha.Final(rh, 0);
            BigInteger r = Mod(FromLE(rh, 0, 64), L);
            P3 R;
            Edwards25519.ScalarMult(out R, ToLE(r, 32), 0, ref Edwards25519.Base);
            sig = new byte[64];
            Edwards25519.EncodeEd25519(sig, 0, ref R);
            var kh = new byte[64];
            sha.Update(sig, 0, 32);
            sha.Update(pub, 0, 32);
            sha.Update(msg, 0, msg.Length);
            sha.Final(kh, 0);
            BigInteger k = Mod(FromLE(kh, 0, 64), L);
            Buffer.BlockCopy(ToLE(Mod(r + k * a, L), 32), 0, sig, 32, 32);
        }

        // SignTests: the reference signer reproduces RFC 8032 TEST 1 and
        // TEST 3, and what it signs verifies (messages of many lengths).
        static void SignTests()
        {
            byte[] pub, sig;
            Sign(Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"), new byte[0], out pub, out sig);
            CheckBytes(pub, Unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), "TEST 1 public key");
            CheckBytes(sig, Unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"), "TEST 1 signature");
            Sign(Unhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"), new byte[] { 0xaf, 0x82 }, out pub, out sig);
            CheckBytes(sig, Unhex("6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"), "TEST 3 signature");
            var rng = new Random(6);
            int bad = 0;
            for (int len = 0; len < 300; len += 7)
            {
                var seed = new byte[32];
                var msg = new byte[len];
                rng.NextBytes(seed);
                rng.NextBytes(msg);
                Sign(seed, msg, out pub, out sig);
                if (!Ed25519.Verify(pub, msg, 0, len, sig, 0)) bad++;
                if (len > 0)
                {
                    msg[rng.Next(len)] ^= 1;
                    if (Ed25519.Verify(pub, msg, 0, len, sig, 0)) bad++;
                }
            }
            Check(bad == 0, "signed messages verify and altered ones do not: " + bad + " wrong");
        }
    }
}
#endif

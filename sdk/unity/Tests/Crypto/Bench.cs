// Benchmarks of Arcade.Crypto (CryptoTests.exe --bench): what a headset
// pays per datagram. Each cost is reported with its ratio to a SHA-512 of
// the same message measured in the same run, so the figures stay
// comparable on a loaded or slow machine; nothing here is asserted.
#if !UNITY_5_3_OR_NEWER
using System;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Arcade.Crypto.Tests
{
    static class Bench
    {
        // Time returns the median of five runs of the microseconds per call
        // of f over n calls.
        static double Time(int n, Action f)
        {
            var runs = new double[5];
            f(); // JIT
            for (int r = 0; r < runs.Length; r++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n; i++)
                {
                    f();
                }
                sw.Stop();
                runs[r] = sw.Elapsed.TotalMilliseconds * 1000.0 / n;
            }
            Array.Sort(runs);
            return runs[runs.Length / 2];
        }

        internal static void Run()
        {
            Console.WriteLine("Arcade.Crypto benchmarks (Mono {0}), microseconds per call, median of 5 runs", Environment.Version);
            foreach (int len in new[] { 64, 600, 1136 })
            {
                byte[] msg = new byte[len];
                new Random(len).NextBytes(msg);
                byte[] pub, sig;
                var seed = new byte[32];
                new Random(1).NextBytes(seed);
                CryptoTests.Sign(seed, msg, out pub, out sig);
                var sha = new Sha512();
                var h = new byte[64];
                using (var sys = SHA512.Create())
                {
                    double tSha = Time(2000, () => { sha.Update(msg, 0, msg.Length); sha.Final(h, 0); });
                    double tSys = Time(2000, () => sys.ComputeHash(msg, 0, msg.Length));
                    bool ok = Ed25519.Verify(pub, msg, 0, msg.Length, sig, 0);
                    double tVerify = Time(200, () => Ed25519.Verify(pub, msg, 0, msg.Length, sig, 0));
                    var key = new byte[16];
                    var gcm = new AesGcm128(key);
                    var sealedBuf = new byte[len + 16];
                    var plain = new byte[len];
                    var ad = new byte[22];
                    gcm.Seal(2, 0, msg, 0, len, ad, 0, 22, sealedBuf, 0);
                    double tOpen = Time(2000, () => gcm.Open(2, 0, sealedBuf, 0, len + 16, ad, 0, 22, plain, 0));
                    gcm.Dispose();
                    Console.WriteLine("{0,5}-byte message: SHA-512 {1,8:F2} (System's {2,8:F2}); Ed25519.Verify {3,8:F1} = {4,5:F0}× SHA-512 (valid: {5}); AES-GCM Open {6,8:F2} = {7,4:F1}× SHA-512",
                        len, tSha, tSys, tVerify, tVerify / tSha, ok, tOpen, tOpen / tSha);
                }
            }
            // The handshake: one CPace client side (Begin + Complete).
            byte[] sid = Cpace.Sid(new byte[32], 1);
            byte[] ya;
            double tBegin = Time(20, () => Cpace.Begin(new byte[] { 1, 2, 3 }, sid, out ya));
            byte[] Ya = Cpace.Begin(new byte[] { 1, 2, 3 }, sid, out ya);
            byte[] isk;
            double tFinish = Time(20, () => Cpace.Finish((byte[])ya.Clone(), Ya, Ya, new byte[32], 0, sid, out isk));
            Console.WriteLine("CPace client: Begin {0:F0}, Finish {1:F0} microseconds (once per handshake)", tBegin, tFinish);
        }
    }
}
#endif

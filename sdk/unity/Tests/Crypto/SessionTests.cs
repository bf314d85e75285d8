// Tests of SealedSession, GroupOpener and ReplayWindow (part of the
// console program in CryptoTests.cs).
#if !UNITY_5_3_OR_NEWER
using System;
using System.Collections.Generic;

namespace Arcade.Crypto.Tests
{
    static partial class CryptoTests
    {
        // ReplayWindowTests: the bitmap against an obvious reference (every
        // accepted number in a set, fresh if above the highest or less than
        // 960 below it and not in the set), over random walks with jumps.
        static void ReplayWindowTests()
        {
            var rng = new Random(7);
            int wrong = 0, ops = 0;
            for (int walk = 0; walk < 20; walk++)
            {
                var w = new ReplayWindow();
                var seen = new HashSet<ulong>();
                ulong top = 0;
                bool any = false;
                ulong baseN = walk % 2 == 0 ? 0UL : (1UL << 40) - 500;
                ulong cur = baseN;
                for (int i = 0; i < 4000; i++)
                {
                    ulong n;
                    switch (rng.Next(6))
                    {
                        case 0:
                            n = cur + (ulong)rng.Next(1, 3000); // jump ahead
                            break;
                        case 1:
                            n = cur >= 1100 ? cur - (ulong)rng.Next(0, 1100) : (ulong)rng.Next(0, 10); // behind
                            break;
                        default:
                            n = cur + (ulong)rng.Next(0, 3); // in order, duplicates
                            break;
                    }
                    bool refFresh = !any || n > top || (top - n < 960 && !seen.Contains(n));
                    bool fresh = w.IsFresh(n);
                    ops++;
                    if (fresh != refFresh) wrong++;
                    if (fresh && rng.Next(4) != 0) // most fresh numbers get accepted
                    {
                        w.Accept(n);
                        seen.Add(n);
                        if (!any || n > top) top = n;
                        any = true;
                        if (n > cur) cur = n;
                    }
                }
            }
            Check(wrong == 0, "ReplayWindow against a set: " + wrong + " of " + ops + " differ");
            var w2 = new ReplayWindow();
            w2.Accept(5000);
            Check(!w2.IsFresh(5000) && w2.IsFresh(4999) && w2.IsFresh(4041) && !w2.IsFresh(4040) && w2.IsFresh(5001), "the window's edges: 959 below fresh, 960 below not");
            // A server that took over starts its counters 2^20 above the
            // copy's (PROTOCOL §18.6): the jump is taken as any number
            // ahead, and what the old server sends late is then too old.
            var w3 = new ReplayWindow();
            for (ulong n = 0; n < 100; n++) w3.Accept(n);
            ulong jump = 100 + (1UL << 20);
            Check(w3.IsFresh(jump), "a takeover's jump of 2^20 is fresh");
            w3.Accept(jump);
            Check(!w3.IsFresh(jump) && w3.IsFresh(jump + 1) && w3.IsFresh(jump - 1) && !w3.IsFresh(105) && !w3.IsFresh(99), "after the jump: the numbers just below it fresh, the old server's late ones too old");
        }

        // SessionTests: SealedSession and GroupOpener on Go's datagrams.
        static void SessionTests()
        {
            var vs = Vectors("handshake.txt");
            SealedKeys keys = null;
            foreach (var v in vs)
            {
                if (v.Key == "handshake" && keys == null)
                {
                    string[] f = v.Value;
                    byte[] sid = Cpace.Sid(Unhex(f[2]), U64(Unhex(f[3]), 0));
                    byte[] Ya = Cpace.BeginWithScalar(Unhex(f[0]), sid, Unhex(f[5]));
                    Cpace.Complete(Unhex(f[5]), Ya, sid, Unhex(f[10]), Unhex(f[7]), U64(Unhex(f[4]), 0), Unhex(f[11]), 0, Unhex(f[12]), 0, out keys);
                }
            }
            Check(keys != null, "case a completes");
            if (keys == null)
            {
                return;
            }
            var client = new SealedSession(keys.ClientToServer, keys.ServerToClient);
            var group = new GroupOpener(keys.GroupKey, keys.ServerKey);
            var dst = new byte[1500];
            var opened = new List<byte[]>();
            int s2c = 0, c2s = 0, grp = 0;
            foreach (var v in vs)
            {
                string[] f = v.Value;
                int bodyLen;
                switch (v.Key)
                {
                    case "s2c":
                        {
                            byte[] header = Unhex(f[1]), body = Unhex(f[2]), d = Unhex(f[3]);
                            s2c++;
                            SealResult r = client.Open(d, d.Length, header.Length, dst, 0, out bodyLen);
                            Check(r == SealResult.Ok && bodyLen == body.Length && Hex(Slice(dst, 0, bodyLen)) == Hex(body), "s2c " + s2c + " opens: " + r);
                            Check(client.Open(d, d.Length, header.Length, dst, 0, out bodyLen) == SealResult.Replayed, "s2c " + s2c + " again is a replay");
                            opened.Add(d);
                            break;
                        }
                    case "c2s":
                        {
                            byte[] header = Unhex(f[1]), body = Unhex(f[2]), d = Unhex(f[3]);
                            c2s++;
                            var buf = new byte[d.Length];
                            Buffer.BlockCopy(header, 0, buf, 0, header.Length);
                            Buffer.BlockCopy(body, 0, buf, header.Length + 8, body.Length);
                            int n = client.Seal(buf, header.Length, body.Length);
                            Check(n == d.Length, "c2s " + c2s + " length");
                            CheckBytes(buf, d, "c2s " + c2s + " sealed as Go seals it");
                            break;
                        }
                    case "group":
                        {
                            byte[] header = Unhex(f[2]), body = Unhex(f[3]), d = Unhex(f[4]);
                            bool want = f[5] == "1";
                            grp++;
                            using (var fresh = new GroupOpener(keys.GroupKey, keys.ServerKey))
                            {
                                SealResult r = fresh.Open(d, d.Length, header.Length, dst, 0, out bodyLen);
                                Check((r == SealResult.Ok) == want, "group " + grp + ": " + r + ", want ok " + want);
                                if (r == SealResult.Ok)
                                {
                                    CheckBytes(Slice(dst, 0, bodyLen), body, "group " + grp + " body");
                                    Check(fresh.Open(d, d.Length, header.Length, dst, 0, out bodyLen) == SealResult.Replayed, "group " + grp + " again is a replay");
                                }
                                else
                                {
                                    Check(r == SealResult.BadSeal || r == SealResult.BadSignature, "group " + grp + " fails as bad_seal or bad_signature: " + r);
                                }
                            }
                            break;
                        }
                }
            }
            Check(s2c >= 4 && c2s >= 3 && grp >= 8, "the datagrams are there");
            Check(client.NextNumber == (ulong)c2s, "the client numbered its datagrams from 0");

            // A headset's forgery with a far packet number: it opens with the
            // group key, fails the signature, and moves nothing: the server's
            // next datagram still opens.
            byte[] real = null, forged = null;
            foreach (var v in vs)
            {
                if (v.Key == "group" && v.Value[5] == "1" && real == null)
                {
                    real = Unhex(v.Value[4]);
                }
            }
            forged = (byte[])real.Clone();
            int hl = 22, bl = real.Length - hl - GroupOpener.Overhead;
            SealedSession.PutU64(forged, hl, 1UL << 40);
            byte[] plain = new byte[bl];
            using (var g = new AesGcm128(keys.GroupKey))
            {
                g.Open(2, SealedSession.GetU64(real, hl), real, hl + 8, bl + 16, real, 0, hl, plain, 0);
                g.Seal(2, 1UL << 40, plain, 0, bl, forged, 0, hl, forged, hl + 8);
            }
            byte[] fakePub, fakeSig;
            var seed = new byte[32];
            seed[0] = 9;
            Sign(seed, Slice(forged, 0, forged.Length - 64), out fakePub, out fakeSig);
            Buffer.BlockCopy(fakeSig, 0, forged, forged.Length - 64, 64);
            int bodyLen2;
            Check(group.Open(forged, forged.Length, hl, dst, 0, out bodyLen2) == SealResult.BadSignature, "a forgery signed by a headset is bad_signature");
            Check(group.Open(forged, forged.Length, hl, dst, 0, out bodyLen2) == SealResult.BadSignature, "…and its number was not accepted");
            Check(group.Open(real, real.Length, hl, dst, 0, out bodyLen2) == SealResult.Ok, "the server's datagram still opens after the forgery");
            // Short and garbage input.
            Check(group.Open(real, GroupOpener.Overhead + hl - 1, hl, dst, 0, out bodyLen2) == SealResult.Short, "a short group datagram");
            Check(client.Open(real, SealedSession.Overhead + hl - 1, hl, dst, 0, out bodyLen2) == SealResult.Short, "a short datagram");
            Check(client.Open(null, 0, 0, dst, 0, out bodyLen2) == SealResult.Short && client.Open(real, real.Length + 1, hl, dst, 0, out bodyLen2) == SealResult.Short, "null and overlong lengths");
            // Opening into the same buffer, body moved to the front.
            var inPlace = (byte[])real.Clone();
            using (var fresh = new GroupOpener(keys.GroupKey, keys.ServerKey))
            {
                Check(fresh.Open(inPlace, inPlace.Length, hl, inPlace, 0, out bodyLen2) == SealResult.Ok && Hex(Slice(inPlace, 0, bodyLen2)) == Hex(plain), "open into the datagram's own buffer");
            }
            // Allocation: none per Seal or group Open.
            var sbuf = new byte[1200];
            client.Seal(sbuf, 22, 600);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                client.Seal(sbuf, 22, 600);
                group.Open(real, real.Length, hl, dst, 0, out bodyLen2);
            }
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Check(bytes == 0, "SealedSession.Seal and GroupOpener.Open: " + bytes + " bytes allocated in 100 calls");
            client.Dispose();
            group.Dispose();
        }

        static byte[] Slice(byte[] b, int off, int n)
        {
            var r = new byte[n];
            Buffer.BlockCopy(b, off, r, 0, n);
            return r;
        }
    }
}
#endif

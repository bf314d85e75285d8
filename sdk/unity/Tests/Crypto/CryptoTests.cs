// The tests of Arcade.Crypto: a console program, built with Debian's Mono
// from the sources themselves (internal members included) by run.sh:
//
//   mcs -langversion:7.2 -debug -warnaserror+ -r:System.Numerics.dll -out:CryptoTests.exe \
//       sdk/unity/Runtime/Crypto/*.cs sdk/unity/Tests/Crypto/*.cs
//   mono --debug CryptoTests.exe [--bench] [REPO_ROOT]
//
// REPO_ROOT (default: found from the working directory upwards) holds
// seal/testdata, whose vectors come from the Go implementation
// (seal/csharp_vectors_test.go) and from the published documents. The
// program prints one line per failed check and a summary, and exits 0 if
// every check passed, 1 otherwise. --bench runs the benchmarks instead.
//
// Unity never compiles this file (it is a console program, not a Unity
// test).
#if !UNITY_5_3_OR_NEWER
using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Arcade.Crypto.Tests
{
    static partial class CryptoTests
    {
        static int checks, failures;
        static string root;
        static readonly Dictionary<string, int> perGroup = new Dictionary<string, int>();
        static string group = "";

        static int Main(string[] args)
        {
            bool bench = false;
            foreach (string a in args)
            {
                if (a == "--bench")
                {
                    bench = true;
                }
                else
                {
                    root = a;
                }
            }
            if (root == null)
            {
                root = FindRoot();
            }
            if (root == null || !Directory.Exists(Path.Combine(root, "seal", "testdata")))
            {
                Console.Error.WriteLine("CryptoTests: cannot find seal/testdata; pass the repository root");
                return 1;
            }
            if (bench)
            {
                Bench.Run();
                return 0;
            }
            Run("field", FieldTests);
            Run("scalar", ScalarTests);
            Run("sha512", Sha512Tests);
            Run("ristretto255", RistrettoTests);
            Run("ed25519", Ed25519Tests);
            Run("ed25519-sign", SignTests);
            Run("aesgcm", GcmTests);
            Run("hkdf", HkdfTests);
            Run("cpace-draft", CpaceDraftTests);
            Run("handshake", HandshakeTests);
            Run("datagrams", DatagramTests);
            Run("replaywindow", ReplayWindowTests);
            Run("sessions", SessionTests);
            Run("hostile", HostileTests);
            Run("allocation", AllocationTests);
            foreach (var kv in perGroup)
            {
                Console.WriteLine("  {0,-14} {1,6} checks", kv.Key, kv.Value);
            }
            Console.WriteLine("CryptoTests: {0} checks, {1} failed", checks, failures);
            return failures == 0 ? 0 : 1;
        }

        static void Run(string name, Action test)
        {
            group = name;
            perGroup[name] = 0;
            try
            {
                test();
            }
            catch (Exception e)
            {
                Fail(name + ": threw " + e);
            }
        }

        static string FindRoot()
        {
            string d = Directory.GetCurrentDirectory();
            while (d != null)
            {
                if (Directory.Exists(Path.Combine(d, "seal", "testdata", "csharp")))
                {
                    return d;
                }
                d = Path.GetDirectoryName(d);
            }
            return null;
        }

        static void Fail(string what)
        {
            failures++;
            Console.WriteLine("FAIL [" + group + "] " + what);
        }

        static void Check(bool ok, string what)
        {
            checks++;
            perGroup[group]++;
            if (!ok)
            {
                Fail(what);
            }
        }

        static void CheckBytes(byte[] got, byte[] want, string what)
        {
            bool ok = got != null && want != null && got.Length == want.Length;
            if (ok)
            {
                for (int i = 0; i < got.Length; i++)
                {
                    if (got[i] != want[i])
                    {
                        ok = false;
                        break;
                    }
                }
            }
            Check(ok, ok ? what : what + ": got " + Hex(got) + ", want " + Hex(want));
        }

        internal static string Hex(byte[] b)
        {
            if (b == null)
            {
                return "null";
            }
            var sb = new StringBuilder(2 * b.Length);
            foreach (byte x in b)
            {
                sb.Append(x.ToString("x2"));
            }
            return sb.ToString();
        }

        internal static byte[] Unhex(string s)
        {
            if (s == "-")
            {
                return new byte[0];
            }
            var b = new byte[s.Length / 2];
            for (int i = 0; i < b.Length; i++)
            {
                b[i] = Convert.ToByte(s.Substring(2 * i, 2), 16);
            }
            return b;
        }

        static byte[] Bytes(string s)
        {
            return Encoding.UTF8.GetBytes(s);
        }

        static byte[] Concat(params byte[][] parts)
        {
            int n = 0;
            foreach (byte[] p in parts)
            {
                n += p.Length;
            }
            var b = new byte[n];
            int o = 0;
            foreach (byte[] p in parts)
            {
                Buffer.BlockCopy(p, 0, b, o, p.Length);
                o += p.Length;
            }
            return b;
        }

        static ulong U64(byte[] b, int off)
        {
            ulong v = 0;
            for (int i = 7; i >= 0; i--)
            {
                v = v << 8 | b[off + i];
            }
            return v;
        }

        // Vectors reads a file of seal/testdata/csharp: one vector a line,
        // kind then fields (hex, "-" for empty, verdicts 0 or 1 kept as
        // text).
        static List<KeyValuePair<string, string[]>> Vectors(string name)
        {
            var list = new List<KeyValuePair<string, string[]>>();
            foreach (string line in File.ReadAllLines(Path.Combine(root, "seal", "testdata", "csharp", name)))
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }
                string[] tok = line.Split(' ');
                var f = new string[tok.Length - 1];
                Array.Copy(tok, 1, f, 0, f.Length);
                list.Add(new KeyValuePair<string, string[]>(tok[0], f));
            }
            return list;
        }

        // Named reads a file of seal/testdata/cpace: "name = hex" lines.
        static Dictionary<string, byte[]> Named(string path)
        {
            var d = new Dictionary<string, byte[]>();
            foreach (string raw in File.ReadAllLines(Path.Combine(root, path)))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }
                int eq = line.IndexOf('=');
                string v = line.Substring(eq + 1).Trim();
                d[line.Substring(0, eq).Trim()] = v.Length == 0 ? new byte[0] : Unhex(v);
            }
            return d;
        }

        // ---- GF(2^255 - 19), against System.Numerics.BigInteger ----

        static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
        static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");

        static BigInteger FromLE(byte[] b, int off, int n)
        {
            var t = new byte[n + 1]; // a zero top byte: non-negative
            Buffer.BlockCopy(b, off, t, 0, n);
            return new BigInteger(t);
        }

        static byte[] ToLE(BigInteger v, int n)
        {
            byte[] t = v.ToByteArray();
            var b = new byte[n];
            Buffer.BlockCopy(t, 0, b, 0, Math.Min(n, t.Length));
            return b;
        }

        static BigInteger Mod(BigInteger a, BigInteger m)
        {
            BigInteger r = BigInteger.Remainder(a, m);
            return r.Sign < 0 ? r + m : r;
        }

        static BigInteger FeValue(ref Fe f)
        {
            var b = new byte[32];
            Fe.ToBytes(b, 0, ref f);
            return FromLE(b, 0, 32);
        }

        static void FieldTests()
        {
            // The constants, against RFC 9496 §4.1's decimal values.
            Check(FeValue(ref Fe.D) == BigInteger.Parse("37095705934669439343138083508754565189542113879843219016388785533085940283555"), "D");
            Check(FeValue(ref Fe.SqrtM1) == BigInteger.Parse("19681161376707505956807079304988542015446066515923890162744021073123829784752"), "SQRT_M1");
            Check(FeValue(ref Fe.SqrtADMinusOne) == BigInteger.Parse("25063068953384623474111414158702152701244531502492656460079210482610430750235"), "SQRT_AD_MINUS_ONE");
            Check(FeValue(ref Fe.InvSqrtAMinusD) == BigInteger.Parse("54469307008909316920995813868745141605393597292927456921205312896311721017578"), "INVSQRT_A_MINUS_D");
            Check(FeValue(ref Fe.OneMinusDSq) == BigInteger.Parse("1159843021668779879193775521855586647937357759715417654439879720876111806838"), "ONE_MINUS_D_SQ");
            Check(FeValue(ref Fe.DMinusOneSq) == BigInteger.Parse("40440834346308536858101042469323190826248399146238708352240133220865137265952"), "D_MINUS_ONE_SQ");

            var rng = new Random(1);
            var inputs = new List<byte[]>();
            // Edge values: 0, 1, p - 1, p, p + 1, 2^255 - 1, 2^255 - 20 … and
            // all-ones limbs.
            foreach (BigInteger v in new[] { BigInteger.Zero, BigInteger.One, P - 1, P, P + 1, BigInteger.Pow(2, 255) - 1,
                P - 2, BigInteger.Pow(2, 254), BigInteger.Pow(2, 128) - 1, (P - 1) / 2, (P + 1) / 2 })
            {
                inputs.Add(ToLE(v, 32));
            }
            for (int i = 0; i < 400; i++)
            {
                var b = new byte[32];
                rng.NextBytes(b);
                inputs.Add(b);
            }
            int bad = 0, n = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                byte[] x = inputs[i], y = inputs[(i * 7 + 3) % inputs.Count];
                BigInteger bx = Mod(FromLE(x, 0, 32) % BigInteger.Pow(2, 255), P);
                BigInteger by = Mod(FromLE(y, 0, 32) % BigInteger.Pow(2, 255), P);
                Fe fx, fy, r, s, t;
                Fe.FromBytes(out fx, x, 0);
                Fe.FromBytes(out fy, y, 0);
                n++;
                if (FeValue(ref fx) != bx) bad++;
                Fe.Mul(out r, ref fx, ref fy);
                n++;
                if (FeValue(ref r) != Mod(bx * by, P)) bad++;
                Fe.Square(out r, ref fx);
                n++;
                if (FeValue(ref r) != Mod(bx * bx, P)) bad++;
                // Four uncarried additions into a product: the bound Mul
                // promises to take.
                Fe.Add(out s, ref fx, ref fy);
                Fe.Add(out s, ref s, ref fx);
                Fe.Sub(out t, ref fy, ref fx);
                Fe.Sub(out t, ref t, ref fx);
                Fe.Sub(out t, ref t, ref fy);
                Fe.Mul(out r, ref s, ref t);
                n++;
                if (FeValue(ref r) != Mod((2 * bx + by) * (-2 * bx), P)) bad++;
                Fe.Square(out r, ref s);
                n++;
                if (FeValue(ref r) != Mod((2 * bx + by) * (2 * bx + by), P)) bad++;
                Fe.Neg(out r, ref fx);
                n++;
                if (FeValue(ref r) != Mod(-bx, P)) bad++;
                n++;
                if (Fe.IsNegative(ref fx) != (int)(bx % 2)) bad++;
                n++;
                if (Fe.IsZero(ref fx) != (bx.IsZero ? 1 : 0)) bad++;
                if (i % 8 == 0)
                {
                    Fe.Invert(out r, ref fx);
                    n++;
                    if (FeValue(ref r) != BigInteger.ModPow(bx, P - 2, P)) bad++;
                    Fe.Pow22523(out r, ref fx);
                    n++;
                    if (FeValue(ref r) != BigInteger.ModPow(bx, (P - 5) / 8, P)) bad++;
                    // SQRT_RATIO_M1: v r^2 = u, or = SQRT_M1 u when u/v is
                    // not a square; r non-negative.
                    int sq = Fe.SqrtRatioM1(out r, ref fx, ref fy);
                    BigInteger br = FeValue(ref r);
                    BigInteger lhs = Mod(by * br * br, P);
                    bool isSquare = by.IsZero ? bx.IsZero : BigInteger.ModPow(Mod(bx * BigInteger.ModPow(by, P - 2, P), P), (P - 1) / 2, P) != P - 1;
                    n++;
                    if ((sq == 1) != isSquare || br % 2 != 0) bad++;
                    if (!by.IsZero)
                    {
                        n++;
                        if (sq == 1 ? lhs != bx : lhs != Mod(bx * FeValue(ref Fe.SqrtM1), P)) bad++;
                    }
                }
                // Select.
                r = fx;
                Fe.Select(ref r, ref fy, 0);
                n++;
                if (FeValue(ref r) != bx) bad++;
                Fe.Select(ref r, ref fy, 1);
                n++;
                if (FeValue(ref r) != by) bad++;
            }
            Check(bad == 0, "field operations against BigInteger: " + bad + " of " + n + " differ");
            Fe m1;
            Fe.Square(out m1, ref Fe.SqrtM1);
            Check(FeValue(ref m1) == P - 1, "SQRT_M1^2 = -1");
        }

        // ---- scalars mod L ----

        static void ScalarTests()
        {
            var rng = new Random(2);
            var limbs = new long[24];
            var inputs = new List<byte[]>();
            foreach (BigInteger v in new[] { BigInteger.Zero, BigInteger.One, L - 1, L, L + 1, 2 * L, 2 * L - 1,
                BigInteger.Pow(2, 252), BigInteger.Pow(2, 253), BigInteger.Pow(2, 256) - 1, BigInteger.Pow(2, 512) - 1,
                L * L, L * L - 1, BigInteger.Pow(2, 504), BigInteger.Pow(2, 511) })
            {
                inputs.Add(ToLE(v, 64));
            }
            for (int i = 0; i < 2000; i++)
            {
                var b = new byte[64];
                rng.NextBytes(b);
                if (i % 4 == 1)
                {
                    Array.Clear(b, 32, 32); // 32-byte scalars
                }
                if (i % 4 == 2)
                {
                    for (int j = 32; j < 64; j++) b[j] = 0xff;
                }
                inputs.Add(b);
            }
            int bad = 0;
            foreach (byte[] x in inputs)
            {
                var got = new byte[32];
                Scalar25519.Reduce(got, 0, x, 0, limbs);
                if (FromLE(got, 0, 32) != Mod(FromLE(x, 0, 64), L)) bad++;
            }
            Check(bad == 0, "Reduce against BigInteger: " + bad + " of " + inputs.Count + " differ");
            Check(Scalar25519.IsCanonical(ToLE(L - 1, 32), 0), "L - 1 is canonical");
            Check(!Scalar25519.IsCanonical(ToLE(L, 32), 0), "L is not canonical");
            Check(!Scalar25519.IsCanonical(ToLE(L + 1, 32), 0), "L + 1 is not canonical");
            Check(Scalar25519.IsCanonical(new byte[32], 0), "0 is canonical");
            Check(!Scalar25519.IsCanonical(ToLE(BigInteger.Pow(2, 256) - 1, 32), 0), "2^256 - 1 is not canonical");
            int wrong = 0;
            for (int i = 0; i < 500; i++)
            {
                var b = new byte[32];
                rng.NextBytes(b);
                b[31] &= (byte)(i % 2 == 0 ? 0x1f : 0xff);
                if (Scalar25519.IsCanonical(b, 0) != (FromLE(b, 0, 32) < L)) wrong++;
            }
            Check(wrong == 0, "IsCanonical against BigInteger: " + wrong + " wrong");
        }

        // ---- SHA-512 against System.Security.Cryptography ----

        static void Sha512Tests()
        {
            var rng = new Random(3);
            var mine = new Sha512();
            using (var sys = SHA512.Create())
            {
                int bad = 0, n = 0;
                foreach (int len in new[] { 0, 1, 3, 55, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 600, 1200, 5000 })
                {
                    var m = new byte[len + 7];
                    rng.NextBytes(m);
                    byte[] want = sys.ComputeHash(m, 3, len);
                    var got = new byte[64];
                    // Whole, then in pieces of every size from 1 to 130.
                    mine.Update(m, 3, len);
                    mine.Final(got, 0);
                    n++;
                    if (Hex(got) != Hex(want)) bad++;
                    for (int piece = 1; piece <= 130; piece += 13)
                    {
                        for (int o = 0; o < len; o += piece)
                        {
                            mine.Update(m, 3 + o, Math.Min(piece, len - o));
                        }
                        mine.Final(got, 0);
                        n++;
                        if (Hex(got) != Hex(want)) bad++;
                    }
                }
                Check(bad == 0, "Sha512 against SHA512.Create(): " + bad + " of " + n + " differ");
                var abc = new byte[64];
                mine.Update(Bytes("abc"), 0, 3);
                mine.Final(abc, 0);
                CheckBytes(abc, Unhex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"), "SHA-512(\"abc\") (FIPS 180-2)");
            }
        }

        // ---- ristretto255: RFC 9496 and Go's vectors ----

        static void RistrettoTests()
        {
            var vs = Vectors("ristretto255.txt");
            var counts = new Dictionary<string, int>();
            byte[] acc = new byte[32]; // k·G by repeated addition
            foreach (var v in vs)
            {
                string[] f = v.Value;
                counts[v.Key] = (counts.ContainsKey(v.Key) ? counts[v.Key] : 0) + 1;
                var out32 = new byte[32];
                switch (v.Key)
                {
                    case "multiple":
                        {
                            int k = Unhex(f[0])[0];
                            byte[] want = Unhex(f[1]);
                            var s = new byte[32];
                            s[0] = (byte)k;
                            Check(Ristretto255.ScalarMult(out32, 0, s, 0, Ristretto255.Generator(), 0), k + "·G: generator decodes");
                            CheckBytes(out32, want, k + "·G by ScalarMult");
                            Check(Ristretto255.IsValid(want, 0), k + "·G decodes");
                            CheckBytes(acc, want, k + "·G by additions");
                            var next = new byte[32];
                            Check(Ristretto255.Add(next, 0, acc, 0, Ristretto255.Generator(), 0), "add G");
                            acc = next;
                            // Decode then encode is the identity on valid encodings.
                            P3 p;
                            Ristretto255.Decode(out p, want, 0);
                            var re = new byte[32];
                            Ristretto255.Encode(re, 0, ref p);
                            CheckBytes(re, want, k + "·G: decode, encode");
                            break;
                        }
                    case "bad":
                        Check(!Ristretto255.IsValid(Unhex(f[0]), 0), "bad encoding " + f[0] + " refused");
                        Check(!Ristretto255.ScalarMult(out32, 0, new byte[32], 0, Unhex(f[0]), 0), "ScalarMult refuses " + f[0]);
                        break;
                    case "map":
                        Check(Ristretto255.FromUniformBytes(out32, 0, Unhex(f[0]), 0), "map");
                        CheckBytes(out32, Unhex(f[1]), "map of " + f[0]);
                        break;
                    case "scalarmult":
                        Check(Ristretto255.ScalarMult(out32, 0, Unhex(f[0]), 0, Unhex(f[1]), 0), "scalarmult decodes");
                        CheckBytes(out32, Unhex(f[2]), "scalarmult " + f[0]);
                        break;
                    case "add":
                        Check(Ristretto255.Add(out32, 0, Unhex(f[0]), 0, Unhex(f[1]), 0), "add decodes");
                        CheckBytes(out32, Unhex(f[2]), "add");
                        break;
                    case "decode":
                        Check(Ristretto255.IsValid(Unhex(f[0]), 0) == (f[1] == "1"), "decode " + f[0] + " = " + f[1]);
                        break;
                    default:
                        Fail("ristretto255.txt: kind " + v.Key);
                        break;
                }
            }
            Check(counts["multiple"] == 16 && counts["bad"] == 29 && counts["map"] >= 7, "the RFC 9496 vectors are all there");
            // The generator equals the Ed25519 base point.
            var g = new byte[32];
            P3 b = Edwards25519.Base;
            Ristretto255.Encode(g, 0, ref b);
            CheckBytes(g, Ristretto255.Generator(), "the Ed25519 base point encodes as the generator");
            // Scalar multiplication is linear: (a + b)·P = a·P + b·P, and
            // L·P is the identity.
            var rng = new Random(4);
            int bad = 0;
            for (int i = 0; i < 16; i++)
            {
                var u = new byte[64];
                rng.NextBytes(u);
                var pt = new byte[32];
                Ristretto255.FromUniformBytes(pt, 0, u, 0);
                var sa = new byte[32];
                var sb = new byte[32];
                rng.NextBytes(sa);
                rng.NextBytes(sb);
                sa[31] &= 0x0f;
                sb[31] &= 0x0f;
                byte[] sum = ToLE(FromLE(sa, 0, 32) + FromLE(sb, 0, 32), 32);
                byte[] ap = new byte[32], bp = new byte[32], sp = new byte[32], apbp = new byte[32], lp = new byte[32];
                Ristretto255.ScalarMult(ap, 0, sa, 0, pt, 0);
                Ristretto255.ScalarMult(bp, 0, sb, 0, pt, 0);
                Ristretto255.ScalarMult(sp, 0, sum, 0, pt, 0);
                Ristretto255.Add(apbp, 0, ap, 0, bp, 0);
                Ristretto255.ScalarMult(lp, 0, ToLE(L, 32), 0, pt, 0);
                if (Hex(sp) != Hex(apbp) || !Ristretto255.IsIdentity(lp, 0)) bad++;
            }
            Check(bad == 0, "(a + b)·P = a·P + b·P and L·P = 0: " + bad + " of 16 fail");
        }

        // ---- Ed25519: RFC 8032 / SUPERCOP and Go's verdicts ----

        static void Ed25519Tests()
        {
            int valid = 0, invalid = 0;
            foreach (var v in Vectors("ed25519.txt"))
            {
                string[] f = v.Value;
                byte[] pub = Unhex(f[0]), msg = Unhex(f[1]), sig = Unhex(f[2]);
                bool want = f[3] == "1";
                if (want) valid++; else invalid++;
                Check(Ed25519.Verify(pub, msg, 0, msg.Length, sig, 0) == want, "Verify(" + f[0] + ", " + msg.Length + " bytes, " + f[2] + ") = " + f[3]);
                // The same at offsets inside larger buffers.
                byte[] mbuf = Concat(new byte[5], msg, new byte[3]);
                byte[] sbuf = Concat(new byte[9], sig);
                Check(Ed25519.Verify(pub, mbuf, 5, msg.Length, sbuf, 9) == want, "Verify at offsets = " + f[3]);
            }
            Check(valid >= 70 && invalid >= 20, "valid and invalid signatures both tested (" + valid + ", " + invalid + ")");
            // RFC 8032 7.1 TEST 1, spelled out.
            byte[] pk = Unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
            byte[] s1 = Unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
            Check(Ed25519.Verify(pk, new byte[0], 0, 0, s1, 0), "RFC 8032 TEST 1");
            // Switching keys back and forth (the per-thread key cache).
            byte[] pk2 = Unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
            byte[] s2 = Unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
            byte[] m2 = { 0x72 };
            Check(Ed25519.Verify(pk2, m2, 0, 1, s2, 0), "RFC 8032 TEST 2");
            Check(!Ed25519.Verify(pk, m2, 0, 1, s2, 0), "TEST 2's signature under TEST 1's key");
            Check(Ed25519.Verify(pk, new byte[0], 0, 0, s1, 0), "TEST 1 again");
            Check(!Ed25519.Verify(pk2, new byte[0], 0, 0, s1, 0), "TEST 1's signature under TEST 2's key");
        }

        // ---- AES-128-GCM ----

        static void GcmTests()
        {
            int n = 0;
            foreach (var v in Vectors("aesgcm.txt"))
            {
                string[] f = v.Value;
                byte[] key = Unhex(f[0]), nonce = Unhex(f[1]), ad = Unhex(f[2]), plain = Unhex(f[3]), want = Unhex(f[4]);
                n++;
                using (var g = new AesGcm128(key))
                {
                    var got = new byte[plain.Length + 16];
                    g.Seal(nonce, 0, plain, 0, plain.Length, ad, 0, ad.Length, got, 0);
                    CheckBytes(got, want, "Seal, vector " + n + " (" + plain.Length + " bytes)");
                    var opened = new byte[plain.Length];
                    Check(g.Open(nonce, 0, want, 0, want.Length, ad, 0, ad.Length, opened, 0), "Open, vector " + n);
                    CheckBytes(opened, plain, "Open's plaintext, vector " + n);
                    // In place, at an offset.
                    byte[] buf = Concat(new byte[7], plain, new byte[16]);
                    g.Seal(nonce, 0, buf, 7, plain.Length, ad, 0, ad.Length, buf, 7);
                    byte[] sealedPart = new byte[want.Length];
                    Buffer.BlockCopy(buf, 7, sealedPart, 0, want.Length);
                    CheckBytes(sealedPart, want, "Seal in place, vector " + n);
                    Check(g.Open(nonce, 0, buf, 7, want.Length, ad, 0, ad.Length, buf, 7), "Open in place, vector " + n);
                    // Any flipped bit of the ciphertext, tag, additional data
                    // or nonce makes Open fail and leave dst alone.
                    var rng = new Random(n);
                    for (int k = 0; k < 6; k++)
                    {
                        byte[] c = (byte[])want.Clone();
                        byte[] a = (byte[])ad.Clone();
                        byte[] nn = (byte[])nonce.Clone();
                        switch (k % 3)
                        {
                            case 0:
                                c[rng.Next(c.Length)] ^= (byte)(1 << rng.Next(8));
                                break;
                            case 1:
                                if (a.Length == 0)
                                {
                                    a = new byte[] { 0 };
                                }
                                else
                                {
                                    a[rng.Next(a.Length)] ^= (byte)(1 << rng.Next(8));
                                }
                                break;
                            default:
                                nn[rng.Next(12)] ^= (byte)(1 << rng.Next(8));
                                break;
                        }
                        var dst = new byte[plain.Length + 1];
                        for (int i = 0; i < dst.Length; i++) dst[i] = 0x5a;
                        bool ok = g.Open(nn, 0, c, 0, c.Length, a, 0, a.Length, dst, 0);
                        bool untouched = true;
                        foreach (byte x in dst) untouched &= x == 0x5a;
                        Check(!ok && untouched, "tampered vector " + n + " (" + k + ") refused, dst untouched");
                    }
                    // A truncated input.
                    Check(!g.Open(nonce, 0, want, 0, want.Length - 1, ad, 0, ad.Length, opened, 0), "truncated vector " + n + " refused");
                }
            }
            Check(n >= 20, "aesgcm.txt has its vectors (" + n + ")");
        }

        // ---- HKDF-SHA256 ----

        static void HkdfTests()
        {
            int n = 0;
            foreach (var v in Vectors("hkdf.txt"))
            {
                string[] f = v.Value;
                byte[] ikm = Unhex(f[0]), salt = Unhex(f[1]), info = Unhex(f[2]), prk = Unhex(f[3]), okm = Unhex(f[4]);
                n++;
                CheckBytes(Hkdf.Extract(salt, ikm), prk, "HKDF-Extract, vector " + n);
                CheckBytes(Hkdf.Expand(prk, info, okm.Length), okm, "HKDF-Expand, vector " + n);
                CheckBytes(Hkdf.DeriveKey(ikm, salt, info, okm.Length), okm, "HKDF, vector " + n);
            }
            Check(n >= 9, "hkdf.txt has its vectors (" + n + ")");
        }

        // ---- CPace: draft-irtf-cfrg-cpace vectors ----

        static void CpaceDraftTests()
        {
            foreach (string file in new[] { "draft-21.txt", "draft-13.txt" })
            {
                var tv = Named(Path.Combine("seal", "testdata", "cpace", file));
                byte[] prs = tv["PRS"], ci = tv["CI"], sid = tv["sid"], adA = tv["ADa"], adB = tv["ADb"];
                CheckBytes(Cpace.GeneratorString(prs, ci, sid), tv["generator_string"], file + " generator_string");
                var h = new byte[64];
                var sha = new Sha512();
                byte[] gs = tv["generator_string"];
                sha.Update(gs, 0, gs.Length);
                sha.Final(h, 0);
                CheckBytes(h, tv["generator_hash"], file + " generator_hash");
                var g = new byte[32];
                Ristretto255.FromUniformBytes(g, 0, tv["generator_hash"], 0);
                CheckBytes(g, tv["g"], file + " g from generator_hash");
                CheckBytes(Cpace.Generator(prs, ci, sid), tv["g"], file + " g");
                CheckBytes(Cpace.Initiate(prs, ci, sid, (byte[])tv["ya"].Clone()), tv["Ya"], file + " Ya");
                CheckBytes(Cpace.Initiate(prs, ci, sid, (byte[])tv["yb"].Clone()), tv["Yb"], file + " Yb");
                byte[] kA, kB;
                Check(Cpace.ScalarMultVfy(tv["ya"], tv["Yb"], out kA), file + " scalar_mult_vfy(ya, Yb)");
                CheckBytes(kA, tv["K_A"], file + " K_A");
                Check(Cpace.ScalarMultVfy(tv["yb"], tv["Ya"], out kB), file + " scalar_mult_vfy(yb, Ya)");
                CheckBytes(kB, tv["K_B"], file + " K_B");
                CheckBytes(Cpace.Transcript(tv["Ya"], adA, tv["Yb"], adB), tv["transcript_ir"], file + " transcript_ir");
                CheckBytes(Concat(Cpace.LvCat(tv["DSI_ISK"], sid, tv["K_A"]), tv["transcript_ir"]), tv["ISK_input_ir"], file + " ISK_input_ir");
                CheckBytes(Cpace.Isk(sid, tv["K_A"], tv["Ya"], adA, tv["Yb"], adB), tv["ISK_IR"], file + " ISK_IR");
            }
            var sm = Named(Path.Combine("seal", "testdata", "cpace", "scalar-mult-21.txt"));
            var r = new byte[32];
            Check(Ristretto255.ScalarMult(r, 0, sm["s"], 0, sm["X"], 0), "scalar_mult decodes X");
            CheckBytes(r, sm["scalar_mult"], "scalar_mult(s, X)");
            byte[] k;
            Check(Cpace.ScalarMultVfy(sm["s"], sm["X"], out k), "scalar_mult_vfy(s, X)");
            CheckBytes(k, sm["scalar_mult_vfy"], "scalar_mult_vfy(s, X) value");
            Check(!Cpace.ScalarMultVfy(sm["s"], sm["Y_i1"], out k) && k == null, "scalar_mult_vfy(s, Y_i1) aborts (bad encoding)");
            Check(!Cpace.ScalarMultVfy(sm["s"], sm["Y_i2"], out k) && k == null, "scalar_mult_vfy(s, Y_i2) aborts (identity)");

            var st = Named(Path.Combine("seal", "testdata", "cpace", "strings-21.txt"));
            for (int i = 0; i < 4; i++)
            {
                CheckBytes(Cpace.PrependLen(st["prepend_len_in_" + i]), st["prepend_len_out_" + i], "prepend_len " + i);
            }
            CheckBytes(Cpace.LvCat(st["lv_cat_in_0"], st["lv_cat_in_1"], st["lv_cat_in_2"], st["lv_cat_in_3"]), st["lv_cat_out"], "lv_cat");
            for (int i = 0; i < 2; i++)
            {
                string p = "transcript_ir_" + i;
                CheckBytes(Cpace.Transcript(st[p + "_Ya"], st[p + "_ADa"], st[p + "_Yb"], st[p + "_ADb"]), st[p], p);
            }
        }

        // ---- the Arcade handshake, against Go ----

        static void HandshakeTests()
        {
            int n = 0, accepted = 0, refused = 0;
            foreach (var v in Vectors("handshake.txt"))
            {
                if (v.Key != "handshake")
                {
                    continue;
                }
                n++;
                string[] f = v.Value;
                byte[] pass = Unhex(f[0]), cookie = Unhex(f[2]), ya = Unhex(f[5]), serverKey = Unhex(f[7]);
                byte[] groupKey = Unhex(f[8]), wantYa = Unhex(f[9]), Yb = Unhex(f[10]), tag = Unhex(f[11]), wrapped = Unhex(f[12]);
                ulong nonce = U64(Unhex(f[3]), 0), token = U64(Unhex(f[4]), 0);
                bool ok = f[13] == "1";
                string name = "handshake " + n + " (\"" + Encoding.UTF8.GetString(pass) + "\")";
                byte[] sid = Cpace.Sid(cookie, nonce);
                byte[] Ya = Cpace.BeginWithScalar(pass, sid, (byte[])ya.Clone());
                CheckBytes(Ya, wantYa, name + ": Ya");
                byte[] isk;
                Check(Cpace.Finish((byte[])ya.Clone(), Ya, Yb, serverKey, token, sid, out isk), name + ": Finish");
                Check(Cpace.CheckServerConfirm(isk, Ya, Yb, serverKey, token, tag, 0) == ok, name + ": the tag checks = " + ok);
                Check(!Cpace.CheckServerConfirm(isk, Ya, Yb, serverKey, token + 1, tag, 0), name + ": another group token fails the tag");
                byte[] gk;
                Check(Cpace.UnwrapGroupKey(isk, token, wrapped, 0, out gk) == ok, name + ": the group key unwraps = " + ok);
                SealedKeys keys;
                byte[] yaCopy = (byte[])ya.Clone();
                Check(Cpace.Complete(yaCopy, Ya, sid, Yb, serverKey, token, tag, 0, wrapped, 0, out keys) == ok, name + ": Complete = " + ok);
                Check(Array.TrueForAll(yaCopy, x => x == 0), name + ": Complete zeroes ya");
                if (ok && keys != null && isk != null)
                {
                    accepted++;
                    CheckBytes(isk, Unhex(f[14]), name + ": ISK");
                    CheckBytes(gk, groupKey, name + ": group key");
                    CheckBytes(keys.ClientToServer, Unhex(f[15]), name + ": client → server key");
                    CheckBytes(keys.ServerToClient, Unhex(f[16]), name + ": server → client key");
                    CheckBytes(keys.GroupKey, groupKey, name + ": Complete's group key");
                    CheckBytes(keys.ServerKey, serverKey, name + ": Complete's server key");
                    CheckBytes(Cpace.ServerConfirmTag(isk, Ya, Yb, serverKey, token), tag, name + ": ServerConfirmTag");
                    // A forged Accepted: any bit of Yb, the tag or the wrapped
                    // key flipped fails.
                    for (int bit = 0; bit < 256; bit += 37)
                    {
                        byte[] yb2 = (byte[])Yb.Clone(), tag2 = (byte[])tag.Clone(), w2 = (byte[])wrapped.Clone();
                        yb2[bit / 8] ^= (byte)(1 << (bit % 8));
                        tag2[bit / 8] ^= (byte)(1 << (bit % 8));
                        w2[bit / 8] ^= (byte)(1 << (bit % 8));
                        SealedKeys k2;
                        Check(!Cpace.Complete((byte[])ya.Clone(), Ya, sid, yb2, serverKey, token, tag, 0, wrapped, 0, out k2) && k2 == null, name + ": Yb bit " + bit + " flipped fails");
                        Check(!Cpace.Complete((byte[])ya.Clone(), Ya, sid, Yb, serverKey, token, tag2, 0, wrapped, 0, out k2), name + ": tag bit " + bit + " flipped fails");
                        Check(!Cpace.Complete((byte[])ya.Clone(), Ya, sid, Yb, serverKey, token, tag, 0, w2, 0, out k2), name + ": wrapped key bit " + bit + " flipped fails");
                    }
                }
                else
                {
                    refused++;
                    Check(keys == null && gk == null, name + ": nothing given on refusal");
                }
            }
            int gens = 0;
            foreach (var v in Vectors("handshake.txt"))
            {
                if (v.Key == "generator")
                {
                    gens++;
                    byte[] prs = Unhex(v.Value[0]), ci = Unhex(v.Value[1]), sid = Unhex(v.Value[2]);
                    CheckBytes(Cpace.GeneratorString(prs, ci, sid), Unhex(v.Value[3]), "generator string, " + prs.Length + "-byte passphrase");
                    CheckBytes(Cpace.Generator(prs, ci, sid), Unhex(v.Value[4]), "generator, " + prs.Length + "-byte passphrase");
                }
            }
            Check(gens >= 12, "handshake.txt has its generators (" + gens + ")");
            Check(accepted >= 3 && refused >= 2, "handshakes accepted and refused both tested (" + accepted + ", " + refused + ")");
            // Begin draws a fresh valid scalar each time.
            byte[] sidR = Cpace.Sid(new byte[32], 7);
            byte[] ya1, ya2;
            byte[] m1 = Cpace.Begin(Bytes("p"), sidR, out ya1);
            byte[] m2 = Cpace.Begin(Bytes("p"), sidR, out ya2);
            Check(Ristretto255.IsValid(m1, 0) && Ristretto255.IsValid(m2, 0) && Hex(m1) != Hex(m2), "Begin gives valid, fresh messages");
            Check((ya1[31] & 0xf0) == 0 && (ya2[31] & 0xf0) == 0, "Begin's scalars have their top four bits clear");
        }

        // ---- sealed and signed datagrams made by Go ----

        static void DatagramTests()
        {
            int n = 0;
            foreach (var v in Vectors("handshake.txt"))
            {
                string[] f = v.Value;
                if (v.Key == "s2c" || v.Key == "c2s")
                {
                    n++;
                    byte[] key = Unhex(f[0]), header = Unhex(f[1]), body = Unhex(f[2]), d = Unhex(f[3]);
                    uint dir = v.Key == "c2s" ? 0u : 1u;
                    ulong number = U64(d, header.Length);
                    int sealedLen = d.Length - header.Length - 8;
                    using (var g = new AesGcm128(key))
                    {
                        var plain = new byte[sealedLen - 16];
                        Check(g.Open(dir, number, d, header.Length + 8, sealedLen, d, 0, header.Length, plain, 0), v.Key + " datagram " + n + " opens");
                        CheckBytes(plain, body, v.Key + " datagram " + n + " body");
                        // The same bytes come out of Seal.
                        var again = new byte[d.Length];
                        Buffer.BlockCopy(d, 0, again, 0, header.Length + 8);
                        g.Seal(dir, number, body, 0, body.Length, header, 0, header.Length, again, header.Length + 8);
                        CheckBytes(again, d, v.Key + " datagram " + n + " sealed again");
                        // The other direction's nonce does not open it.
                        Check(!g.Open(1 - dir, number, d, header.Length + 8, sealedLen, d, 0, header.Length, plain, 0), v.Key + " datagram " + n + " under the other direction fails");
                        Check(!g.Open(dir, number + 1, d, header.Length + 8, sealedLen, d, 0, header.Length, plain, 0), v.Key + " datagram " + n + " under another number fails");
                    }
                }
                else if (v.Key == "group")
                {
                    n++;
                    byte[] key = Unhex(f[0]), pub = Unhex(f[1]), header = Unhex(f[2]), body = Unhex(f[3]), d = Unhex(f[4]);
                    bool want = f[5] == "1";
                    ulong number = U64(d, header.Length);
                    int sealedLen = d.Length - header.Length - 8 - Ed25519.SignatureSize;
                    using (var g = new AesGcm128(key))
                    {
                        var plain = new byte[sealedLen - 16];
                        bool opens = g.Open(2, number, d, header.Length + 8, sealedLen, d, 0, header.Length, plain, 0);
                        bool signed = Ed25519.Verify(pub, d, 0, d.Length - 64, d, d.Length - 64);
                        Check((opens && signed) == want, "group datagram " + n + ": opens " + opens + ", signed " + signed + ", want " + want);
                        if (want)
                        {
                            CheckBytes(plain, body, "group datagram " + n + " body");
                        }
                    }
                }
            }
            Check(n >= 15, "handshake.txt has its datagrams (" + n + ")");
        }
    }
}
#endif

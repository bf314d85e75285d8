using System;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>Encoding from floats (§3): the worked example, the identity, clamping, NaN,
    /// rounding of halves away from zero, the negated omitted component and the canonical step.</summary>
    public static class QuantTests
    {
        public static void WorkedExample()
        {
            var p = QPose.From(1.5f, -0.25f, 2f, 0f, 0.38268343f, 0f, 0.9238795f);
            var b = new byte[11];
            p.Write(b, 0);
            T.Equal("0086007f0088ff1f15ff1f", Hex.Encode(b, 0, 11), "§3.5 pose bytes");
            float x, y, z, w;
            p.Rotation(out x, out y, out z, out w);
            T.Equal(-0.00017267565f, x, "x");
            T.Equal(0.38282192f, y, "y");
            T.Equal(0.9238221f, w, "w");
        }

        public static void Identity()
        {
            var b = new byte[11];
            QPose.From(0, 0, 0, 0, 0, 0, 1).Write(b, 0);
            T.Equal("ffdffffd1f", Hex.Encode(b, 6, 5), "identity rotation");
            QPose.From(0, 0, 0, 0, 0, 0, 0).Write(b, 0);
            T.Equal("ffdffffd1f", Hex.Encode(b, 6, 5), "zero quaternion sends the identity");
            QPose.From(0, 0, 0, float.NaN, 0, 0, 1).Write(b, 0);
            T.Equal("ffdffffd1f", Hex.Encode(b, 6, 5), "NaN sends the identity");
            QPose.From(0, 0, 0, float.PositiveInfinity, 0, 0, 1).Write(b, 0);
            T.Equal("ffdffffd1f", Hex.Encode(b, 6, 5), "infinity sends the identity");
            T.Equal(Quant.IdentityRot, Quant.EncodeRotation(0, 0, 0, -1), "−identity is the identity");
        }

        public static void Positions()
        {
            T.Equal((ushort)32768, Quant.EncodePosition(float.NaN), "NaN");
            T.Equal((ushort)65535, Quant.EncodePosition(float.PositiveInfinity), "+inf");
            T.Equal((ushort)0, Quant.EncodePosition(float.NegativeInfinity), "-inf");
            T.Equal((ushort)65535, Quant.EncodePosition(40f), "clamped high");
            T.Equal((ushort)0, Quant.EncodePosition(-40f), "clamped low");
            // Exact halves round away from zero: (v + 32) × 1024 = k + 0.5.
            T.Equal((ushort)32769, Quant.EncodePosition(0.5f / 1024f), "half step up");
            T.Equal((ushort)32768, Quant.EncodePosition(0.49f / 1024f), "below half");
            T.Equal((ushort)1, Quant.EncodePosition(-32f + 0.5f / 1024f), "half step at the bottom");
            for (int q = 0; q < 65536; q += 97)
                T.Equal((ushort)q, Quant.EncodePosition(Quant.DecodePosition((ushort)q)), "re-encode " + q);
        }

        public static void NegativeLargestIsNegated()
        {
            // −W largest: the quaternion is negated so the omitted component is positive.
            ulong a = Quant.EncodeRotation(0.1f, 0.2f, 0.3f, -0.927f);
            ulong b = Quant.EncodeRotation(-0.1f, -0.2f, -0.3f, 0.927f);
            T.Equal(b, a, "q and −q encode alike");
            float x, y, z, w;
            Quant.DecodeRotation(a, out x, out y, out z, out w);
            T.True(w > 0.9f && x < 0, "decoded with W positive and X negated");
        }

        public static void CanonicalRoundTrip()
        {
            var rng = new Random(7);
            float x, y, z, w;
            for (int i = 0; i < 20000; i++)
            {
                double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1, c = rng.NextDouble() * 2 - 1, d = rng.NextDouble() * 2 - 1;
                if (i % 3 == 0) d = a; // two equal largest components: the canonical step matters
                double n = Math.Sqrt(a * a + b * b + c * c + d * d);
                ulong r = Quant.EncodeRotation((float)(a / n), (float)(b / n), (float)(c / n), (float)(d / n));
                Quant.DecodeRotation(r, out x, out y, out z, out w);
                ulong again = Quant.EncodeRotation(x, y, z, w);
                T.Equal(r, again, "decode then encode reproduces the word " + i);
                double dot = Math.Abs(x * a / n + y * b / n + z * c / n + w * d / n);
                double angle = 2 * Math.Acos(Math.Min(1, dot)) * 180 / Math.PI;
                T.True(angle < 0.1, "within 0.1° (" + angle + ")");
            }
        }

        /// <summary>testdata/wire/quantize_floats.txt: encodings from raw float32 values.</summary>
        public static void RawFloatVectors()
        {
            var path = System.IO.Path.Combine(T.Root, "testdata", "wire", "quantize_floats.txt");
            int pos = 0, rot = 0;
            var b = new byte[11];
            foreach (var raw in System.IO.File.ReadAllLines(path))
            {
                int c = raw.IndexOf('#');
                string why = c >= 0 ? raw.Substring(c + 1).Trim() : "";
                string line = (c >= 0 ? raw.Substring(0, c) : raw).Trim();
                if (line.Length == 0) continue;
                var f = line.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
                Func<string, float> fl = h => BitConverter.ToSingle(BitConverter.GetBytes(Convert.ToUInt32(h, 16)), 0);
                if (f[0] == "pos")
                {
                    T.Equal(Convert.ToUInt16(f[3], 16), Quant.EncodePosition(fl(f[1])), "pos " + f[1] + " (" + why + ")");
                    pos++;
                }
                else if (f[0] == "rot")
                {
                    var q = new QPose { Rot = Quant.EncodeRotation(fl(f[1]), fl(f[2]), fl(f[3]), fl(f[4])) };
                    q.Write(b, 0);
                    T.Equal(f[6], Hex.Encode(b, 6, 5), "rot " + string.Join(" ", f, 1, 4) + " (" + why + ")");
                    rot++;
                }
                else throw new TestFailure("unknown line: " + line);
            }
            T.True(pos >= 10 && rot >= 10, "cases read: " + pos + " positions, " + rot + " rotations");
            T.Log("{0} positions and {1} rotations encoded from raw floats as the Go encoder does", pos, rot);
        }

        public static void Analog()
        {
            T.Equal((byte)128, Quant.EncodeUnit(0.5f), "trigger: 127.5 rounds away from zero");
            T.Equal((byte)0, Quant.EncodeUnit(float.NaN), "trigger NaN");
            T.Equal((byte)255, Quant.EncodeUnit(2f), "trigger clamped");
            T.Equal((sbyte)-127, Quant.EncodeAxis(-5f), "axis clamped");
            T.Equal(-1f, Quant.DecodeAxis(-128), "−128 decodes as −1");
            T.Equal((sbyte)0, Quant.EncodeAxis(float.NaN), "axis NaN");
        }
    }
}

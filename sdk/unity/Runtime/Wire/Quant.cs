using System;

namespace Arcade.Wire
{
    /// <summary>A pose on the wire's grid (§3.4): three position values q (§3.1) and the
    /// 40-bit smallest-three rotation word (§3.3). Keeping the grid values, not floats,
    /// lets a receiver re-send exactly what it got and compare states bit for bit.</summary>
    public struct QPose
    {
        public ushort X, Y, Z;
        public ulong Rot;

        public static readonly QPose Identity = new QPose { X = 32768, Y = 32768, Z = 32768, Rot = Quant.IdentityRot };

        public int Write(byte[] b, int o)
        {
            Bytes.PutU16(b, o, X); Bytes.PutU16(b, o + 2, Y); Bytes.PutU16(b, o + 4, Z);
            ulong r = Rot;
            b[o + 6] = (byte)r; b[o + 7] = (byte)(r >> 8); b[o + 8] = (byte)(r >> 16);
            b[o + 9] = (byte)(r >> 24); b[o + 10] = (byte)(r >> 32);
            return o + Proto.PoseSize;
        }

        public void Read(byte[] b, int o)
        {
            X = Bytes.U16(b, o); Y = Bytes.U16(b, o + 2); Z = Bytes.U16(b, o + 4);
            Rot = Bytes.U32(b, o + 6) | (ulong)b[o + 10] << 32;
        }

        public bool Equals(QPose p) { return X == p.X && Y == p.Y && Z == p.Z && (Rot & Quant.RotMask) == (p.Rot & Quant.RotMask); }

        public float PX { get { return Quant.DecodePosition(X); } }
        public float PY { get { return Quant.DecodePosition(Y); } }
        public float PZ { get { return Quant.DecodePosition(Z); } }

        /// <summary>Quantizes a pose: position in metres, rotation as a quaternion (x, y, z, w).</summary>
        public static QPose From(float px, float py, float pz, float rx, float ry, float rz, float rw)
        {
            return new QPose
            {
                X = Quant.EncodePosition(px), Y = Quant.EncodePosition(py), Z = Quant.EncodePosition(pz),
                Rot = Quant.EncodeRotation(rx, ry, rz, rw),
            };
        }

        public void Rotation(out float x, out float y, out float z, out float w) { Quant.DecodeRotation(Rot, out x, out y, out z, out w); }

        public override string ToString()
        {
            float x, y, z, w;
            Rotation(out x, out y, out z, out w);
            return string.Format("({0}, {1}, {2}) rot ({3}, {4}, {5}, {6})", PX, PY, PZ, x, y, z, w);
        }
    }

    /// <summary>Position, rotation and analog quantization (§3), in double precision with
    /// round-half-away-from-zero, exactly as the spec words it.</summary>
    public static class Quant
    {
        public static readonly double S = Math.Sqrt(2.0) / 2.0;
        public static readonly double K = 4095.0 / Math.Sqrt(2.0);
        public static readonly double D = Math.Sqrt(2.0) / 4095.0;
        /// <summary>The identity rotation as sent: omitted W, X, Y, Z each q = 2047 (ff df ff fd 1f).</summary>
        public const ulong IdentityRot = 0x1FFDFFDFFFUL;
        /// <summary>Bits 0–37 of a rotation word; 38–39 are ignored on receipt.</summary>
        public const ulong RotMask = (1UL << 38) - 1;
        const double Margin = 1.0 / 65536.0; // 2^-16, §3.3 step 5

        public static double Round(double x) { return Math.Round(x, MidpointRounding.AwayFromZero); }

        public static ushort EncodePosition(float v)
        {
            if (float.IsNaN(v)) return 32768;
            double q = Round(((double)v + 32.0) * 1024.0);
            if (q < 0) return 0;
            if (q > 65535) return 65535;
            return (ushort)q;
        }

        public static float DecodePosition(ushort q) { return (float)(q / 1024.0 - 32.0); }

        public static ulong EncodeRotation(float fx, float fy, float fz, float fw)
        {
            double c0 = fx, c1 = fy, c2 = fz, c3 = fw;
            double n = Math.Sqrt(c0 * c0 + c1 * c1 + c2 * c2 + c3 * c3);
            if (n == 0 || double.IsNaN(n) || double.IsInfinity(n))
            {
                c0 = 0; c1 = 0; c2 = 0; c3 = 1; n = 1;
            }
            int idx = 0;
            double big = Math.Abs(c0);
            if (Math.Abs(c1) > big) { idx = 1; big = Math.Abs(c1); }
            if (Math.Abs(c2) > big) { idx = 2; big = Math.Abs(c2); }
            if (Math.Abs(c3) > big) { idx = 3; }
            double omitted = idx == 0 ? c0 : idx == 1 ? c1 : idx == 2 ? c2 : c3;
            if (omitted < 0) n = -n;
            double a, b, c;
            switch (idx)
            {
                case 0: a = c1; b = c2; c = c3; break;
                case 1: a = c0; b = c2; c = c3; break;
                case 2: a = c0; b = c1; c = c3; break;
                default: a = c0; b = c1; c = c2; break;
            }
            int q1 = Q12(a / n), q2 = Q12(b / n), q3 = Q12(c / n);
            Canonical(ref q1, ref q2, ref q3);
            return (ulong)idx | (ulong)q1 << 2 | (ulong)q2 << 14 | (ulong)q3 << 26;
        }

        static int Q12(double v)
        {
            double q = Round((v + S) * K);
            if (q < 0) return 0;
            if (q > 4095) return 4095;
            return (int)q;
        }

        // §3.3 step 5: step the largest sent value toward zero until the decoded omitted
        // component is the largest by at least 2^-16.
        static void Canonical(ref int q1, ref int q2, ref int q3)
        {
            for (int guard = 0; guard < 4096 * 3; guard++)
            {
                double a1 = q1 * D - S, a2 = q2 * D - S, a3 = q3 * D - S;
                double w = Math.Sqrt(Math.Max(0, 1 - (a1 * a1 + a2 * a2 + a3 * a3)));
                double m1 = Math.Abs(a1), m2 = Math.Abs(a2), m3 = Math.Abs(a3);
                double m = Math.Max(m1, Math.Max(m2, m3));
                if (w - m >= Margin) return;
                if (m1 == m) q1 = Step(q1);
                else if (m2 == m) q2 = Step(q2);
                else q3 = Step(q3);
            }
        }

        static int Step(int q) { return q >= 2048 ? q - 1 : q + 1; }

        public static void DecodeRotation(ulong r, out float x, out float y, out float z, out float w)
        {
            int idx = (int)(r & 3);
            double a = ((int)(r >> 2) & 0xFFF) * D - S;
            double b = ((int)(r >> 14) & 0xFFF) * D - S;
            double c = ((int)(r >> 26) & 0xFFF) * D - S;
            double s = a * a + b * b + c * c;
            double o = Math.Sqrt(Math.Max(0, 1 - s));
            double c0, c1, c2, c3;
            switch (idx)
            {
                case 0: c0 = o; c1 = a; c2 = b; c3 = c; break;
                case 1: c0 = a; c1 = o; c2 = b; c3 = c; break;
                case 2: c0 = a; c1 = b; c2 = o; c3 = c; break;
                default: c0 = a; c1 = b; c2 = c; c3 = o; break;
            }
            double n = Math.Sqrt(c0 * c0 + c1 * c1 + c2 * c2 + c3 * c3);
            x = (float)(c0 / n); y = (float)(c1 / n); z = (float)(c2 / n); w = (float)(c3 / n);
        }

        /// <summary>Trigger or grip, 0…1, as u8 (§3.6).</summary>
        public static byte EncodeUnit(float v)
        {
            if (float.IsNaN(v)) return 0;
            double c = v < 0 ? 0 : v > 1 ? 1 : v;
            return (byte)Round(c * 255.0);
        }

        public static float DecodeUnit(byte q) { return q / 255f; }

        /// <summary>Thumbstick axis, −1…1, as i8 (§3.6).</summary>
        public static sbyte EncodeAxis(float v)
        {
            if (float.IsNaN(v)) return 0;
            double c = v < -1 ? -1 : v > 1 ? 1 : v;
            return (sbyte)Round(c * 127.0);
        }

        public static float DecodeAxis(sbyte q) { return q == -128 ? -1f : q / 127f; }
    }
}

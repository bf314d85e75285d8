// Little-endian reads and writes on byte arrays: the wire's integers
// (docs/PROTOCOL.md §1). byte[] and offsets only, so the core builds on
// runtimes without Span (Mono's mcs, C# 7.2) and allocates nothing.
namespace Arcade.Wire
{
    public static class Bytes
    {
        public static ushort U16(byte[] b, int o) { return (ushort)(b[o] | b[o + 1] << 8); }

        public static uint U32(byte[] b, int o)
        {
            return (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        }

        public static ulong U64(byte[] b, int o) { return U32(b, o) | (ulong)U32(b, o + 4) << 32; }

        public static int PutU16(byte[] b, int o, ushort v)
        {
            b[o] = (byte)v; b[o + 1] = (byte)(v >> 8);
            return o + 2;
        }

        public static int PutU32(byte[] b, int o, uint v)
        {
            b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); b[o + 2] = (byte)(v >> 16); b[o + 3] = (byte)(v >> 24);
            return o + 4;
        }

        public static int PutU64(byte[] b, int o, ulong v)
        {
            PutU32(b, o, (uint)v);
            return PutU32(b, o + 4, (uint)(v >> 32));
        }

        /// <summary>IEEE 754 binary32, little-endian, without BitConverter's allocation.</summary>
        public static float F32(byte[] b, int o)
        {
            var u = new FloatBits { U = U32(b, o) };
            return u.F;
        }

        public static int PutF32(byte[] b, int o, float v)
        {
            var u = new FloatBits { F = v };
            return PutU32(b, o, u.U);
        }

        [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit)]
        struct FloatBits
        {
            [System.Runtime.InteropServices.FieldOffset(0)] public uint U;
            [System.Runtime.InteropServices.FieldOffset(0)] public float F;
        }

        /// <summary>Zeroes b[o, o+n).</summary>
        public static void Zero(byte[] b, int o, int n) { System.Array.Clear(b, o, n); }

        /// <summary>Whether b[o, o+n) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).</summary>
        public static bool ValidUtf8(byte[] b, int o, int n)
        {
            int end = o + n;
            while (o < end)
            {
                int c = b[o];
                if (c < 0x80) { o++; continue; }
                int need, min;
                if (c >= 0xC2 && c <= 0xDF) { need = 1; min = 0x80; c &= 0x1F; }
                else if (c >= 0xE0 && c <= 0xEF) { need = 2; min = 0x800; c &= 0x0F; }
                else if (c >= 0xF0 && c <= 0xF4) { need = 3; min = 0x10000; c &= 0x07; }
                else return false;
                if (o + need >= end) return false;
                for (int i = 1; i <= need; i++)
                {
                    int d = b[o + i];
                    if ((d & 0xC0) != 0x80) return false;
                    c = c << 6 | (d & 0x3F);
                }
                if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
                o += need + 1;
            }
            return true;
        }

        /// <summary>The longest prefix of s's UTF-8 encoding of at most max bytes that ends at a character boundary, written to dst[o..]; returns its length.</summary>
        public static int PutUtf8Cut(string s, int max, byte[] dst, int o)
        {
            int n = 0;
            for (int i = 0; i < s.Length; i++)
            {
                int c = s[i];
                bool pair = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
                if (pair) c = char.ConvertToUtf32(s[i], s[i + 1]);
                else if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
                int len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
                if (n + len > max) break;
                int p = o + n;
                switch (len)
                {
                    case 1: dst[p] = (byte)c; break;
                    case 2: dst[p] = (byte)(0xC0 | c >> 6); dst[p + 1] = (byte)(0x80 | c & 0x3F); break;
                    case 3: dst[p] = (byte)(0xE0 | c >> 12); dst[p + 1] = (byte)(0x80 | c >> 6 & 0x3F); dst[p + 2] = (byte)(0x80 | c & 0x3F); break;
                    default:
                        dst[p] = (byte)(0xF0 | c >> 18); dst[p + 1] = (byte)(0x80 | c >> 12 & 0x3F);
                        dst[p + 2] = (byte)(0x80 | c >> 6 & 0x3F); dst[p + 3] = (byte)(0x80 | c & 0x3F);
                        break;
                }
                if (pair) i++;
                n += len;
            }
            return n;
        }
    }
}

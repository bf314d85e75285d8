using System;
using System.Collections.Generic;
using Arcade.Wire;

namespace Arcade.Discovery
{
    /// <summary>The discovery beacon's datagrams (docs/PROTOCOL.md §14.3).</summary>
    public static class Beacon
    {
        public const int Port = 7779;
        public const int ProbeSize = 512, MinProbeSize = 64, MaxSize = 1200, ReplyFixedSize = 16;
        public const byte Version = 1, TypeProbe = 1, TypeReply = 2;
        public const int MaxNameLen = 63;
        public const byte FlagTruncated = 1;

        static bool Magic(byte[] b) { return b[0] == 0x41 && b[1] == 0x52 && b[2] == 0x43 && b[3] == 0x42; }

        static void PutMagic(byte[] b) { b[0] = 0x41; b[1] = 0x52; b[2] = 0x43; b[3] = 0x42; }

        /// <summary>Writes a probe of size bytes (64…1200; clients send 512) and returns its length.</summary>
        public static int WriteProbe(byte[] b, uint nonce, int size)
        {
            PutMagic(b);
            b[4] = Version; b[5] = TypeProbe; b[6] = 0; b[7] = 0;
            Bytes.PutU32(b, 8, nonce);
            Bytes.Zero(b, 12, size - 12);
            return size;
        }

        public static bool ParseProbe(byte[] b, int n, out uint nonce)
        {
            nonce = 0;
            if (n < MinProbeSize || n > MaxSize || !Magic(b) || b[4] != Version || b[5] != TypeProbe) return false;
            nonce = Bytes.U32(b, 8);
            return true;
        }
    }

    /// <summary>The key=value strings of a TXT record or beacon reply (§14.2, §18.7).</summary>
    public static class Txt
    {
        /// <summary>The value of the first string whose key is key, compared case-insensitively; null if none.</summary>
        public static string Get(List<string> strings, string key)
        {
            foreach (var s in strings)
            {
                int eq = s.IndexOf('=');
                if (eq == key.Length && string.Compare(s, 0, key, 0, eq, StringComparison.OrdinalIgnoreCase) == 0)
                    return s.Substring(eq + 1);
            }
            return null;
        }

        /// <summary>The epoch of a standby pair's active server (§18.7): the first epoch= string's value,
        /// 1..4294967295 in decimal without sign, leading zeros or spaces. 0 when there is none (a server
        /// not in a pair) or it is malformed; bad tells the second case.</summary>
        public static uint Epoch(List<string> strings, out bool bad)
        {
            var v = Get(strings, "epoch");
            bad = false;
            if (v == null) return 0;
            ulong n = 0;
            bool ok = v.Length > 0 && v.Length <= 10 && v[0] != '0';
            for (int i = 0; ok && i < v.Length; i++)
            {
                if (v[i] < '0' || v[i] > '9') ok = false;
                else n = n * 10 + (ulong)(v[i] - '0');
            }
            if (!ok || n > uint.MaxValue) { bad = true; return 0; }
            return (uint)n;
        }

        public static uint Epoch(List<string> strings) { bool bad; return Epoch(strings, out bad); }
    }

    /// <summary>A beacon reply (§14.3) and its key=value strings (§14.2).</summary>
    public sealed class BeaconReply
    {
        public byte Flags;
        public uint Nonce;
        public ushort GamePort;
        public string Name = "";
        /// <summary>The strings in order, as sent.</summary>
        public readonly List<string> Strings = new List<string>();

        public bool Truncated { get { return (Flags & Beacon.FlagTruncated) != 0; } }

        /// <summary>The value of the first string whose key is key, compared case-insensitively; null if none.</summary>
        public string Get(string key) { return Txt.Get(Strings, key); }

        /// <summary>The epoch= of a standby pair's active server (§18.7); 0 when absent or malformed.</summary>
        public uint Epoch { get { return Txt.Epoch(Strings); } }

        /// <summary>Reads a reply under the client's receive rules (all but the nonce check).</summary>
        public bool Parse(byte[] b, int n)
        {
            if (n < Beacon.ReplyFixedSize || n > Beacon.MaxSize) return false;
            if (b[0] != 0x41 || b[1] != 0x52 || b[2] != 0x43 || b[3] != 0x42 || b[4] != Beacon.Version || b[5] != Beacon.TypeReply) return false;
            int nameLen = b[7];
            int textLen = Bytes.U16(b, 14);
            if (nameLen > Beacon.MaxNameLen || 16 + nameLen + textLen > n) return false;
            var strs = new List<string>();
            int p = 16 + nameLen, end = p + textLen;
            while (p < end)
            {
                int l = b[p];
                if (p + 1 + l > end) return false;
                strs.Add(System.Text.Encoding.UTF8.GetString(b, p + 1, l));
                p += 1 + l;
            }
            Flags = b[6];
            Nonce = Bytes.U32(b, 8);
            GamePort = Bytes.U16(b, 12);
            Name = System.Text.Encoding.UTF8.GetString(b, 16, nameLen);
            Strings.Clear();
            Strings.AddRange(strs);
            return true;
        }

        /// <summary>Writes the reply (as a server would) and returns its length.</summary>
        public int Write(byte[] b)
        {
            b[0] = 0x41; b[1] = 0x52; b[2] = 0x43; b[3] = 0x42;
            b[4] = Beacon.Version; b[5] = Beacon.TypeReply; b[6] = Flags;
            int nl = Bytes.PutUtf8Cut(Name, Beacon.MaxNameLen, b, 16);
            b[7] = (byte)nl;
            Bytes.PutU32(b, 8, Nonce);
            Bytes.PutU16(b, 12, GamePort);
            int p = 16 + nl;
            foreach (var s in Strings)
            {
                int l = Bytes.PutUtf8Cut(s, 255, b, p + 1);
                b[p] = (byte)l;
                p += 1 + l;
            }
            Bytes.PutU16(b, 14, (ushort)(p - 16 - nl));
            return p;
        }
    }
}

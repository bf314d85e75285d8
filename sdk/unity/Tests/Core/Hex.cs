using System;
using System.IO;

namespace Arcade.Tests
{
    /// <summary>Reads the golden vector format of docs/PROTOCOL.md §12: hex, '#' comments.</summary>
    public static class Hex
    {
        public static byte[] ReadFile(string path)
        {
            var sb = new System.Text.StringBuilder();
            foreach (var line in File.ReadAllLines(path))
            {
                int c = line.IndexOf('#');
                string s = c >= 0 ? line.Substring(0, c) : line;
                foreach (char ch in s)
                    if (!char.IsWhiteSpace(ch)) sb.Append(ch);
            }
            return Decode(sb.ToString());
        }

        public static byte[] Decode(string s)
        {
            s = s.Replace(" ", "");
            if (s.Length % 2 != 0) throw new FormatException("odd hex length");
            var b = new byte[s.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(s.Substring(2 * i, 2), 16);
            return b;
        }

        public static string Encode(byte[] b, int o, int n)
        {
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < n; i++) sb.Append(b[o + i].ToString("x2"));
            return sb.ToString();
        }
    }
}

using System;
using System.Security.Cryptography;

namespace Arcade.Crypto
{
    // Hkdf is HKDF with HMAC-SHA256 (RFC 5869), which derives the session
    // keys and the group key's wrapping key from CPace's ISK
    // (docs/PROTOCOL.md §17.1). It runs once per handshake and allocates.
    public static class Hkdf
    {
        // HashSize is the size of a pseudorandom key (SHA-256).
        public const int HashSize = 32;

        // Extract is HKDF-Extract(salt, ikm): HMAC-SHA256 keyed by salt (a
        // null or empty salt is HashSize zero bytes, as the RFC says).
        public static byte[] Extract(byte[] salt, byte[] ikm)
        {
            if (salt == null || salt.Length == 0)
            {
                salt = new byte[HashSize];
            }
            using (var h = new HMACSHA256(salt))
            {
                return h.ComputeHash(ikm ?? new byte[0]);
            }
        }

        // Expand is HKDF-Expand(prk, info, length): length bytes (at most
        // 255 · 32; ArgumentOutOfRangeException beyond).
        public static byte[] Expand(byte[] prk, byte[] info, int length)
        {
            if (length < 0 || length > 255 * HashSize)
            {
                throw new ArgumentOutOfRangeException("length", "HKDF-SHA256 gives at most 8160 bytes");
            }
            if (info == null)
            {
                info = new byte[0];
            }
            var okm = new byte[length];
            var input = new byte[HashSize + info.Length + 1];
            using (var h = new HMACSHA256(prk))
            {
                int done = 0, tLen = 0;
                byte[] t = null;
                for (byte i = 1; done < length; i++)
                {
                    if (t != null)
                    {
                        Buffer.BlockCopy(t, 0, input, 0, HashSize);
                    }
                    Buffer.BlockCopy(info, 0, input, tLen, info.Length);
                    input[tLen + info.Length] = i;
                    t = h.ComputeHash(input, 0, tLen + info.Length + 1);
                    tLen = HashSize;
                    int n = Math.Min(HashSize, length - done);
                    Buffer.BlockCopy(t, 0, okm, done, n);
                    done += n;
                }
            }
            return okm;
        }

        // DeriveKey is Expand(Extract(salt, ikm), info, length).
        public static byte[] DeriveKey(byte[] ikm, byte[] salt, byte[] info, int length)
        {
            byte[] prk = Extract(salt, ikm);
            byte[] okm = Expand(prk, info, length);
            Array.Clear(prk, 0, prk.Length);
            return okm;
        }
    }
}

using System;
using System.Security.Cryptography;

namespace Arcade.Crypto
{
    // AesGcm128 is AES-128-GCM (NIST SP 800-38D) with 12-byte nonces and
    // 16-byte tags, the AEAD of every sealed datagram (docs/PROTOCOL.md
    // §17.3). .NET Framework 4.x has no AesGcm, so it is built here from the
    // AES block cipher (ECB, one ICryptoTransform made at construction) and
    // GHASH: the keystream of a whole datagram is one TransformBlock call over
    // its counter blocks, and GHASH multiplies by H with Shoup's 4-bit tables
    // (16 multiples of H, a 16-entry reduction table).
    //
    // Seal and Open write into caller-supplied buffers and allocate nothing
    // after construction. Open checks the tag in constant time before it
    // decrypts anything, so on failure dst is left untouched. dst may be
    // the source buffer at the same offset (in place) or a lower one (the
    // output moving towards the start); other overlaps are not supported. One instance is not safe for concurrent use: give each
    // thread its own.
    //
    // GHASH's table lookups are indexed by bits of the running hash, as in
    // every table-driven GHASH: a local attacker who can watch this
    // process's cache could learn about H. The headset's own apps are not
    // that attacker; the LAN is, and it sees only timing of whole datagrams.
    public sealed class AesGcm128 : IDisposable
    {
        // Sizes of the key, the nonce and the tag.
        public const int KeySize = 16;
        public const int NonceSize = 12;
        public const int TagSize = 16;

        // Blocks of keystream made per TransformBlock call: enough for a
        // 1200-byte datagram in one call, plus the tag's block.
        const int ChunkBlocks = 80;

        readonly Aes aes;
        readonly ICryptoTransform enc;
        readonly ulong[] tableHi = new ulong[16];
        readonly ulong[] tableLo = new ulong[16];
        readonly byte[] ctr = new byte[ChunkBlocks * 16];
        readonly byte[] stream = new byte[ChunkBlocks * 16];
        readonly byte[] pad = new byte[16];
        readonly byte[] mask = new byte[16];
        readonly byte[] nonceBuf = new byte[NonceSize];
        ulong yHi, yLo;
        bool disposed;

        static readonly ulong[] reduction = MakeReduction();

        // AesGcm128 makes a sealer for a 16-byte key (ArgumentException
        // otherwise).
        public AesGcm128(byte[] key)
        {
            if (key == null || key.Length != KeySize)
            {
                throw new ArgumentException("AesGcm128: the key must be 16 bytes", "key");
            }
            aes = Aes.Create();
            aes.Mode = CipherMode.ECB;
            aes.Padding = PaddingMode.None;
            aes.KeySize = 128;
            aes.Key = key;
            enc = aes.CreateEncryptor();
            // H = E(K, 0^128).
            var zero = new byte[16];
            var h = new byte[16];
            enc.TransformBlock(zero, 0, 16, h, 0);
            MakeTable(LoadBE(h, 0), LoadBE(h, 8));
            Array.Clear(h, 0, 16);
        }

        // Seal encrypts plain[pOff..pOff+len] with nonce[nOff..nOff+12] and
        // the additional data ad[adOff..adOff+adLen] (ad may be null when
        // adLen is 0), writing the ciphertext to dst[dstOff..dstOff+len] and
        // the tag right after it: len + 16 bytes in all. A buffer too short
        // for its offset and length is ArgumentOutOfRangeException (Seal
        // only sees the caller's own data; Open never throws).
        public void Seal(byte[] nonce, int nOff, byte[] plain, int pOff, int len, byte[] ad, int adOff, int adLen,
            byte[] dst, int dstOff)
        {
            CheckUse(nonce, nOff, NonceSize);
            CheckUse(plain, pOff, len);
            CheckUse(ad, adOff, adLen);
            CheckUse(dst, dstOff, len + TagSize);
            Crypt(nonce, nOff, plain, pOff, len, dst, dstOff, true, ad, adOff, adLen);
            for (int i = 0; i < TagSize; i++)
            {
                dst[dstOff + len + i] = mask[i];
            }
        }

        // Open checks and decrypts sealed[sOff..sOff+sealedLen] (ciphertext
        // then the 16-byte tag) with the nonce and additional data, writing
        // sealedLen - 16 bytes of plaintext to dst[dstOff..]. It returns
        // false, writing nothing, if the tag does not check or the input is
        // shorter than a tag or any buffer is too short; it never throws.
        public bool Open(byte[] nonce, int nOff, byte[] sealed_, int sOff, int sealedLen, byte[] ad, int adOff,
            int adLen, byte[] dst, int dstOff)
        {
            if (disposed || !Fits(nonce, nOff, NonceSize) || sealedLen < TagSize || !Fits(sealed_, sOff, sealedLen) ||
                !Fits(ad, adOff, adLen) || !Fits(dst, dstOff, sealedLen - TagSize))
            {
                return false;
            }
            int len = sealedLen - TagSize;
            // The tag: GHASH of the ciphertext as received, masked with
            // E(K, J0).
            Ghash(ad, adOff, adLen, sealed_, sOff, len);
            MakeCounters(nonce, nOff, 0);
            enc.TransformBlock(ctr, 0, 16, stream, 0);
            int diff = 0;
            for (int i = 0; i < TagSize; i++)
            {
                diff |= (TagByte(i) ^ stream[i]) ^ sealed_[sOff + len + i];
            }
            yHi = yLo = 0;
            if (diff != 0)
            {
                return false;
            }
            Crypt(nonce, nOff, sealed_, sOff, len, dst, dstOff, false, null, 0, 0);
            return true;
        }

        // Seal with the datagram nonce of docs/PROTOCOL.md §17.3: direction
        // (u32 little-endian: 0 client to server, 1 server to client, 2
        // group) then the packet number (u64 little-endian).
        public void Seal(uint direction, ulong number, byte[] plain, int pOff, int len, byte[] ad, int adOff,
            int adLen, byte[] dst, int dstOff)
        {
            DatagramNonce(nonceBuf, direction, number);
            Seal(nonceBuf, 0, plain, pOff, len, ad, adOff, adLen, dst, dstOff);
        }

        // Open with the datagram nonce of direction and number.
        public bool Open(uint direction, ulong number, byte[] sealed_, int sOff, int sealedLen, byte[] ad, int adOff,
            int adLen, byte[] dst, int dstOff)
        {
            DatagramNonce(nonceBuf, direction, number);
            return Open(nonceBuf, 0, sealed_, sOff, sealedLen, ad, adOff, adLen, dst, dstOff);
        }

        // DatagramNonce writes the 12-byte nonce of a sealed datagram.
        public static void DatagramNonce(byte[] dst, uint direction, ulong number)
        {
            for (int i = 0; i < 4; i++)
            {
                dst[i] = (byte)(direction >> (8 * i));
            }
            for (int i = 0; i < 8; i++)
            {
                dst[4 + i] = (byte)(number >> (8 * i));
            }
        }

        // Dispose releases the AES transform.
        public void Dispose()
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            enc.Dispose();
            aes.Dispose();
            Array.Clear(tableHi, 0, 16);
            Array.Clear(tableLo, 0, 16);
        }

        void CheckUse(byte[] b, int off, int len)
        {
            if (disposed)
            {
                throw new ObjectDisposedException("AesGcm128");
            }
            if (len < 0 || (b == null && len > 0) || (b != null && (off < 0 || off > b.Length - len)))
            {
                throw new ArgumentOutOfRangeException("AesGcm128: buffer too short for offset and length");
            }
        }

        static bool Fits(byte[] b, int off, int len)
        {
            if (len == 0 && b == null)
            {
                return true;
            }
            return b != null && len >= 0 && off >= 0 && off <= b.Length - len;
        }

        byte TagByte(int i)
        {
            ulong w = i < 8 ? yHi : yLo;
            return (byte)(w >> (56 - 8 * (i & 7)));
        }

        // MakeCounters fills ctr with n blocks nonce ‖ counter, counters
        // from first (J0 has counter 1; the data starts at 2).
        void MakeCounters(byte[] nonce, int nOff, int blocks, uint first = 1)
        {
            int n = blocks == 0 ? 1 : blocks;
            for (int b = 0; b < n; b++)
            {
                int o = 16 * b;
                Buffer.BlockCopy(nonce, nOff, ctr, o, NonceSize);
                uint c = first + (uint)b;
                ctr[o + 12] = (byte)(c >> 24);
                ctr[o + 13] = (byte)(c >> 16);
                ctr[o + 14] = (byte)(c >> 8);
                ctr[o + 15] = (byte)c;
            }
        }

        // Crypt XORs src with the keystream into dst. Sealing, it also
        // computes the tag (GHASH of the ciphertext written) into mask.
        void Crypt(byte[] nonce, int nOff, byte[] src, int sOff, int len, byte[] dst, int dOff, bool seal, byte[] ad,
            int adOff, int adLen)
        {
            // The first chunk's first block is J0, for the tag.
            uint counter = 1;
            int done = 0;
            bool first = true;
            while (first || done < len)
            {
                int skip = first ? 1 : 0;
                int blocks = Math.Min(ChunkBlocks - skip, (len - done + 15) / 16);
                MakeCounters(nonce, nOff, blocks + skip, counter);
                enc.TransformBlock(ctr, 0, 16 * (blocks + skip), stream, 0);
                if (first && seal)
                {
                    Buffer.BlockCopy(stream, 0, mask, 0, 16);
                }
                int n = Math.Min(len - done, 16 * blocks);
                int so = 16 * skip;
                for (int i = 0; i < n; i++)
                {
                    dst[dOff + done + i] = (byte)(src[sOff + done + i] ^ stream[so + i]);
                }
                done += n;
                counter += (uint)(blocks + skip);
                first = false;
            }
            if (seal)
            {
                Ghash(ad, adOff, adLen, dst, dOff, len);
                for (int i = 0; i < TagSize; i++)
                {
                    mask[i] ^= TagByte(i);
                }
                yHi = yLo = 0;
            }
            Array.Clear(stream, 0, stream.Length);
        }

        // Ghash sets y = GHASH_H(A, C): the additional data and the
        // ciphertext, each zero-padded to whole blocks, then their lengths
        // in bits (u64 big-endian each).
        void Ghash(byte[] ad, int adOff, int adLen, byte[] c, int cOff, int cLen)
        {
            yHi = yLo = 0;
            HashBytes(ad, adOff, adLen);
            HashBytes(c, cOff, cLen);
            yHi ^= (ulong)adLen << 3;
            yLo ^= (ulong)cLen << 3;
            MulH();
        }

        void HashBytes(byte[] b, int off, int len)
        {
            int full = len & ~15;
            for (int i = 0; i < full; i += 16)
            {
                yHi ^= LoadBE(b, off + i);
                yLo ^= LoadBE(b, off + i + 8);
                MulH();
            }
            if (full < len)
            {
                Array.Clear(pad, 0, 16);
                Buffer.BlockCopy(b, off + full, pad, 0, len - full);
                yHi ^= LoadBE(pad, 0);
                yLo ^= LoadBE(pad, 8);
                MulH();
            }
        }

        // GCM's field: bit 0 of a block (the top bit of its first byte) is
        // the coefficient of x^0, and x^128 = x^7 + x^2 + x + 1. Here hi
        // holds bytes 0–7 and lo bytes 8–15, big-endian, so multiplying by
        // x is a right shift across (hi, lo), and the bit falling off lo's
        // bottom comes back as 0xe1 at the top of hi.

        // MakeTable sets table[i] = i·H, where the 4-bit index i reads its
        // bits as the coefficients of x^3, x^2, x, 1 from its lowest bit up,
        // the order in which MulH takes them from a word.
        void MakeTable(ulong hHi, ulong hLo)
        {
            // t[8] = H (the index bit 3 is x^0), t[4] = H x, t[2] = H x^2,
            // t[1] = H x^3; the rest by XOR.
            ulong[] hi = tableHi, lo = tableLo;
            hi[0] = lo[0] = 0;
            hi[8] = hHi;
            lo[8] = hLo;
            for (int i = 4; i > 0; i >>= 1)
            {
                ulong carry = lo[2 * i] & 1;
                lo[i] = lo[2 * i] >> 1 | hi[2 * i] << 63;
                hi[i] = hi[2 * i] >> 1 ^ (0xe100000000000000UL & (0 - carry));
            }
            for (int i = 2; i < 16; i <<= 1)
            {
                for (int j = 1; j < i; j++)
                {
                    hi[i + j] = hi[i] ^ hi[j];
                    lo[i + j] = lo[i] ^ lo[j];
                }
            }
        }

        // reduction[i] is what the 4 bits i shifted off the bottom of lo
        // (x^128 … x^131 terms) fold back to, at the top of hi.
        static ulong[] MakeReduction()
        {
            var r = new ulong[16];
            for (int i = 0; i < 16; i++)
            {
                ulong v = 0;
                for (int b = 0; b < 4; b++)
                {
                    if ((i >> b & 1) != 0)
                    {
                        v ^= 0xe100000000000000UL >> (3 - b);
                    }
                }
                r[i] = v;
            }
            return r;
        }

        // MulH sets y = y·H: Horner's rule over y's 32 nibbles from the
        // highest power of x (the bottom of lo) down, z = z·x^4 + nibble·H.
        void MulH()
        {
            ulong zHi = 0, zLo = 0;
            ulong[] hi = tableHi, lo = tableLo, red = reduction;
            ulong w = yLo;
            for (int k = 0; k < 2; k++)
            {
                for (int j = 0; j < 16; j++)
                {
                    int rem = (int)(zLo & 15);
                    zLo = zLo >> 4 | zHi << 60;
                    zHi = zHi >> 4 ^ red[rem];
                    int nib = (int)(w & 15);
                    zHi ^= hi[nib];
                    zLo ^= lo[nib];
                    w >>= 4;
                }
                w = yHi;
            }
            yHi = zHi;
            yLo = zLo;
        }

        static ulong LoadBE(byte[] b, int off)
        {
            return (ulong)b[off] << 56 | (ulong)b[off + 1] << 48 | (ulong)b[off + 2] << 40 | (ulong)b[off + 3] << 32 |
                (ulong)b[off + 4] << 24 | (ulong)b[off + 5] << 16 | (ulong)b[off + 6] << 8 | b[off + 7];
        }
    }
}

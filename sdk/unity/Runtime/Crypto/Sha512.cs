// SHA-512 (FIPS 180-4) without allocation: the hash of every multicast
// datagram's signature check runs here, into buffers the caller owns.
// System.Security.Cryptography's SHA512 returns a new array per hash; the
// tests check this one against it.
namespace Arcade.Crypto
{
    internal sealed class Sha512
    {
        // Size of a digest and of a block.
        internal const int Size = 64;
        internal const int BlockSize = 128;

        // The round constants: the first 64 bits of the fractional parts of
        // the cube roots of the first 80 primes.
        static readonly ulong[] k =
        {
            0x428a2f98d728ae22UL, 0x7137449123ef65cdUL, 0xb5c0fbcfec4d3b2fUL, 0xe9b5dba58189dbbcUL,
            0x3956c25bf348b538UL, 0x59f111f1b605d019UL, 0x923f82a4af194f9bUL, 0xab1c5ed5da6d8118UL,
            0xd807aa98a3030242UL, 0x12835b0145706fbeUL, 0x243185be4ee4b28cUL, 0x550c7dc3d5ffb4e2UL,
            0x72be5d74f27b896fUL, 0x80deb1fe3b1696b1UL, 0x9bdc06a725c71235UL, 0xc19bf174cf692694UL,
            0xe49b69c19ef14ad2UL, 0xefbe4786384f25e3UL, 0x0fc19dc68b8cd5b5UL, 0x240ca1cc77ac9c65UL,
            0x2de92c6f592b0275UL, 0x4a7484aa6ea6e483UL, 0x5cb0a9dcbd41fbd4UL, 0x76f988da831153b5UL,
            0x983e5152ee66dfabUL, 0xa831c66d2db43210UL, 0xb00327c898fb213fUL, 0xbf597fc7beef0ee4UL,
            0xc6e00bf33da88fc2UL, 0xd5a79147930aa725UL, 0x06ca6351e003826fUL, 0x142929670a0e6e70UL,
            0x27b70a8546d22ffcUL, 0x2e1b21385c26c926UL, 0x4d2c6dfc5ac42aedUL, 0x53380d139d95b3dfUL,
            0x650a73548baf63deUL, 0x766a0abb3c77b2a8UL, 0x81c2c92e47edaee6UL, 0x92722c851482353bUL,
            0xa2bfe8a14cf10364UL, 0xa81a664bbc423001UL, 0xc24b8b70d0f89791UL, 0xc76c51a30654be30UL,
            0xd192e819d6ef5218UL, 0xd69906245565a910UL, 0xf40e35855771202aUL, 0x106aa07032bbd1b8UL,
            0x19a4c116b8d2d0c8UL, 0x1e376c085141ab53UL, 0x2748774cdf8eeb99UL, 0x34b0bcb5e19b48a8UL,
            0x391c0cb3c5c95a63UL, 0x4ed8aa4ae3418acbUL, 0x5b9cca4f7763e373UL, 0x682e6ff3d6b2b8a3UL,
            0x748f82ee5defb2fcUL, 0x78a5636f43172f60UL, 0x84c87814a1f0ab72UL, 0x8cc702081a6439ecUL,
            0x90befffa23631e28UL, 0xa4506cebde82bde9UL, 0xbef9a3f7b2c67915UL, 0xc67178f2e372532bUL,
            0xca273eceea26619cUL, 0xd186b8c721c0c207UL, 0xeada7dd6cde0eb1eUL, 0xf57d4f7fee6ed178UL,
            0x06f067aa72176fbaUL, 0x0a637dc5a2c898a6UL, 0x113f9804bef90daeUL, 0x1b710b35131c471bUL,
            0x28db77f523047d84UL, 0x32caab7b40c72493UL, 0x3c9ebe0a15c9bebcUL, 0x431d67c49c100d4cUL,
            0x4cc5d4becb3e42b6UL, 0x597f299cfc657e2aUL, 0x5fcb6fab3ad6faecUL, 0x6c44198c4a475817UL,
        };

        readonly ulong[] h = new ulong[8];
        readonly ulong[] w = new ulong[80];
        readonly byte[] block = new byte[BlockSize];
        int blockLen;
        ulong total;

        internal Sha512()
        {
            Reset();
        }

        // Reset starts a new hash.
        internal void Reset()
        {
            h[0] = 0x6a09e667f3bcc908UL;
            h[1] = 0xbb67ae8584caa73bUL;
            h[2] = 0x3c6ef372fe94f82bUL;
            h[3] = 0xa54ff53a5f1d36f1UL;
            h[4] = 0x510e527fade682d1UL;
            h[5] = 0x9b05688c2b3e6c1fUL;
            h[6] = 0x1f83d9abfb41bd6bUL;
            h[7] = 0x5be0cd19137e2179UL;
            blockLen = 0;
            total = 0;
        }

        // Update hashes data[off..off+len].
        internal void Update(byte[] data, int off, int len)
        {
            total += (ulong)len;
            if (blockLen > 0)
            {
                int n = BlockSize - blockLen;
                if (n > len)
                {
                    n = len;
                }
                System.Buffer.BlockCopy(data, off, block, blockLen, n);
                blockLen += n;
                off += n;
                len -= n;
                if (blockLen < BlockSize)
                {
                    return;
                }
                Compress(block, 0);
                blockLen = 0;
            }
            while (len >= BlockSize)
            {
                Compress(data, off);
                off += BlockSize;
                len -= BlockSize;
            }
            if (len > 0)
            {
                System.Buffer.BlockCopy(data, off, block, 0, len);
                blockLen = len;
            }
        }

        // Final writes the digest to dst[off..off+64] and resets.
        internal void Final(byte[] dst, int off)
        {
            ulong bits = total << 3;
            ulong bitsHigh = total >> 61;
            block[blockLen++] = 0x80;
            if (blockLen > BlockSize - 16)
            {
                for (int i = blockLen; i < BlockSize; i++)
                {
                    block[i] = 0;
                }
                Compress(block, 0);
                blockLen = 0;
            }
            for (int i = blockLen; i < BlockSize - 16; i++)
            {
                block[i] = 0;
            }
            PutBE(block, BlockSize - 16, bitsHigh);
            PutBE(block, BlockSize - 8, bits);
            Compress(block, 0);
            for (int i = 0; i < 8; i++)
            {
                PutBE(dst, off + 8 * i, h[i]);
            }
            // Nothing of the message (a passphrase, in CPace) stays behind.
            System.Array.Clear(block, 0, BlockSize);
            System.Array.Clear(w, 0, w.Length);
            Reset();
        }

        static void PutBE(byte[] b, int off, ulong v)
        {
            for (int i = 7; i >= 0; i--)
            {
                b[off + i] = (byte)v;
                v >>= 8;
            }
        }

        void Compress(byte[] p, int off)
        {
            ulong[] w = this.w;
            for (int i = 0; i < 16; i++)
            {
                int j = off + 8 * i;
                w[i] = (ulong)p[j] << 56 | (ulong)p[j + 1] << 48 | (ulong)p[j + 2] << 40 | (ulong)p[j + 3] << 32 |
                    (ulong)p[j + 4] << 24 | (ulong)p[j + 5] << 16 | (ulong)p[j + 6] << 8 | p[j + 7];
            }
            for (int i = 16; i < 80; i++)
            {
                ulong v1 = w[i - 2];
                ulong t1 = (v1 >> 19 | v1 << 45) ^ (v1 >> 61 | v1 << 3) ^ (v1 >> 6);
                ulong v2 = w[i - 15];
                ulong t2 = (v2 >> 1 | v2 << 63) ^ (v2 >> 8 | v2 << 56) ^ (v2 >> 7);
                w[i] = t1 + w[i - 7] + t2 + w[i - 16];
            }
            ulong a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
            for (int i = 0; i < 80; i++)
            {
                ulong s1 = (e >> 14 | e << 50) ^ (e >> 18 | e << 46) ^ (e >> 41 | e << 23);
                ulong ch = (e & f) ^ (~e & g);
                ulong t1 = hh + s1 + ch + k[i] + w[i];
                ulong s0 = (a >> 28 | a << 36) ^ (a >> 34 | a << 30) ^ (a >> 39 | a << 25);
                ulong maj = (a & b) ^ (a & c) ^ (b & c);
                ulong t2 = s0 + maj;
                hh = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
            }
            h[0] += a;
            h[1] += b;
            h[2] += c;
            h[3] += d;
            h[4] += e;
            h[5] += f;
            h[6] += g;
            h[7] += hh;
        }
    }
}

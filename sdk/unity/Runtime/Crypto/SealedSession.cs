using System;

namespace Arcade.Crypto
{
    // SealResult is the outcome of opening a sealed datagram: Ok, or the
    // drop reason of docs/PROTOCOL.md §17.4 to count it under.
    public enum SealResult
    {
        Ok,
        // Short: shorter than a header and the seal (bad_seal).
        Short,
        // Replayed: its packet number was accepted before or is too old
        // (replayed).
        Replayed,
        // BadSeal: it does not authenticate, header included (bad_seal).
        BadSeal,
        // BadSignature: it opens with the group key but the server did not
        // sign it: a headset of the venue forged it (bad_signature).
        BadSignature,
    }

    // SealedSession seals the client's datagrams to the server and opens
    // the server's datagrams to this client (docs/PROTOCOL.md §17.3):
    //
    //   header (additional data) | packet number u64 LE | ciphertext | tag (16 B)
    //
    // with AES-128-GCM under the direction's key and the nonce direction
    // (u32 LE: 0 client → server, 1 server → client) ‖ packet number. It
    // numbers its own datagrams from 0 and keeps a replay window for the
    // server's. Seal and Open allocate nothing; one instance is not safe for
    // concurrent use (seal on the sending thread and open on the receiving
    // one only with a lock, or make two instances from the same keys, one
    // for each: the sending one never opens, the receiving one never seals).
    public sealed class SealedSession : IDisposable
    {
        // Size of the packet number, and how much longer a sealed datagram
        // is than the same datagram in clear.
        public const int NumberSize = 8;
        public const int Overhead = NumberSize + AesGcm128.TagSize;

        // The nonce directions.
        public const uint ClientToServer = 0;
        public const uint ServerToClient = 1;
        public const uint Group = 2;

        readonly AesGcm128 tx, rx;
        readonly ReplayWindow window = new ReplayWindow();
        ulong next;

        // SealedSession takes the two 16-byte session keys (SealedKeys
        // ClientToServer and ServerToClient).
        public SealedSession(byte[] clientToServerKey, byte[] serverToClientKey)
        {
            tx = new AesGcm128(clientToServerKey);
            rx = new AesGcm128(serverToClientKey);
        }

        // NextNumber is the packet number the next Seal uses.
        public ulong NextNumber
        {
            get { return next; }
        }

        // Seal seals, in place, a datagram laid out in buf as header
        // buf[0..headerLen), then NumberSize bytes left free, then the body
        // buf[headerLen + 8 .. + bodyLen), with room for the 16-byte tag
        // after it. It writes the packet number and the tag and returns the
        // datagram's length, headerLen + Overhead + bodyLen.
        public int Seal(byte[] buf, int headerLen, int bodyLen)
        {
            ulong n = next++;
            PutU64(buf, headerLen, n);
            tx.Seal(ClientToServer, n, buf, headerLen + NumberSize, bodyLen, buf, 0, headerLen, buf, headerLen + NumberSize);
            return headerLen + Overhead + bodyLen;
        }

        // Open checks the server's datagram d[0..len) (its first headerLen
        // bytes the header) and writes its body to dst[dstOff..], bodyLen
        // bytes (dst may be d, at an offset of headerLen + 8 or less). Only
        // a datagram that passes every check moves the replay window. Never
        // throws.
        public SealResult Open(byte[] d, int len, int headerLen, byte[] dst, int dstOff, out int bodyLen)
        {
            return OpenWith(rx, ServerToClient, window, d, len, headerLen, 0, dst, dstOff, out bodyLen);
        }

        // OpenWith is the shared part of SealedSession.Open and
        // GroupOpener.Open: the checks up to the AEAD, trailer bytes (the
        // signature) excluded. The caller accepts the number.
        internal static SealResult OpenWith(AesGcm128 aead, uint dir, ReplayWindow w, byte[] d, int len, int headerLen,
            int trailer, byte[] dst, int dstOff, out int bodyLen)
        {
            bodyLen = 0;
            if (d == null || len < 0 || len > d.Length || headerLen < 0 || len - headerLen - trailer < Overhead)
            {
                return SealResult.Short;
            }
            ulong n = GetU64(d, headerLen);
            if (!w.IsFresh(n))
            {
                return SealResult.Replayed;
            }
            int sealedLen = len - headerLen - trailer - NumberSize;
            if (!aead.Open(dir, n, d, headerLen + NumberSize, sealedLen, d, 0, headerLen, dst, dstOff))
            {
                return SealResult.BadSeal;
            }
            bodyLen = sealedLen - AesGcm128.TagSize;
            if (trailer == 0)
            {
                w.Accept(n);
            }
            return SealResult.Ok;
        }

        // Dispose releases the AES transforms.
        public void Dispose()
        {
            tx.Dispose();
            rx.Dispose();
        }

        internal static void PutU64(byte[] b, int off, ulong v)
        {
            for (int i = 0; i < 8; i++)
            {
                b[off + i] = (byte)(v >> (8 * i));
            }
        }

        internal static ulong GetU64(byte[] b, int off)
        {
            ulong v = 0;
            for (int i = 7; i >= 0; i--)
            {
                v = v << 8 | b[off + i];
            }
            return v;
        }
    }

    // GroupOpener opens the multicast group's datagrams (docs/PROTOCOL.md
    // §17.3): sealed under the group key (nonce direction 2) and signed by
    // the server:
    //
    //   header | packet number u64 LE | ciphertext | tag (16 B) | signature (64 B)
    //
    // the Ed25519 signature covering everything before it. Every headset
    // holds the group key, so a datagram that opens but fails the signature
    // is a headset's forgery (BadSignature); it moves nothing. Open
    // allocates nothing; one instance is not safe for concurrent use.
    public sealed class GroupOpener : IDisposable
    {
        // Overhead is how much longer a signed group datagram is than the
        // same datagram in clear.
        public const int Overhead = SealedSession.Overhead + Ed25519.SignatureSize;

        readonly AesGcm128 aead;
        readonly byte[] serverKey;
        readonly ReplayWindow window = new ReplayWindow();

        // GroupOpener takes the 16-byte group key and the server's 32-byte
        // Ed25519 public key (SealedKeys GroupKey and ServerKey).
        public GroupOpener(byte[] groupKey, byte[] serverKey)
        {
            if (serverKey == null || serverKey.Length != Ed25519.PublicKeySize)
            {
                throw new ArgumentException("GroupOpener: the server key must be 32 bytes", "serverKey");
            }
            aead = new AesGcm128(groupKey);
            this.serverKey = (byte[])serverKey.Clone();
        }

        // Open checks the group datagram d[0..len) (its first headerLen
        // bytes the header) and writes its body to dst[dstOff..], bodyLen
        // bytes: Short, Replayed, BadSeal, BadSignature in that order, and
        // only a datagram that passes every check moves the replay window.
        // On BadSignature dst holds the forgery's plaintext: use dst only on
        // Ok. Never throws.
        public SealResult Open(byte[] d, int len, int headerLen, byte[] dst, int dstOff, out int bodyLen)
        {
            SealResult r = SealedSession.OpenWith(aead, SealedSession.Group, window, d, len, headerLen,
                Ed25519.SignatureSize, dst, dstOff, out bodyLen);
            if (r != SealResult.Ok)
            {
                return r;
            }
            int signed = len - Ed25519.SignatureSize;
            if (!Ed25519.Verify(serverKey, d, 0, signed, d, signed))
            {
                bodyLen = 0;
                return SealResult.BadSignature;
            }
            window.Accept(SealedSession.GetU64(d, headerLen));
            return SealResult.Ok;
        }

        // Dispose releases the AES transform.
        public void Dispose()
        {
            aead.Dispose();
        }
    }

    // ReplayWindow remembers which recent packet numbers were accepted
    // (RFC 6479's bitmap, as the Go server's): 16 words of 64 bits in a
    // ring, the word of the highest accepted number and those before it. A
    // number accepted before, or WindowSize - 64 = 960 or more below the
    // highest accepted, is not fresh; the spare word lets the window slide
    // without losing bits. No allocation after construction.
    public sealed class ReplayWindow
    {
        // WindowSize is the width of the window in packet numbers.
        public const int WindowSize = 1024;

        const int Words = WindowSize / 64;

        readonly ulong[] bits = new ulong[Words];
        ulong top; // highest accepted number + 1; 0: none yet

        // IsFresh reports whether n may be accepted.
        public bool IsFresh(ulong n)
        {
            if (n >= top)
            {
                return true;
            }
            if (top - 1 - n >= WindowSize - 64)
            {
                return false;
            }
            return (bits[(int)((n / 64) % Words)] & (1UL << (int)(n % 64))) == 0;
        }

        // Accept records n (after every other check of its datagram
        // passed).
        public void Accept(ulong n)
        {
            if (n >= top)
            {
                if (top > 0)
                {
                    // Clear the words between the old highest and the new one.
                    ulong last = n / 64, first = (top - 1) / 64 + 1, stop = (top - 1) / 64 + Words;
                    for (ulong word = first; word <= last && word <= stop; word++)
                    {
                        bits[(int)(word % Words)] = 0;
                    }
                }
                top = n + 1;
            }
            bits[(int)((n / 64) % Words)] |= 1UL << (int)(n % 64);
        }
    }
}

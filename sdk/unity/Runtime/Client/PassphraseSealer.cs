using System;
using Arcade.Crypto;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>The venue passphrase handshake (§17.2) on Arcade.Crypto's CPace: Begin draws the
    /// attempt's scalar and Ya once (kept for every resend of the attempt), Finish checks the
    /// server's confirmation tag, unwraps the group key and returns the session's sealer.</summary>
    public sealed class CpaceHandshake : IPassphraseHandshake
    {
        readonly byte[] passphrase;
        byte[] ya, Ya, sid;

        public CpaceHandshake(byte[] passphraseUtf8) { passphrase = (byte[])passphraseUtf8.Clone(); }

        public void Begin(byte[] cookie, ulong clientNonce, byte[] yaOut)
        {
            sid = Cpace.Sid(cookie, clientNonce);
            Ya = Cpace.Begin(passphrase, sid, out ya);
            Buffer.BlockCopy(Ya, 0, yaOut, 0, Cpace.MessageSize);
        }

        public ISealer Finish(Accepted a)
        {
            if (ya == null) return null;
            SealedKeys keys;
            bool ok = Cpace.Complete(ya, Ya, sid, a.Yb, a.ServerKey, a.GroupToken, a.Confirmation, 0, a.WrappedGroupKey, 0, out keys);
            ya = null; // zeroed by Complete: one call per attempt
            return ok ? new PassphraseSealer(keys) : null;
        }
    }

    /// <summary>ISealer on Arcade.Crypto (§17.3): one SealedSession that only seals (under the send
    /// lock), another from the same keys that only opens, and the group's opener that checks the
    /// server's signature. Nothing allocates per datagram.</summary>
    public sealed class PassphraseSealer : ISealer, IDisposable
    {
        readonly SealedSession tx, rx;
        readonly GroupOpener group;
        /// <summary>Datagrams refused, by reason.</summary>
        public long Replayed, BadSeal, BadSignature, Short;

        public PassphraseSealer(SealedKeys keys)
        {
            tx = new SealedSession(keys.ClientToServer, keys.ServerToClient);
            rx = new SealedSession(keys.ClientToServer, keys.ServerToClient);
            group = new GroupOpener(keys.GroupKey, keys.ServerKey);
        }

        public int Seal(byte[] buf, int len)
        {
            int body = len - Proto.HeaderSize;
            Buffer.BlockCopy(buf, Proto.HeaderSize, buf, Proto.HeaderSize + SealedSession.NumberSize, body); // room for the packet number
            return tx.Seal(buf, Proto.HeaderSize, body);
        }

        public int Open(byte[] buf, int len)
        {
            int n;
            return Count(rx.Open(buf, len, Proto.HeaderSize, buf, Proto.HeaderSize, out n)) ? n : -1;
        }

        // The signature covers the ciphertext, so a group datagram is opened into scratch (opening it
        // in place would overwrite what the signature check reads), then its body moved back.
        readonly byte[] groupBody = new byte[Proto.MaxDatagramSize];

        public int OpenGroup(byte[] buf, int len)
        {
            int n;
            if (!Count(group.Open(buf, len, Proto.HeaderSize, groupBody, 0, out n))) return -1;
            Buffer.BlockCopy(groupBody, 0, buf, Proto.HeaderSize, n);
            return n;
        }

        bool Count(SealResult r)
        {
            switch (r)
            {
                case SealResult.Ok: return true;
                case SealResult.Replayed: Replayed++; break;
                case SealResult.BadSignature: BadSignature++; break;
                case SealResult.Short: Short++; break;
                default: BadSeal++; break;
            }
            return false;
        }

        public void Dispose() { tx.Dispose(); rx.Dispose(); group.Dispose(); }
    }
}

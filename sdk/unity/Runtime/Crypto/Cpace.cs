using System;
using System.Security.Cryptography;

namespace Arcade.Crypto
{
    // Cpace is the client's (the initiator's) side of the venue passphrase
    // handshake, docs/PROTOCOL.md §17.1–17.2: CPace, the suite
    // CPACE-RISTR255-SHA512 of draft-irtf-cfrg-cpace-21, with PRS the
    // passphrase as UTF-8, CI "arcade v1", sid = cookie (32 bytes) ‖ client
    // nonce (u64 LE), ADa empty and ADb = server key (32 bytes) ‖ group token
    // (u64 LE); then the server's confirmation tag, the session keys and the
    // group key, unwrapped.
    //
    // A client with a passphrase, when the first Challenge of an attempt
    // arrives:
    //
    //   byte[] sid = Cpace.Sid(cookie, clientNonce);
    //   byte[] Ya = Cpace.Begin(passphraseUtf8, sid, out ya); // into the ChallengeResponse
    //
    // and on the Accepted (AcceptedSealed) with Yb, the server key, the
    // wrapped group key and the tag:
    //
    //   SealedKeys keys;
    //   if (!Cpace.Complete(ya, Ya, sid, Yb, serverKey, groupToken, tag, 0, wrapped, 0, out keys))
    //       → Denied(BadPassphrase): the server does not know the passphrase.
    //
    // Complete is Finish, CheckServerConfirm, SessionKeys and
    // UnwrapGroupKey in the order the spec gives. The lower-level members
    // (GeneratorString, Generator, ScalarMultVfy, Isk, Transcript, Confirm)
    // are the draft's functions, for its test vectors. Nothing here throws on
    // bad remote input: a bad Yb, tag or wrapped key makes the call return
    // false. The scalar, K and the generator are zeroed after use.
    public static class Cpace
    {
        // Sizes: Ya and Yb, the ISK, the confirmation tag, a scalar, the
        // cookie, the sid, the server key, the group key and its wrapped
        // form, and each session key.
        public const int MessageSize = 32;
        public const int IskSize = 64;
        public const int TagSize = 32;
        public const int ScalarSize = 32;
        public const int CookieSize = 32;
        public const int SidSize = CookieSize + 8;
        public const int ServerKeySize = 32;
        public const int GroupKeySize = 16;
        public const int WrappedKeySize = GroupKeySize + AesGcm128.TagSize;
        public const int SessionKeySize = 16;

        // Suite names the cipher suite, as the draft does.
        public const string Suite = "CPACE-RISTR255-SHA512";

        // The labels and HKDF infos of docs/PROTOCOL.md §17.1.
        public const string ServerToClientLabel = "arcade v1 cpace server to client";
        public const string SessionKeysInfo = "arcade v1 session keys";
        public const string GroupKeyWrapInfo = "arcade v1 group key wrap";

        const string Dsi = "CPaceRistretto255";
        const string DsiIsk = Dsi + "_ISK";
        const string MacLabel = "CPaceMac";
        const int SInBytes = 128; // SHA-512's block size

        static readonly byte[] channelId = Ascii("arcade v1");

        // ChannelId returns a copy of Arcade's CI, the 9 bytes "arcade v1".
        public static byte[] ChannelId()
        {
            return (byte[])channelId.Clone();
        }

        // Sid is cookie (32 bytes) ‖ clientNonce (u64 little-endian).
        public static byte[] Sid(byte[] cookie, ulong clientNonce)
        {
            if (cookie == null || cookie.Length != CookieSize)
            {
                throw new ArgumentException("Cpace.Sid: the cookie must be 32 bytes", "cookie");
            }
            var sid = new byte[SidSize];
            Buffer.BlockCopy(cookie, 0, sid, 0, CookieSize);
            PutU64(sid, CookieSize, clientNonce);
            return sid;
        }

        // Begin draws the client's secret scalar ya (32 random bytes with the
        // top four bits of the last cleared, never zero) and returns Ya,
        // the 32-byte message for the ChallengeResponse. Keep ya and Ya for
        // every resend of the attempt and for Finish/Complete.
        public static byte[] Begin(byte[] passphraseUtf8, byte[] sid, out byte[] ya)
        {
            ya = new byte[ScalarSize];
            using (var rng = RandomNumberGenerator.Create())
            {
                do
                {
                    rng.GetBytes(ya);
                    ya[ScalarSize - 1] &= 0x0f;
                }
                while (IsZero(ya));
            }
            return BeginWithScalar(passphraseUtf8, sid, ya);
        }

        // BeginWithScalar is Begin with the scalar given (its top four bits
        // are cleared in place, as sampling does): for fixed test vectors.
        public static byte[] BeginWithScalar(byte[] passphraseUtf8, byte[] sid, byte[] ya)
        {
            return Initiate(passphraseUtf8, channelId, sid, ya);
        }

        // Initiate is the draft's initiator message for any CI: Ya =
        // encode(ya · Generator(prs, ci, sid)).
        public static byte[] Initiate(byte[] prs, byte[] ci, byte[] sid, byte[] ya)
        {
            if (ya == null || ya.Length != ScalarSize)
            {
                throw new ArgumentException("Cpace: the scalar must be 32 bytes", "ya");
            }
            ya[ScalarSize - 1] &= 0x0f;
            byte[] g = Generator(prs, ci, sid);
            var Ya = new byte[MessageSize];
            Ristretto255.ScalarMult(Ya, 0, ya, 0, g, 0);
            Array.Clear(g, 0, g.Length);
            return Ya;
        }

        // Finish computes the ISK from the server's Yb (the Accepted's CPace
        // message), the server key and the group token of the Accepted, and
        // the attempt's ya, Ya and sid. It returns false (isk null) if Yb is
        // not a valid element or the shared point is the identity: abort
        // the attempt. It zeroes ya whatever the outcome: one call per
        // attempt. An ISK alone proves nothing; check the tag next
        // (CheckServerConfirm), or use Complete.
        public static bool Finish(byte[] ya, byte[] Ya, byte[] Yb, byte[] serverKey32, ulong groupToken, byte[] sid,
            out byte[] isk64)
        {
            isk64 = null;
            if (ya == null || ya.Length != ScalarSize)
            {
                return false;
            }
            try
            {
                if (Ya == null || Ya.Length != MessageSize || Yb == null || Yb.Length != MessageSize ||
                    serverKey32 == null || serverKey32.Length != ServerKeySize || sid == null)
                {
                    return false;
                }
                byte[] K;
                if (!ScalarMultVfy(ya, Yb, out K))
                {
                    return false;
                }
                isk64 = Isk(sid, K, Ya, new byte[0], Yb, Adb(serverKey32, groupToken));
                Array.Clear(K, 0, K.Length);
                return true;
            }
            finally
            {
                Array.Clear(ya, 0, ya.Length);
            }
        }

        // ServerConfirmTag is the tag the server sends in the Accepted: the
        // first 32 bytes of HMAC-SHA-512(SHA-512("CPaceMac" ‖ ISK),
        // lv_cat(label, transcript)) with the server-to-client label and
        // transcript = lv_cat(Ya, ADa) ‖ lv_cat(Yb, ADb).
        public static byte[] ServerConfirmTag(byte[] isk, byte[] Ya, byte[] Yb, byte[] serverKey32, ulong groupToken)
        {
            byte[] tr = Transcript(Ya, new byte[0], Yb, Adb(serverKey32, groupToken));
            return Confirm(isk, Ascii(ServerToClientLabel), tr);
        }

        // CheckServerConfirm reports, in constant time, whether
        // tag[tagOff..tagOff+32] is ServerConfirmTag(...). False on any bad
        // argument.
        public static bool CheckServerConfirm(byte[] isk, byte[] Ya, byte[] Yb, byte[] serverKey32, ulong groupToken,
            byte[] tag, int tagOff)
        {
            if (isk == null || isk.Length != IskSize || Ya == null || Yb == null || serverKey32 == null ||
                serverKey32.Length != ServerKeySize || tag == null || tagOff < 0 || tagOff > tag.Length - TagSize)
            {
                return false;
            }
            byte[] want = ServerConfirmTag(isk, Ya, Yb, serverKey32, groupToken);
            return ConstantTime.Equal(want, 0, tag, tagOff, TagSize);
        }

        // SessionKeys derives HKDF-SHA256(ISK, no salt, "arcade v1 session
        // keys", 32): the first 16 bytes the client-to-server key, the next
        // 16 the server-to-client key.
        public static void SessionKeys(byte[] isk, out byte[] clientToServer, out byte[] serverToClient)
        {
            byte[] k = Hkdf.DeriveKey(isk, null, Ascii(SessionKeysInfo), 2 * SessionKeySize);
            clientToServer = new byte[SessionKeySize];
            serverToClient = new byte[SessionKeySize];
            Buffer.BlockCopy(k, 0, clientToServer, 0, SessionKeySize);
            Buffer.BlockCopy(k, SessionKeySize, serverToClient, 0, SessionKeySize);
            Array.Clear(k, 0, k.Length);
        }

        // WrapKey is the key the group key travels under:
        // HKDF-SHA256(ISK, no salt, "arcade v1 group key wrap", 16).
        public static byte[] WrapKey(byte[] isk)
        {
            return Hkdf.DeriveKey(isk, null, Ascii(GroupKeyWrapInfo), GroupKeySize);
        }

        // UnwrapGroupKey opens the Accepted's wrapped group key
        // wrapped[off..off+32] (16 bytes of ciphertext, the 16-byte tag):
        // AES-128-GCM under WrapKey(isk), nonce 12 zero bytes, additional
        // data the group token (u64 LE). False (groupKey null) if it does
        // not open.
        public static bool UnwrapGroupKey(byte[] isk, ulong groupToken, byte[] wrapped, int off, out byte[] groupKey)
        {
            groupKey = null;
            if (isk == null || isk.Length != IskSize || wrapped == null || off < 0 ||
                off > wrapped.Length - WrappedKeySize)
            {
                return false;
            }
            byte[] wk = WrapKey(isk);
            var ad = new byte[8];
            PutU64(ad, 0, groupToken);
            var key = new byte[GroupKeySize];
            bool ok;
            using (var gcm = new AesGcm128(wk))
            {
                ok = gcm.Open(new byte[AesGcm128.NonceSize], 0, wrapped, off, WrappedKeySize, ad, 0, ad.Length, key, 0);
            }
            Array.Clear(wk, 0, wk.Length);
            if (ok)
            {
                groupKey = key;
            }
            return ok;
        }

        // Complete runs the whole client side of a sealed Accepted: Finish
        // (zeroing ya), the confirmation tag, the session keys and the group
        // key. False (keys null) means the server does not know the
        // passphrase or the Accepted is forged: end the attempt as
        // Denied(BadPassphrase) and send nothing more.
        public static bool Complete(byte[] ya, byte[] Ya, byte[] sid, byte[] Yb, byte[] serverKey32, ulong groupToken,
            byte[] tag, int tagOff, byte[] wrapped, int wrappedOff, out SealedKeys keys)
        {
            keys = null;
            byte[] isk;
            if (!Finish(ya, Ya, Yb, serverKey32, groupToken, sid, out isk))
            {
                return false;
            }
            try
            {
                if (!CheckServerConfirm(isk, Ya, Yb, serverKey32, groupToken, tag, tagOff))
                {
                    return false;
                }
                byte[] groupKey;
                if (!UnwrapGroupKey(isk, groupToken, wrapped, wrappedOff, out groupKey))
                {
                    return false;
                }
                byte[] c2s, s2c;
                SessionKeys(isk, out c2s, out s2c);
                keys = new SealedKeys(c2s, s2c, groupKey, (byte[])serverKey32.Clone());
                return true;
            }
            finally
            {
                Array.Clear(isk, 0, isk.Length);
            }
        }

        // PrependLen is the draft's prepend_len(x): LEB128(len(x)) ‖ x.
        public static byte[] PrependLen(byte[] x)
        {
            int n = LenSize(x.Length);
            var b = new byte[n + x.Length];
            int o = PutLen(b, 0, x.Length);
            Buffer.BlockCopy(x, 0, b, o, x.Length);
            return b;
        }

        // LvCat is lv_cat(parts…) = prepend_len(p0) ‖ prepend_len(p1) ‖ ….
        public static byte[] LvCat(params byte[][] parts)
        {
            int n = 0;
            foreach (byte[] p in parts)
            {
                n += LenSize(p.Length) + p.Length;
            }
            var b = new byte[n];
            int o = 0;
            foreach (byte[] p in parts)
            {
                o = PutLen(b, o, p.Length);
                Buffer.BlockCopy(p, 0, b, o, p.Length);
                o += p.Length;
            }
            return b;
        }

        // Transcript is transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) ‖
        // lv_cat(Yb, ADb).
        public static byte[] Transcript(byte[] Ya, byte[] adA, byte[] Yb, byte[] adB)
        {
            return LvCat(Ya, adA, Yb, adB);
        }

        // GeneratorString is generator_string("CPaceRistretto255", PRS, CI,
        // sid, 128): lv_cat(DSI, PRS, zero_bytes(z), CI, sid) with z =
        // max(0, 128 - len(prepend_len(PRS)) - len(prepend_len(DSI)) - 1).
        public static byte[] GeneratorString(byte[] prs, byte[] ci, byte[] sid)
        {
            byte[] dsi = Ascii(Dsi);
            int z = SInBytes - (LenSize(prs.Length) + prs.Length) - (LenSize(dsi.Length) + dsi.Length) - 1;
            if (z < 0)
            {
                z = 0;
            }
            return LvCat(dsi, prs, new byte[z], ci, sid);
        }

        // Generator is the encoding of g = the ristretto255 one-way map of
        // SHA-512(GeneratorString(prs, ci, sid)). It is as secret as the
        // passphrase; callers zero it.
        public static byte[] Generator(byte[] prs, byte[] ci, byte[] sid)
        {
            byte[] gs = GeneratorString(prs, ci, sid);
            var h = new byte[Sha512.Size];
            var sha = new Sha512();
            sha.Update(gs, 0, gs.Length);
            sha.Final(h, 0);
            Array.Clear(gs, 0, gs.Length);
            var g = new byte[Ristretto255.Size];
            Ristretto255.FromUniformBytes(g, 0, h, 0);
            Array.Clear(h, 0, h.Length);
            return g;
        }

        // ScalarMultVfy is the draft's scalar_mult_vfy(y, X) with the abort
        // check: K = encode(y · decode(X)); false (K null) if X is not a
        // valid encoding or K is the identity.
        public static bool ScalarMultVfy(byte[] y, byte[] X, out byte[] K)
        {
            K = null;
            if (y == null || y.Length != ScalarSize || X == null || X.Length != MessageSize)
            {
                return false;
            }
            var k = new byte[MessageSize];
            if (!Ristretto255.ScalarMult(k, 0, y, 0, X, 0) || Ristretto255.IsIdentity(k, 0))
            {
                return false;
            }
            K = k;
            return true;
        }

        // Isk is SHA-512(lv_cat("CPaceRistretto255_ISK", sid, K) ‖
        // transcript_ir(Ya, ADa, Yb, ADb)).
        public static byte[] Isk(byte[] sid, byte[] K, byte[] Ya, byte[] adA, byte[] Yb, byte[] adB)
        {
            byte[] a = LvCat(Ascii(DsiIsk), sid, K);
            byte[] t = Transcript(Ya, adA, Yb, adB);
            var sha = new Sha512();
            sha.Update(a, 0, a.Length);
            sha.Update(t, 0, t.Length);
            var isk = new byte[IskSize];
            sha.Final(isk, 0);
            Array.Clear(a, 0, a.Length);
            return isk;
        }

        // Confirm is Arcade's key confirmation tag: the first 32 bytes of
        // HMAC-SHA-512(SHA-512("CPaceMac" ‖ isk), lv_cat(label, transcript)).
        public static byte[] Confirm(byte[] isk, byte[] label, byte[] transcript)
        {
            byte[] mac = Ascii(MacLabel);
            var kin = new byte[mac.Length + isk.Length];
            Buffer.BlockCopy(mac, 0, kin, 0, mac.Length);
            Buffer.BlockCopy(isk, 0, kin, mac.Length, isk.Length);
            var key = new byte[Sha512.Size];
            var sha = new Sha512();
            sha.Update(kin, 0, kin.Length);
            sha.Final(key, 0);
            Array.Clear(kin, 0, kin.Length);
            byte[] sum;
            using (var h = new HMACSHA512(key))
            {
                sum = h.ComputeHash(LvCat(label, transcript));
            }
            Array.Clear(key, 0, key.Length);
            var tag = new byte[TagSize];
            Buffer.BlockCopy(sum, 0, tag, 0, TagSize);
            Array.Clear(sum, 0, sum.Length);
            return tag;
        }

        static byte[] Adb(byte[] serverKey32, ulong groupToken)
        {
            var ad = new byte[ServerKeySize + 8];
            Buffer.BlockCopy(serverKey32, 0, ad, 0, ServerKeySize);
            PutU64(ad, ServerKeySize, groupToken);
            return ad;
        }

        static int LenSize(int n)
        {
            int s = 1;
            for (uint u = (uint)n; u >= 0x80; u >>= 7)
            {
                s++;
            }
            return s;
        }

        static int PutLen(byte[] b, int o, int n)
        {
            uint u = (uint)n;
            while (u >= 0x80)
            {
                b[o++] = (byte)(u | 0x80);
                u >>= 7;
            }
            b[o++] = (byte)u;
            return o;
        }

        static void PutU64(byte[] b, int o, ulong v)
        {
            for (int i = 0; i < 8; i++)
            {
                b[o + i] = (byte)(v >> (8 * i));
            }
        }

        static bool IsZero(byte[] b)
        {
            int acc = 0;
            foreach (byte x in b)
            {
                acc |= x;
            }
            return acc == 0;
        }

        static byte[] Ascii(string s)
        {
            var b = new byte[s.Length];
            for (int i = 0; i < s.Length; i++)
            {
                b[i] = (byte)s[i];
            }
            return b;
        }
    }
}

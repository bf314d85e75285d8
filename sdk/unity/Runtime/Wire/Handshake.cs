namespace Arcade.Wire
{
    // The handshake's bodies (§6.1–§6.5). Each codec: Write(b, o) writes the body at
    // b[o..] and returns the offset after it; Parse(b, o, n) reads the body b[o..o+n)
    // and returns false, leaving the value unchanged in meaning, when §6 says "ignored".
    // Bytes after a body are ignored (§1).

    /// <summary>A name of at most 32 bytes of UTF-8 (§4), held in a fixed buffer.</summary>
    public sealed class Name
    {
        public readonly byte[] Bytes = new byte[Proto.MaxNameLen];
        public int Length;

        public void Set(string s) { Length = Wire.Bytes.PutUtf8Cut(s ?? "", Proto.MaxNameLen, Bytes, 0); }

        public override string ToString() { return System.Text.Encoding.UTF8.GetString(Bytes, 0, Length); }

        public int Write(byte[] b, int o)
        {
            b[o] = (byte)Length;
            System.Buffer.BlockCopy(Bytes, 0, b, o + 1, Length);
            return o + 1 + Length;
        }

        /// <summary>Reads a length byte and the name at b[o..end); returns the offset after it, or -1.</summary>
        public int Read(byte[] b, int o, int end)
        {
            if (o >= end) return -1;
            int n = b[o];
            if (n > Proto.MaxNameLen || o + 1 + n > end || !Wire.Bytes.ValidUtf8(b, o + 1, n)) return -1;
            System.Buffer.BlockCopy(b, o + 1, Bytes, 0, n);
            Length = n;
            return o + 1 + n;
        }
    }

    public sealed class ConnectRequest
    {
        public ulong Nonce;
        public byte Flags;
        public readonly Name Name = new Name();
        public const int BodySize = Proto.MaxBodySize; // padded: the datagram is 1200 bytes

        public int Write(byte[] b, int o)
        {
            Bytes.PutU64(b, o, Nonce);
            b[o + 8] = Flags;
            int e = Name.Write(b, o + 9);
            Bytes.Zero(b, e, o + BodySize - e);
            return o + BodySize;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize) return false;
            if (Name.Read(b, o + 9, o + n) < 0) return false;
            Nonce = Bytes.U64(b, o);
            Flags = b[o + 8];
            return true;
        }
    }

    public sealed class Challenge
    {
        public ulong Nonce;
        public readonly byte[] Cookie = new byte[Proto.CookieSize];
        public const int BodySize = 8 + Proto.CookieSize;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU64(b, o, Nonce);
            System.Buffer.BlockCopy(Cookie, 0, b, o + 8, Proto.CookieSize);
            return o + BodySize;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize) return false;
            Nonce = Bytes.U64(b, o);
            System.Buffer.BlockCopy(b, o + 8, Cookie, 0, Proto.CookieSize);
            return true;
        }
    }

    public sealed class ChallengeResponse
    {
        public ulong Nonce;
        public byte Flags;
        public readonly Name Name = new Name();
        public readonly byte[] Cookie = new byte[Proto.CookieSize];
        public readonly byte[] PlayerId = new byte[Proto.PlayerIdSize];
        /// <summary>The client's CPace message Ya, sent when Flags has ConnectFlags.HasPake.</summary>
        public readonly byte[] Pake = new byte[Proto.PakeSize];

        public bool HasPake { get { return (Flags & ConnectFlags.HasPake) != 0; } }

        public int Write(byte[] b, int o)
        {
            Bytes.PutU64(b, o, Nonce);
            b[o + 8] = Flags;
            int e = Name.Write(b, o + 9);
            System.Buffer.BlockCopy(Cookie, 0, b, e, Proto.CookieSize);
            e += Proto.CookieSize;
            System.Buffer.BlockCopy(PlayerId, 0, b, e, Proto.PlayerIdSize);
            e += Proto.PlayerIdSize;
            if (HasPake)
            {
                System.Buffer.BlockCopy(Pake, 0, b, e, Proto.PakeSize);
                e += Proto.PakeSize;
            }
            return e;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < 10) return false;
            int end = o + n;
            int e = Name.Read(b, o + 9, end);
            if (e < 0) return false;
            byte flags = b[o + 8];
            int need = Proto.CookieSize + Proto.PlayerIdSize + ((flags & ConnectFlags.HasPake) != 0 ? Proto.PakeSize : 0);
            if (e + need > end) return false;
            Nonce = Bytes.U64(b, o);
            Flags = flags;
            System.Buffer.BlockCopy(b, e, Cookie, 0, Proto.CookieSize);
            System.Buffer.BlockCopy(b, e + Proto.CookieSize, PlayerId, 0, Proto.PlayerIdSize);
            if (HasPake) System.Buffer.BlockCopy(b, e + Proto.CookieSize + Proto.PlayerIdSize, Pake, 0, Proto.PakeSize);
            return true;
        }
    }

    public sealed class Accepted
    {
        public ulong Nonce;
        public ushort ClientId;
        public ushort TickRate;
        public ulong ServerTime;
        public readonly byte[] McastAddr = new byte[4];
        public ushort McastPort;
        public ulong GroupToken;
        public byte Flags;
        // With AcceptedFlags.Sealed (§17.2):
        public readonly byte[] Yb = new byte[32];
        public readonly byte[] ServerKey = new byte[32];
        public readonly byte[] WrappedGroupKey = new byte[32];
        public readonly byte[] Confirmation = new byte[32];

        public bool Sealed { get { return (Flags & AcceptedFlags.Sealed) != 0; } }
        public bool Unicast { get { return (Flags & AcceptedFlags.Unicast) != 0; } }
        public bool Resumed { get { return (Flags & AcceptedFlags.Resumed) != 0; } }
        public bool NoGroup { get { return McastAddr[0] == 0 && McastAddr[1] == 0 && McastAddr[2] == 0 && McastAddr[3] == 0 && McastPort == 0; } }

        public int Write(byte[] b, int o)
        {
            Bytes.PutU64(b, o, Nonce);
            Bytes.PutU16(b, o + 8, ClientId);
            Bytes.PutU16(b, o + 10, TickRate);
            Bytes.PutU64(b, o + 12, ServerTime);
            System.Buffer.BlockCopy(McastAddr, 0, b, o + 20, 4);
            Bytes.PutU16(b, o + 24, McastPort);
            Bytes.PutU64(b, o + 26, GroupToken);
            b[o + 34] = Flags;
            if (!Sealed) return o + Proto.AcceptedSize;
            System.Buffer.BlockCopy(Yb, 0, b, o + 35, 32);
            System.Buffer.BlockCopy(ServerKey, 0, b, o + 67, 32);
            System.Buffer.BlockCopy(WrappedGroupKey, 0, b, o + 99, 32);
            System.Buffer.BlockCopy(Confirmation, 0, b, o + 131, 32);
            return o + Proto.AcceptedSealedSize;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < Proto.AcceptedSize) return false;
            byte flags = b[o + 34];
            if ((flags & AcceptedFlags.Sealed) != 0 && n < Proto.AcceptedSealedSize) return false;
            Nonce = Bytes.U64(b, o);
            ClientId = Bytes.U16(b, o + 8);
            TickRate = Bytes.U16(b, o + 10);
            ServerTime = Bytes.U64(b, o + 12);
            System.Buffer.BlockCopy(b, o + 20, McastAddr, 0, 4);
            McastPort = Bytes.U16(b, o + 24);
            GroupToken = Bytes.U64(b, o + 26);
            Flags = flags;
            if (Sealed)
            {
                System.Buffer.BlockCopy(b, o + 35, Yb, 0, 32);
                System.Buffer.BlockCopy(b, o + 67, ServerKey, 0, 32);
                System.Buffer.BlockCopy(b, o + 99, WrappedGroupKey, 0, 32);
                System.Buffer.BlockCopy(b, o + 131, Confirmation, 0, 32);
            }
            return true;
        }
    }

    public sealed class Denied
    {
        public ulong Nonce;
        public DenyReason Reason;
        public const int BodySize = 9;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU64(b, o, Nonce);
            b[o + 8] = (byte)Reason;
            return o + BodySize;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize || b[o + 8] == 0) return false;
            Nonce = Bytes.U64(b, o);
            Reason = (DenyReason)b[o + 8];
            return true;
        }
    }
}

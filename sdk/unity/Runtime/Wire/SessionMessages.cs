namespace Arcade.Wire
{
    /// <summary>Ping (§6.8).</summary>
    public sealed class Ping
    {
        public uint Id;
        public ulong ClientTime;
        public const int BodySize = 12;

        public int Write(byte[] b, int o) { Bytes.PutU32(b, o, Id); return Bytes.PutU64(b, o + 4, ClientTime); }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize) return false;
            Id = Bytes.U32(b, o); ClientTime = Bytes.U64(b, o + 4);
            return true;
        }
    }

    /// <summary>Pong (§6.9).</summary>
    public sealed class Pong
    {
        public uint Id;
        public ulong ClientTime, ServerReceive, ServerSend;
        public const int BodySize = 28;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU32(b, o, Id);
            Bytes.PutU64(b, o + 4, ClientTime);
            Bytes.PutU64(b, o + 12, ServerReceive);
            return Bytes.PutU64(b, o + 20, ServerSend);
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize) return false;
            Id = Bytes.U32(b, o);
            ClientTime = Bytes.U64(b, o + 4);
            ServerReceive = Bytes.U64(b, o + 12);
            ServerSend = Bytes.U64(b, o + 20);
            return true;
        }
    }

    /// <summary>Disconnect (§6.10).</summary>
    public sealed class Disconnect
    {
        public DisconnectReason Reason;
        public const int BodySize = 1;

        public int Write(byte[] b, int o) { b[o] = (byte)Reason; return o + 1; }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize || b[o] == 0) return false;
            Reason = (DisconnectReason)b[o];
            return true;
        }
    }

    /// <summary>DeliveryProbe (§6.12).</summary>
    public sealed class DeliveryProbe
    {
        public uint Tick;
        public ulong ServerTime;
        public ushort GroupSeq;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU32(b, o, Tick);
            Bytes.PutU64(b, o + 4, ServerTime);
            return Bytes.PutU16(b, o + 12, GroupSeq);
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < Proto.DeliveryProbeSize) return false;
            Tick = Bytes.U32(b, o); ServerTime = Bytes.U64(b, o + 4); GroupSeq = Bytes.U16(b, o + 12);
            return true;
        }
    }

    /// <summary>DeliveryReport (§6.13).</summary>
    public sealed class DeliveryReport
    {
        public ushort WindowMs, McastReceived, McastLost, Samples;
        public int ExcessP50, ExcessP90;
        public byte Flags;
        public ushort UnicastLoss;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU16(b, o, WindowMs);
            Bytes.PutU16(b, o + 2, McastReceived);
            Bytes.PutU16(b, o + 4, McastLost);
            Bytes.PutU16(b, o + 6, Samples);
            Bytes.PutU32(b, o + 8, (uint)ExcessP50);
            Bytes.PutU32(b, o + 12, (uint)ExcessP90);
            b[o + 16] = Flags;
            return Bytes.PutU16(b, o + 17, UnicastLoss);
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < Proto.DeliveryReportSize) return false;
            ushort w = Bytes.U16(b, o), loss = Bytes.U16(b, o + 17);
            if (w == 0 || (loss > Proto.MaxUnicastLoss && loss != Proto.UnicastLossUnknown)) return false;
            WindowMs = w;
            McastReceived = Bytes.U16(b, o + 2);
            McastLost = Bytes.U16(b, o + 4);
            Samples = Bytes.U16(b, o + 6);
            ExcessP50 = (int)Bytes.U32(b, o + 8);
            ExcessP90 = (int)Bytes.U32(b, o + 12);
            Flags = b[o + 16];
            UnicastLoss = loss;
            return true;
        }
    }

    /// <summary>Message (§6.14): the reliable channel's payload, referenced in place.</summary>
    public struct MessageBody
    {
        /// <summary>Offset of the payload in the datagram buffer, and its length L.</summary>
        public int PayloadOffset, PayloadLength;

        public static int WriteHeader(byte[] b, int o, int payloadLength) { return Bytes.PutU16(b, o, (ushort)payloadLength); }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < Proto.MessageHeaderSize) return false;
            int l = Bytes.U16(b, o);
            if (l > Proto.MaxMessagePayload || n < Proto.MessageHeaderSize + l) return false;
            PayloadOffset = o + Proto.MessageHeaderSize;
            PayloadLength = l;
            return true;
        }
    }

    /// <summary>StateDelta (§6.15): the fixed fields and the bit payload, referenced in place.</summary>
    public sealed class StateDeltaHeader
    {
        public uint Tick;
        public ulong ServerTime;
        public uint BaselineTick;
        public byte Part, Parts;
        public ushort PlayerCount, EntityCount;
        public byte Flags;
        public ulong Hash;
        public ushort PlayerFrom, PlayerTo, EntityFrom, EntityTo, PlayerRecords, EntityRecords, PayloadBits;
        public int PayloadOffset;

        public const byte FlagHasHash = 1, FlagKeyframe = 2;

        public int Write(byte[] b, int o, byte[] payload, int payloadOffset)
        {
            Bytes.PutU32(b, o, Tick);
            Bytes.PutU64(b, o + 4, ServerTime);
            Bytes.PutU32(b, o + 12, BaselineTick);
            b[o + 16] = Part; b[o + 17] = Parts;
            Bytes.PutU16(b, o + 18, PlayerCount);
            Bytes.PutU16(b, o + 20, EntityCount);
            b[o + 22] = Flags;
            int h = o + 23;
            if ((Flags & FlagHasHash) != 0) h = Bytes.PutU64(b, h, Hash);
            Bytes.PutU16(b, h, PlayerFrom); Bytes.PutU16(b, h + 2, PlayerTo);
            Bytes.PutU16(b, h + 4, EntityFrom); Bytes.PutU16(b, h + 6, EntityTo);
            Bytes.PutU16(b, h + 8, PlayerRecords); Bytes.PutU16(b, h + 10, EntityRecords);
            Bytes.PutU16(b, h + 12, PayloadBits);
            int nb = (PayloadBits + 7) / 8;
            System.Buffer.BlockCopy(payload, payloadOffset, b, h + 14, nb);
            return h + 14 + nb;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < 23) return false;
            byte flags = b[o + 22];
            int h = o + 23 + ((flags & FlagHasHash) != 0 ? 8 : 0);
            int end = o + n;
            if (h + 14 > end) return false;
            int bits = Bytes.U16(b, h + 12);
            if (h + 14 + (bits + 7) / 8 > end) return false;
            byte part = b[o + 16], parts = b[o + 17];
            uint baseline = Bytes.U32(b, o + 12);
            if (parts == 0 || part >= parts) return false;
            if ((flags & FlagKeyframe) != 0 && baseline != 0) return false;
            Tick = Bytes.U32(b, o); ServerTime = Bytes.U64(b, o + 4); BaselineTick = baseline;
            Part = part; Parts = parts;
            PlayerCount = Bytes.U16(b, o + 18); EntityCount = Bytes.U16(b, o + 20);
            Flags = flags;
            Hash = (flags & FlagHasHash) != 0 ? Bytes.U64(b, o + 23) : 0;
            PlayerFrom = Bytes.U16(b, h); PlayerTo = Bytes.U16(b, h + 2);
            EntityFrom = Bytes.U16(b, h + 4); EntityTo = Bytes.U16(b, h + 6);
            PlayerRecords = Bytes.U16(b, h + 8); EntityRecords = Bytes.U16(b, h + 10);
            PayloadBits = (ushort)bits;
            PayloadOffset = h + 14;
            return true;
        }
    }
}

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
}

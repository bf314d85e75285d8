namespace Arcade.Wire
{
    /// <summary>Why a datagram's header was refused (§2, "Header receive rules").</summary>
    public enum HeaderError { None, Short, Long, Magic, Version, Type }

    /// <summary>The 22-byte header every datagram starts with (§2).</summary>
    public struct Header
    {
        public byte Version;
        public byte Type;
        public byte Flags;
        public ulong Token;
        public ushort Seq;
        public ushort Ack;
        public uint AckBits;

        public const int OffType = 4, OffFlags = 5, OffToken = 6, OffSeq = 14, OffAck = 16, OffAckBits = 18;

        /// <summary>Writes the header (version 1 unless Version is set) at b[0..22) and returns 22.</summary>
        public int Write(byte[] b)
        {
            b[0] = 0x41; b[1] = 0x52; b[2] = 0x43;
            b[3] = Version == 0 ? Proto.Version : Version;
            b[4] = Type;
            b[5] = Flags;
            Bytes.PutU64(b, OffToken, Token);
            Bytes.PutU16(b, OffSeq, Seq);
            Bytes.PutU16(b, OffAck, Ack);
            Bytes.PutU32(b, OffAckBits, AckBits);
            return Proto.HeaderSize;
        }

        /// <summary>Reads the header of the datagram b[0..len) under the rules of §2, in their order.
        /// On Version the fields are filled (the caller may apply §7.5).</summary>
        public HeaderError Parse(byte[] b, int len)
        {
            if (len < Proto.HeaderSize) return HeaderError.Short;
            if (len > Proto.MaxDatagramSize) return HeaderError.Long;
            if (b[0] != 0x41 || b[1] != 0x52 || b[2] != 0x43) return HeaderError.Magic;
            Version = b[3];
            Type = b[4];
            Flags = b[5];
            Token = Bytes.U64(b, OffToken);
            Seq = Bytes.U16(b, OffSeq);
            Ack = Bytes.U16(b, OffAck);
            AckBits = Bytes.U32(b, OffAckBits);
            if (Version != Proto.Version) return HeaderError.Version;
            if (Type == 0 || Type > PacketType.Max) return HeaderError.Type;
            return HeaderError.None;
        }

        /// <summary>Whether sequence a is newer than b, with wraparound (§8.2).</summary>
        public static bool SeqNewer(ushort a, ushort b) { return (short)(a - b) > 0; }
    }
}

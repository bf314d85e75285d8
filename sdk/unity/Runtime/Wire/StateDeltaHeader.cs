namespace Arcade.Wire
{
    /// <summary>StateDelta (§6.15): the fixed fields, and the payload referenced in place. The
    /// payload is bit-packed, or range-coded with FlagCoded; a repair part (FlagParity) carries a
    /// sum of its tick's data part bodies instead of records (§10.4). Parse applies the drop rules
    /// of §6.15; bytes after the payload are ignored (§11).</summary>
    public sealed class StateDeltaHeader
    {
        public uint Tick;
        public ulong ServerTime;
        public uint BaselineTick;
        public byte Part, Parts;
        public ushort PlayerCount, EntityCount;
        public byte Flags;
        public ulong Hash;
        /// <summary>With FlagPrior: a tick older than the baseline that the receiver holds too.</summary>
        public uint PriorTick;
        public ushort PlayerFrom, PlayerTo, EntityFrom, EntityTo, PlayerRecords, EntityRecords, PayloadBits;
        /// <summary>Offset of the payload in the datagram buffer; RangesOffset, of `player ids from`
        /// (where a repair part's sum starts, §10.4 "Parity").</summary>
        public int PayloadOffset, RangesOffset;

        public const byte FlagHasHash = 1 << 0, FlagKeyframe = 1 << 1, FlagCoded = 1 << 2, FlagAvatarGrid = 1 << 3,
            FlagPrior = 1 << 4, FlagPriorEntities = 1 << 5, FlagParity = 1 << 6;
        /// <summary>The flags that mean something only with FlagCoded.</summary>
        public const byte CodedOnly = FlagAvatarGrid | FlagPrior | FlagPriorEntities | FlagParity;

        // Body offsets (§6.15).
        public const int OffTick = 0, OffServerTime = 4, OffBaseline = 12, OffPart = 16, OffParts = 17,
            OffPlayerCount = 18, OffEntityCount = 20, OffFlags = 22, OffOptional = 23;
        public const int HashSize = 8, PriorSize = 4, RangesSize = 14;
        /// <summary>How much longer a repair part may be than its tick's longest data part.</summary>
        public const int ParityRoom = 14;

        public bool Coded { get { return (Flags & FlagCoded) != 0; } }
        public bool IsParity { get { return (Flags & FlagParity) != 0; } }
        public bool HasPrior { get { return (Flags & FlagPrior) != 0; } }
        public int PayloadLength { get { return (PayloadBits + 7) / 8; } }

        /// <summary>Length of the fields every part of a tick shares, up to `player ids from`: 23,
        /// plus the hash and the prior tick when the flags have them.</summary>
        public static int CommonLength(byte flags)
        {
            int h = OffOptional;
            if ((flags & FlagHasHash) != 0) h += HashSize;
            if ((flags & FlagPrior) != 0) h += PriorSize;
            return h;
        }

        public int Write(byte[] b, int o, byte[] payload, int payloadOffset)
        {
            Bytes.PutU32(b, o + OffTick, Tick);
            Bytes.PutU64(b, o + OffServerTime, ServerTime);
            Bytes.PutU32(b, o + OffBaseline, BaselineTick);
            b[o + OffPart] = Part; b[o + OffParts] = Parts;
            Bytes.PutU16(b, o + OffPlayerCount, PlayerCount);
            Bytes.PutU16(b, o + OffEntityCount, EntityCount);
            b[o + OffFlags] = Flags;
            int h = o + OffOptional;
            if ((Flags & FlagHasHash) != 0) h = Bytes.PutU64(b, h, Hash);
            if ((Flags & FlagPrior) != 0) h = Bytes.PutU32(b, h, PriorTick);
            Bytes.PutU16(b, h, PlayerFrom); Bytes.PutU16(b, h + 2, PlayerTo);
            Bytes.PutU16(b, h + 4, EntityFrom); Bytes.PutU16(b, h + 6, EntityTo);
            Bytes.PutU16(b, h + 8, PlayerRecords); Bytes.PutU16(b, h + 10, EntityRecords);
            Bytes.PutU16(b, h + 12, PayloadBits);
            int nb = PayloadLength;
            System.Buffer.BlockCopy(payload, payloadOffset, b, h + RangesSize, nb);
            if ((PayloadBits & 7) != 0) b[h + RangesSize + nb - 1] &= (byte)((1 << (PayloadBits & 7)) - 1); // padding bits are 0
            return h + RangesSize + nb;
        }

        /// <summary>The drop rules of §6.15 on the fixed fields.</summary>
        static bool Valid(byte flags, byte part, byte parts, uint baseline, uint prior, int bits, int records)
        {
            if (parts == 0 || part >= parts && (flags & FlagParity) == 0) return false;
            if ((flags & FlagKeyframe) != 0 && baseline != 0) return false;
            bool coded = (flags & FlagCoded) != 0;
            if (!coded && (flags & CodedOnly) != 0) return false;
            if (coded && (bits & 7) != 0) return false;
            if ((flags & FlagPriorEntities) != 0 && (flags & FlagPrior) == 0) return false;
            if ((flags & FlagParity) != 0 && (part + parts > 255 || records != 0)) return false; // repair index j ≤ 255 − parts
            if ((flags & FlagPrior) != 0 && ((flags & FlagKeyframe) != 0 || (int)(baseline - prior) <= 0)) return false;
            return true;
        }

        /// <summary>Parses the body b[o, o+n); false (this unchanged) when it is to be dropped.</summary>
        public bool Parse(byte[] b, int o, int n)
        {
            if (n < OffOptional || n > Proto.MaxBodySize) return false;
            byte flags = b[o + OffFlags];
            int h = o + CommonLength(flags);
            int end = o + n;
            if (h + RangesSize > end) return false;
            int bits = Bytes.U16(b, h + 12);
            if (h + RangesSize + (bits + 7) / 8 > end) return false;
            byte part = b[o + OffPart], parts = b[o + OffParts];
            uint baseline = Bytes.U32(b, o + OffBaseline);
            uint prior = (flags & FlagPrior) != 0 ? Bytes.U32(b, h - PriorSize) : 0;
            int records = Bytes.U16(b, h + 8) + Bytes.U16(b, h + 10);
            if (!Valid(flags, part, parts, baseline, prior, bits, records)) return false;
            Tick = Bytes.U32(b, o + OffTick); ServerTime = Bytes.U64(b, o + OffServerTime); BaselineTick = baseline;
            Part = part; Parts = parts;
            PlayerCount = Bytes.U16(b, o + OffPlayerCount); EntityCount = Bytes.U16(b, o + OffEntityCount);
            Flags = flags;
            Hash = (flags & FlagHasHash) != 0 ? Bytes.U64(b, o + OffOptional) : 0;
            PriorTick = prior;
            PlayerFrom = Bytes.U16(b, h); PlayerTo = Bytes.U16(b, h + 2);
            EntityFrom = Bytes.U16(b, h + 4); EntityTo = Bytes.U16(b, h + 6);
            PlayerRecords = Bytes.U16(b, h + 8); EntityRecords = Bytes.U16(b, h + 10);
            PayloadBits = (ushort)bits;
            RangesOffset = h;
            PayloadOffset = h + RangesSize;
            return true;
        }
    }
}

namespace Arcade.Wire
{
    /// <summary>One chunk of a reliable channel payload (§15.1), referenced in place.</summary>
    public struct Chunk
    {
        public const int HeaderSize = 5, FragmentExtSize = 8;
        public const byte KindFragment = 0x80, KindStreamMask = 0x7f;
        public const int UnreliableStream = 127;
        public const int Streams = 4;
        public const int MaxMessage = 262144;
        public const int MaxFragments = 65536;

        public int Stream;
        public bool Fragment;
        public ushort MsgId;
        public int Length;
        public uint MsgLen;
        public ushort FragSize, Index;
        public int DataOffset;

        /// <summary>Reads the chunk at b[o..end) under the rules of §15.2; returns the offset after it, or -1 when the payload must be ignored.</summary>
        public int Parse(byte[] b, int o, int end)
        {
            if (end - o < HeaderSize) return -1;
            byte kind = b[o];
            Stream = kind & KindStreamMask;
            Fragment = (kind & KindFragment) != 0;
            MsgId = Bytes.U16(b, o + 1);
            Length = Bytes.U16(b, o + 3);
            if (Stream >= Streams && Stream != UnreliableStream) return -1;
            if (Stream == UnreliableStream && Fragment) return -1;
            if (Length > MaxMessage) return -1;
            int d = o + HeaderSize;
            if (Fragment)
            {
                if (end - o < HeaderSize + FragmentExtSize) return -1;
                MsgLen = Bytes.U32(b, o + 5);
                FragSize = Bytes.U16(b, o + 9);
                Index = Bytes.U16(b, o + 11);
                if (MsgLen == 0 || FragSize == 0 || MsgLen > MaxMessage) return -1;
                long count = (MsgLen + (long)FragSize - 1) / FragSize;
                if (count > MaxFragments || Index >= count) return -1;
                long want = System.Math.Min((long)FragSize, MsgLen - (long)Index * FragSize);
                if (Length != want) return -1;
                d += FragmentExtSize;
            }
            else
            {
                MsgLen = (uint)Length; FragSize = 0; Index = 0;
            }
            if (end - d < Length) return -1;
            DataOffset = d;
            return d + Length;
        }

        /// <summary>Writes a whole-message chunk header at b[o..] and returns the data offset.</summary>
        public static int WriteWhole(byte[] b, int o, int stream, ushort msgId, int length)
        {
            b[o] = (byte)stream;
            Bytes.PutU16(b, o + 1, msgId);
            Bytes.PutU16(b, o + 3, (ushort)length);
            return o + HeaderSize;
        }

        /// <summary>Writes a fragment chunk header at b[o..] and returns the data offset.</summary>
        public static int WriteFragment(byte[] b, int o, int stream, ushort msgId, int length, uint msgLen, ushort fragSize, ushort index)
        {
            b[o] = (byte)(stream | KindFragment);
            Bytes.PutU16(b, o + 1, msgId);
            Bytes.PutU16(b, o + 3, (ushort)length);
            Bytes.PutU32(b, o + 5, msgLen);
            Bytes.PutU16(b, o + 9, fragSize);
            Bytes.PutU16(b, o + 11, index);
            return o + HeaderSize + FragmentExtSize;
        }
    }
}

namespace Arcade.Wire
{
    /// <summary>PoseInput (§6.6): one tracking sample, client → server.</summary>
    public sealed class PoseInput
    {
        public uint InputSeq;
        public ulong ClientTime;
        public QPose Head, Left, Right;
        public uint Buttons;
        public byte TriggerLeft, TriggerRight, GripLeft, GripRight;
        public sbyte StickLeftX, StickLeftY, StickRightX, StickRightY;
        public byte Tracking;
        /// <summary>Whether the state acknowledgement (§10.4) follows.</summary>
        public bool HasStateAck;
        public uint StateTick;
        public ulong TicksHeld;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU32(b, o, InputSeq);
            Bytes.PutU64(b, o + 4, ClientTime);
            Head.Write(b, o + 12);
            Left.Write(b, o + 23);
            Right.Write(b, o + 34);
            Bytes.PutU32(b, o + 45, Buttons);
            b[o + 49] = TriggerLeft; b[o + 50] = TriggerRight; b[o + 51] = GripLeft; b[o + 52] = GripRight;
            b[o + 53] = (byte)StickLeftX; b[o + 54] = (byte)StickLeftY;
            b[o + 55] = (byte)StickRightX; b[o + 56] = (byte)StickRightY;
            b[o + 57] = Tracking;
            if (!HasStateAck) return o + Proto.PoseInputSize;
            Bytes.PutU32(b, o + 58, StateTick);
            Bytes.PutU64(b, o + 62, TicksHeld);
            return o + Proto.PoseInputAckSize;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < Proto.PoseInputSize) return false;
            InputSeq = Bytes.U32(b, o);
            ClientTime = Bytes.U64(b, o + 4);
            Head.Read(b, o + 12);
            Left.Read(b, o + 23);
            Right.Read(b, o + 34);
            Buttons = Bytes.U32(b, o + 45);
            TriggerLeft = b[o + 49]; TriggerRight = b[o + 50]; GripLeft = b[o + 51]; GripRight = b[o + 52];
            StickLeftX = (sbyte)b[o + 53]; StickLeftY = (sbyte)b[o + 54];
            StickRightX = (sbyte)b[o + 55]; StickRightY = (sbyte)b[o + 56];
            Tracking = b[o + 57];
            HasStateAck = n >= Proto.PoseInputAckSize;
            if (HasStateAck)
            {
                StateTick = Bytes.U32(b, o + 58);
                TicksHeld = Bytes.U64(b, o + 62);
            }
            else
            {
                StateTick = 0;
                TicksHeld = 0;
            }
            return true;
        }
    }
}

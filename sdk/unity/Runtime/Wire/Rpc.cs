namespace Arcade.Wire
{
    /// <summary>RPC type ids (§16) and streams (§15.4).</summary>
    public static class Rpc
    {
        public const ushort GrabRequest = 1, ReleaseRequest = 2, ButtonEvent = 3, SceneChangeRequest = 4,
            Event = 5, SceneChange = 6, Text = 7;
        public const int StreamControl = 0, StreamScene = 1, StreamText = 2;
        public const int TypeSize = 2;
        public const int MaxSceneNameLen = 64;
        public const int TextHeaderSize = 4;
        public const int MaxTextLen = Chunk.MaxMessage - TypeSize - TextHeaderSize; // 262138
        public const byte EventSound = 1, EventHaptic = 2;

        public static int WriteGrab(byte[] b, int o, int hand, ushort entity)
        {
            Bytes.PutU16(b, o, GrabRequest);
            b[o + 2] = (byte)hand;
            return Bytes.PutU16(b, o + 3, entity);
        }

        public static int WriteRelease(byte[] b, int o, int hand)
        {
            Bytes.PutU16(b, o, ReleaseRequest);
            b[o + 2] = (byte)hand;
            return o + 3;
        }

        public static int WriteButton(byte[] b, int o, byte button, bool down, ulong clientTime)
        {
            Bytes.PutU16(b, o, ButtonEvent);
            b[o + 2] = button;
            b[o + 3] = (byte)(down ? 1 : 0);
            return Bytes.PutU64(b, o + 4, clientTime);
        }

        /// <summary>SceneChangeRequest or SceneChange (same body, §16.4, §16.6); the name is cut to 64 bytes at a UTF-8 boundary.</summary>
        public static int WriteScene(byte[] b, int o, ushort type, string name)
        {
            Bytes.PutU16(b, o, type);
            int n = Bytes.PutUtf8Cut(name ?? "", MaxSceneNameLen, b, o + 3);
            b[o + 2] = (byte)n;
            return o + 3 + n;
        }

        public static int WriteEvent(byte[] b, int o, ref EventRpc e)
        {
            Bytes.PutU16(b, o, Event);
            b[o + 2] = e.Kind;
            Bytes.PutU16(b, o + 3, e.Cue);
            Bytes.PutF32(b, o + 5, e.X); Bytes.PutF32(b, o + 9, e.Y); Bytes.PutF32(b, o + 13, e.Z);
            Bytes.PutU64(b, o + 17, e.ServerTime);
            b[o + 25] = e.Strength;
            return o + 26;
        }

        public static int WriteText(byte[] b, int o, byte[] text, int off, int len)
        {
            Bytes.PutU16(b, o, Text);
            Bytes.PutU32(b, o + 2, (uint)len);
            System.Buffer.BlockCopy(text, off, b, o + 6, len);
            return o + 6 + len;
        }

        /// <summary>Reads a scene name body (§16.4) at b[o..o+n); returns its length or -1; the name is at o+1.</summary>
        public static int ParseScene(byte[] b, int o, int n)
        {
            if (n < 1) return -1;
            int l = b[o];
            if (l > MaxSceneNameLen || 1 + l > n || !Bytes.ValidUtf8(b, o + 1, l)) return -1;
            return l;
        }

        /// <summary>Reads a Text body (§16.7) at b[o..o+n); returns the text length or -1; the text is at o+4.</summary>
        public static int ParseText(byte[] b, int o, int n)
        {
            if (n < TextHeaderSize) return -1;
            uint l = Bytes.U32(b, o);
            if (l > MaxTextLen || TextHeaderSize + l > n || !Bytes.ValidUtf8(b, o + 4, (int)l)) return -1;
            return (int)l;
        }
    }

    /// <summary>Event (RPC 5, §16.5).</summary>
    public struct EventRpc
    {
        public byte Kind;
        public ushort Cue;
        public float X, Y, Z;
        public ulong ServerTime;
        public byte Strength;
        public const int BodySize = 24;

        public bool Parse(byte[] b, int o, int n)
        {
            if (n < BodySize || b[o] == 0) return false;
            Kind = b[o];
            Cue = Bytes.U16(b, o + 1);
            X = Bytes.F32(b, o + 3); Y = Bytes.F32(b, o + 7); Z = Bytes.F32(b, o + 11);
            ServerTime = Bytes.U64(b, o + 15);
            Strength = b[o + 23];
            return true;
        }
    }
}

namespace Arcade.Wire
{
    /// <summary>A player record (§6.7): 40 bytes, in Snapshot and EntityUpdate.</summary>
    public struct PlayerRecord
    {
        public ushort ClientId;
        public uint InputSeq;
        public byte Tracking;
        public QPose Head, Left, Right;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU16(b, o, ClientId);
            Bytes.PutU32(b, o + 2, InputSeq);
            b[o + 6] = Tracking;
            Head.Write(b, o + 7);
            Left.Write(b, o + 18);
            Right.Write(b, o + 29);
            return o + Proto.SnapshotPlayerSize;
        }

        public void Read(byte[] b, int o)
        {
            ClientId = Bytes.U16(b, o);
            InputSeq = Bytes.U32(b, o + 2);
            Tracking = b[o + 6];
            Head.Read(b, o + 7);
            Left.Read(b, o + 18);
            Right.Read(b, o + 29);
        }
    }

    /// <summary>An entity record (§6.7): 14 bytes, in Snapshot and EntityUpdate.</summary>
    public struct EntityRecord
    {
        public ushort Id;
        public byte Flags;
        public QPose Pose;

        public int Write(byte[] b, int o)
        {
            Bytes.PutU16(b, o, Id);
            b[o + 2] = Flags;
            Pose.Write(b, o + 3);
            return o + Proto.SnapshotEntitySize;
        }

        public void Read(byte[] b, int o)
        {
            Id = Bytes.U16(b, o);
            Flags = b[o + 2];
            Pose.Read(b, o + 3);
        }
    }

    /// <summary>Snapshot (§6.7): one part of a tick's state. Its record arrays are
    /// allocated once, at their per-part maxima, and reused.</summary>
    public sealed class Snapshot
    {
        public uint Tick;
        public ulong ServerTime;
        public byte Part, Parts;
        public ushort PlayerCount;
        public byte Flags;
        public ulong Hash;
        public int NumPlayers, NumEntities;
        public readonly PlayerRecord[] Players = new PlayerRecord[Proto.MaxSnapshotPlayers];
        public readonly EntityRecord[] Entities = new EntityRecord[Proto.MaxSnapshotEntities];

        public const byte FlagHasHash = 1;
        public bool HasHash { get { return (Flags & FlagHasHash) != 0; } }

        public int Write(byte[] b, int o)
        {
            Bytes.PutU32(b, o, Tick);
            Bytes.PutU64(b, o + 4, ServerTime);
            b[o + 12] = Part; b[o + 13] = Parts;
            Bytes.PutU16(b, o + 14, PlayerCount);
            b[o + 16] = Flags;
            int e = o + 17;
            if (HasHash) e = Bytes.PutU64(b, e, Hash);
            b[e++] = (byte)NumPlayers;
            for (int i = 0; i < NumPlayers; i++) e = Players[i].Write(b, e);
            b[e++] = (byte)NumEntities;
            for (int i = 0; i < NumEntities; i++) e = Entities[i].Write(b, e);
            return e;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            int end = o + n;
            if (n < 17) return false;
            byte part = b[o + 12], parts = b[o + 13], flags = b[o + 16];
            if (parts == 0 || part >= parts) return false;
            int h = o + 17 + ((flags & FlagHasHash) != 0 ? 8 : 0);
            if (h + 1 > end) return false;
            int np = b[h];
            int e = h + 1 + np * Proto.SnapshotPlayerSize;
            if (e + 1 > end) return false;
            int ne = b[e];
            int stop = e + 1 + ne * Proto.SnapshotEntitySize;
            if (stop > end) return false;
            if (stop - o > Proto.MaxBodySize) return false;
            Tick = Bytes.U32(b, o);
            ServerTime = Bytes.U64(b, o + 4);
            Part = part; Parts = parts;
            PlayerCount = Bytes.U16(b, o + 14);
            Flags = flags;
            Hash = (flags & FlagHasHash) != 0 ? Bytes.U64(b, o + 17) : 0;
            NumPlayers = np;
            for (int i = 0; i < np; i++) Players[i].Read(b, h + 1 + i * Proto.SnapshotPlayerSize);
            NumEntities = ne;
            for (int i = 0; i < ne; i++) Entities[i].Read(b, e + 1 + i * Proto.SnapshotEntitySize);
            return true;
        }
    }

    /// <summary>A cause record of an EntityUpdate (§6.11).</summary>
    public struct UpdateCause
    {
        public ushort ClientId;
        public uint InputSeq;
    }

    /// <summary>EntityUpdate (§6.11): what pose inputs moved between ticks.</summary>
    public sealed class EntityUpdate
    {
        public uint Tick;
        public ulong ServerTime;
        public int NumCauses, NumEntities, NumPlayers;
        public readonly UpdateCause[] Causes = new UpdateCause[Proto.MaxEntityUpdateCauses];
        public readonly EntityRecord[] Entities = new EntityRecord[Proto.MaxEntityUpdateEntities];
        public readonly PlayerRecord[] Players = new PlayerRecord[Proto.MaxEntityUpdatePlayers];

        public int Write(byte[] b, int o)
        {
            Bytes.PutU32(b, o, Tick);
            Bytes.PutU64(b, o + 4, ServerTime);
            int e = o + 12;
            b[e++] = (byte)NumCauses;
            for (int i = 0; i < NumCauses; i++)
            {
                Bytes.PutU16(b, e, Causes[i].ClientId);
                Bytes.PutU32(b, e + 2, Causes[i].InputSeq);
                e += Proto.UpdateCauseSize;
            }
            b[e++] = (byte)NumEntities;
            for (int i = 0; i < NumEntities; i++) e = Entities[i].Write(b, e);
            b[e++] = (byte)NumPlayers;
            for (int i = 0; i < NumPlayers; i++) e = Players[i].Write(b, e);
            return e;
        }

        public bool Parse(byte[] b, int o, int n)
        {
            int end = o + n;
            if (n < 13) return false;
            int nc = b[o + 12];
            int e = o + 13 + nc * Proto.UpdateCauseSize;
            if (e + 1 > end) return false;
            int ne = b[e];
            int p = e + 1 + ne * Proto.SnapshotEntitySize;
            if (p + 1 > end) return false;
            int np = b[p];
            int stop = p + 1 + np * Proto.SnapshotPlayerSize;
            if (stop > end || stop - o > Proto.MaxBodySize) return false;
            for (int i = 0; i < nc; i++)
                if (Bytes.U16(b, o + 13 + i * Proto.UpdateCauseSize) == 0) return false;
            for (int i = 0; i < np; i++)
                if (Bytes.U16(b, p + 1 + i * Proto.SnapshotPlayerSize) == 0) return false;
            Tick = Bytes.U32(b, o);
            ServerTime = Bytes.U64(b, o + 4);
            NumCauses = nc;
            for (int i = 0; i < nc; i++)
            {
                int c = o + 13 + i * Proto.UpdateCauseSize;
                Causes[i].ClientId = Bytes.U16(b, c);
                Causes[i].InputSeq = Bytes.U32(b, c + 2);
            }
            NumEntities = ne;
            for (int i = 0; i < ne; i++) Entities[i].Read(b, e + 1 + i * Proto.SnapshotEntitySize);
            NumPlayers = np;
            for (int i = 0; i < np; i++) Players[i].Read(b, p + 1 + i * Proto.SnapshotPlayerSize);
            return true;
        }
    }
}

// Sizes, types, flags and reasons of Arcade's wire protocol, version 1
// (docs/PROTOCOL.md §2, §5, §13).
namespace Arcade.Wire
{
    public static class Proto
    {
        public const byte Version = 1;
        public const int MaxDatagramSize = 1200;
        public const int HeaderSize = 22;
        public const int MaxBodySize = MaxDatagramSize - HeaderSize; // 1178
        public const int PoseSize = 11;
        public const int MaxNameLen = 32;
        public const int CookieSize = 32;
        public const int PlayerIdSize = 16;
        public const int PakeSize = 32;
        public const int AcceptedSize = 35;
        public const int AcceptedSealedSize = 163;
        public const int PoseInputSize = 58;
        public const int PoseInputAckSize = 70;
        public const int SnapshotFixedSize = 19;
        public const int SnapshotPlayerSize = 40;
        public const int SnapshotEntitySize = 14;
        public const int MaxSnapshotPlayers = 28;
        public const int MaxSnapshotEntities = 82;
        public const int EntityUpdateFixedSize = 15;
        public const int UpdateCauseSize = 6;
        public const int MaxEntityUpdateEntities = 83;
        public const int MaxEntityUpdatePlayers = 29;
        public const int MaxEntityUpdateCauses = 193;
        public const int DeliveryProbeSize = 14;
        public const int DeliveryReportSize = 19;
        public const int MessageHeaderSize = 2;
        public const int MaxMessagePayload = MaxBodySize - MessageHeaderSize; // 1176
        public const int StateDeltaFixedSize = 37;
        public const int MaxStatePlayers = 4096, MaxStateEntities = 4096, StateTicksHeld = 64;
        public const int MaxUnicastLoss = 10000;
        public const ushort UnicastLossUnknown = 65535;
        public const int SealOverhead = 24;
        public const int GroupSealOverhead = 88;
        public const int DefaultPort = 7777;
    }

    /// <summary>Packet types (header byte 4).</summary>
    public static class PacketType
    {
        public const byte ConnectRequest = 1, Challenge = 2, ChallengeResponse = 3, Accepted = 4, Denied = 5,
            PoseInput = 6, Snapshot = 7, Ping = 8, Pong = 9, Disconnect = 10, EntityUpdate = 11,
            DeliveryProbe = 12, DeliveryReport = 13, Message = 14, StateDelta = 15;
        public const byte Max = 15;
    }

    /// <summary>Header flag bits (byte 5).</summary>
    public static class HeaderFlags
    {
        public const byte Sealed = 1;
        /// <summary>An epoch trailer (u32, EpochSize bytes) follows the body: a server of a standby pair (§18.1).</summary>
        public const byte Epoch = 1 << 1;
        public const int EpochSize = 4;

        /// <summary>The length of datagram d (n bytes) without its epoch trailer, and the epoch (0 without
        /// FlagEpoch); -1 if FlagEpoch is set and no trailer fits after the header.</summary>
        public static int SplitEpoch(byte[] d, int n, out uint epoch)
        {
            epoch = 0;
            if (n < Proto.HeaderSize || (d[5] & Epoch) == 0) return n;
            if (n < Proto.HeaderSize + EpochSize) return -1;
            epoch = Bytes.U32(d, n - EpochSize);
            return n - EpochSize;
        }
    }

    /// <summary>ConnectRequest / ChallengeResponse flag bits.</summary>
    public static class ConnectFlags
    {
        public const byte WantUnicast = 1 << 0;
        public const byte HasPake = 1 << 2; // ChallengeResponse only
        public const byte DeltaState = 1 << 3;
        /// <summary>With DeltaState: the client also decodes coded StateDelta payloads (§10.4).</summary>
        public const byte CodedState = 1 << 4;
    }

    /// <summary>Accepted flag bits.</summary>
    public static class AcceptedFlags
    {
        public const byte Unicast = 1 << 0, Resumed = 1 << 1, Sealed = 1 << 2, DeltaState = 1 << 3, CodedState = 1 << 4;
    }

    /// <summary>Entity flag bits (Snapshot and EntityUpdate records).</summary>
    public static class EntityFlags
    {
        public const byte Held = 1 << 0, Sleeping = 1 << 1, Grabbable = 1 << 2;
    }

    /// <summary>Tracking bits (PoseInput, player records).</summary>
    public static class Tracking
    {
        public const byte Head = 1, LeftHand = 2, RightHand = 4, All = 7;
        /// <summary>In a player record: no input of the player's session applied yet; its input seq means nothing (§6.7).</summary>
        public const byte NoInput = 0x80;
    }

    /// <summary>Deny reasons (§5).</summary>
    public enum DenyReason : byte
    {
        None = 0, ServerFull = 1, VersionMismatch = 2, BadCookie = 3, ShuttingDown = 4, BadPassphrase = 5,
    }

    /// <summary>Disconnect reasons (§5).</summary>
    public enum DisconnectReason : byte
    {
        None = 0, ClientLeft = 1, Timeout = 2, ServerShutdown = 3, Kicked = 4, UnknownSession = 5,
    }

    /// <summary>DeliveryReport flag bits.</summary>
    public static class DeliveryFlags { public const byte NotJoined = 1, Starved = 2; }
}

using System;
using System.Net;

namespace Arcade
{
    /// <summary>Where a session stands.</summary>
    public enum ConnectionState
    {
        /// <summary>Not started.</summary>
        Idle,
        /// <summary>Handshake under way (first connection).</summary>
        Connecting,
        /// <summary>Session open.</summary>
        Connected,
        /// <summary>The session was lost; a new handshake with the same player id is under way.</summary>
        Reconnecting,
        /// <summary>Stopped: closed by the app, refused (Denied), taken over, kicked, or unreachable without reconnect.</summary>
        Closed,
    }

    /// <summary>Why the state changed (ClientEvent.Reason with EventKind.State).</summary>
    public enum StateReason
    {
        None, Accepted, Resumed, Denied, Unreachable, Timeout, Disconnected, Closed, VersionMismatch, BadPassphrase,
    }

    /// <summary>A client's settings. Zero values mean the documented default; Validate names the first bad field.</summary>
    public sealed class ClientConfig
    {
        /// <summary>The server's game address (IPv4). Required.</summary>
        public IPEndPoint Server;
        /// <summary>Player name, cut to 32 bytes of UTF-8.</summary>
        public string Name = "";
        /// <summary>16 bytes identifying the player across sessions (§7.6). Null: a random one is drawn (keep
        /// Client.PlayerId and pass it again next time to keep the player's identity across app runs).</summary>
        public byte[] PlayerId;
        /// <summary>Ask for snapshots by unicast instead of multicast.</summary>
        public bool WantUnicast;
        /// <summary>The venue passphrase; null or empty: none (then a server with one refuses this client).</summary>
        public string Passphrase;
        /// <summary>Take the tick's state as StateDelta (§10.4): coded against ticks this client holds,
        /// smaller than Snapshots when little changes. Default false: full Snapshots.</summary>
        public bool DeltaState;
        /// <summary>With DeltaState: also take coded StateDelta parts (§10.4, ConnectCodedState): range-coded,
        /// poses predicted from a prior tick, avatar rotations on the avatar grid (at most 0.3° from what
        /// was sent), and repair parts that rebuild as many lost parts of a tick. Costs more CPU per part
        /// than bit-packed ones. Default false. A multicast group is sent coded parts only while every
        /// client on it asked for them.</summary>
        public bool CodedState;
        /// <summary>Start a new handshake by itself, with the same player id, when the session is lost
        /// (server timeout, shutdown, restart, silence), with backoff 0.1 s … 2 s. Default true.</summary>
        public bool Reconnect = true;
        /// <summary>How long a first connection tries before it reports Unreachable (µs); 0: 5 s.</summary>
        public long ConnectTimeoutUs;
        /// <summary>Local address of the interface to join the multicast group on; null: any.</summary>
        public IPAddress MulticastInterface;
        /// <summary>Local address to bind the session socket to; null: any.</summary>
        public IPAddress LocalAddress;
        /// <summary>Events the receive thread may queue for the main thread (a power of two); 0: 8192.</summary>
        public int EventCapacity;
        /// <summary>Added delay of the interpolation of remote players and free objects (µs, at most 100 ms);
        /// 0: one tick of the server's; negative: none (every object at its newest state).</summary>
        public long InterpolationDelayUs;
        /// <summary>Fraction of received Snapshot and StateDelta datagrams to drop on arrival (0…0.5), on both
        /// paths: a network simulator for testing how the client recovers from loss. Default 0.</summary>
        public double SimulatedStateLoss;
        /// <summary>Interval between Pings (µs), at most 0.5 s; 0: 250 ms.</summary>
        public long PingIntervalUs;

        public void Validate()
        {
            if (Server == null) throw new ArgumentException("ClientConfig.Server: required");
            if (Server.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork) throw new ArgumentException("ClientConfig.Server: not IPv4: " + Server);
            if (Server.Port == 0) throw new ArgumentException("ClientConfig.Server: port 0");
            if (PlayerId != null && PlayerId.Length != Wire.Proto.PlayerIdSize) throw new ArgumentException("ClientConfig.PlayerId: must be 16 bytes, is " + PlayerId.Length);
            if (ConnectTimeoutUs < 0) throw new ArgumentException("ClientConfig.ConnectTimeoutUs: negative");
            if (EventCapacity != 0 && (EventCapacity < 64 || (EventCapacity & (EventCapacity - 1)) != 0)) throw new ArgumentException("ClientConfig.EventCapacity: must be a power of two ≥ 64, is " + EventCapacity);
            if (InterpolationDelayUs > 100000) throw new ArgumentException("ClientConfig.InterpolationDelayUs: at most 100000 µs, is " + InterpolationDelayUs);
            if (!(SimulatedStateLoss >= 0 && SimulatedStateLoss <= 0.5)) throw new ArgumentException("ClientConfig.SimulatedStateLoss: must be 0…0.5, is " + SimulatedStateLoss);
            if (PingIntervalUs < 0 || PingIntervalUs > 500000) throw new ArgumentException("ClientConfig.PingIntervalUs: must be 0…500000, is " + PingIntervalUs);
            if (!string.IsNullOrEmpty(Passphrase) && PassphraseCrypto.Factory == null) throw new ArgumentException("ClientConfig.Passphrase: set, but PassphraseCrypto.Factory is null");
        }
    }

    /// <summary>One tracking sample, in the venue frame (metres, Y up; quaternions x, y, z, w).</summary>
    public struct PoseSample
    {
        public float HeadX, HeadY, HeadZ, HeadRX, HeadRY, HeadRZ, HeadRW;
        public float LeftX, LeftY, LeftZ, LeftRX, LeftRY, LeftRZ, LeftRW;
        public float RightX, RightY, RightZ, RightRX, RightRY, RightRZ, RightRW;
        public uint Buttons;
        public float TriggerLeft, TriggerRight, GripLeft, GripRight;
        public float StickLeftX, StickLeftY, StickRightX, StickRightY;
        /// <summary>Tracking bits (Wire.Tracking): which of head, left, right are tracked.</summary>
        public byte Tracking;
    }

    /// <summary>What a client counted.</summary>
    public sealed class ClientStats
    {
        public long Received, Sent, Dropped, DroppedImplausible, DroppedStale, DroppedDuplicate, DroppedBadSeal, DroppedToken;
        public long Snapshots, EntityUpdates, TicksComplete, Pongs, RpcsReceived, Reconnects, ReportsSent;
        /// <summary>µs from the last lost session to the Accepted of the reconnect.</summary>
        public long LastReconnectUs;
        /// <summary>StateDelta parts applied, and refused for want of their baseline or as corrupt.</summary>
        public long DeltaParts, DeltaNoBaseline, DeltaBad;
        /// <summary>StateDelta parts rebuilt from a parity part (§10.4) and applied.</summary>
        public long DeltaRecovered;
        /// <summary>Coded StateDelta parts applied (of DeltaParts).</summary>
        public long DeltaCoded;
        /// <summary>A standby pair (§18.4, §18.5): datagrams under an epoch below the session's (or
        /// without one, from a session that follows a pair) ignored; moves to a new epoch; moves of
        /// the Client to a new server's address; RPCs that did not fit the new reliable channel at a
        /// move; datagrams from a source other than the server's that could not move the session,
        /// dropped.</summary>
        public long DroppedStaleEpoch, EpochChanges, ServerMoves, RpcsLostAtMove, ForeignSource;
    }
}

using System;
using System.Threading;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>The sockets a Session talks through.</summary>
    public interface ITransport
    {
        /// <summary>Sends one datagram to the server.</summary>
        void Send(byte[] b, int n);
        /// <summary>Joins the multicast group (IPv4 address bytes, port); false when it could not.</summary>
        bool JoinGroup(byte[] addr, int port);
    }

    /// <summary>One client's protocol logic (docs/PROTOCOL.md §7–§10, §15): the handshake with
    /// resends and reconnects, the session's sequence and acks, the state rules for snapshots and
    /// entity updates, Ping/Pong, delivery reports and the reliable channel. No socket, thread or
    /// clock of its own: the caller passes datagrams and time (µs) in, under one lock for
    /// OnDatagram and Step; SendPose needs only the send lock it takes itself. What the main
    /// thread should see goes into Events.</summary>
    public sealed partial class Session
    {
        public const long HandshakeResend = 250000, CookieLifetime = 5000000, IdleTimeout = 2000000;
        public const long MaxStateAhead = 250000, StateRecoverAhead = 30000;
        public const long DefaultConnectTimeout = 5000000, DefaultPingInterval = 250000;
        public const long BackoffMin = 100000, BackoffMax = 2000000;

        readonly ClientConfig cfg;
        readonly ITransport net;
        public readonly EventRing Events;
        public readonly ClientStats Stats = new ClientStats();
        readonly byte[] playerId = new byte[Proto.PlayerIdSize];
        readonly Random rng;
        readonly IPassphraseHandshake pake;

        // Connection state.
        volatile int state; // ConnectionState
        bool everConnected;
        int attempt; // 0: first connection; >0: reconnect attempts
        ulong nonce;
        bool challenged;
        long challengeAt, nextResend, lastHeard, lostAt = -1;
        long connectStart;
        long backoff;
        readonly Challenge challenge = new Challenge();
        readonly ChallengeResponse response = new ChallengeResponse();
        readonly ConnectRequest request = new ConnectRequest();
        readonly Accepted accepted = new Accepted();
        readonly Denied denied = new Denied();
        readonly byte[] ya = new byte[Proto.PakeSize];

        // Session.
        long token; // ulong bits, read by SendPose
        volatile ISealer sealer;
        public ushort ClientId { get; private set; }
        public ushort TickRate { get; private set; }
        public ulong GroupToken { get; private set; }
        public bool Unicast { get; private set; }
        public bool Resumed { get; private set; }
        public bool Sealed { get; private set; }
        public bool GroupJoined { get; private set; }
        /// <summary>Whether the server may send this session StateDelta (AcceptedDeltaState).</summary>
        public bool DeltaOn { get; private set; }
        /// <summary>Whether the server may send this session coded StateDelta payloads (AcceptedCodedState).</summary>
        public bool CodedOn { get; private set; }
        /// <summary>What the session acknowledges holding (§6.6): the newest tick held whole and the mask of
        /// the 64 ticks ending there; false before any. Under the receive lock.</summary>
        public bool HeldTicks(out uint tick, out ulong mask) { return deltaRx.Ack(out tick, out mask); }
        readonly DeltaReceiver deltaRx = new DeltaReceiver();
        readonly StateDeltaHeader sdh = new StateDeltaHeader();
        bool haveDeltaTick;
        uint deltaTick;
        ulong deltaTickTime;
        // The state acknowledgement for PoseInput (under sendLock).
        bool ackState;
        uint ackStateTick;
        ulong ackStateMask;
        readonly byte[] groupAddr = new byte[4];
        int groupPort;

        // Send side (under sendLock).
        readonly object sendLock = new object();
        readonly byte[] sendBuf = new byte[Proto.MaxDatagramSize + Proto.GroupSealOverhead];
        int seq = -1; // last seq used; Interlocked
        long ackPacked; // ack | bits << 16, published by the receive side
        int sentCount;
        int sentCountAtAck;
        readonly PoseInput pose = new PoseInput();
        uint inputSeq;

        // Receive side.
        readonly SeqWindow sessionRx = new SeqWindow();
        readonly SeqWindow groupRx = new SeqWindow();
        readonly SeqWindow reportSessionRx = new SeqWindow();
        public readonly ClockSync Clock = new ClockSync();
        readonly DeliveryMeter delivery = new DeliveryMeter();
        readonly DeliveryReport report = new DeliveryReport();
        ReliableChannel reliable;
        readonly Snapshot snap = new Snapshot();
        readonly EntityUpdate upd = new EntityUpdate();
        readonly Ping ping = new Ping();
        readonly Pong pong = new Pong();
        readonly Disconnect disc = new Disconnect();
        readonly DeliveryProbe probe = new DeliveryProbe();
        readonly byte[] rpcBuf = new byte[Rpc.TypeSize + 1 + Rpc.MaxSceneNameLen + 16];
        long nextPingAt;
        uint pingId;
        readonly uint[] pingIds = new uint[8];
        readonly long[] pingSent = new long[8];

        // State store for the ordering rules (§10, §10.2): per id, the server time of the newest state applied.
        readonly ulong[] playerTime = new ulong[65536];
        readonly ulong[] entityTime = new ulong[65536];
        bool haveTick;
        uint newestTick;
        ulong newestTickTime;
        readonly ulong[] partsSeen = new ulong[4];
        int partsGot, partsWanted;
        readonly uint[] seenIn = new uint[65536]; // assembly serial in which a player record was seen
        uint serial;
        readonly ushort[] seenList = new ushort[4096];
        int seenCount;
        readonly bool[] present = new bool[65536];
        readonly ushort[] presentList = new ushort[4096];
        int presentCount;
        long droppedSeen;
        bool haveUpdate, lastUpdateGroup;
        ulong lastUpdateTime;
        ClientEvent ev;

        public Session(ClientConfig config, ITransport transport)
        {
            config.Validate();
            cfg = config;
            net = transport;
            Events = new EventRing(cfg.EventCapacity == 0 ? 8192 : cfg.EventCapacity);
            var seed = new byte[8];
            using (var r = System.Security.Cryptography.RandomNumberGenerator.Create())
            {
                if (cfg.PlayerId != null) Buffer.BlockCopy(cfg.PlayerId, 0, playerId, 0, Proto.PlayerIdSize);
                else r.GetBytes(playerId);
                r.GetBytes(seed);
            }
            rng = new Random(BitConverter.ToInt32(seed, 0));
            if (!string.IsNullOrEmpty(cfg.Passphrase))
                pake = PassphraseCrypto.Factory(System.Text.Encoding.UTF8.GetBytes(cfg.Passphrase));
            request.Name.Set(cfg.Name);
            response.Name.Set(cfg.Name);
        }

        public ConnectionState State { get { return (ConnectionState)state; } }
        /// <summary>This player's id (16 bytes): the same for every session of this Session object.</summary>
        public byte[] PlayerId { get { return (byte[])playerId.Clone(); } }
        public ulong Token { get { return (ulong)Interlocked.Read(ref token); } }
        public long SmoothedRtt { get { return reliable == null ? 0 : reliable.SmoothedRtt; } }
        public ReliableChannel Reliable { get { return reliable; } }

        // The old session's keys go (under the send lock, so no SendPose is sealing with them).
        void DropSealer()
        {
            ISealer old;
            lock (sendLock) { old = sealer; sealer = null; }
            var d = old as IDisposable;
            if (d != null) d.Dispose();
        }

        ulong NextNonce()
        {
            var b = new byte[8];
            for (;;)
            {
                rng.NextBytes(b);
                ulong n = BitConverter.ToUInt64(b, 0);
                if (n != 0) return n;
            }
        }

        // ---------------------------------------------------------------- handshake

        /// <summary>Starts the first connection at now.</summary>
        public void Start(long now)
        {
            if (State != ConnectionState.Idle) return;
            connectStart = now;
            SetState(ConnectionState.Connecting, StateReason.None, 0);
            BeginAttempt(now);
        }

        void BeginAttempt(long now)
        {
            nonce = NextNonce();
            challenged = false;
            Interlocked.Exchange(ref seq, -1);
            Interlocked.Exchange(ref token, 0);
            DropSealer();
            sessionRx.Reset();
            PublishAck();
            SendConnectRequest(now);
        }

        void SendConnectRequest(long now)
        {
            request.Nonce = nonce;
            request.Flags = (byte)((cfg.WantUnicast ? ConnectFlags.WantUnicast : 0) | (cfg.DeltaState ? ConnectFlags.DeltaState : 0)
                | (cfg.DeltaState && cfg.CodedState ? ConnectFlags.CodedState : 0));
            lock (sendLock)
            {
                int e = request.Write(sendBuf, Proto.HeaderSize);
                SendLocked(PacketType.ConnectRequest, 0, e, false);
            }
            nextResend = now + HandshakeResend;
        }

        void SendChallengeResponse(long now)
        {
            lock (sendLock)
            {
                int e = response.Write(sendBuf, Proto.HeaderSize);
                SendLocked(PacketType.ChallengeResponse, 0, e, false);
            }
            nextResend = now + HandshakeResend;
        }

        void OnChallenge(byte[] b, int n, long now)
        {
            if (!challenge.Parse(b, Proto.HeaderSize, n) || challenge.Nonce != nonce || challenged) return;
            challenged = true;
            challengeAt = now;
            response.Nonce = nonce;
            response.Flags = request.Flags;
            Buffer.BlockCopy(challenge.Cookie, 0, response.Cookie, 0, Proto.CookieSize);
            Buffer.BlockCopy(playerId, 0, response.PlayerId, 0, Proto.PlayerIdSize);
            if (pake != null)
            {
                pake.Begin(challenge.Cookie, nonce, ya);
                response.Flags |= ConnectFlags.HasPake;
                Buffer.BlockCopy(ya, 0, response.Pake, 0, Proto.PakeSize);
            }
            SendChallengeResponse(now);
        }

        void OnAccepted(ref Header h, byte[] b, int n, long now)
        {
            if (!accepted.Parse(b, Proto.HeaderSize, n) || accepted.Nonce != nonce || !challenged) return;
            if (State == ConnectionState.Connected)
            {
                // A repeated Accepted for this session: it took a number of the server's counter (§8.2).
                if (h.Token == Token) { sessionRx.Record(h.Seq); reportSessionRx.Record(h.Seq); PublishAck(); }
                return;
            }
            if (accepted.ClientId == 0 || accepted.TickRate == 0) return;
            ISealer s = null;
            if (pake != null)
            {
                if (!accepted.Sealed || h.Token == 0 || (s = pake.Finish(accepted)) == null)
                {
                    Fail(StateReason.BadPassphrase, (int)DenyReason.BadPassphrase);
                    return;
                }
            }
            else if (accepted.Sealed) return; // a client without a passphrase ignores it (§17.2)
            Interlocked.Exchange(ref token, (long)h.Token);
            sealer = s;
            Sealed = s != null;
            ClientId = accepted.ClientId;
            TickRate = accepted.TickRate;
            GroupToken = accepted.GroupToken;
            Resumed = accepted.Resumed;
            Unicast = accepted.Unicast || accepted.NoGroup;
            DeltaOn = (accepted.Flags & AcceptedFlags.DeltaState) != 0;
            CodedOn = DeltaOn && cfg.CodedState && (accepted.Flags & AcceptedFlags.CodedState) != 0;
            deltaRx.Reset();
            if (CodedOn) deltaRx.PrepareParity();
            haveDeltaTick = false;
            lock (sendLock) ackState = false;
            sessionRx.Record(h.Seq);
            reportSessionRx.Reset();
            PublishAck();
            reliable = new ReliableChannel { OnDeliver = OnDeliver };
            if (Sealed) reliable.Mtu = Proto.MaxMessagePayload - Proto.SealOverhead;
            Clock.Reset();
            Clock.Seed(accepted.ServerTime, now);
            ResetStateStore();
            delivery.Reset();
            groupRx.Reset();
            GroupJoined = false;
            if (!Unicast)
            {
                Buffer.BlockCopy(accepted.McastAddr, 0, groupAddr, 0, 4);
                groupPort = accepted.McastPort;
                GroupJoined = net.JoinGroup(groupAddr, groupPort);
                delivery.NotJoined = !GroupJoined;
                delivery.Start(now);
            }
            StartEpoch(now);
            lastHeard = now;
            if (attempt > 0 && lostAt >= 0) Stats.LastReconnectUs = now - lostAt;
            everConnected = true;
            attempt = 0;
            backoff = 0;
            SetState(ConnectionState.Connected, Resumed ? StateReason.Resumed : StateReason.Accepted, 0);
            SendPing(now); // at once: with a passphrase, the proof (§17.2)
        }

        void OnDenied(byte[] b, int n, long now)
        {
            if (!denied.Parse(b, Proto.HeaderSize, n) || denied.Nonce != nonce) return;
            if (denied.Reason == DenyReason.BadCookie) { BeginAttempt(now); return; }
            Fail(denied.Reason == DenyReason.BadPassphrase ? StateReason.BadPassphrase :
                denied.Reason == DenyReason.VersionMismatch ? StateReason.VersionMismatch : StateReason.Denied, (int)denied.Reason);
        }

        void Fail(StateReason why, int code)
        {
            SetState(ConnectionState.Closed, why, code);
        }

        void SetState(ConnectionState s, StateReason why, int code)
        {
            state = (int)s;
            ev = default(ClientEvent);
            ev.Kind = EventKind.State;
            ev.Flags = (byte)s;
            ev.Reason = (int)why;
            ev.Seq = (uint)code;
            Events.Push(ref ev);
        }

        /// <summary>The session ended (reason code for the event); reconnects when allowed.</summary>
        void Lost(StateReason why, int code, bool mayReconnect, long now)
        {
            ResetPresence(now);
            lostAt = now;
            if (mayReconnect && cfg.Reconnect)
            {
                Stats.Reconnects++;
                SetState(ConnectionState.Reconnecting, why, code);
                attempt = 1;
                backoff = 0;
                BeginAttempt(now);
                return;
            }
            SetState(ConnectionState.Closed, why, code);
        }

        /// <summary>Closes the session: Disconnect(ClientLeft) three times, no reconnect.</summary>
        public void Close(long now)
        {
            if (State == ConnectionState.Connected)
            {
                for (int i = 0; i < 3; i++)
                {
                    lock (sendLock)
                    {
                        sendBuf[Proto.HeaderSize] = (byte)DisconnectReason.ClientLeft;
                        SendLocked(PacketType.Disconnect, Token, Proto.HeaderSize + 1, true);
                    }
                }
            }
            if (State != ConnectionState.Closed) SetState(ConnectionState.Closed, StateReason.Closed, 0);
            DropSealer();
        }

        // ---------------------------------------------------------------- sending

        void PublishAck()
        {
            ushort a; uint bits;
            sessionRx.Ack(out a, out bits);
            Interlocked.Exchange(ref ackPacked, a | (long)bits << 16);
        }

        /// <summary>Under sendLock: fills the header of sendBuf (body at 22..end), seals it on a sealed session, sends it.</summary>
        void SendLocked(byte type, ulong tok, int end, bool session)
        {
            long a = Interlocked.Read(ref ackPacked);
            var h = new Header
            {
                Type = type, Token = tok,
                Seq = (ushort)Interlocked.Increment(ref seq),
                Ack = (ushort)a, AckBits = (uint)(a >> 16),
            };
            var s = sealer;
            if (session && s != null) h.Flags = HeaderFlags.Sealed;
            h.Write(sendBuf);
            int n = end;
            if (session && s != null) n = s.Seal(sendBuf, end);
            net.Send(sendBuf, n);
            sentCount++;
            Stats.Sent++;
        }

        /// <summary>Sends one tracking sample now (main thread; takes only the send lock). False when no session is open.</summary>
        public bool SendPose(ref PoseSample p, long now)
        {
            if (State != ConnectionState.Connected) return false;
            lock (sendLock)
            {
                var m = pose;
                m.InputSeq = ++inputSeq;
                m.ClientTime = (ulong)now;
                m.Head = QPose.From(p.HeadX, p.HeadY, p.HeadZ, p.HeadRX, p.HeadRY, p.HeadRZ, p.HeadRW);
                m.Left = QPose.From(p.LeftX, p.LeftY, p.LeftZ, p.LeftRX, p.LeftRY, p.LeftRZ, p.LeftRW);
                m.Right = QPose.From(p.RightX, p.RightY, p.RightZ, p.RightRX, p.RightRY, p.RightRZ, p.RightRW);
                m.Buttons = p.Buttons;
                m.TriggerLeft = Quant.EncodeUnit(p.TriggerLeft); m.TriggerRight = Quant.EncodeUnit(p.TriggerRight);
                m.GripLeft = Quant.EncodeUnit(p.GripLeft); m.GripRight = Quant.EncodeUnit(p.GripRight);
                m.StickLeftX = Quant.EncodeAxis(p.StickLeftX); m.StickLeftY = Quant.EncodeAxis(p.StickLeftY);
                m.StickRightX = Quant.EncodeAxis(p.StickRightX); m.StickRightY = Quant.EncodeAxis(p.StickRightY);
                m.Tracking = p.Tracking;
                m.HasStateAck = ackState;
                m.StateTick = ackStateTick;
                m.TicksHeld = ackStateMask;
                int e = m.Write(sendBuf, Proto.HeaderSize);
                SendLocked(PacketType.PoseInput, Token, e, true);
            }
            return true;
        }

        /// <summary>The input seq of the newest PoseInput sent.</summary>
        public uint LastInputSeq { get { return inputSeq; } }

        void SendPing(long now)
        {
            uint id = ++pingId;
            pingIds[id & 7] = id;
            pingSent[id & 7] = now;
            ping.Id = id;
            ping.ClientTime = (ulong)now;
            lock (sendLock)
            {
                int e = ping.Write(sendBuf, Proto.HeaderSize);
                SendLocked(PacketType.Ping, Token, e, true);
            }
            nextPingAt = now + (cfg.PingIntervalUs == 0 ? DefaultPingInterval : cfg.PingIntervalUs);
        }

        /// <summary>Queues an RPC message (type id, then body) on a reliable stream and sends what the
        /// channel allows at once. False when no session is open or the stream's queue is full.</summary>
        public bool SendRpc(int stream, byte[] msg, int off, int len, long now)
        {
            if (State != ConnectionState.Connected || reliable == null) return false;
            if (!reliable.Send(stream, msg, off, len)) return false;
            FlushReliable(now, false);
            return true;
        }

        public bool Grab(int hand, ushort entity, long now)
        {
            int e = Rpc.WriteGrab(rpcBuf, 0, hand, entity);
            return SendRpc(Rpc.StreamControl, rpcBuf, 0, e, now);
        }

        public bool Release(int hand, long now)
        {
            int e = Rpc.WriteRelease(rpcBuf, 0, hand);
            return SendRpc(Rpc.StreamControl, rpcBuf, 0, e, now);
        }

        public bool Button(byte button, bool down, long now)
        {
            int e = Rpc.WriteButton(rpcBuf, 0, button, down, (ulong)now);
            return SendRpc(Rpc.StreamControl, rpcBuf, 0, e, now);
        }

        public bool RequestScene(string name, long now)
        {
            int e = Rpc.WriteScene(rpcBuf, 0, Rpc.SceneChangeRequest, name);
            return SendRpc(Rpc.StreamControl, rpcBuf, 0, e, now);
        }

        void FlushReliable(long now, bool pureAckDue)
        {
            for (int i = 0; i < ReliableChannel.MaxInFlight; i++)
            {
                if (!reliable.HasDataToSend && !(pureAckDue && i == 0)) return;
                lock (sendLock)
                {
                    ushort next = (ushort)(Volatile.Read(ref seq) + 1); // SendLocked takes this number: we hold the lock
                    int l = reliable.Build(sendBuf, Proto.HeaderSize + Proto.MessageHeaderSize, next, now);
                    if (l == 0 && !pureAckDue) return;
                    MessageBody.WriteHeader(sendBuf, Proto.HeaderSize, l);
                    SendLocked(PacketType.Message, Token, Proto.HeaderSize + Proto.MessageHeaderSize + l, true);
                }
                pureAckDue = false;
            }
        }

        // ---------------------------------------------------------------- time

        /// <summary>Resends, timeouts, pings, delivery reports and the reliable channel's timers, at now.</summary>
        public void Step(long now)
        {
            var st = State;
            if (st == ConnectionState.Idle || st == ConnectionState.Closed) return;
            if (st != ConnectionState.Connected)
            {
                long limit = cfg.ConnectTimeoutUs == 0 ? DefaultConnectTimeout : cfg.ConnectTimeoutUs;
                if (!everConnected && st == ConnectionState.Connecting && now - connectStart > limit)
                {
                    if (!cfg.Reconnect) { Fail(StateReason.Unreachable, 0); return; }
                    connectStart = now; // report it once per timeout, keep trying
                    ev = default(ClientEvent); ev.Kind = EventKind.State; ev.Flags = (byte)st; ev.Reason = (int)StateReason.Unreachable;
                    Events.Push(ref ev);
                }
                if (challenged)
                {
                    if (now - challengeAt > CookieLifetime) { BeginAttempt(now); return; }
                    if (now >= nextResend) SendChallengeResponse(now);
                    return;
                }
                if (now < nextResend) return;
                if (attempt > 0)
                {
                    // Reconnecting: a fresh attempt after 0.1, 0.2, 0.4 … 2 s (§8.5).
                    backoff = backoff == 0 ? BackoffMin : Math.Min(BackoffMax, backoff * 2);
                    attempt++;
                    nonce = NextNonce();
                    request.Nonce = nonce;
                    SendConnectRequest(now);
                    nextResend = now + backoff;
                    return;
                }
                SendConnectRequest(now);
                return;
            }
            if (now - lastHeard > IdleTimeout) { Lost(StateReason.Timeout, 0, true, now); return; }
            if (now >= nextPingAt) SendPing(now);
            if (!Unicast && delivery.Due(now))
            {
                delivery.Report(now, groupRx, reportSessionRx, report);
                lock (sendLock)
                {
                    int e = report.Write(sendBuf, Proto.HeaderSize);
                    SendLocked(PacketType.DeliveryReport, Token, e, true);
                }
                Stats.ReportsSent++;
            }
            if (reliable != null)
            {
                reliable.Timeouts(now);
                if (sentCount != sentCountAtAck) reliable.AcksSent();
                FlushReliable(now, reliable.AckDue(now));
                sentCountAtAck = sentCount;
            }
        }

        /// <summary>When Step next has something to do (µs, client clock), at most 50 ms ahead.</summary>
        public long NextWake(long now)
        {
            long t = now + 50000;
            var st = State;
            if (st == ConnectionState.Connected)
            {
                t = Math.Min(t, nextPingAt);
                t = Math.Min(t, lastHeard + IdleTimeout + 1);
                if (!Unicast) t = Math.Min(t, delivery.NextDue);
                if (reliable != null)
                {
                    t = Math.Min(t, reliable.NextTimeout());
                    if (reliable.AckPending > 0) t = Math.Min(t, reliable.AckPendingSince + ReliableChannel.AckDelay);
                    if (reliable.HasDataToSend) t = now;
                }
            }
            else if (st == ConnectionState.Connecting || st == ConnectionState.Reconnecting)
            {
                t = Math.Min(t, nextResend);
            }
            return Math.Max(now, t);
        }

        /// <summary>Multicast datagrams received and lost (gaps in the group seq) since the session opened.</summary>
        public long GroupReceived { get { return groupRx.TotalReceived; } }
        public long GroupLost { get { return groupRx.TotalLost; } }

        // ---------------------------------------------------------------- receiving

        /// <summary>Takes one datagram b[0..n) read at now from the session socket (group false) or the
        /// multicast socket (group true). b may be changed (opened in place).</summary>
        public void OnDatagram(byte[] b, int n, bool group, long now)
        {
            Stats.Received++;
            var h = new Header();
            var err = h.Parse(b, n);
            if (err != HeaderError.None)
            {
                if (err == HeaderError.Version && !group && h.Type == PacketType.Denied && State != ConnectionState.Connected)
                    Fail(StateReason.VersionMismatch, (int)DenyReason.VersionMismatch); // §7.5
                Stats.Dropped++;
                return;
            }
            var st = State;
            if (group) { OnGroup(ref h, b, n, now); return; }
            switch (h.Type)
            {
                case PacketType.Challenge:
                case PacketType.Accepted:
                case PacketType.Denied:
                    n = HandshakeEpoch(ref h, b, n);
                    if (n < 0) { Stats.Dropped++; return; }
                    break;
            }
            switch (h.Type)
            {
                case PacketType.Challenge:
                    if (st != ConnectionState.Connected && h.Token == 0) OnChallenge(b, n - Proto.HeaderSize, now);
                    return;
                case PacketType.Accepted:
                    if (st != ConnectionState.Closed) OnAccepted(ref h, b, n - Proto.HeaderSize, now);
                    return;
                case PacketType.Denied:
                    if (st != ConnectionState.Connected && st != ConnectionState.Closed) OnDenied(b, n - Proto.HeaderSize, now);
                    return;
            }
            if (st != ConnectionState.Connected) { Stats.Dropped++; return; }
            if (h.Token != Token) { Stats.DroppedToken++; return; }
            int bodyLen = n - Proto.HeaderSize;
            var s = sealer;
            if (s != null)
            {
                if ((h.Flags & HeaderFlags.Sealed) == 0)
                {
                    // The one clear datagram a sealed session takes: Disconnect(UnknownSession) (§8.5).
                    if (h.Type == PacketType.Disconnect && disc.Parse(b, Proto.HeaderSize, bodyLen) && disc.Reason == DisconnectReason.UnknownSession)
                        Lost(StateReason.Disconnected, (int)disc.Reason, true, now);
                    else Stats.DroppedBadSeal++;
                    return;
                }
                bodyLen = s.Open(b, n);
                if (bodyLen < 0) { Stats.DroppedBadSeal++; return; }
            }
            if ((bodyLen = Fence(ref h, b, bodyLen, now)) < 0) return;
            OnSession(ref h, b, bodyLen, now);
        }

        void Heard(ref Header h, long now)
        {
            lastHeard = now;
            sessionRx.Record(h.Seq);
            reportSessionRx.Record(h.Seq);
            PublishAck();
            if (reliable != null) reliable.OnAck(h.Ack, h.AckBits, now);
        }

        void OnSession(ref Header h, byte[] b, int n, long now)
        {
            const int o = Proto.HeaderSize;
            switch (h.Type)
            {
                case PacketType.Snapshot:
                    if (!snap.Parse(b, o, n)) break;
                    Heard(ref h, now);
                    if (snap.Part == 0 && !Unicast) delivery.UnicastReference(snap.Tick, now);
                    OnSnapshot(false, now);
                    return;
                case PacketType.EntityUpdate:
                    if (!upd.Parse(b, o, n)) break;
                    Heard(ref h, now);
                    OnUpdate(false, now);
                    return;
                case PacketType.DeliveryProbe:
                    if (!probe.Parse(b, o, n)) break;
                    Heard(ref h, now);
                    delivery.UnicastReference(probe.Tick, now);
                    return;
                case PacketType.Pong:
                    if (!pong.Parse(b, o, n)) break;
                    Heard(ref h, now);
                    int k = (int)(pong.Id & 7);
                    if (pingIds[k] != pong.Id || pingIds[k] == 0 || (ulong)pingSent[k] != pong.ClientTime) return;
                    pingIds[k] = 0;
                    Clock.Add(pingSent[k], (long)pong.ServerReceive, (long)pong.ServerSend, now);
                    Stats.Pongs++;
                    return;
                case PacketType.Message:
                    {
                        var m = new MessageBody();
                        if (!m.Parse(b, o, n)) break;
                        bool stored, rel;
                        bool inOrder = !sessionRx.Any || (ushort)(h.Seq - LastSessionSeq()) == 1;
                        if (!reliable.OnPayload(b, m.PayloadOffset, m.PayloadLength, out stored, out rel)) break;
                        if (stored) Heard(ref h, now);
                        else { lastHeard = now; reliable.OnAck(h.Ack, h.AckBits, now); }
                        if (stored && rel) reliable.NoteReceived(now, inOrder);
                        if (reliable.AckDue(now)) FlushReliable(now, true);
                        return;
                    }
                case PacketType.Disconnect:
                    if (!disc.Parse(b, o, n)) break;
                    var r = disc.Reason;
                    // ClientLeft from the server: taken over (§7.6); Kicked: an operator's decision. Neither reconnects.
                    Lost(StateReason.Disconnected, (int)r, r == DisconnectReason.Timeout || r == DisconnectReason.ServerShutdown || r == DisconnectReason.UnknownSession, now);
                    return;
                case PacketType.StateDelta:
                    if (!sdh.Parse(b, o, n)) break;
                    Heard(ref h, now);
                    if (DeltaOn) OnDelta(b, now);
                    return;
                default:
                    break; // client → server types
            }
            Stats.Dropped++;
        }

        ushort LastSessionSeq()
        {
            ushort a; uint bits;
            sessionRx.Ack(out a, out bits);
            return a;
        }

        void OnGroup(ref Header h, byte[] b, int n, long now)
        {
            if (State != ConnectionState.Connected || Unicast && !GroupJoined) { Stats.Dropped++; return; }
            if (h.Token != GroupToken) { Stats.DroppedToken++; return; }
            if (h.Type != PacketType.Snapshot && h.Type != PacketType.EntityUpdate && !(h.Type == PacketType.StateDelta && DeltaOn)) { Stats.Dropped++; return; }
            int bodyLen = n - Proto.HeaderSize;
            var s = sealer;
            if (s != null)
            {
                if ((h.Flags & HeaderFlags.Sealed) == 0) { Stats.DroppedBadSeal++; return; }
                bodyLen = s.OpenGroup(b, n);
                if (bodyLen < 0) { Stats.DroppedBadSeal++; return; }
            }
            if ((bodyLen = Fence(ref h, b, bodyLen, now)) < 0) return;
            if (h.Type == PacketType.StateDelta)
            {
                if (!sdh.Parse(b, Proto.HeaderSize, bodyLen)) { Stats.Dropped++; return; }
                groupRx.Record(h.Seq);
                if (sdh.Part == 0) delivery.MulticastPart0(sdh.Tick, now);
                OnDelta(b, now);
            }
            else if (h.Type == PacketType.Snapshot)
            {
                if (!snap.Parse(b, Proto.HeaderSize, bodyLen)) { Stats.Dropped++; return; }
                groupRx.Record(h.Seq);
                if (snap.Part == 0) delivery.MulticastPart0(snap.Tick, now);
                OnSnapshot(true, now);
            }
            else
            {
                if (!upd.Parse(b, Proto.HeaderSize, bodyLen)) { Stats.Dropped++; return; }
                groupRx.Record(h.Seq);
                OnUpdate(true, now);
            }
        }

        // ---------------------------------------------------------------- state rules (§10, §10.2)

        void ResetStateStore()
        {
            Array.Clear(playerTime, 0, playerTime.Length);
            Array.Clear(entityTime, 0, entityTime.Length);
            haveTick = false; haveUpdate = false; partsGot = 0; partsWanted = 0;
            Array.Clear(partsSeen, 0, 4);
        }

        /// <summary>Everyone present leaves (the session ended: nothing is known any more).</summary>
        void ResetPresence(long now)
        {
            for (int i = 0; i < presentCount; i++)
            {
                present[presentList[i]] = false;
                PushId(EventKind.PlayerLeft, presentList[i], now);
            }
            presentCount = 0;
        }

        void PushId(EventKind k, ushort id, long now)
        {
            ev = default(ClientEvent);
            ev.Kind = k; ev.Id = id; ev.ReceivedAt = now;
            Events.Push(ref ev);
        }

        bool Plausible(uint tick, ulong serverTime, long now)
        {
            long est = Clock.ServerNow(now);
            if ((long)serverTime > est + MaxStateAhead) return false;
            long expect = (long)(serverTime * TickRate / 1000000UL) - 1;
            int d = (int)(tick - (uint)expect);
            return d >= -2 && d <= 2;
        }

        static bool TickOlder(uint a, uint b) { return (int)(a - b) < 0; }

        void OnSnapshot(bool group, long now)
        {
            var s = snap;
            if (!Plausible(s.Tick, s.ServerTime, now)) { Stats.DroppedImplausible++; return; }
            if (haveTick && TickOlder(s.Tick, newestTick))
            {
                if ((long)newestTickTime <= Clock.ServerNow(now) + StateRecoverAhead) { Stats.DroppedStale++; return; }
                haveTick = false; // the newest was stamped in the future: the older part becomes the newest
            }
            if (!haveTick || s.Tick != newestTick || s.Parts != partsWanted)
            {
                haveTick = true;
                newestTick = s.Tick;
                newestTickTime = s.ServerTime;
                Array.Clear(partsSeen, 0, 4);
                partsGot = 0;
                partsWanted = s.Parts;
                serial++;
                seenCount = 0;
            }
            else if ((partsSeen[s.Part >> 6] >> (s.Part & 63) & 1) != 0) { Stats.DroppedDuplicate++; return; }
            partsSeen[s.Part >> 6] |= 1UL << (s.Part & 63);
            partsGot++;
            Stats.Snapshots++;
            for (int i = 0; i < s.NumPlayers; i++)
            {
                ushort id = s.Players[i].ClientId;
                if (id != 0 && seenIn[id] != serial && seenCount < seenList.Length)
                {
                    seenIn[id] = serial;
                    seenList[seenCount++] = id;
                }
                ApplyPlayer(ref s.Players[i], s.ServerTime, now, false);
            }
            for (int i = 0; i < s.NumEntities; i++) ApplyEntity(ref s.Entities[i], s.ServerTime, now, false);
            if (partsGot == partsWanted) CompleteTick(s.Tick, s.ServerTime, s.PlayerCount, now);
        }

        void CompleteTick(uint tick, ulong serverTime, int playerCount, long now)
        {
            Stats.TicksComplete++;
            // Left: present before, absent from this complete tick.
            for (int i = 0; i < presentCount;)
            {
                ushort id = presentList[i];
                if (seenIn[id] == serial) { i++; continue; }
                present[id] = false;
                presentList[i] = presentList[--presentCount];
                PushId(EventKind.PlayerLeft, id, now);
            }
            for (int i = 0; i < seenCount; i++)
            {
                ushort id = seenList[i];
                if (present[id] || presentCount >= presentList.Length) continue;
                present[id] = true;
                presentList[presentCount++] = id;
                PushId(EventKind.PlayerJoined, id, now);
            }
            ev = default(ClientEvent);
            ev.Kind = EventKind.TickComplete; ev.Seq = tick; ev.ServerTime = serverTime; ev.ReceivedAt = now; ev.Reason = playerCount;
            Events.Push(ref ev);
            // Events were lost (the main thread fell behind): once there is room, say again who is present.
            if (Events.Dropped != droppedSeen && Events.Free >= presentCount + 2)
            {
                droppedSeen = Events.Dropped;
                PushId(EventKind.Resync, 0, now);
                for (int i = 0; i < presentCount; i++) PushId(EventKind.PlayerJoined, presentList[i], now);
                PushId(EventKind.ResyncEnd, 0, now);
            }
        }

        void OnUpdate(bool group, long now)
        {
            var u = upd;
            if (!Plausible(u.Tick, u.ServerTime, now)) { Stats.DroppedImplausible++; return; }
            bool stale = (haveTick && TickOlder(u.Tick, newestTick)) || (haveDeltaTick && TickOlder(u.Tick, deltaTick))
                || (haveUpdate && u.ServerTime < lastUpdateTime);
            if (stale)
            {
                ulong newest = Math.Max(Math.Max(haveTick ? newestTickTime : 0, haveDeltaTick ? deltaTickTime : 0), haveUpdate ? lastUpdateTime : 0);
                if ((long)newest <= Clock.ServerNow(now) + StateRecoverAhead) { Stats.DroppedStale++; return; }
            }
            if (haveUpdate && u.ServerTime == lastUpdateTime && group != lastUpdateGroup) { Stats.DroppedDuplicate++; return; }
            haveUpdate = true;
            lastUpdateTime = u.ServerTime;
            lastUpdateGroup = group;
            Stats.EntityUpdates++;
            for (int i = 0; i < u.NumEntities; i++) ApplyEntity(ref u.Entities[i], u.ServerTime, now, true);
            for (int i = 0; i < u.NumPlayers; i++) ApplyPlayer(ref u.Players[i], u.ServerTime, now, true);
        }

        void ApplyPlayer(ref PlayerRecord r, ulong serverTime, long now, bool update)
        {
            if (r.ClientId == 0 || serverTime <= playerTime[r.ClientId]) return;
            playerTime[r.ClientId] = serverTime;
            ev = default(ClientEvent);
            ev.Kind = EventKind.Player; ev.Id = r.ClientId; ev.Seq = r.InputSeq; ev.Tracking = r.Tracking;
            ev.Head = r.Head; ev.Left = r.Left; ev.Right = r.Right; ev.ServerTime = serverTime; ev.ReceivedAt = now;
            ev.Reason = update ? 1 : 0;
            Events.Push(ref ev);
        }

        void ApplyEntity(ref EntityRecord r, ulong serverTime, long now, bool update)
        {
            if (entityTime[r.Id] != 0 && serverTime <= entityTime[r.Id]) return;
            entityTime[r.Id] = serverTime;
            ev = default(ClientEvent);
            ev.Kind = EventKind.Entity; ev.Id = r.Id; ev.Flags = r.Flags; ev.Head = r.Pose; ev.Reason = update ? 1 : 0;
            ev.ServerTime = serverTime; ev.ReceivedAt = now;
            Events.Push(ref ev);
        }

        // A StateDelta part (§10.4), after the plausibility rule; the tick ordering rules of §10 do not
        // apply to it: a part of an older tick is assembled (a repair, kept as a baseline) but not shown.
        void OnDelta(byte[] b, long now)
        {
            var h = sdh;
            if (!Plausible(h.Tick, h.ServerTime, now)) { Stats.DroppedImplausible++; return; }
            if (h.Coded && !CodedOn) { Stats.Dropped++; return; } // not asked for: this client does not take them
            TickState st;
            var o = deltaRx.Take(h, b, out st);
            Stats.DeltaNoBaseline = deltaRx.NoBaseline;
            Stats.DeltaBad = deltaRx.BadDelta;
            Stats.DeltaRecovered = deltaRx.Recovered;
            if (o == DeltaOutcome.Copy || o == DeltaOutcome.Duplicate) { Stats.DroppedDuplicate++; return; }
            if (o == DeltaOutcome.NoBaseline || o == DeltaOutcome.Bad) return; // the acknowledgements tell the server
            Stats.DeltaParts++;
            if (h.Coded) Stats.DeltaCoded++;
            bool show = !haveDeltaTick || !TickOlder(h.Tick, deltaTick);
            if (show)
            {
                if (!haveDeltaTick || h.Tick != deltaTick) { haveDeltaTick = true; deltaTick = h.Tick; deltaTickTime = h.ServerTime; }
                // Each part is shown as it arrives: within its ranges the assembly is the tick's state. A
                // repair part has no records of its own; the parts it rebuilt, if any, are shown.
                if (!h.IsParity) ShowPart(h, st, now);
                for (int i = 0; i < deltaRx.RecoveredParts; i++) ShowPart(deltaRx.RecoveredPart(i), st, now);
            }
            if (o != DeltaOutcome.Whole) return;
            if (show)
            {
                // A whole tick: every player present, all others left (§10).
                serial++;
                seenCount = 0;
                for (int i = 0; i < st.NumPlayers && seenCount < seenList.Length; i++)
                {
                    ushort id = st.Players[i].Id;
                    if (id == 0) continue;
                    seenIn[id] = serial;
                    seenList[seenCount++] = id;
                }
                CompleteTick(h.Tick, h.ServerTime, st.NumPlayers, now);
                haveTick = false; // the snapshot assembly no longer names the newest state
            }
            uint t; ulong mask;
            bool any = deltaRx.Ack(out t, out mask);
            lock (sendLock) { ackState = any; ackStateTick = t; ackStateMask = mask; }
        }

        // The records of st within h's ranges, as a snapshot part of h's tick.
        void ShowPart(StateDeltaHeader h, TickState st, long now)
        {
            var rec = new PlayerRecord();
            for (int i = 0; i < st.NumPlayers; i++)
            {
                var p = st.Players[i];
                if (p.Id < h.PlayerFrom || p.Id > h.PlayerTo) continue;
                rec.ClientId = p.Id; rec.InputSeq = p.Seq; rec.Tracking = p.Tracking; rec.Head = p.Head; rec.Left = p.Left; rec.Right = p.Right;
                ApplyPlayer(ref rec, h.ServerTime, now, false);
            }
            var er = new EntityRecord();
            for (int i = 0; i < st.NumEntities; i++)
            {
                var e = st.Entities[i];
                if (e.Id < h.EntityFrom || e.Id > h.EntityTo) continue;
                er.Id = e.Id; er.Flags = e.Flags; er.Pose = e.Pose;
                ApplyEntity(ref er, h.ServerTime, now, false);
            }
        }

        void OnDeliver(int stream, byte[] data, int len)
        {
            if (len < Rpc.TypeSize) return;
            Stats.RpcsReceived++;
            ev = default(ClientEvent);
            ev.Kind = EventKind.Rpc; ev.Id = Bytes.U16(data, 0); ev.Seq = (uint)stream; ev.Data = data; ev.Length = len;
            Events.Push(ref ev);
        }
    }
}

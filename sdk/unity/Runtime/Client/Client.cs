using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>An Arcade headset client: a Session over real UDP sockets.
    ///
    /// Threads: a receive thread reads the session socket (connected to the server, so only the
    /// server's datagrams arrive) and runs the session's timers; a second one reads the multicast
    /// group's socket once joined. Both hand what they applied to the main thread through a
    /// lock-free ring (EventRing); the main thread calls Poll once per frame to move it into World
    /// and raise the callbacks, and SendPose whenever a tracking sample is available (it sends at
    /// once, on the caller's thread, taking only a short send lock). Receive buffers are allocated
    /// once per thread; nothing on the path of a received snapshot or a sent pose allocates.
    ///
    /// A server of a standby pair (its Accepted carries an epoch, docs/PROTOCOL.md §18) gets a third
    /// thread: it reads a second socket on the session's port, unconnected, which the system hands
    /// the datagrams from every source but the server (Linux and Android give a connected socket
    /// only its peer's). The first datagram of the session under a higher epoch, from there or
    /// from the group, moves the Client to its source: the session socket is connected to the new
    /// server, no new handshake (§18.5).</summary>
    public sealed class Client : IDisposable, ITransport
    {
        static readonly long epoch = Stopwatch.GetTimestamp();
        static readonly double usPerTick = 1e6 / Stopwatch.Frequency;

        /// <summary>The client clock: µs since this process loaded the SDK.</summary>
        public static long NowUs() { return (long)((Stopwatch.GetTimestamp() - epoch) * usPerTick); }

        readonly ClientConfig cfg;
        readonly Session session;
        readonly object sync = new object(); // the receive side: Session.OnDatagram and Step
        readonly Socket sock;
        Socket mcast;
        // The server the session socket is connected to; the socket of the other sources (a pair's).
        IPEndPoint server;
        Socket others;
        bool othersFailed;
        Thread rxThread, mcastThread, othersThread;
        volatile bool running;
        IPAddress joinedGroup;
        int joinedPort;

        /// <summary>The newest state of every player and entity (main thread, after Poll).</summary>
        public readonly World World = new World();

        /// <summary>What to show this frame (main thread, after Poll): held objects at their newest state,
        /// the others through the bounded interpolation (ClientConfig.InterpolationDelayUs).</summary>
        public readonly Presentation Presentation = new Presentation(0);

        /// <summary>Callbacks, raised by Poll on the main thread.</summary>
        public event Action<ushort> PlayerJoined, PlayerLeft;
        public event Action<ConnectionState, StateReason, int> StateChanged;
        /// <summary>Every RPC message from the server: type, stream, the whole message (type id first), its length.</summary>
        public event Action<ushort, int, byte[], int> RpcReceived;
        public event Action<EventRpc> EventReceived;
        public event Action<string> SceneChanged, TextReceived;
        /// <summary>A complete tick: its number.</summary>
        public event Action<uint> TickCompleted;

        /// <summary>Bytes the receive threads allocated while handling Snapshot and StateDelta datagrams, and how many they handled.</summary>
        public long SnapshotAllocatedBytes, SnapshotsMeasured;

        public Client(ClientConfig config)
        {
            config.Validate();
            cfg = config;
            sock = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            // A standby pair's server is then heard from another address on a socket of its own on the
            // same port (OpenOthers): Linux lets two sockets share a port only if both ask.
            if (SharesPort) sock.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            sock.Bind(new IPEndPoint(cfg.LocalAddress ?? IPAddress.Any, 0));
            sock.Connect(cfg.Server);
            server = cfg.Server;
            sock.Blocking = false;
            TrySetBuffer(sock);
            session = new Session(cfg, this);
        }

        static void TrySetBuffer(Socket s)
        {
            try { s.ReceiveBufferSize = 1 << 20; } catch (SocketException) { }
        }

        public Session Session { get { return session; } }
        public ConnectionState State { get { return session.State; } }
        public ushort ClientId { get { return session.ClientId; } }
        public byte[] PlayerId { get { return session.PlayerId; } }
        public ClientStats Stats { get { return session.Stats; } }
        public IPEndPoint LocalEndPoint { get { return (IPEndPoint)sock.LocalEndPoint; } }
        /// <summary>The server the session talks to: ClientConfig.Server, or the standby that took it over.</summary>
        public IPEndPoint Server { get { lock (sync) return server; } }
        /// <summary>The highest epoch the session accepted from a standby pair's servers (0: none, §18).</summary>
        public uint Epoch { get { lock (sync) return session.HasEpoch ? session.Epoch : 0; } }
        /// <summary>Estimated server clock now (µs since the server started).</summary>
        public long ServerNow { get { return session.Clock.ServerNow(NowUs()); } }
        /// <summary>Round trip to the server (µs, the best of the last 8 pings).</summary>
        public long Rtt { get { return session.Clock.Rtt; } }
        /// <summary>Events dropped because Poll was not called in time.</summary>
        public long EventsDropped { get { return session.Events.Dropped; } }

        /// <summary>Starts the handshake and the receive thread.</summary>
        public void Start()
        {
            if (running) return;
            running = true;
            lock (sync) session.Start(NowUs());
            rxThread = new Thread(RxLoop) { IsBackground = true, Name = "arcade-rx" };
            rxThread.Start();
        }

        /// <summary>Sends one tracking sample now. Call it the moment a sample is available. False when not connected.</summary>
        public bool SendPose(ref PoseSample p) { return session.SendPose(ref p, NowUs()); }

        readonly ushort[] grabbed = new ushort[2];

        /// <summary>Asks the server to make hand (0 left, 1 right) grab entity (0: the nearest in reach).
        /// A named entity is shown at its newest state from now on (Presentation); after grabbing the
        /// nearest one, tell Presentation.SetHeldLocally which it was.</summary>
        public bool Grab(int hand, ushort entity)
        {
            bool ok;
            lock (sync) ok = session.Grab(hand, entity, NowUs());
            if (ok && entity != 0 && hand >= 0 && hand <= 1)
            {
                grabbed[hand] = entity;
                Presentation.SetHeldLocally(entity, true);
            }
            return ok;
        }

        public bool Release(int hand)
        {
            bool ok;
            lock (sync) ok = session.Release(hand, NowUs());
            if (ok && hand >= 0 && hand <= 1 && grabbed[hand] != 0)
            {
                Presentation.SetHeldLocally(grabbed[hand], false);
                grabbed[hand] = 0;
            }
            return ok;
        }
        public bool Button(byte button, bool down) { lock (sync) return session.Button(button, down, NowUs()); }
        public bool RequestScene(string name) { lock (sync) return session.RequestScene(name, NowUs()); }
        public bool SendRpc(int stream, byte[] msg, int off, int len) { lock (sync) return session.SendRpc(stream, msg, off, len, NowUs()); }

        /// <summary>Moves what the receive threads applied into World and raises the callbacks; returns the number of events.
        /// Call once per frame on the main thread.</summary>
        public int Poll()
        {
            int n = 0;
            ClientEvent e;
            while (session.Events.TryPop(out e))
            {
                n++;
                World.Apply(ref e);
                Presentation.Apply(ref e);
                switch (e.Kind)
                {
                    case EventKind.PlayerJoined: if (PlayerJoined != null) PlayerJoined(e.Id); break;
                    case EventKind.ResyncEnd: World.EndResync(PlayerLeft); break;
                    case EventKind.PlayerLeft: if (PlayerLeft != null) PlayerLeft(e.Id); break;
                    case EventKind.TickComplete: if (TickCompleted != null) TickCompleted(e.Seq); break;
                    case EventKind.State:
                        if (StateChanged != null) StateChanged((ConnectionState)e.Flags, (StateReason)e.Reason, (int)e.Seq);
                        break;
                    case EventKind.Rpc: DispatchRpc(ref e); break;
                }
            }
            long d = cfg.InterpolationDelayUs;
            if (d == 0) d = session.TickRate == 0 ? 0 : 1000000L / session.TickRate;
            Presentation.DelayUs = Math.Max(0, d);
            Presentation.BeginFrame(ServerNow);
            return n;
        }

        void DispatchRpc(ref ClientEvent e)
        {
            if (RpcReceived != null) RpcReceived(e.Id, (int)e.Seq, e.Data, e.Length);
            int body = Rpc.TypeSize, n = e.Length - Rpc.TypeSize;
            switch (e.Id)
            {
                case Rpc.Event:
                    var ev = new EventRpc();
                    if (ev.Parse(e.Data, body, n) && EventReceived != null) EventReceived(ev);
                    break;
                case Rpc.SceneChange:
                    int l = Rpc.ParseScene(e.Data, body, n);
                    if (l >= 0 && SceneChanged != null) SceneChanged(System.Text.Encoding.UTF8.GetString(e.Data, body + 1, l));
                    break;
                case Rpc.Text:
                    int t = Rpc.ParseText(e.Data, body, n);
                    if (t >= 0 && TextReceived != null) TextReceived(System.Text.Encoding.UTF8.GetString(e.Data, body + 4, t));
                    break;
            }
        }

        void ITransport.Send(byte[] b, int n)
        {
            SocketError err;
            sock.Send(b, 0, n, SocketFlags.None, out err);
        }

        bool ITransport.JoinGroup(byte[] addr, int port)
        {
            var group = new IPAddress(new byte[] { addr[0], addr[1], addr[2], addr[3] });
            if (mcast != null && group.Equals(joinedGroup) && port == joinedPort) return true;
            try
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(new IPEndPoint(IPAddress.Any, port));
                var iface = cfg.MulticastInterface ?? IPAddress.Any;
                s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group, iface));
                s.Blocking = false;
                TrySetBuffer(s);
                var old = mcast;
                mcast = s;
                joinedGroup = group;
                joinedPort = port;
                if (old != null) old.Close();
                if (mcastThread == null)
                {
                    mcastThread = new Thread(McastLoop) { IsBackground = true, Name = "arcade-mcast" };
                    mcastThread.Start();
                }
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        void RxLoop()
        {
            var buf = new byte[Proto.MaxDatagramSize + 64];
            ulong loss = 0x9E3779B97F4A7C15UL;
            while (running)
            {
                long now = NowUs();
                long wait;
                lock (sync) wait = session.NextWake(now) - now;
                if (wait < 0) wait = 0;
                bool readable;
                try { readable = sock.Poll((int)Math.Min(wait, 50000), SelectMode.SelectRead); }
                catch (ObjectDisposedException) { return; }
                if (readable) Drain(sock, buf, FromServer, ref loss);
                lock (sync) session.Step(NowUs());
                if (others == null && !othersFailed && session.HasEpoch) OpenOthers();
            }
        }

        void McastLoop()
        {
            var buf = new byte[Proto.MaxDatagramSize + 64];
            ulong loss = 0xD1B54A32D192ED03UL;
            while (running)
            {
                var s = mcast;
                bool readable;
                try { readable = s.Poll(20000, SelectMode.SelectRead); }
                catch (ObjectDisposedException) { continue; }
                catch (SocketException) { continue; }
                if (readable) Drain(s, buf, FromGroup, ref loss);
            }
        }

        // Whether the system gives a connected socket its peer's datagrams and an unconnected one on the
        // same port (both with SO_REUSEADDR) the others': Linux and Android do; a BSD refuses the second
        // bind without SO_REUSEPORT (OpenOthers then gives up); Windows does not say which of the two
        // gets a datagram, so it is not asked.
        static readonly bool SharesPort = Environment.OSVersion.Platform == PlatformID.Unix;

        // Opens the socket of the datagrams from other sources than the server, on the session's port:
        // a standby pair's new server's unicast (§18.5). Where the system does not share the port, the
        // Client follows a takeover from the group only.
        void OpenOthers()
        {
            if (!SharesPort) { othersFailed = true; return; }
            try
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(new IPEndPoint(cfg.LocalAddress ?? IPAddress.Any, ((IPEndPoint)sock.LocalEndPoint).Port));
                s.Blocking = false;
                TrySetBuffer(s);
                others = s;
                othersThread = new Thread(OthersLoop) { IsBackground = true, Name = "arcade-pair" };
                othersThread.Start();
            }
            catch (SocketException)
            {
                othersFailed = true;
            }
        }

        void OthersLoop()
        {
            var buf = new byte[Proto.MaxDatagramSize + 64];
            ulong loss = 0x94D049BB133111EBUL;
            while (running)
            {
                bool readable;
                try { readable = others.Poll(20000, SelectMode.SelectRead); }
                catch (ObjectDisposedException) { return; }
                catch (SocketException) { continue; }
                if (readable) Drain(others, buf, FromOthers, ref loss);
            }
        }

        // Goes on with the server at ep, the source of the datagram that moved the session to a higher
        // epoch (§18.5): the session socket sends to it and hears it from now on, and the RPCs queued
        // again on the new reliable channel go out at once. Under sync.
        void MoveTo(IPEndPoint ep)
        {
            if (!ep.Equals(server))
            {
                try { sock.Connect(ep); }
                catch (SocketException) { return; }
                server = ep;
            }
            session.Stats.ServerMoves++;
            session.Step(NowUs());
        }

        // Whether to drop a received state datagram, for ClientConfig.SimulatedStateLoss: xorshift64 on
        // the receive thread's own state.
        bool SimulateLoss(ref ulong x)
        {
            if (cfg.SimulatedStateLoss <= 0) return false;
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            return (x >> 11) * (1.0 / (1UL << 53)) < cfg.SimulatedStateLoss;
        }

        // The sockets Drain reads: the session socket (the server's datagrams), the group's, and that of
        // the other sources (a standby pair's).
        const int FromServer = 0, FromGroup = 1, FromOthers = 2;
        readonly IPEndPoint anySource = new IPEndPoint(IPAddress.Any, 0);

        void Drain(Socket s, byte[] buf, int from, ref ulong loss)
        {
            bool group = from == FromGroup;
            for (int i = 0; i < 64 && running; i++)
            {
                SocketError err;
                int n;
                // Of a datagram that may move the session to a standby pair's new server, the source is
                // read (ReceiveFrom allocates: once a move); the others are read without it, so first
                // looked at in place.
                bool peek = from == FromOthers || group && session.HasEpoch;
                try { n = s.Receive(buf, 0, buf.Length, peek ? SocketFlags.Peek : SocketFlags.None, out err); }
                catch (ObjectDisposedException) { return; }
                if (err == SocketError.WouldBlock) return;
                if (peek)
                {
                    long at = NowUs();
                    bool may;
                    lock (sync) may = err == SocketError.Success && session.MayMove(buf, n, group, at);
                    if (may && TakeMove(s, buf, group, at)) continue;
                    try { n = s.Receive(buf, 0, buf.Length, SocketFlags.None, out err); }
                    catch (ObjectDisposedException) { return; }
                    if (err == SocketError.WouldBlock) return;
                    if (from == FromOthers)
                    {
                        lock (sync) session.Stats.ForeignSource++;
                        continue;
                    }
                }
                if (err != SocketError.Success) continue; // e.g. ICMP port unreachable on the connected socket
                if (n > Proto.MaxDatagramSize) continue;
                long a = GC.GetAllocatedBytesForCurrentThread();
                bool isSnapshot = n > Proto.HeaderSize && (buf[Header.OffType] == PacketType.Snapshot || buf[Header.OffType] == PacketType.StateDelta);
                if (isSnapshot && SimulateLoss(ref loss)) continue;
                lock (sync)
                {
                    session.OnDatagram(buf, n, group, NowUs());
                    // From the server's socket: the server itself took a higher epoch (it stepped down
                    // and took over again). From the group, a move is read with its source (TakeMove).
                    if (session.Moved() && from == FromServer) MoveTo(server);
                }
                if (isSnapshot)
                {
                    Interlocked.Add(ref SnapshotAllocatedBytes, GC.GetAllocatedBytesForCurrentThread() - a);
                    Interlocked.Increment(ref SnapshotsMeasured);
                }
            }
        }

        // Reads the datagram s holds next with its source, which MayMove said may move the session at
        // at, and hands it to the session, which moves the Client to that source if it takes the
        // datagram under a new epoch. False if it could not be read.
        bool TakeMove(Socket s, byte[] buf, bool group, long at)
        {
            EndPoint src = anySource;
            int n;
            try { n = s.ReceiveFrom(buf, 0, buf.Length, SocketFlags.None, ref src); }
            catch (SocketException) { return false; }
            catch (ObjectDisposedException) { return true; }
            if (n > Proto.MaxDatagramSize) return true;
            lock (sync)
            {
                session.OnDatagram(buf, n, group, at);
                if (session.Moved()) MoveTo((IPEndPoint)src);
            }
            return true;
        }

        /// <summary>Leaves (Disconnect(ClientLeft)), stops the threads and closes the sockets.</summary>
        public void Dispose()
        {
            lock (sync) session.Close(NowUs());
            running = false;
            if (rxThread != null) rxThread.Join(1000);
            if (mcastThread != null) mcastThread.Join(1000);
            if (othersThread != null) othersThread.Join(1000);
            sock.Close();
            if (mcast != null) mcast.Close();
            if (others != null) others.Close();
        }
    }
}

using Arcade.Wire;

namespace Arcade
{
    /// <summary>A player as the client last saw it.</summary>
    public struct PlayerState
    {
        public ushort Id;
        /// <summary>In the world by the last complete tick (§10).</summary>
        public bool Present;
        public uint InputSeq;
        public byte Tracking;
        public QPose Head, Left, Right;
        /// <summary>Whether an input of the player's session was applied (else InputSeq means nothing, §6.7).</summary>
        public bool HasInput { get { return (Tracking & Wire.Tracking.NoInput) == 0; } }
        /// <summary>Server time of the state (µs, server clock).</summary>
        public ulong ServerTime;
        /// <summary>Client clock (µs) when the datagram carrying it was read.</summary>
        public long ReceivedAt;
    }

    /// <summary>An entity as the client last saw it.</summary>
    public struct EntityState
    {
        public ushort Id;
        public byte Flags;
        public QPose Pose;
        public ulong ServerTime;
        public long ReceivedAt;
        /// <summary>Whether the newest state came from an EntityUpdate (sent the moment an input moved it), not a snapshot.</summary>
        public bool FromUpdate;
    }

    /// <summary>The main thread's world store: the newest state per player and per entity, filled by
    /// Client.Poll from the receive thread's events. Indexed by slot (0 … Count−1) for iteration and
    /// by id for look-up; nothing allocates after construction. At most 4096 of each (§10.4's bound).</summary>
    public sealed class World
    {
        public const int Capacity = 4096;
        readonly PlayerState[] players = new PlayerState[Capacity];
        readonly EntityState[] entities = new EntityState[Capacity];
        readonly short[] playerSlot = new short[65536];
        readonly short[] entitySlot = new short[65536];
        public int PlayerCount { get; private set; }
        public int EntityCount { get; private set; }
        /// <summary>The newest complete tick and its server time.</summary>
        public uint Tick { get; private set; }
        public ulong TickServerTime { get; private set; }

        readonly bool[] wasPresent = new bool[65536];

        /// <summary>After a ResyncEnd: removes the players present before the Resync and not named since,
        /// calling left for each.</summary>
        public void EndResync(System.Action<ushort> left)
        {
            for (int i = 0; i < PlayerCount;)
            {
                var p = players[i];
                bool gone = wasPresent[p.Id] && !p.Present;
                wasPresent[p.Id] = false;
                if (!gone) { i++; continue; }
                var e = new ClientEvent { Kind = EventKind.PlayerLeft, Id = p.Id };
                Apply(ref e); // the last slot moves into i
                if (left != null) left(p.Id);
            }
        }

        public World()
        {
            for (int i = 0; i < 65536; i++) { playerSlot[i] = -1; entitySlot[i] = -1; }
        }

        public void Clear()
        {
            for (int i = 0; i < PlayerCount; i++) playerSlot[players[i].Id] = -1;
            for (int i = 0; i < EntityCount; i++) entitySlot[entities[i].Id] = -1;
            PlayerCount = 0; EntityCount = 0;
        }

        public PlayerState PlayerAt(int slot) { return players[slot]; }
        public EntityState EntityAt(int slot) { return entities[slot]; }

        public bool TryGetPlayer(ushort id, out PlayerState p)
        {
            int s = playerSlot[id];
            if (s < 0) { p = default(PlayerState); return false; }
            p = players[s];
            return true;
        }

        public bool TryGetEntity(ushort id, out EntityState e)
        {
            int s = entitySlot[id];
            if (s < 0) { e = default(EntityState); return false; }
            e = entities[s];
            return true;
        }

        int PlayerSlot(ushort id)
        {
            int s = playerSlot[id];
            if (s >= 0 || PlayerCount >= Capacity) return s;
            s = PlayerCount++;
            playerSlot[id] = (short)s;
            players[s] = new PlayerState { Id = id };
            return s;
        }

        /// <summary>Applies one event from the receive thread.</summary>
        public void Apply(ref ClientEvent e)
        {
            switch (e.Kind)
            {
                case EventKind.Player:
                    {
                        int s = PlayerSlot(e.Id);
                        if (s < 0) return;
                        players[s].InputSeq = e.Seq; players[s].Tracking = e.Tracking;
                        players[s].Head = e.Head; players[s].Left = e.Left; players[s].Right = e.Right;
                        players[s].ServerTime = e.ServerTime; players[s].ReceivedAt = e.ReceivedAt;
                        return;
                    }
                case EventKind.Entity:
                    {
                        int s = entitySlot[e.Id];
                        if (s < 0)
                        {
                            if (EntityCount >= Capacity) return;
                            s = EntityCount++;
                            entitySlot[e.Id] = (short)s;
                            entities[s].Id = e.Id;
                        }
                        entities[s].Flags = e.Flags; entities[s].Pose = e.Head;
                        entities[s].ServerTime = e.ServerTime; entities[s].ReceivedAt = e.ReceivedAt;
                        entities[s].FromUpdate = e.Reason == 1;
                        return;
                    }
                case EventKind.PlayerJoined:
                    {
                        int s = PlayerSlot(e.Id);
                        if (s >= 0) players[s].Present = true;
                        return;
                    }
                case EventKind.PlayerLeft:
                    {
                        int s = playerSlot[e.Id];
                        if (s < 0) return;
                        // Remove: the last slot fills the gap.
                        int last = --PlayerCount;
                        playerSlot[e.Id] = -1;
                        if (s != last)
                        {
                            players[s] = players[last];
                            playerSlot[players[s].Id] = (short)s;
                        }
                        return;
                    }
                case EventKind.TickComplete:
                    Tick = e.Seq; TickServerTime = e.ServerTime;
                    return;
                case EventKind.Resync:
                    for (int i = 0; i < PlayerCount; i++) { players[i].Present = false; wasPresent[players[i].Id] = true; }
                    return;
            }
        }
    }
}

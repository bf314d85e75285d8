using System.Threading;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>What the receive thread hands to the main thread.</summary>
    public enum EventKind : byte
    {
        None,
        /// <summary>A player's state was applied (Id, Seq, Tracking, Head/Left/Right, ServerTime; Reason 1: from an EntityUpdate).</summary>
        Player,
        /// <summary>An entity's state was applied (Id, Flags, Head = pose, ServerTime; Reason 1: from an EntityUpdate).</summary>
        Entity,
        /// <summary>A complete tick named a player not present before (Id).</summary>
        PlayerJoined,
        /// <summary>A complete tick left out a player present before (Id).</summary>
        PlayerLeft,
        /// <summary>A tick became complete (Seq = tick, ServerTime).</summary>
        TickComplete,
        /// <summary>An RPC message arrived on the reliable channel (Id = RPC type, Seq = stream, Data/Length = the whole message).</summary>
        Rpc,
        /// <summary>The connection state changed (Reason: ConnectionState; Seq: deny or disconnect reason).</summary>
        State,
        /// <summary>Events were dropped (the main thread did not poll in time): the PlayerJoined events up to
        /// ResyncEnd name every player present; one present before and not named has left.</summary>
        Resync,
        ResyncEnd,
    }

    /// <summary>One hand-off from the receive thread: a fixed-size value, no allocation.</summary>
    public struct ClientEvent
    {
        public EventKind Kind;
        public ushort Id;
        public byte Flags;
        public byte Tracking;
        public uint Seq;
        public ulong ServerTime;
        /// <summary>Client clock (µs) when the datagram that carried it was read.</summary>
        public long ReceivedAt;
        public QPose Head, Left, Right;
        public int Reason;
        public byte[] Data;
        public int Length;
    }

    /// <summary>A bounded single-producer single-consumer ring: the receive side (one writer at a
    /// time, under its lock) pushes, the main thread pops without any lock.</summary>
    public sealed class EventRing
    {
        readonly ClientEvent[] items;
        readonly int mask;
        long head; // next to pop (consumer)
        long tail; // next to push (producer)
        /// <summary>Events dropped because the main thread did not poll in time.</summary>
        public long Dropped;

        public EventRing(int capacityPow2)
        {
            items = new ClientEvent[capacityPow2];
            mask = capacityPow2 - 1;
        }

        public int Count { get { return (int)(Volatile.Read(ref tail) - Volatile.Read(ref head)); } }

        /// <summary>Room left for pushes.</summary>
        public int Free { get { return items.Length - Count; } }

        /// <summary>Producer: pushes e, or counts it dropped when full.</summary>
        public bool Push(ref ClientEvent e)
        {
            long t = tail;
            if (t - Volatile.Read(ref head) >= items.Length) { Dropped++; return false; }
            items[t & mask] = e;
            Volatile.Write(ref tail, t + 1);
            return true;
        }

        /// <summary>Consumer: pops the oldest event.</summary>
        public bool TryPop(out ClientEvent e)
        {
            long h = head;
            if (h == Volatile.Read(ref tail)) { e = default(ClientEvent); return false; }
            e = items[h & mask];
            items[h & mask].Data = null;
            Volatile.Write(ref head, h + 1);
            return true;
        }
    }
}

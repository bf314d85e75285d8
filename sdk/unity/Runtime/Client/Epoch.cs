using Arcade.Wire;

namespace Arcade
{
    /// <summary>The session's view of a standby pair (docs/PROTOCOL.md §18.4, §18.5): the highest
    /// epoch accepted and when a datagram under it last arrived. A session whose server sent no
    /// epoch fences nothing.</summary>
    public sealed partial class Session
    {
        /// <summary>How long the session keeps refusing lower epochs after the last datagram under its
        /// own (µs, §18.4): then the server of that epoch no longer writes to it, and the next epoch
        /// seen is taken.</summary>
        public const long FenceLease = 250000;

        uint epoch, epochPending;
        bool epochSeen, epochPendingSeen, moved;
        long epochAt;

        /// <summary>The highest epoch the session accepted from a standby pair's servers; meaningful
        /// when HasEpoch. Under the receive lock.</summary>
        public uint Epoch { get { return epoch; } }

        /// <summary>Whether the session's server is one of a standby pair (its Accepted, or a datagram
        /// since, carried an epoch).</summary>
        public bool HasEpoch { get { return epochSeen; } }

        /// <summary>Reports, once, that the epoch rose since the last call: a standby took over, and the
        /// datagram just handled came from it; the caller that owns the socket sends to that
        /// datagram's source from now on (§18.5). Under the receive lock.</summary>
        public bool Moved()
        {
            bool m = moved;
            moved = false;
            return m;
        }

        /// <summary>Whether datagram b[0..n), from a source other than the server's (group: read from
        /// the group), may move the session to its sender, so that the caller reads that source: the
        /// session follows a pair and b is its own (token), carries an epoch and would be taken under
        /// it. Reads nothing but the header and the trailer; allocates nothing. A sealed datagram's
        /// trailer is sealed with its body (§18.1): one with the session's token may move it.</summary>
        public bool MayMove(byte[] b, int n, bool group, long now)
        {
            if (!epochSeen || State != ConnectionState.Connected || n < Proto.HeaderSize + HeaderFlags.EpochSize || n > Proto.MaxDatagramSize) return false;
            if ((b[Header.OffFlags] & HeaderFlags.Epoch) == 0) return false;
            ulong tok = Bytes.U64(b, Header.OffToken);
            if (tok != (group ? GroupToken : Token) || tok == 0) return false;
            if ((b[Header.OffFlags] & HeaderFlags.Sealed) != 0) return true;
            uint e = Bytes.U32(b, n - HeaderFlags.EpochSize);
            return e > epoch || e != epoch && now - epochAt > FenceLease;
        }

        // The handshake replies come from the server the headset asked: the Accepted's epoch, if it
        // carries one, is the one the session starts at. Returns the datagram's length without the
        // trailer, or -1 when FlagEpoch is set and no trailer fits.
        int HandshakeEpoch(ref Header h, byte[] b, int n)
        {
            uint e;
            int end = HeaderFlags.SplitEpoch(b, n, out e);
            if (end >= 0 && h.Type == PacketType.Accepted && State != ConnectionState.Connected)
            {
                epochPending = e;
                epochPendingSeen = (h.Flags & HeaderFlags.Epoch) != 0;
            }
            return end;
        }

        // The Accepted just taken connected the session: its epoch (or none) is the session's.
        void StartEpoch(long now)
        {
            epoch = epochPending;
            epochSeen = epochPendingSeen;
            epochAt = now;
            moved = false;
        }

        // Applies the fencing rule of §18.4 to a datagram of this session (its token checked, a sealed
        // one opened) whose body is b[22..22+bodyLen): returns the body's length without the epoch
        // trailer, or -1 after counting the drop. A higher epoch is taken at once (or any other after
        // the lease ran out): the session forgets the server's sequence windows, restarts its reliable
        // channel, and Moved reports it.
        int Fence(ref Header h, byte[] b, int bodyLen, long now)
        {
            if ((h.Flags & HeaderFlags.Epoch) == 0)
            {
                if (!epochSeen) return bodyLen;
                Stats.DroppedStaleEpoch++; // a server that is not of the pair, or one that forgot it
                return -1;
            }
            if (bodyLen < HeaderFlags.EpochSize) { Stats.Dropped++; return -1; }
            bodyLen -= HeaderFlags.EpochSize;
            uint e = Bytes.U32(b, Proto.HeaderSize + bodyLen);
            if (epochSeen && e != epoch)
            {
                if (e < epoch && now - epochAt <= FenceLease) { Stats.DroppedStaleEpoch++; return -1; }
                MoveEpoch(now);
            }
            epoch = e;
            epochSeen = true;
            epochAt = now;
            return bodyLen;
        }

        // Goes over to the server of a higher epoch than the session's (or one taken after the lease
        // ran out): its sequence numbers start again (§8.2 state forgotten, the counts kept), and so
        // does its reliable channel.
        void MoveEpoch(long now)
        {
            Stats.EpochChanges++;
            sessionRx.Restart();
            reportSessionRx.Restart();
            groupRx.Restart();
            PublishAck();
            moved = true;
            RestartReliable();
        }

        // A new reliable channel, as the new server's is (§18.5): message ids from 0 on each stream, and
        // the messages the old server did not acknowledge queued on it again, in order. The old
        // channel's packet numbers mean nothing to the new server. The caller's next Step sends them,
        // once it sends to the new server.
        void RestartReliable()
        {
            var old = reliable;
            if (old == null) return;
            var r = new ReliableChannel { OnDeliver = OnDeliver, Mtu = old.Mtu };
            old.Unacked((stream, data, len) =>
            {
                if (!r.Send(stream, data, 0, len)) Stats.RpcsLostAtMove++;
            });
            reliable = r;
        }
    }
}

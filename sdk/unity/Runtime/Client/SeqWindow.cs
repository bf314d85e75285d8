using Arcade.Wire;

namespace Arcade
{
    /// <summary>What one receive path has seen of its sender's header seq (§8.2): the newest
    /// number and a 64-packet history, which give the ack and ack bits to send back and the
    /// path's received and lost counts (a late arrival fills an earlier gap). A jump of
    /// more than 4096 ahead is not counted as loss, and 8 datagrams in a row older than the
    /// window, each within 64 after the one before, move the window back to them: a forged
    /// datagram numbered far ahead cannot stop the real sequence from being acknowledged.</summary>
    public sealed class SeqWindow
    {
        public const int JumpLimit = 4096, ResyncRun = 8;
        int oldRun;
        ushort oldLast;
        bool any;
        ushort newest;
        ulong history; // bit i: newest − i received (bit 0: newest itself)
        /// <summary>Counts since the last Take.</summary>
        public int Received, Lost;
        /// <summary>Counts since the last Reset.</summary>
        public long TotalReceived, TotalLost;

        public bool Any { get { return any; } }

        public void Reset() { any = false; newest = 0; history = 0; Received = 0; Lost = 0; TotalReceived = 0; TotalLost = 0; oldRun = 0; }

        /// <summary>Forgets the sequence (the newest number, the history, a resync run) and keeps the
        /// counts: the sender's numbering starts again, as a standby pair's new server's does (§18.5).</summary>
        public void Restart() { any = false; newest = 0; history = 0; oldRun = 0; }

        /// <summary>Records seq; returns false for a duplicate (already recorded).</summary>
        public bool Record(ushort seq)
        {
            if (!any)
            {
                any = true; newest = seq; history = 1; Received++; TotalReceived++;
                return true;
            }
            int d = (short)(seq - newest);
            if (d > 0)
            {
                oldRun = 0;
                if (d <= JumpLimit) { Lost += d - 1; TotalLost += d - 1; }
                history = d >= 64 ? 1UL : history << d | 1UL;
                newest = seq;
                Received++; TotalReceived++;
                return true;
            }
            int back = -d;
            if (back >= 64)
            {
                // Too old to tell: counted, not a fill; a run of them resynchronises.
                int step = (short)(seq - oldLast);
                oldRun = oldRun > 0 && step > 0 && step <= 64 ? oldRun + 1 : 1;
                oldLast = seq;
                if (oldRun >= ResyncRun) { newest = seq; history = 1; oldRun = 0; }
                Received++; TotalReceived++;
                return true;
            }
            ulong bit = 1UL << back;
            if ((history & bit) != 0) return false;
            history |= bit;
            Received++; TotalReceived++;
            if (Lost > 0) Lost--; // a late arrival fills a gap counted before
            if (TotalLost > 0) TotalLost--;
            return true;
        }

        /// <summary>The header's ack and ack bits for the reverse direction: 0xFFFF and 0 before anything arrived.</summary>
        public void Ack(out ushort ack, out uint bits)
        {
            if (!any) { ack = 0xFFFF; bits = 0; return; }
            ack = newest;
            bits = (uint)(history >> 1);
        }

        /// <summary>Returns and clears the counts.</summary>
        public void Take(out int received, out int lost)
        {
            received = Received; lost = Lost;
            Received = 0; Lost = 0;
        }
    }
}

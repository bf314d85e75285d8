using System;
using Arcade.Wire;

namespace Arcade
{
    /// <summary>A pose in floats: position (m) and rotation quaternion (x, y, z, w).</summary>
    public struct PoseF
    {
        public float X, Y, Z, RX, RY, RZ, RW;

        public static PoseF From(QPose q)
        {
            var p = new PoseF { X = q.PX, Y = q.PY, Z = q.PZ };
            Quant.DecodeRotation(q.Rot, out p.RX, out p.RY, out p.RZ, out p.RW);
            return p;
        }

        /// <summary>Position lerp and normalized quaternion lerp (shortest way) from a to b by f in [0, 1].</summary>
        public static PoseF Lerp(PoseF a, PoseF b, float f)
        {
            float dot = a.RX * b.RX + a.RY * b.RY + a.RZ * b.RZ + a.RW * b.RW;
            float s = dot < 0 ? -1 : 1;
            var p = new PoseF
            {
                X = a.X + (b.X - a.X) * f, Y = a.Y + (b.Y - a.Y) * f, Z = a.Z + (b.Z - a.Z) * f,
                RX = a.RX + (s * b.RX - a.RX) * f, RY = a.RY + (s * b.RY - a.RY) * f,
                RZ = a.RZ + (s * b.RZ - a.RZ) * f, RW = a.RW + (s * b.RW - a.RW) * f,
            };
            float n = (float)Math.Sqrt(p.RX * p.RX + p.RY * p.RY + p.RZ * p.RZ + p.RW * p.RW);
            if (n > 0) { p.RX /= n; p.RY /= n; p.RZ /= n; p.RW /= n; }
            return p;
        }
    }

    /// <summary>What the headset shows (docs: "Presentation" in sdk/unity/README.md). Objects the
    /// local player holds are shown at the newest state the moment it arrives, never through a
    /// buffer. Remote players and free objects are shown at render time = estimated server time −
    /// Delay, interpolated between the two states around it: the added delay is at most Delay
    /// (a setting; default one tick), nothing is extrapolated, and what an object shows never goes
    /// back in time (a late state older than what is shown is not shown). Delay 0 shows every
    /// object at its newest state. Main thread only; nothing allocates after construction.</summary>
    public sealed class Presentation
    {
        public const int Capacity = World.Capacity, History = 4;
        /// <summary>Added delay for remote objects, µs (0: newest state, no interpolation).</summary>
        public long DelayUs;
        long renderTime; // monotonic

        sealed class Track
        {
            public readonly ulong[] T = new ulong[History * Capacity];
            public readonly PoseF[][] P;
            public readonly byte[] N = new byte[Capacity];
            public readonly ulong[] Shown = new ulong[Capacity];
            public readonly short[] Slot = new short[65536];
            public int Count;

            public Track(int parts)
            {
                P = new PoseF[parts][];
                for (int i = 0; i < parts; i++) P[i] = new PoseF[History * Capacity];
                for (int i = 0; i < 65536; i++) Slot[i] = -1;
            }

            public int SlotOf(ushort id)
            {
                int s = Slot[id];
                if (s >= 0 || Count >= Capacity) return s;
                s = Count++;
                Slot[id] = (short)s;
                N[s] = 0; Shown[s] = 0;
                return s;
            }

            // Appends a state newer than the newest held; a state not newer is dropped.
            public void Add(int s, ulong t, QPose a, QPose b, QPose c)
            {
                int n = N[s], b0 = s * History;
                if (n > 0 && t <= T[b0 + n - 1]) return;
                if (n == History)
                {
                    for (int i = 1; i < History; i++)
                    {
                        T[b0 + i - 1] = T[b0 + i];
                        for (int k = 0; k < P.Length; k++) P[k][b0 + i - 1] = P[k][b0 + i];
                    }
                    n--;
                }
                T[b0 + n] = t;
                P[0][b0 + n] = PoseF.From(a);
                if (P.Length > 1) { P[1][b0 + n] = PoseF.From(b); P[2][b0 + n] = PoseF.From(c); }
                N[s] = (byte)(n + 1);
            }

            public bool Sample(int s, int part, ulong rt, bool newest, out PoseF p)
            {
                int n = N[s], b0 = s * History;
                p = default(PoseF);
                if (n == 0) return false;
                if (newest || rt >= T[b0 + n - 1] || n == 1)
                {
                    p = P[part][b0 + n - 1];
                    Shown[s] = Math.Max(Shown[s], T[b0 + n - 1]);
                    return true;
                }
                ulong at = Math.Max(rt, Shown[s]); // never back in time
                int i = n - 1;
                while (i > 0 && T[b0 + i - 1] > at) i--;
                if (i == 0) { p = P[part][b0]; Shown[s] = Math.Max(Shown[s], T[b0]); return true; }
                ulong t0 = T[b0 + i - 1], t1 = T[b0 + i];
                float f = t1 == t0 ? 1 : (float)(at - t0) / (t1 - t0);
                p = PoseF.Lerp(P[part][b0 + i - 1], P[part][b0 + i], Math.Min(1, Math.Max(0, f)));
                Shown[s] = Math.Max(Shown[s], at);
                return true;
            }
        }

        readonly Track players = new Track(3), entities = new Track(1);
        readonly bool[] heldLocally = new bool[65536];

        public Presentation(long delayUs) { DelayUs = delayUs; }

        /// <summary>Marks an entity as held by the local player (shown at its newest state) or not.</summary>
        public void SetHeldLocally(ushort id, bool held) { heldLocally[id] = held; }
        public bool IsHeldLocally(ushort id) { return heldLocally[id]; }

        /// <summary>Takes one event (Client.Poll calls it).</summary>
        public void Apply(ref ClientEvent e)
        {
            if (e.Kind == EventKind.Entity)
            {
                int s = entities.SlotOf(e.Id);
                if (s >= 0) entities.Add(s, e.ServerTime, e.Head, e.Head, e.Head);
            }
            else if (e.Kind == EventKind.Player)
            {
                int s = players.SlotOf(e.Id);
                if (s >= 0) players.Add(s, e.ServerTime, e.Head, e.Left, e.Right);
            }
        }

        /// <summary>Sets the render time for this frame from the estimated server clock (µs); it never goes back.</summary>
        public void BeginFrame(long serverNow)
        {
            long rt = serverNow - DelayUs;
            if (rt > renderTime) renderTime = rt;
        }

        public long RenderTime { get { return renderTime; } }

        /// <summary>The pose to show for an entity this frame.</summary>
        public bool EntityPose(ushort id, out PoseF p)
        {
            int s = entities.Slot[id];
            if (s < 0) { p = default(PoseF); return false; }
            return entities.Sample(s, 0, (ulong)Math.Max(0, renderTime), DelayUs <= 0 || heldLocally[id], out p);
        }

        /// <summary>The pose to show for a player's head (part 0), left hand (1) or right hand (2) this frame.</summary>
        public bool PlayerPose(ushort id, int part, out PoseF p)
        {
            int s = players.Slot[id];
            if (s < 0 || part < 0 || part > 2) { p = default(PoseF); return false; }
            return players.Sample(s, part, (ulong)Math.Max(0, renderTime), DelayUs <= 0, out p);
        }
    }
}

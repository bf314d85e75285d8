using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The bounded interpolation: at most Delay behind, never backwards, held objects at their newest state.</summary>
    public static class PresentationTests
    {
        static ClientEvent Entity(ushort id, ulong t, float x)
        {
            return new ClientEvent { Kind = EventKind.Entity, Id = id, ServerTime = t, Head = QPose.From(x, 0, 0, 0, 0, 0, 1) };
        }

        public static void InterpolatesWithinTheDelayAndNeverGoesBack()
        {
            var p = new Presentation(1000);
            var e = Entity(5, 10000, 0f); p.Apply(ref e);
            e = Entity(5, 11000, 1f); p.Apply(ref e);
            PoseF got;
            p.BeginFrame(11500); // render time 10500: halfway
            T.True(p.EntityPose(5, out got), "pose");
            T.True(System.Math.Abs(got.X - 0.5f) < 0.001f, "halfway between the two states: " + got.X);
            p.BeginFrame(11200); // the clock estimate moved back: render time stays
            T.Equal(10500L, p.RenderTime, "render time is monotonic");
            e = Entity(5, 10200, 9f); p.Apply(ref e); // late and older than shown: never shown
            p.EntityPose(5, out got);
            T.True(System.Math.Abs(got.X - 0.5f) < 0.001f, "a late older state does not move it back: " + got.X);
            p.BeginFrame(20000); // far past the newest: the newest, no extrapolation
            p.EntityPose(5, out got);
            T.Equal(1f, got.X, "newest state past the end");
        }

        public static void HeldObjectsSkipTheBuffer()
        {
            var p = new Presentation(8333);
            var e = Entity(7, 10000, 0f); p.Apply(ref e);
            e = Entity(7, 11000, 2f); p.Apply(ref e);
            p.BeginFrame(11000);
            PoseF got;
            p.EntityPose(7, out got);
            T.True(got.X < 2f, "a free object is shown behind the newest");
            p.SetHeldLocally(7, true);
            p.EntityPose(7, out got);
            T.Equal(2f, got.X, "a held object is shown at its newest state at once");
        }
    }
}

namespace Arcade.Tests
{
    /// <summary>A main thread that falls behind loses events, then gets the players present again.</summary>
    public static class ResyncTests
    {
        public static void WorldRecoversPresenceAfterDroppedEvents()
        {
            var w = new World();
            ClientEvent e;
            foreach (ushort id in new ushort[] { 3, 4, 5 })
            {
                e = new ClientEvent { Kind = EventKind.PlayerJoined, Id = id }; w.Apply(ref e);
            }
            // Player 4 left and 6 joined while events were dropped; the resync names 3, 5 and 6.
            e = new ClientEvent { Kind = EventKind.Resync }; w.Apply(ref e);
            foreach (ushort id in new ushort[] { 3, 5, 6 })
            {
                e = new ClientEvent { Kind = EventKind.PlayerJoined, Id = id }; w.Apply(ref e);
            }
            var left = new System.Collections.Generic.List<ushort>();
            w.EndResync(id => left.Add(id));
            T.Equal(1, left.Count, "one left");
            T.Equal((ushort)4, left[0], "player 4 left");
            PlayerState p;
            T.True(!w.TryGetPlayer(4, out p), "4 is gone");
            foreach (ushort id in new ushort[] { 3, 5, 6 })
                T.True(w.TryGetPlayer(id, out p) && p.Present, id + " present");
        }
    }
}

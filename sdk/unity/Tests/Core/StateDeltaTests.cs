using System.IO;
using Arcade.Wire;

namespace Arcade.Tests
{
    /// <summary>The StateDelta vectors decode in sequence (keyframe 1000, 1003 against 1000, 1004
    /// against 1003) to states of the counts their headers announce; corrupt payloads are refused.</summary>
    public static class StateDeltaTests
    {
        static byte[] Load(string n) { return Hex.ReadFile(Path.Combine(T.Root, "testdata", "wire", n + ".hex")); }

        public static void VectorsDecodeInSequence()
        {
            var dec = new DeltaDecoder();
            var h = new StateDeltaHeader();
            var st = new TickState();
            var d = Load("state_delta_keyframe");
            T.True(h.Parse(d, 22, d.Length - 22), "keyframe parses");
            T.True((h.Flags & StateDeltaHeader.FlagKeyframe) != 0 && h.BaselineTick == 0, "a keyframe");
            T.True(dec.Apply(h, d, st), "keyframe applies to nothing");
            T.Equal((int)h.PlayerCount, st.NumPlayers, "keyframe players");
            T.Equal((int)h.EntityCount, st.NumEntities, "keyframe entities");
            var k = new TickState();
            k.CopyFrom(st);
            d = Load("state_delta_changes");
            T.True(h.Parse(d, 22, d.Length - 22), "changes parse");
            T.Equal(1000U, h.BaselineTick, "against 1000");
            T.True(dec.Apply(h, d, st), "changes apply to 1000");
            T.Equal((int)h.PlayerCount, st.NumPlayers, "1003 players");
            T.Equal((int)h.EntityCount, st.NumEntities, "1003 entities");
            for (int i = 1; i < st.NumEntities; i++) T.True(st.Entities[i - 1].Id < st.Entities[i].Id, "entities sorted");
            var s1003 = new TickState();
            s1003.CopyFrom(st);
            d = Load("state_delta_unchanged");
            T.True(h.Parse(d, 22, d.Length - 22) && dec.Apply(h, d, st), "unchanged applies to 1003");
            T.Equal(s1003.NumPlayers, st.NumPlayers, "unchanged players");
            for (int i = 0; i < st.NumEntities; i++) T.True(st.Entities[i].Pose.Equals(s1003.Entities[i].Pose), "unchanged entity " + i);
            // The changes coded against the keyframe's state do not apply to 1003's (a new record it has).
            d = Load("state_delta_changes");
            h.Parse(d, 22, d.Length - 22);
            var before = st.NumEntities;
            T.True(!dec.Apply(h, d, st), "a part against the wrong state is refused");
            T.Equal(before, st.NumEntities, "and leaves the state unchanged");
            // One bit less: the payload no longer decodes exactly.
            d = Load("state_delta_keyframe");
            h.Parse(d, 22, d.Length - 22);
            h.PayloadBits--;
            T.True(!dec.Apply(h, d, new TickState()), "a payload one bit short is refused");
            T.Log("keyframe: {0} players, {1} entities; 1003: {2} players, {3} entities", k.NumPlayers, k.NumEntities, s1003.NumPlayers, s1003.NumEntities);
        }
    }
}

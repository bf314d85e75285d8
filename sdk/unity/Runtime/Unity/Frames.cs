// Unity's frame is left-handed (X right, Y up, Z forward); Arcade's venue frame is
// right-handed with Y up (docs/PROTOCOL.md §3.1, scene/doc.go). Mirroring Z converts both
// ways: a position (x, y, z) ↔ (x, y, −z), a rotation (x, y, z, w) ↔ (−x, −y, z, w).
#if UNITY_5_3_OR_NEWER
using UnityEngine;

namespace Arcade.Unity
{
    public static class Frames
    {
        public static Vector3 ToUnity(PoseF p) { return new Vector3(p.X, p.Y, -p.Z); }
        public static Quaternion RotationToUnity(PoseF p) { return new Quaternion(-p.RX, -p.RY, p.RZ, p.RW); }

        public static void ToVenue(Vector3 v, out float x, out float y, out float z) { x = v.x; y = v.y; z = -v.z; }

        public static void ToVenue(Quaternion q, out float x, out float y, out float z, out float w)
        {
            x = -q.x; y = -q.y; z = q.z; w = q.w;
        }
    }
}
#endif

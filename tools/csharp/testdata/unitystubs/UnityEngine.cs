// Stand-ins for the few UnityEngine types the SDK's Unity glue uses, with the
// signatures of Unity 2021.3's, so that tools/csharp can compile that glue
// (Runtime/Unity, Samples~/XRSample) with Mono and catch its mistakes. They
// do nothing; the real assemblies replace them in Unity.
using System;
using System.Collections.Generic;

namespace UnityEngine.Events { public delegate void UnityAction(); }

namespace UnityEngine
{
    public struct Vector2 { public float x, y; }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3 zero { get { return new Vector3(); } }
    }

    public struct Quaternion
    {
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Quaternion identity { get { return new Quaternion(0, 0, 0, 1); } }
        public static Quaternion operator *(Quaternion a, Quaternion b) { return a; }
    }

    public class Object
    {
        public string name { get; set; }
        public static T Instantiate<T>(T original, Transform parent) where T : Object { return original; }
        public static void Destroy(Object o) { }
    }

    public class Component : Object
    {
        public Transform transform { get { return null; } }
        public GameObject gameObject { get { return null; } }
    }

    public class Behaviour : Component { }
    public class MonoBehaviour : Behaviour { }

    public class GameObject : Object
    {
        public Transform transform { get { return null; } }
    }

    public class Transform : Component
    {
        public Quaternion rotation { get; set; }
        public Transform parent { get { return null; } }
        public Transform root { get { return null; } }
        public Transform Find(string n) { return null; }
        public Vector3 TransformPoint(Vector3 p) { return p; }
        public void SetPositionAndRotation(Vector3 p, Quaternion q) { }
    }

    public class TextMesh : Component { public string text { get; set; } }

    public class TooltipAttribute : Attribute { public TooltipAttribute(string t) { } }

    public static class Application { public static event Events.UnityAction onBeforeRender; static void Touch() { onBeforeRender(); } }

    public static class PlayerPrefs
    {
        public static string GetString(string k, string d) { return d; }
        public static void SetString(string k, string v) { }
        public static void Save() { }
    }

    public static class Debug { public static void LogWarning(object m) { } }

    public class AndroidJavaException : Exception { }

    public class AndroidJavaObject : IDisposable
    {
        public AndroidJavaObject(string className, params object[] args) { }
        public T Call<T>(string method, params object[] args) { return default(T); }
        public void Call(string method, params object[] args) { }
        public T GetStatic<T>(string field) { return default(T); }
        public void Dispose() { }
    }

    public class AndroidJavaClass : AndroidJavaObject { public AndroidJavaClass(string c) : base(c) { } }
}

namespace UnityEngine.XR
{
    public enum XRNode { LeftEye, RightEye, CenterEye, Head, LeftHand, RightHand }

    public struct InputFeatureUsage<T> { public string name; }

    public static class CommonUsages
    {
        public static InputFeatureUsage<bool> isTracked, primaryButton, secondaryButton, menuButton;
        public static InputFeatureUsage<Vector3> devicePosition;
        public static InputFeatureUsage<Quaternion> deviceRotation;
        public static InputFeatureUsage<float> trigger, grip;
        public static InputFeatureUsage<Vector2> primary2DAxis;
    }

    public struct InputDevice
    {
        public bool isValid { get { return false; } }
        public bool TryGetFeatureValue(InputFeatureUsage<bool> u, out bool v) { v = false; return false; }
        public bool TryGetFeatureValue(InputFeatureUsage<float> u, out float v) { v = 0; return false; }
        public bool TryGetFeatureValue(InputFeatureUsage<Vector2> u, out Vector2 v) { v = default(Vector2); return false; }
        public bool TryGetFeatureValue(InputFeatureUsage<Vector3> u, out Vector3 v) { v = default(Vector3); return false; }
        public bool TryGetFeatureValue(InputFeatureUsage<Quaternion> u, out Quaternion v) { v = default(Quaternion); return false; }
    }

    public static class InputDevices { public static InputDevice GetDeviceAtXRNode(XRNode n) { return default(InputDevice); } }
}

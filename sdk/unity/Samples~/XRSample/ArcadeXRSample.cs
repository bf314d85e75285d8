// The XR headset sample: joins the venue's server (found by the beacon, then mDNS, unless an
// address is set), sends the head and both controllers from UnityEngine.XR on every tracking
// update (Application.onBeforeRender, the latest poses of the frame; not FixedUpdate), shows
// remote players with avatar prefabs, moves the scene objects bound to entity ids, and shows
// the connection state. On Android it holds Wi-Fi's MulticastLock while connected.
#if UNITY_5_3_OR_NEWER
using System.Collections.Generic;
using System.Net;
using System.Threading;
using Arcade;
using Arcade.Discovery;
using Arcade.Unity;
using UnityEngine;
using UnityEngine.XR;

public sealed class ArcadeXRSample : MonoBehaviour
{
    [System.Serializable]
    public struct EntityBinding
    {
        public int EntityId;
        public Transform Target;
    }

    [Tooltip("Server address host:port; empty: find it (beacon, then mDNS)")]
    public string Server = "";
    public string PlayerName = "player";
    [Tooltip("Venue passphrase; empty: none")]
    public string Passphrase = "";
    [Tooltip("Interpolation delay for remote players and free objects, ms (0: one tick; -1: none)")]
    public float InterpolationMs = 0;
    [Tooltip("Spawned for every other player: children named Head, LeftHand, RightHand are moved")]
    public GameObject AvatarPrefab;
    [Tooltip("Where the venue frame's origin is in the scene (the room's anchor); none: the scene origin")]
    public Transform VenueOrigin;
    public List<EntityBinding> Entities = new List<EntityBinding>();
    [Tooltip("Shows the connection state here, if set")]
    public TextMesh StatusText;

    Client client;
    PoseSample pose;
    readonly Dictionary<ushort, Transform[]> avatars = new Dictionary<ushort, Transform[]>();
    readonly Dictionary<ushort, GameObject> avatarObjects = new Dictionary<ushort, GameObject>();
    readonly Dictionary<int, Transform> bound = new Dictionary<int, Transform>();
    InputDevice head, left, right;
    string status = "starting";
    Thread finder;
    volatile string found;
#if UNITY_ANDROID && !UNITY_EDITOR
    readonly AndroidMulticastLock mlock = new AndroidMulticastLock();
#endif

    // A player id kept for the app install, so a restarted app gets its slot back (§7.6).
    static byte[] PlayerId()
    {
        const string key = "arcade.player_id";
        var s = PlayerPrefs.GetString(key, "");
        if (s.Length == 32)
        {
            var b = new byte[16];
            for (int i = 0; i < 16; i++) b[i] = System.Convert.ToByte(s.Substring(2 * i, 2), 16);
            return b;
        }
        var id = new byte[16];
        using (var r = System.Security.Cryptography.RandomNumberGenerator.Create()) r.GetBytes(id);
        PlayerPrefs.SetString(key, System.BitConverter.ToString(id).Replace("-", "").ToLowerInvariant());
        PlayerPrefs.Save();
        return id;
    }

    void OnEnable()
    {
        foreach (var e in Entities) if (e.Target != null) bound[e.EntityId] = e.Target;
#if UNITY_ANDROID && !UNITY_EDITOR
        if (!mlock.Acquire()) status = "no MulticastLock: snapshots may come by unicast only";
#endif
        if (string.IsNullOrEmpty(Server))
        {
            status = "looking for the server";
            finder = new Thread(() =>
            {
                var r = Finder.Find();
                found = r.Found ? r.Servers[0].Address.ToString() : "!" + r.Reason;
            }) { IsBackground = true };
            finder.Start();
        }
        else Connect(Server);
        Application.onBeforeRender += SendPose;
    }

    void Connect(string address)
    {
        int c = address.LastIndexOf(':');
        var cfg = new ClientConfig
        {
            Server = new IPEndPoint(IPAddress.Parse(address.Substring(0, c)), int.Parse(address.Substring(c + 1))),
            Name = PlayerName,
            PlayerId = PlayerId(),
            Passphrase = string.IsNullOrEmpty(Passphrase) ? null : Passphrase,
            InterpolationDelayUs = InterpolationMs < 0 ? -1 : (long)(InterpolationMs * 1000),
        };
        client = new Client(cfg);
        client.StateChanged += (s, why, code) => status = s + " (" + why + (code != 0 ? " " + code : "") + ")";
        client.PlayerJoined += OnJoined;
        client.PlayerLeft += OnLeft;
        client.Start();
    }

    void OnDisable()
    {
        Application.onBeforeRender -= SendPose;
        if (client != null) client.Dispose();
        client = null;
#if UNITY_ANDROID && !UNITY_EDITOR
        mlock.Release();
#endif
    }

    void OnJoined(ushort id)
    {
        if (id == client.ClientId || AvatarPrefab == null || avatars.ContainsKey(id)) return;
        var go = Instantiate(AvatarPrefab, VenueOrigin);
        go.name = "player " + id;
        avatars[id] = new[] { Find(go, "Head"), Find(go, "LeftHand"), Find(go, "RightHand") };
        avatarObjects[id] = go;
    }

    static Transform Find(GameObject go, string child) { var t = go.transform.Find(child); return t != null ? t : go.transform; }

    void OnLeft(ushort id)
    {
        GameObject go;
        if (!avatarObjects.TryGetValue(id, out go)) return;
        Destroy(go);
        avatars.Remove(id);
        avatarObjects.Remove(id);
    }

    static bool Read(ref InputDevice d, XRNode node, out Vector3 p, out Quaternion q)
    {
        if (!d.isValid) d = InputDevices.GetDeviceAtXRNode(node);
        p = Vector3.zero; q = Quaternion.identity;
        bool tracked;
        return d.isValid && d.TryGetFeatureValue(CommonUsages.isTracked, out tracked) && tracked
            && d.TryGetFeatureValue(CommonUsages.devicePosition, out p) && d.TryGetFeatureValue(CommonUsages.deviceRotation, out q);
    }

    // The moment the frame's poses are final: send them (one PoseInput, no allocation).
    void SendPose()
    {
        if (client == null || client.State != ConnectionState.Connected) return;
        Vector3 p; Quaternion q;
        byte tracking = 0;
        if (Read(ref head, XRNode.Head, out p, out q)) tracking |= Arcade.Wire.Tracking.Head;
        Frames.ToVenue(p, out pose.HeadX, out pose.HeadY, out pose.HeadZ);
        Frames.ToVenue(q, out pose.HeadRX, out pose.HeadRY, out pose.HeadRZ, out pose.HeadRW);
        if (Read(ref left, XRNode.LeftHand, out p, out q)) tracking |= Arcade.Wire.Tracking.LeftHand;
        Frames.ToVenue(p, out pose.LeftX, out pose.LeftY, out pose.LeftZ);
        Frames.ToVenue(q, out pose.LeftRX, out pose.LeftRY, out pose.LeftRZ, out pose.LeftRW);
        if (Read(ref right, XRNode.RightHand, out p, out q)) tracking |= Arcade.Wire.Tracking.RightHand;
        Frames.ToVenue(p, out pose.RightX, out pose.RightY, out pose.RightZ);
        Frames.ToVenue(q, out pose.RightRX, out pose.RightRY, out pose.RightRZ, out pose.RightRW);
        pose.Tracking = tracking;
        float f; Vector2 v; bool b;
        pose.TriggerLeft = left.TryGetFeatureValue(CommonUsages.trigger, out f) ? f : 0;
        pose.TriggerRight = right.TryGetFeatureValue(CommonUsages.trigger, out f) ? f : 0;
        pose.GripLeft = left.TryGetFeatureValue(CommonUsages.grip, out f) ? f : 0;
        pose.GripRight = right.TryGetFeatureValue(CommonUsages.grip, out f) ? f : 0;
        if (left.TryGetFeatureValue(CommonUsages.primary2DAxis, out v)) { pose.StickLeftX = v.x; pose.StickLeftY = v.y; }
        if (right.TryGetFeatureValue(CommonUsages.primary2DAxis, out v)) { pose.StickRightX = v.x; pose.StickRightY = v.y; }
        uint buttons = 0;
        if (right.TryGetFeatureValue(CommonUsages.primaryButton, out b) && b) buttons |= 1;
        if (right.TryGetFeatureValue(CommonUsages.secondaryButton, out b) && b) buttons |= 2;
        if (left.TryGetFeatureValue(CommonUsages.primaryButton, out b) && b) buttons |= 4;
        if (left.TryGetFeatureValue(CommonUsages.secondaryButton, out b) && b) buttons |= 8;
        if (left.TryGetFeatureValue(CommonUsages.menuButton, out b) && b) buttons |= 16;
        pose.Buttons = buttons;
        client.SendPose(ref pose);
    }

    void Update()
    {
        if (client == null && found != null)
        {
            if (found.StartsWith("!")) status = "no server found: " + found.Substring(1);
            else Connect(found);
            found = null;
        }
        if (client != null)
        {
            client.Poll();
            PoseF p;
            foreach (var kv in avatars)
                for (int part = 0; part < 3; part++)
                    if (client.Presentation.PlayerPose(kv.Key, part, out p)) Place(kv.Value[part], p);
            foreach (var kv in bound)
                if (client.Presentation.EntityPose((ushort)kv.Key, out p)) Place(kv.Value, p);
        }
        if (StatusText != null) StatusText.text = status;
    }

    void Place(Transform t, PoseF p)
    {
        var pos = Frames.ToUnity(p);
        var rot = Frames.RotationToUnity(p);
        if (VenueOrigin != null) { pos = VenueOrigin.TransformPoint(pos); rot = VenueOrigin.rotation * rot; }
        t.SetPositionAndRotation(pos, rot);
    }
}
#endif

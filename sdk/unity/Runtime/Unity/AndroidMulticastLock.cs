// Android's WifiManager.MulticastLock: without it, Android (Quest included) filters
// multicast datagrams in the Wi-Fi driver, silently; the server's unicast fallback would
// then hide the mistake at the cost of the server's bandwidth. Needs the permission
// CHANGE_WIFI_MULTICAST_STATE (the package's AndroidManifest.xml asks for it).
#if UNITY_ANDROID && !UNITY_EDITOR
using UnityEngine;

namespace Arcade.Unity
{
    public sealed class AndroidMulticastLock : System.IDisposable
    {
        AndroidJavaObject lck;

        /// <summary>Takes the lock (tag shows in `adb shell dumpsys wifi`); false if Android refused.</summary>
        public bool Acquire(string tag = "arcade")
        {
            if (lck != null) return true;
            try
            {
                using (var player = new AndroidJavaClass("com.unity3d.player.UnityPlayer"))
                using (var activity = player.GetStatic<AndroidJavaObject>("currentActivity"))
                using (var wifi = activity.Call<AndroidJavaObject>("getSystemService", "wifi"))
                {
                    lck = wifi.Call<AndroidJavaObject>("createMulticastLock", tag);
                    lck.Call("setReferenceCounted", false);
                    lck.Call("acquire");
                }
                return lck.Call<bool>("isHeld");
            }
            catch (AndroidJavaException e)
            {
                Debug.LogWarning("Arcade: MulticastLock refused (is CHANGE_WIFI_MULTICAST_STATE in the manifest?): " + e.Message);
                lck = null;
                return false;
            }
        }

        public bool Held { get { return lck != null && lck.Call<bool>("isHeld"); } }

        public void Release()
        {
            if (lck == null) return;
            try { lck.Call("release"); } catch (AndroidJavaException) { }
            lck.Dispose();
            lck = null;
        }

        public void Dispose() { Release(); }
    }
}
#endif

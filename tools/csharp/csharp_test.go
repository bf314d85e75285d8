package csharp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = "../.."

func compile(t *testing.T) *Build {
	t.Helper()
	if _, _, err := Tools(); err != nil {
		t.Skip(err.Error())
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runTests runs the C# test runner with the given name filters and fails
// the Go test if any C# test failed; the runner's output is logged.
func runTests(t *testing.T, b *Build, env []string, filters ...string) string {
	t.Helper()
	root, _ := filepath.Abs(repoRoot)
	cmd := exec.Command(b.Mono, append([]string{"--debug", b.Tests, root}, filters...)...)
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("mono %s:\n%s", filepath.Base(b.Tests), out)
	if err != nil {
		t.Fatalf("C# tests failed: %v", err)
	}
	return string(out)
}

// TestCrypto: the passphrase cryptography of Runtime/Crypto (CPace over
// ristretto255, AES-128-GCM, HKDF, Ed25519, the sealed datagrams) against
// the Go vectors of seal/testdata, by its own runner (Tests/Crypto).
func TestCrypto(t *testing.T) {
	b := compile(t)
	if _, err := os.Stat(b.Crypto); err != nil {
		t.Skip("no Tests/Crypto")
	}
	root, _ := filepath.Abs(repoRoot)
	out, err := exec.Command(b.Mono, "--debug", b.Crypto, root).CombinedOutput()
	t.Logf("mono %s:\n%s", filepath.Base(b.Crypto), out)
	if err != nil || !strings.Contains(string(out), ", 0 failed") {
		t.Fatalf("C# crypto tests failed: %v", err)
	}
}

// TestCore: the C# core's unit tests: every golden vector of testdata/wire
// and testdata/discovery decodes and re-encodes byte for byte, the
// quantization, the reliable channel, the world store and its allocation
// budget.
func TestCore(t *testing.T) {
	b := compile(t)
	out := runTests(t, b, nil, "GoldenTests.", "QuantTests.", "ReliableTests.", "SessionTests.", "PresentationTests.", "ResyncTests.", "DeliveryTests.", "SeqAndDisconnectTests.", "HostileInputTests.", "StateDeltaTests.", "BrowseTests.", "DiscoveryTests.Nothing", "CryptoTests", "Crypto.")
	if !strings.Contains(out, "GoldenTests.EveryVectorRoundTrips") {
		t.Fatal("the golden vector test did not run")
	}
}

// TestUnityGlueCompiles: the Unity-only code (Runtime/Unity, the XR sample,
// Android's MulticastLock) compiles with mcs against testdata/unitystubs,
// stand-ins with Unity 2021.3's signatures, for Android and for the rest:
// it is otherwise compiled only inside Unity.
func TestUnityGlueCompiles(t *testing.T) {
	mcs, _, err := Tools()
	if err != nil {
		t.Skip(err.Error())
	}
	root, _ := filepath.Abs(repoRoot)
	core, err := sources(root, "sdk/unity/Runtime")
	if err != nil {
		t.Fatal(err)
	}
	sample, err := sources(root, "sdk/unity/Samples~/XRSample")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, defs := range []string{"UNITY_5_3_OR_NEWER", "UNITY_5_3_OR_NEWER;UNITY_ANDROID"} {
		args := []string{"-langversion:7.2", "-nologo", "-warnaserror+", "-target:library", "-define:" + defs,
			"-out:" + filepath.Join(dir, "glue.dll"), filepath.Join(root, "tools/csharp/testdata/unitystubs/UnityEngine.cs")}
		args = append(append(args, core...), sample...)
		if out, err := exec.Command(mcs, args...).CombinedOutput(); err != nil {
			t.Fatalf("-define:%s: %v\n%s", defs, err, out)
		}
	}
}

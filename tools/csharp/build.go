// Package csharp builds the Unity SDK's C# core (sdk/unity) with Mono's mcs
// and runs its tests: every golden vector, and the integration tests of two
// C# clients against the real arcade-server on loopback. Mono comes from
// tools/install-mono.sh; without mcs or mono the tests skip and say so.
//
// The compiled assemblies are cached in the system's temporary directory
// under a name derived from the sources' contents and the compiler's
// version, so a second run of the tests compiles nothing.
package csharp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Build is where the compiled SDK is: the core library, the test runner
// and the console bot.
type Build struct {
	Dir   string // cache directory holding the assemblies
	Core  string // Arcade.Client.dll: sdk/unity/Runtime without its Unity glue
	Tests string // ArcadeTests.exe: sdk/unity/Tests
	Bot   string // ArcadeBot.exe: sdk/unity/Samples~/ConsoleBot
	// Crypto is CryptoTests.exe: Runtime/Crypto with the tests of
	// Tests/Crypto, which have a runner of their own.
	Crypto string
	Mono   string // the mono binary
}

// Tools returns the paths of mcs and mono, or an error saying what is
// missing and how to install it.
func Tools() (mcs, mono string, err error) {
	mcs, err1 := exec.LookPath("mcs")
	mono, err2 := exec.LookPath("mono")
	if err1 != nil || err2 != nil {
		return "", "", errors.New("mcs or mono not found: run tools/install-mono.sh (Debian packages mono-mcs, mono-runtime)")
	}
	return mcs, mono, nil
}

// sources lists the .cs files under dir (relative to root), sorted,
// leaving out any directory whose path contains one of skip.
func sources(root, dir string, skip ...string) ([]string, error) {
	var out []string
	if _, err := os.Stat(filepath.Join(root, dir)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			for _, s := range skip {
				if strings.Contains(filepath.ToSlash(rel)+"/", s) {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if strings.HasSuffix(p, ".cs") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// Compile builds the core, the tests and the bot from the SDK under root
// (the repository's root), reusing a cached build of the same sources.
func Compile(root string) (*Build, error) {
	mcs, mono, err := Tools()
	if err != nil {
		return nil, err
	}
	core, err := sources(root, "sdk/unity/Runtime", "/Unity/")
	if err != nil {
		return nil, err
	}
	tests, err := sources(root, "sdk/unity/Tests", "/Crypto/")
	if err != nil {
		return nil, err
	}
	cryptoTests, err := sources(root, "sdk/unity/Tests/Crypto")
	if err != nil {
		return nil, err
	}
	cryptoCore, err := sources(root, "sdk/unity/Runtime/Crypto")
	if err != nil {
		return nil, err
	}
	bot, err := sources(root, "sdk/unity/Samples~/ConsoleBot")
	if err != nil {
		return nil, err
	}
	ver, err := exec.Command(mcs, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("mcs --version: %w", err)
	}
	h := sha256.New()
	h.Write(ver)
	for _, group := range [][]string{core, tests, bot, cryptoTests} {
		for _, f := range group {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(f[len(root):]), len(b))
			h.Write(b)
		}
		h.Write([]byte{0})
	}
	dir := filepath.Join(os.TempDir(), "arcade-csharp-"+hex.EncodeToString(h.Sum(nil))[:16])
	b := &Build{Dir: dir, Core: filepath.Join(dir, "Arcade.Client.dll"), Tests: filepath.Join(dir, "ArcadeTests.exe"),
		Bot: filepath.Join(dir, "ArcadeBot.exe"), Crypto: filepath.Join(dir, "CryptoTests.exe"), Mono: mono}
	if _, err := os.Stat(filepath.Join(dir, "ok")); err == nil {
		return b, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "arcade-csharp-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	run := func(args ...string) error {
		out, err := exec.Command(mcs, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mcs %s: %v\n%s", strings.Join(args[:3], " "), err, out)
		}
		return nil
	}
	common := []string{"-langversion:7.2", "-nologo", "-warnaserror+", "-optimize+", "-nowarn:1591"}
	lib := filepath.Join(tmp, "Arcade.Client.dll")
	if err := run(append(append([]string{"-target:library", "-out:" + lib}, common...), core...)...); err != nil {
		return nil, err
	}
	if err := run(append(append([]string{"-target:exe", "-out:" + filepath.Join(tmp, "ArcadeTests.exe"), "-r:" + lib}, common...), tests...)...); err != nil {
		return nil, err
	}
	if len(bot) > 0 {
		if err := run(append(append([]string{"-target:exe", "-out:" + filepath.Join(tmp, "ArcadeBot.exe"), "-r:" + lib}, common...), bot...)...); err != nil {
			return nil, err
		}
	}
	if len(cryptoTests) > 0 {
		args := append([]string{"-target:exe", "-out:" + filepath.Join(tmp, "CryptoTests.exe"), "-r:System.Numerics.dll"}, common...)
		if err := run(append(append(args, cryptoCore...), cryptoTests...)...); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "ok"), nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "ok")); serr == nil {
			return b, nil // another test process built the same sources first
		}
		return nil, err
	}
	return b, nil
}

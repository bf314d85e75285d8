package capture

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arcadexr/arcade/seal"
)

// testKDF is a cheap Argon2id cost: the layout is what is tested here, not
// the cost.
var testKDF = KDF{Time: 1, MemoryKiB: 64, Threads: 1}

func sessionKeys(b byte) seal.SessionKeys {
	var k seal.SessionKeys
	for i := range k.ClientToServer {
		k.ClientToServer[i], k.ServerToClient[i] = b, b+1
	}
	return k
}

func openKeys(t *testing.T, path, passphrase string) (Keys, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks, err := ReadSecrets(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatalf("%s: no key log block", path)
	}
	var keys Keys
	o := NewKeyLogOpener(passphrase)
	for _, b := range blocks {
		if err := o.Open(&keys, b); err != nil {
			return keys, err
		}
	}
	return keys, nil
}

// TestKeyLogInCapture: the group's and each session's keys are in the
// file, sealed: the passphrase opens them, another one does not, and the
// file still reads as ordinary pcapng with every datagram.
func TestKeyLogInCapture(t *testing.T) {
	wrap, err := NewKeyWrap("lantern orchard 42", testKDF)
	if err != nil {
		t.Fatal(err)
	}
	kl := NewKeyLog()
	var gk seal.GroupKeys
	gk.Key[0], gk.ServerKey[0] = 7, 9
	kl.GroupKeys(0xfeed, gk)
	kl.SessionKeys(1, sessionKeys(10))
	path := filepath.Join(t.TempDir(), "sealed.pcapng")
	w, err := New(path, serverAddr, Options{Keys: kl, Wrap: wrap})
	if err != nil {
		t.Fatal(err)
	}
	w.Received(msg([]byte("ARC one"), clientAddr, 1e9))
	kl.SessionKeys(2, sessionKeys(20)) // a handshake while capturing
	w.Sent(msg([]byte("ARC two"), clientAddr, 0), 2e9)
	kl.SessionEnded(1)
	w.Received(msg([]byte("ARC three"), clientAddr, 3e9))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("capture file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	keys, err := openKeys(t, path, "lantern orchard 42")
	if err != nil {
		t.Fatal(err)
	}
	if keys.Sessions[1] != sessionKeys(10) || keys.Sessions[2] != sessionKeys(20) || len(keys.Sessions) != 2 {
		t.Fatalf("sessions %v", keys.Sessions)
	}
	if keys.Groups[0xfeed] != gk || len(keys.Groups) != 1 {
		t.Fatalf("groups %v", keys.Groups)
	}
	if _, err := openKeys(t, path, "wrong guess"); !errors.Is(err, ErrKeyLogPassphrase) {
		t.Fatalf("another passphrase: %v, want ErrKeyLogPassphrase", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, bytes.Repeat([]byte{10}, 16)) {
		t.Fatal("a session key is in the file in clear")
	}
	got, _ := readBack(t, bytes.NewReader(raw))
	if len(got) != 3 || string(got[2].payload) != "ARC three" {
		t.Fatalf("read back %d datagrams, want 3 (the key log blocks in between are skipped)", len(got))
	}
}

// TestRotation: a size-capped capture goes on in numbered files, each of
// which opens alone with the keys of the sessions live when it began, and
// only the newest MaxFiles are kept.
func TestRotation(t *testing.T) {
	wrap, err := NewKeyWrap("p", testKDF)
	if err != nil {
		t.Fatal(err)
	}
	kl := NewKeyLog()
	kl.SessionKeys(1, sessionKeys(10))
	kl.SessionKeys(2, sessionKeys(20))
	kl.SessionEnded(2)
	path := filepath.Join(t.TempDir(), "run.pcapng")
	w, err := New(path, serverAddr, Options{Keys: kl, Wrap: wrap, MaxBytes: minFileBytes, MaxFiles: 2, Slots: 64})
	if err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("ARC"), make([]byte, 1000)...)
	const n = 300 // ≈ 1 060 bytes each: 300 kB, four or five files of 64 kB
	for i := range n {
		for try := 0; !w.ring.push(dirIn, clientAddr, int64(i+1)*1e6, payload); try++ {
			if try == 10000 {
				t.Fatal("the writer does not drain the ring")
			}
			time.Sleep(time.Millisecond) // the writer drains every Poll
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := w.Files()
	if files < 4 {
		t.Fatalf("%d files for %d bytes capped at %d", files, n*len(payload), minFileBytes)
	}
	total := 0
	for i := range files {
		p := RotatedPath(path, i)
		_, err := os.Stat(p)
		if i < files-2 {
			if !os.IsNotExist(err) {
				t.Fatalf("%s kept (%v), want only the newest 2", p, err)
			}
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > minFileBytes+2*len(payload)+100 {
			t.Errorf("%s: %d bytes, cap %d", p, len(raw), minFileBytes)
		}
		got, _ := readBack(t, bytes.NewReader(raw))
		total += len(got)
		keys, err := openKeys(t, p, "p")
		if err != nil {
			t.Fatal(err)
		}
		if keys.Sessions[1] != sessionKeys(10) {
			t.Fatalf("%s: sessions %v", p, keys.Sessions)
		}
	}
	if total == 0 || total >= n {
		t.Fatalf("the two newest files hold %d of %d datagrams", total, n)
	}
}

// TestKeyLogOptions: keys without a wrapping key, a cap too small and a
// hostile block's cost are refused, naming the problem.
func TestKeyLogOptions(t *testing.T) {
	if _, err := NewWriter(&bytes.Buffer{}, serverAddr, Options{Keys: NewKeyLog()}); err == nil {
		t.Fatal("Keys without Wrap accepted")
	}
	if _, err := NewWriter(&bytes.Buffer{}, serverAddr, Options{MaxBytes: 100}); err == nil {
		t.Fatal("MaxBytes 100 accepted")
	}
	if _, err := NewKeyWrap("", testKDF); err == nil {
		t.Fatal("an empty passphrase accepted")
	}
	block := appendBlockHeader(nil, KDF{Time: 1, MemoryKiB: 1 << 30, Threads: 1}, make([]byte, 16), make([]byte, 12))
	block = append(block, make([]byte, 32)...)
	var keys Keys
	if err := NewKeyLogOpener("p").Open(&keys, block); err == nil {
		t.Fatal("a block asking for 1 TiB of memory accepted")
	}
}

// TestRecorderMidRun: a capture started while sealed sessions live holds
// their keys and the group's; one started without a directory or while
// another runs is refused; between captures nothing is recorded.
func TestRecorderMidRun(t *testing.T) {
	dir := t.TempDir()
	r, err := NewRecorder(RecorderConfig{Local: serverAddr, Dir: dir, Passphrase: "p", KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	var gk seal.GroupKeys
	gk.Key[3] = 1
	r.GroupKeys(0xfeed, gk)
	r.SessionKeys(5, sessionKeys(50)) // before any capture
	r.Received(msg([]byte("ARC before"), clientAddr, 1))
	now := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	st, err := r.Start(StartOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(StartOptions{}, now); !errors.Is(err, ErrRunning) {
		t.Fatalf("a second Start: %v, want ErrRunning", err)
	}
	r.Received(msg([]byte("ARC during"), clientAddr, 2))
	st, err = r.Stop(now.Add(time.Second))
	if err != nil || st.Datagrams != 1 || !st.KeyLog {
		t.Fatalf("Stop: %+v, %v", st, err)
	}
	keys, err := openKeys(t, st.File, "p")
	if err != nil {
		t.Fatal(err)
	}
	if keys.Sessions[5] != sessionKeys(50) || keys.Groups[0xfeed] != gk {
		t.Fatalf("keys of the sessions live at Start: %+v", keys)
	}
	if _, err := r.Stop(now); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("a second Stop: %v, want ErrNotRunning", err)
	}
	nodir, err := NewRecorder(RecorderConfig{Local: serverAddr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodir.Start(StartOptions{}, now); !errors.Is(err, ErrNoDir) {
		t.Fatalf("Start without a directory: %v, want ErrNoDir", err)
	}
}

package capture

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/arcadexr/arcade/seal"
)

// The key log: with a venue passphrase every session datagram is sealed,
// and a reader that knows the passphrase still cannot open them: CPace's
// shared key needs a secret scalar of one side, which never leaves it. So
// the server writes the keys it holds (each session's two AEAD keys, the
// multicast group's key and public signing key) into the capture itself,
// as pcapng Decryption Secrets Blocks (block type 0x0000000A) of secrets
// type SecretsType, each one written before the first datagram sealed
// with a key it names. The keys are themselves sealed under a key derived
// from the venue passphrase with Argon2id (RFC 9106), so the capture file
// alone reveals nothing, and with the passphrase it opens whole
// (docs/CAPTURE.md has the layout).
//
// The price: a capture file lets whoever holds it test passphrase guesses
// offline, at one Argon2id derivation (64 MiB, 3 passes) a guess, where
// the handshake on the wire gives an eavesdropper nothing to test. Guard
// a sealed capture as the passphrase itself, and prefer a long passphrase.

// SecretsType is the Decryption Secrets Block's secrets type of Arcade's
// key log: "ARCK" (not registered with the pcapng registry; Wireshark
// keeps the block and ignores it).
const SecretsType = 0x4152434b

// Key log block layout (docs/CAPTURE.md).
const (
	keyLogVersion   = 1
	kdfArgon2id     = 1
	keyLogSaltSize  = 16
	keyLogNonceSize = 12
	keyLogHeader    = 32 + keyLogNonceSize // version … salt, nonce: the AEAD's additional data
	keyLogKeySize   = 32                   // AES-256-GCM

	recSession     = 1 // token u64, client → server key, server → client key
	recGroup       = 2 // group token u64, group key, server public key
	recSessionSize = 8 + 2*16
	recGroupSize   = 8 + seal.GroupKeySize + seal.ServerKeySize

	// MaxKeyLogSecrets bounds a block's secrets a reader accepts.
	MaxKeyLogSecrets = 1 << 20
	maxKeyLogLive    = 1 << 16 // keys a KeyLog holds at once
	endedKept        = 64      // ended sessions a KeyLog still hands a writer
)

// KDF is the Argon2id cost of a key log's wrapping key. Zero fields mean
// the default: 3 passes over 64 MiB on one thread (RFC 9106 §4, second
// recommendation, one lane).
type KDF struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// Bounds a reader holds a capture's KDF parameters to: a hostile file
// must not make it allocate without limit.
const (
	maxKDFTime      = 16
	maxKDFMemoryKiB = 256 << 10 // 256 MiB
	// maxDerivations bounds the distinct wrapping keys one opener
	// derives: a server run uses one; a file of many is not a server's.
	maxDerivations = 16
	maxKDFThreads  = 16
)

func (k *KDF) setDefaults() {
	if k.Time == 0 {
		k.Time = 3
	}
	if k.MemoryKiB == 0 {
		k.MemoryKiB = 64 << 10
	}
	if k.Threads == 0 {
		k.Threads = 1
	}
}

func (k KDF) check() error {
	if k.Time == 0 || k.Time > maxKDFTime || k.MemoryKiB < 8*uint32(k.Threads) || k.MemoryKiB > maxKDFMemoryKiB || k.Threads == 0 || k.Threads > maxKDFThreads {
		return fmt.Errorf("Argon2id cost time=%d memory=%d KiB threads=%d out of range (time 1..%d, memory 8·threads..%d KiB, threads 1..%d)",
			k.Time, k.MemoryKiB, k.Threads, maxKDFTime, maxKDFMemoryKiB, maxKDFThreads)
	}
	return nil
}

// KeyWrap seals key log blocks under a key derived from the passphrase.
// Deriving it is slow on purpose: make one per server run (NewKeyWrap),
// never on the tick thread.
type KeyWrap struct {
	kdf  KDF
	salt [keyLogSaltSize]byte
	aead cipher.AEAD
}

// NewKeyWrap derives the wrapping key of passphrase with a fresh random
// salt and kdf's cost (zero fields: the default).
func NewKeyWrap(passphrase string, kdf KDF) (*KeyWrap, error) {
	if passphrase == "" {
		return nil, errors.New("capture: key log: no passphrase to seal the keys with")
	}
	kdf.setDefaults()
	if err := kdf.check(); err != nil {
		return nil, fmt.Errorf("capture: key log: %w", err)
	}
	w := &KeyWrap{kdf: kdf}
	if _, err := rand.Read(w.salt[:]); err != nil {
		return nil, err
	}
	a, err := wrapAEAD(passphrase, w.salt[:], kdf)
	if err != nil {
		return nil, err
	}
	w.aead = a
	return w, nil
}

func wrapAEAD(passphrase string, salt []byte, kdf KDF) (cipher.AEAD, error) {
	key := argon2.IDKey([]byte(passphrase), salt, kdf.Time, kdf.MemoryKiB, kdf.Threads, keyLogKeySize)
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// appendBlockHeader appends the block's version, KDF, salt and nonce.
func appendBlockHeader(b []byte, kdf KDF, salt, nonce []byte) []byte {
	b = append(b, keyLogVersion, kdfArgon2id, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, kdf.Time)
	b = binary.LittleEndian.AppendUint32(b, kdf.MemoryKiB)
	b = append(b, kdf.Threads, 0, 0, 0)
	b = append(b, salt...)
	return append(b, nonce...)
}

// seal appends the key log block of records (plaintext) to dst.
func (w *KeyWrap) seal(dst, records []byte) ([]byte, error) {
	var nonce [keyLogNonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = appendBlockHeader(dst, w.kdf, w.salt[:], nonce[:])
	return w.aead.Seal(dst, nonce[:], records, dst[start:]), nil
}

// keyEntry is one key of the log.
type keyEntry struct {
	seq   uint64 // the log's count when it was added, from 1
	kind  uint8
	token uint64
	sess  seal.SessionKeys
	group seal.GroupKeys
}

func (e *keyEntry) appendRecord(b []byte) []byte {
	switch e.kind {
	case recSession:
		b = append(b, recSession, recSessionSize)
		b = binary.LittleEndian.AppendUint64(b, e.token)
		b = append(b, e.sess.ClientToServer[:]...)
		return append(b, e.sess.ServerToClient[:]...)
	default:
		b = append(b, recGroup, recGroupSize)
		b = binary.LittleEndian.AppendUint64(b, e.token)
		b = append(b, e.group.Key[:]...)
		return append(b, e.group.ServerKey[:]...)
	}
}

// KeyLog holds the keys of a server's live sealed sessions and of its
// group, for the capture writers that write them into their files. The
// server tells it of each session's keys when the handshake made them and
// of the session's end; a writer that starts (or rotates to a new file)
// while the sessions live still writes their keys first. Its methods are
// safe for concurrent use and hold its lock only to copy a few keys: the
// server calls them on the tick thread.
type KeyLog struct {
	gen atomic.Uint64 // bumped on every change, after it

	mu      sync.Mutex
	seq     uint64
	live    map[uint64]*keyEntry
	group   *keyEntry
	ended   [endedKept]keyEntry // the newest ended sessions, a ring
	endedN  int
	refused atomic.Uint64
}

// NewKeyLog returns an empty key log.
func NewKeyLog() *KeyLog { return &KeyLog{live: make(map[uint64]*keyEntry)} }

// SessionKeys records the keys of the session with token.
func (k *KeyLog) SessionKeys(token uint64, keys seal.SessionKeys) {
	k.mu.Lock()
	if len(k.live) >= maxKeyLogLive {
		k.mu.Unlock()
		k.refused.Add(1)
		return
	}
	k.seq++
	k.live[token] = &keyEntry{seq: k.seq, kind: recSession, token: token, sess: keys}
	k.mu.Unlock()
	k.gen.Add(1)
}

// SessionEnded forgets the session with token's keys, once the writers
// had a chance to see them: its last datagrams may still be in a
// writer's queue.
func (k *KeyLog) SessionEnded(token uint64) {
	k.mu.Lock()
	if e, ok := k.live[token]; ok {
		delete(k.live, token)
		k.ended[k.endedN%endedKept] = *e
		k.endedN++
	}
	k.mu.Unlock()
	k.gen.Add(1)
}

// GroupKeys records the multicast group's keys (token: the group token).
func (k *KeyLog) GroupKeys(token uint64, keys seal.GroupKeys) {
	k.mu.Lock()
	k.seq++
	k.group = &keyEntry{seq: k.seq, kind: recGroup, token: token, group: keys}
	k.mu.Unlock()
	k.gen.Add(1)
}

// Refused returns how many sessions' keys were not kept because the log
// was full.
func (k *KeyLog) Refused() uint64 { return k.refused.Load() }

// appendSince appends the records of every key added after seq (the group,
// the live sessions, the recently ended ones) to b, and returns it with
// the highest seq appended and the generation it read.
func (k *KeyLog) appendSince(b []byte, seq uint64) ([]byte, uint64, uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	gen := k.gen.Load()
	top := seq
	add := func(e *keyEntry) {
		if e.seq > seq {
			b = e.appendRecord(b)
			top = max(top, e.seq)
		}
	}
	if k.group != nil {
		add(k.group)
	}
	for _, e := range k.live {
		add(e)
	}
	for i := range min(k.endedN, endedKept) {
		add(&k.ended[i])
	}
	return b, top, gen
}

// Keys is what a capture's key log blocks gave: each session's keys by
// token, and the group's.
type Keys struct {
	Sessions map[uint64]seal.SessionKeys
	Groups   map[uint64]seal.GroupKeys
}

// ErrKeyLogPassphrase is OpenKeyLog's error for a block that does not
// open: the passphrase is not the one the server ran with (or the block
// was damaged).
var ErrKeyLogPassphrase = errors.New("the key log does not open with this passphrase (not the server's, or the block is damaged)")

// KeyLogOpener opens the key log blocks of a capture with the passphrase,
// deriving each distinct wrapping key once.
type KeyLogOpener struct {
	passphrase string
	derived    map[string]cipher.AEAD // by KDF parameters and salt
}

// NewKeyLogOpener returns an opener for passphrase.
func NewKeyLogOpener(passphrase string) *KeyLogOpener {
	return &KeyLogOpener{passphrase: passphrase, derived: make(map[string]cipher.AEAD)}
}

// Open adds the keys of one block's secrets (a Decryption Secrets Block of
// SecretsType) to keys. A block of another version or KDF, or with an
// out-of-range cost, is an error naming it; one that does not
// authenticate is ErrKeyLogPassphrase. Records of unknown kinds are
// skipped.
func (o *KeyLogOpener) Open(keys *Keys, secrets []byte) error {
	if len(secrets) > MaxKeyLogSecrets {
		return fmt.Errorf("key log block of %d bytes, more than %d", len(secrets), MaxKeyLogSecrets)
	}
	if len(secrets) < keyLogHeader+16 {
		return fmt.Errorf("key log block of %d bytes is too short", len(secrets))
	}
	if secrets[0] != keyLogVersion {
		return fmt.Errorf("key log block version %d, this reader knows %d", secrets[0], keyLogVersion)
	}
	if secrets[1] != kdfArgon2id {
		return fmt.Errorf("key log block KDF %d, this reader knows %d (Argon2id)", secrets[1], kdfArgon2id)
	}
	kdf := KDF{
		Time:      binary.LittleEndian.Uint32(secrets[4:]),
		MemoryKiB: binary.LittleEndian.Uint32(secrets[8:]),
		Threads:   secrets[12],
	}
	if err := kdf.check(); err != nil {
		return fmt.Errorf("key log block: %w", err)
	}
	salt := secrets[16:32]
	id := string(secrets[4:32])
	a, ok := o.derived[id]
	if !ok {
		if len(o.derived) >= maxDerivations {
			return fmt.Errorf("key log block: more than %d distinct passphrase derivations in one capture (a server run has one)", maxDerivations)
		}
		var err error
		if a, err = wrapAEAD(o.passphrase, salt, kdf); err != nil {
			return err
		}
		o.derived[id] = a
	}
	recs, err := a.Open(nil, secrets[32:keyLogHeader], secrets[keyLogHeader:], secrets[:keyLogHeader])
	if err != nil {
		return ErrKeyLogPassphrase
	}
	if keys.Sessions == nil {
		keys.Sessions = make(map[uint64]seal.SessionKeys)
	}
	if keys.Groups == nil {
		keys.Groups = make(map[uint64]seal.GroupKeys)
	}
	for len(recs) >= 2 {
		kind, n := recs[0], int(recs[1])
		if len(recs) < 2+n {
			return errors.New("key log block: a record runs past the block's end")
		}
		r := recs[2 : 2+n]
		recs = recs[2+n:]
		switch {
		case kind == recSession && n >= recSessionSize:
			var k seal.SessionKeys
			copy(k.ClientToServer[:], r[8:24])
			copy(k.ServerToClient[:], r[24:40])
			keys.Sessions[binary.LittleEndian.Uint64(r)] = k
		case kind == recGroup && n >= recGroupSize:
			var k seal.GroupKeys
			copy(k.Key[:], r[8:24])
			copy(k.ServerKey[:], r[24:56])
			keys.Groups[binary.LittleEndian.Uint64(r)] = k
		}
	}
	return nil
}

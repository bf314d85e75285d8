package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/arcadexr/arcade/capture"
	"github.com/arcadexr/arcade/seal"
	"github.com/arcadexr/arcade/wire"
)

// keyring opens sealed datagrams with the keys of a capture's key log
// (docs/CAPTURE.md): the server that captured with a venue passphrase
// wrote each session's keys and the group's into the file, sealed under
// the passphrase. The handshake in the capture is no substitute: CPace's
// shared key needs a secret scalar of one side.
type keyring struct {
	blocks   int // key log blocks in the capture
	sessions map[uint64]*seal.Opener
	groups   map[uint64]*seal.Opener

	opened uint64            // datagrams decrypted
	noKey  map[uint64]uint64 // sealed datagrams by token with no key logged
	failed uint64            // with a key, but did not authenticate
	forged uint64            // group datagrams that opened without the server's signature
}

// loadKeys reads the key log of the capture at path and opens it with
// the passphrase.
func loadKeys(path, passphrase string) (*keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blocks, err := capture.ReadSecrets(f)
	if err != nil {
		return nil, fmt.Errorf("%s: key log: %w", path, err)
	}
	kr := &keyring{blocks: len(blocks), sessions: map[uint64]*seal.Opener{}, groups: map[uint64]*seal.Opener{}, noKey: map[uint64]uint64{}}
	var keys capture.Keys
	o := capture.NewKeyLogOpener(passphrase)
	for i, b := range blocks {
		if err := o.Open(&keys, b); err != nil {
			if errors.Is(err, capture.ErrKeyLogPassphrase) {
				return nil, fmt.Errorf("%s: --passphrase-file: %w", path, err)
			}
			return nil, fmt.Errorf("%s: key log block %d: %w", path, i+1, err)
		}
	}
	for tok, k := range keys.Sessions {
		if kr.sessions[tok], err = seal.NewSessionOpener(k); err != nil {
			return nil, err
		}
	}
	for tok, k := range keys.Groups {
		if kr.groups[tok], err = seal.NewGroupOpener(k); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// open decrypts the sealed datagram b and returns its body, or false when
// it cannot (counted).
func (kr *keyring) open(b []byte, h *wire.Header) ([]byte, bool) {
	if g := kr.groups[h.Token]; g != nil {
		body, err := g.Open(nil, b, wire.HeaderSize, false)
		switch {
		case errors.Is(err, seal.ErrSignature):
			kr.forged++
			return nil, false
		case err != nil:
			kr.failed++
			return nil, false
		}
		kr.opened++
		return body, true
	}
	s := kr.sessions[h.Token]
	if s == nil {
		kr.noKey[h.Token]++
		return nil, false
	}
	// The direction is not in the header (Disconnect and Message go both
	// ways): the key that authenticates tells.
	up := !toClient(h.Type)
	body, err := s.Open(nil, b, wire.HeaderSize, up)
	if err != nil && h.Type == wire.TypeDisconnect || err != nil && h.Type == wire.TypeMessage {
		body, err = s.Open(nil, b, wire.HeaderSize, !up)
	}
	if err != nil {
		kr.failed++
		return nil, false
	}
	kr.opened++
	return body, true
}

// resetCounts clears what open counted (the file is read twice).
func (kr *keyring) resetCounts() {
	kr.opened, kr.failed, kr.forged = 0, 0, 0
	clear(kr.noKey)
}

// missing says what the capture lacks to open every sealed datagram, or
// "" when nothing is missing: sealed stayed sealed, the capture holds
// keyBlocks key log blocks, and kr is nil without --passphrase-file.
func missing(kr *keyring, sealed uint64, keyBlocks int, live bool) string {
	if sealed == 0 {
		return ""
	}
	switch {
	case live:
		return fmt.Sprintf("%d datagrams are sealed with a venue passphrase: a live capture holds no keys; capture on the server (arcade-server --capture-dir, then POST /api/capture/start) and read its file with --passphrase-file", sealed)
	case kr == nil && keyBlocks > 0:
		return fmt.Sprintf("%d datagrams are sealed; the capture holds the server's key log (%d blocks): give the venue passphrase with --passphrase-file FILE to decrypt them", sealed, keyBlocks)
	case kr == nil || keyBlocks == 0:
		return fmt.Sprintf("%d datagrams are sealed and the capture holds no key log: the passphrase alone cannot open them (the handshake's keys need a secret of one side). Capture on the server (arcade-server --capture FILE, or --capture-dir and POST /api/capture/start): with a passphrase it writes the sessions' keys into the file, sealed with it", sealed)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d datagrams stayed sealed:", sealed)
	if len(kr.noKey) > 0 {
		toks := make([]uint64, 0, len(kr.noKey))
		for t := range kr.noKey {
			toks = append(toks, t)
		}
		sort.Slice(toks, func(i, j int) bool { return toks[i] < toks[j] })
		fmt.Fprintf(&b, " no key in the key log for %d tokens (", len(toks))
		for i, t := range toks {
			if i == 8 {
				b.WriteString(" …")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %d", hex64(t), kr.noKey[t])
		}
		b.WriteString(": sessions of another server run, or whose keys the server's log refused);")
	}
	if kr.failed > 0 {
		fmt.Fprintf(&b, " %d do not authenticate with their key (damaged, or forged on the LAN);", kr.failed)
	}
	if kr.forged > 0 {
		fmt.Fprintf(&b, " %d open with the group key but the server did not sign them (a headset forged them);", kr.forged)
	}
	return strings.TrimSuffix(b.String(), ";")
}

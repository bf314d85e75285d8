package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"github.com/arcadexr/arcade/capture"
)

// analyzer runs the decode, filter, print or measure pipeline over sources.
type analyzer struct {
	o     *options
	out   *bufio.Writer
	enc   *json.Encoder
	ss    *sessions
	st    *stats
	dt    *deltaTracker
	d     datagram
	first int64 // capture time of the first datagram, for relative bounds
	seen  bool

	keyBlocks int    // key log blocks in the capture
	sealed    uint64 // datagrams that stayed sealed
	stderr    io.Writer
}

func newAnalyzer(o *options, w, stderr io.Writer) *analyzer {
	a := &analyzer{o: o, out: bufio.NewWriter(w), ss: newSessions(), stderr: stderr}
	a.enc = json.NewEncoder(a.out)
	a.st = newStats(a.ss)
	a.dt = newDeltaTracker(a.ss)
	return a
}

// file reads path twice: once to learn the sessions, once to output;
// first, its key log.
func (a *analyzer) file(path string) error {
	if err := a.loadKeys(path); err != nil {
		return err
	}
	for _, learnOnly := range []bool{true, false} {
		if a.d.kr != nil {
			a.d.kr.resetCounts()
		}
		src, err := openFile(path)
		if err != nil {
			return err
		}
		err = a.pass(src, learnOnly)
		src.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// loadKeys counts the capture's key log blocks and, with
// --passphrase-file, opens them.
func (a *analyzer) loadKeys(path string) error {
	if a.o.passphrase == "" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		blocks, err := capture.ReadSecrets(f)
		if err == nil { // not pcapng: no key log; the reader says what it is
			a.keyBlocks = len(blocks)
		}
		return nil
	}
	kr, err := loadKeys(path, a.o.passphrase)
	if err != nil {
		return err
	}
	a.d.kr, a.keyBlocks = kr, kr.blocks
	return nil
}

// pass reads src to the end. With learnOnly it only learns sessions.
func (a *analyzer) pass(src source, learnOnly bool) error {
	for {
		f, err := src.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !a.portsMatch(f) || !a.d.decode(f) {
			continue
		}
		if a.d.err == errSealed && !learnOnly {
			a.sealed++
		}
		a.ss.learn(&a.d)
		if learnOnly {
			continue
		}
		// Every StateDelta, in the bounds or not, builds the ticks later
		// ones are coded against.
		a.dt.observe(&a.d)
		if !a.seen {
			a.first, a.seen = f.at, true
		}
		if a.o.from.set && f.at < a.o.from.resolve(a.first) || a.o.to.set && f.at > a.o.to.resolve(a.first) {
			continue
		}
		if a.o.stats {
			a.st.observe(&a.d)
			continue
		}
		if err := a.emit(); err != nil {
			return err
		}
	}
}

func (a *analyzer) portsMatch(f frame) bool {
	return len(a.o.ports) == 0 || slices.Contains(a.o.ports, f.src.Port()) || slices.Contains(a.o.ports, f.dst.Port())
}

// clientMatch reports whether session s is the --client one.
func (a *analyzer) clientMatch(s *session) bool {
	if a.o.client == "" {
		return true
	}
	if s == nil {
		return false
	}
	if id, err := strconv.ParseUint(a.o.client, 10, 16); err == nil {
		return uint64(s.id) == id
	}
	ap, _ := netip.ParseAddrPort(a.o.client)
	return s.addr == ap
}

// emit prints the current datagram if it passes the filters.
func (a *analyzer) emit() error {
	d := &a.d
	if !a.o.anyT && (d.hdr.Type == 0 || !a.o.types[d.hdr.Type]) {
		return nil
	}
	owner := a.ss.owner(d)
	if a.o.client != "" && !a.clientMatch(owner) {
		// Also by address, for a client id whose Accepted is not (yet) seen.
		ap, err := netip.ParseAddrPort(a.o.client)
		if err != nil || (d.src != ap && d.dst != ap) {
			return nil
		}
	}
	var id uint16
	if owner != nil {
		id = owner.id
	}
	if a.o.json {
		return a.enc.Encode(toJSON(d, id))
	}
	_, err := fmt.Fprintln(a.out, line(d, id))
	return err
}

// finish prints the --stats report and flushes the output.
func (a *analyzer) finish() error {
	if a.o.stats {
		r := a.st.report(func(s *session) bool { return a.clientMatch(s) })
		if a.d.kr != nil {
			r.Decrypted = a.d.kr.opened
		}
		r.Missing = missing(a.d.kr, r.Sealed, a.keyBlocks, a.o.live != "")
		if a.o.json {
			if err := a.enc.Encode(r); err != nil {
				return err
			}
		} else {
			writeReport(a.out, r)
		}
	} else if m := missing(a.d.kr, a.sealed, a.keyBlocks, a.o.live != ""); m != "" {
		if err := a.out.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(a.stderr, "arcade-cap: warning:", m)
	}
	return a.out.Flush()
}

func writeReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "%d Arcade datagrams over %.3f s (%d malformed, %d of no known client)\n",
		r.Datagrams, r.DurationS, r.Malformed, r.Unattributed)
	if r.Decrypted > 0 {
		fmt.Fprintf(w, "%d sealed datagrams decrypted with the capture's key log\n", r.Decrypted)
	}
	if r.Sealed > 0 {
		fmt.Fprintf(w, "warning: %d datagrams are sealed with a venue passphrase's keys: their bodies are not decoded and count in no figure below\n", r.Sealed)
		fmt.Fprintf(w, "warning: %s\n", r.Missing)
	}
	for _, c := range r.Clients {
		fmt.Fprintf(w, "\nclient %d %q %s token %s, snapshots via %s\n", c.ClientID, c.Name, c.Addr, c.Token, c.Path)
		fmt.Fprintf(w, "  from client  %6d datagrams %v\n", c.FromClient, c.FromClientTypes)
		fmt.Fprintf(w, "  to client    %6d datagrams %v\n", c.ToClient, c.ToClientTypes)
		fmt.Fprintf(w, "  loss         up %d/%d (%.2f%%, %d dup), down %d/%d (%.2f%%, %d dup)\n",
			c.UpLoss.Lost, c.UpLoss.Lost+c.UpLoss.Received, c.UpLoss.LossPct, c.UpLoss.Duplicates,
			c.DownLoss.Lost, c.DownLoss.Lost+c.DownLoss.Received, c.DownLoss.LossPct, c.DownLoss.Duplicates)
		fmt.Fprintf(w, "  poses        %d, jitter (RFC 3550) %.3f ms, inter-arrival %.3f ± %.3f ms\n",
			c.Poses, c.JitterMs, c.InterarrivalMs, c.InterarrivalSDMs)
		fmt.Fprintf(w, "  input→state  %d samples, p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d unreported)\n",
			c.InputToState.Samples, c.InputToState.P50, c.InputToState.P99, c.InputToState.Max, c.Unreported)
		writeDeltas(w, "  ", c.StateDelta)
	}
	for _, g := range r.Groups {
		fmt.Fprintf(w, "\ngroup %s  %d datagrams %v, loss %d/%d (%.2f%%)\n",
			g.Group, g.Datagrams, g.Types, g.Loss.Lost, g.Loss.Lost+g.Loss.Received, g.Loss.LossPct)
		writeDeltas(w, "  ", g.StateDelta)
	}
	if len(r.Clients) > 0 {
		m := r.InputToState
		fmt.Fprintf(w, "\nall clients input→state: %d samples, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", m.Samples, m.P50, m.P99, m.Max)
	}
}

// writeDeltas prints what became of a path's StateDelta parts.
func writeDeltas(w io.Writer, indent string, d *DeltaReport) {
	if d == nil {
		return
	}
	fmt.Fprintf(w, "%sstate delta  %d parts: %d ticks whole, %d partial, %d copies, %d duplicates, %d no-baseline, %d bad-delta\n",
		indent, d.Parts, d.Ticks, d.Partial, d.Copies, d.Duplicates, d.NoBaseline, d.Bad)
}

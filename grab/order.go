package grab

// The driving forest is kept in preorder in g.order: every node is followed
// by its whole subtree, nodes[s].size entries long, so a subtree is the
// contiguous range [pos, pos+size) and each node comes after its driver.
// Attaching or detaching a subtree moves its block with one in-place
// rotation and fixes the sizes of its ancestors; nothing is re-sorted.

// attach makes p the driver of the root t and moves t's block to the end of
// p's block, so t becomes p's last child.
func (g *Graph) attach(t, p int32) {
	nt := &g.nodes[t]
	nt.driver = p
	k := nt.size
	np := &g.nodes[p]
	g.moveBlock(nt.pos, k, np.pos+np.size)
	for a := p; a >= 0; a = g.nodes[a].driver {
		g.nodes[a].size += k
	}
}

// detach cuts t from its driver, making it a root, and moves its block to
// the end of the order.
func (g *Graph) detach(t int32) {
	nt := &g.nodes[t]
	k := nt.size
	for a := nt.driver; a >= 0; a = g.nodes[a].driver {
		g.nodes[a].size -= k
	}
	nt.driver = -1
	g.moveBlock(nt.pos, k, int32(len(g.order)))
}

// moveBlock moves the k entries at s so that they sit just before the entry
// that was at d (d == len(order) means the end). d must not be inside the
// block.
func (g *Graph) moveBlock(s, k, d int32) {
	switch {
	case d > s+k:
		rotate(g.order[s:d], g.ids[s:d], int(k))
		g.renumber(s, d)
	case d < s:
		rotate(g.order[d:s+k], g.ids[d:s+k], int(s-d))
		g.renumber(d, s+k)
	}
}

// renumber refreshes pos for the order entries in [from, to).
func (g *Graph) renumber(from, to int32) {
	for i := from; i < to; i++ {
		g.nodes[g.order[i]].pos = i
	}
}

// removeAt deletes the order entry at i, a root with no children.
func (g *Graph) removeAt(i int32) {
	copy(g.order[i:], g.order[i+1:])
	copy(g.ids[i:], g.ids[i+1:])
	n := len(g.order) - 1
	g.order, g.ids = g.order[:n], g.ids[:n]
	g.renumber(i, int32(n))
}

// rotate rotates a and b (of equal length) left by k, by three reversals.
func rotate(a []int32, b []NodeID, k int) {
	reverse(a[:k], b[:k])
	reverse(a[k:], b[k:])
	reverse(a, b)
}

func reverse(a []int32, b []NodeID) {
	for i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
		b[i], b[j] = b[j], b[i]
	}
}

// Package record is the session recording: a stream, written as the server
// runs, of every call the tick made into the world (players added and
// removed, inputs applied, grabs and releases asked for by RPC, the grab
// and physics stages with their sub-steps), the sessions joining and
// leaving with their avatars, and at the end of every tick its number,
// time, state hash and the entities whose state changed; with a keyframe
// (a checkpoint, package checkpoint) at the start and every KeyEvery. Fed
// the same calls in the same order, the same code computes the same
// world: arcade-replay re-runs a recording and checks every tick against
// it. docs/RECORDING.md is the byte layout.
//
// The tick never waits on the file: Writer's methods encode each frame
// and copy it into a ring of fixed size, and tell the Writer's goroutine
// over a channel, without blocking, how far it is filled. When the ring
// is full (the disk behind), events are dropped and counted, and the
// stream says so (a Lost frame) before it goes on; memory is bounded by
// the ring (Config.Buffer) and two keyframe States.
package record

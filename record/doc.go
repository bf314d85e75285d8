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
// The tick never waits on the file: Writer's methods encode into one of a
// fixed set of chunks and hand each full chunk to the Writer's goroutine
// over a channel, without blocking. When every chunk is queued (the disk
// behind), events are dropped and counted, and the stream says so (a Lost
// frame) before it goes on; memory is bounded by Chunks×ChunkSize and two
// keyframe States.
package record

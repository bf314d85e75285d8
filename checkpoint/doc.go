// Package checkpoint is the file a server's world is kept in between runs:
// the objects' poses, velocities and sleep, who holds what, and the
// players (their identities, client ids, hands and avatars), with the tick
// it was taken at. docs/CHECKPOINT.md is the byte layout; in short:
//
//	header (24 bytes): magic "ARCWORLD", version u16 = 1, reserved u16 = 0,
//	                   body length u32, xxhash64 of the body u64
//	body:              scene fingerprint u64, tick u64, server time µs u64,
//	                   wall clock ns i64, entity, player and hold counts u32,
//	                   then the entities (120 bytes each), the players (278
//	                   bytes each) and the holds (8 bytes each)
//
// Every integer and float is little-endian; floats are IEEE 754 bits, so a
// state read back is bit-identical to the state written. A reader ignores
// body bytes past the holds (a later version appends sections there) and
// refuses, with an error naming the problem, anything else: another magic,
// another version, a body shorter than its length or its counts, a
// checksum that does not match.
//
// The same encoding is the keyframe of a session recording (package
// record).
//
// Writer keeps the file: a tick copies the world into one of its two
// preallocated States and hands it over without waiting; Writer's
// goroutine encodes it, writes it beside the file, fsyncs and renames it
// over the file, so that a crash at any moment leaves either the old
// checkpoint or the new one, whole.
package checkpoint

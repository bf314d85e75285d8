// Package grab is the grab dependency graph: grabbers (hands, and grabbable
// objects that hold others) and grabbables, propagated in dependency order so
// that a whole chain moves in the tick of its root pose.
//
// The server's tick already reserves the grab stage between input and
// physics (see package server); the graph itself is not implemented yet.
package grab

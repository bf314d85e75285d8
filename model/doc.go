// Package model holds failover.pml, the takeover and fencing rules of a
// standby pair (docs/PROTOCOL.md §18) as a Promela model, and the test that
// checks it with spin: the safety properties under loss and reordering,
// liveness under finitely many faults, and that the model without each
// rule finds the violation that rule prevents.
package model

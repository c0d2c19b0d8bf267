// Package audit keeps Gatehouse's tamper-evident audit trail.
//
// Every record is canonical JSON (its body) chained to the one before it: hash =
// SHA-256(previous hash || body). Every N records or T seconds the gateway signs a checkpoint
// (chain, sequence number, head hash, time) with an Ed25519 key, so that a changed, deleted,
// inserted or reordered record, and a truncation behind the last checkpoint, are found by
// Verify. Checkpoints can also be copied to a file outside the store, which catches the
// truncation of the whole tail.
//
// Appends are durable before they return (the SQLite store commits with synchronous=FULL)
// and group-committed: concurrent appends share one transaction. The store reads the chain
// head inside the write transaction, so several processes (the gateway and its CLI) can
// append to one chain without forking it.
package audit

// Package store holds the mechanisms every service uses to keep its resources in etcd:
// the key layout, the error sentinels, etags, and a transaction builder whose guards
// (compare mod revision, must exist, nothing refers to) are diagnosed in the same round
// trip when the transaction fails, so callers get "stale etag on X" rather than "failed".
//
// Every state change of a resource is one etcd transaction that compares the revision it
// read: no update is lost and no step is applied twice.
package store

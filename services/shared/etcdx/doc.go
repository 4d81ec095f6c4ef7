// Package etcdx connects Fenquan to its store, etcd: either a real etcd server embedded in
// the process (development, tests, the one-machine default of `fenquan up`), or a client
// of an external etcd cluster (production). There is no other storage backend.
package etcdx

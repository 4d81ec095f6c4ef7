// Package registry is Fenquan's power registry (职权目录 · 流程图 · organisation): the org
// structure every decision needs — units, posts with ranks and key-post flags, people, who
// holds which post since when (A角/B角), conflict declarations (回避) — and the catalogue of
// powers with their legal bases, 裁量基准 and flows, edited as drafts and published as
// immutable revisions that approval cases pin.
//
// Writes are etcd transactions that compare every revision they depend on (the resource,
// the resources its validation read, the guard of the set it joins) and keep reference
// and unique-code bookkeeping in the same transaction, so referential integrity holds
// under concurrency. Reads and lists are served from a watch-fed cache.
//
// Files: server.go wires it; handler.go holds the thin gRPC methods; resources.go the
// generic create/get/update/delete/list; validate.go the rules; catalog.go publishing;
// apply.go the all-or-nothing catalogue apply; public.go the public disclosure (晒权);
// store.go and names.go the keys, cache indexes and transaction planning.
package registry

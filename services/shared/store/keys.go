package store

import (
	"strings"
)

// Keyspace lays out one service's keys:
//
//	<root>/<service>/<org>/<collection>/<id>[/<id>...]
//
// Platform-level resources (the orgs themselves) live under the pseudo-org "_", which no
// org id can be. Every key of one org is under one prefix, so "is this org empty" and
// per-org export are single ranges.
type Keyspace struct {
	// Root is "/fenquan" in deployments; tests use a unique root per test.
	Root    string
	Service string
}

// PlatformOrg is the pseudo-org holding platform-level resources.
const PlatformOrg = "_"

// Prefix is the service's whole keyspace, ending in "/".
func (k Keyspace) Prefix() string { return k.Root + "/" + k.Service + "/" }

// OrgPrefix is every key of one org, ending in "/".
func (k Keyspace) OrgPrefix(org string) string { return k.Prefix() + org + "/" }

// CollectionPrefix is every key of one collection of one org, ending in "/".
func (k Keyspace) CollectionPrefix(org, collection string) string {
	return k.OrgPrefix(org) + collection + "/"
}

// Key of one resource.
func (k Keyspace) Key(org, collection string, ids ...string) string {
	var b strings.Builder
	b.WriteString(k.CollectionPrefix(org, collection))
	for i, id := range ids {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(id)
	}
	return b.String()
}

// Parse splits a key of this keyspace into org, collection and ids.
func (k Keyspace) Parse(key string) (org, collection string, ids []string, ok bool) {
	rest, found := strings.CutPrefix(key, k.Prefix())
	if !found {
		return "", "", nil, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return "", "", nil, false
	}
	return parts[0], parts[1], parts[2:], true
}

// PrefixEnd is the end of the range of keys starting with prefix (etcd's range_end).
func PrefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}

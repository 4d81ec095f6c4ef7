// Package audit makes the per-org audit log tamper-evident and reads it for auditors.
//
// store.Commit appends an entry to <root>/audit/<org>/e/<id> in every state change's own
// transaction, and pdp.EtcdLog writes each policy decision to <root>/audit/<org>/d/<id>:
// writers never share a key, so the log serialises nothing. A Sealer, elected among the
// processes that run one, follows the log in revision order and seals it: per org, a chain
// of seals <root>/audit-seal/<org>/<seq>, each listing the entries it covers with their mod
// revision and digest and hashing the seal before it. Verify checks an org's chain and log
// and names the first entry altered, removed or inserted; Export writes a range as JSON
// lines. docs/AUDIT.md is the whole design.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fenquan/fenquan/services/shared/store"
)

// SealPrefix is where the seals of org are, ending in "/".
func SealPrefix(root, org string) string { return root + "/audit-seal/" + org + "/" }

// SealKey is the key of the seal seq of org.
func SealKey(root, org string, seq int64) string {
	return fmt.Sprintf("%s%016d", SealPrefix(root, org), seq)
}

// HeadKey holds the last seal of org (Head), written in the seal's transaction.
func HeadKey(root, org string) string { return SealPrefix(root, org) + "head" }

// LeaderPrefix is the election of the sealer.
func LeaderPrefix(root string) string { return root + "/audit-sealer/leader" }

// ProgressKey holds the revision through which every org's entries are sealed.
func ProgressKey(root string) string { return root + "/audit-sealer/progress" }

// SealedEntry is one entry as a seal lists it.
type SealedEntry struct {
	// ID is the entry's key after "<root>/audit/<org>/": "e/<id>" or "d/<id>".
	ID string `json:"id"`
	// Rev is the entry's mod revision when sealed (entries are never rewritten).
	Rev int64 `json:"rev"`
	// D is EntryDigest of the entry's key and value.
	D string `json:"d"`
}

// Seal covers the entries of one org with a mod revision in (FromRev, ToRev]: exactly
// those listed, in (revision, id) order.
type Seal struct {
	Seq     int64         `json:"seq"`
	Time    time.Time     `json:"time"`
	FromRev int64         `json:"from_rev"`
	ToRev   int64         `json:"to_rev"`
	Entries []SealedEntry `json:"entries"`
	// Prev is the hash of seal Seq-1 ("" for seal 0), PrevModRev the mod revision of its key
	// (0 for seal 0): a seal rewritten even with the same bytes no longer matches.
	Prev       string `json:"prev"`
	PrevModRev int64  `json:"prev_mod_rev"`
	// Hash is ComputeHash.
	Hash string `json:"hash,omitempty"`
}

// ComputeHash is the seal's hash: hex SHA-256 of Prev, a newline, and the seal's
// canonical body (its JSON as encoded by Go, fields in the order above, Hash omitted).
func (s Seal) ComputeHash() string {
	s.Hash = ""
	s.Time = s.Time.UTC()
	body, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("audit: seal body: %v", err))
	}
	h := sha256.New()
	h.Write([]byte(s.Prev))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Head is the last seal of an org.
type Head struct {
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	ToRev int64  `json:"to_rev"`
}

// EntryDigest is the digest a seal keeps of an entry: the first 16 hex digits of
// SHA-256(key, 0x00, value).
func EntryDigest(key, value []byte) string {
	h := sha256.New()
	h.Write(key)
	h.Write([]byte{0})
	h.Write(value)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// splitAuditKey splits <root>/audit/<org>/<id> into org and id ("e/…" or "d/…").
func splitAuditKey(root, key string) (org, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, store.AuditPrefix(root))
	if !ok {
		return "", "", false
	}
	org, id, ok = strings.Cut(rest, "/")
	return org, id, ok && org != "" && id != ""
}

// seqOf parses the seq of a seal key's last segment; false for "head" and anything else.
func seqOf(name string) (int64, bool) {
	if len(name) != 16 {
		return 0, false
	}
	n, err := strconv.ParseInt(name, 10, 64)
	return n, err == nil && n >= 0
}

package risk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Keys (docs/RISK.md, "Keys"):
//
//	<root>/risk/<org>/risks/<id>                     RiskPoint, the current version (without name, etag)
//	<root>/risk/<org>/campaigns/<id>                 Campaign (without name, etag, risk_count)
//	<root>/risk/<org>/warnings/<sha256(id)[:16]>     warningRecord: a warning counted once
//	<root>/risk-versions/<org>/<id>/<%06d version>   RiskPoint, every version, never rewritten
//	<root>/risk-requests/<org>/<hash>                requestRecord, under a lease (24h)
//
// The watch-fed cache follows <root>/risk/ only: versions and request records are read
// from etcd when asked for.
type keys struct {
	data     store.Keyspace
	versions store.Keyspace
	requests store.Keyspace
}

func newKeys(root string) keys {
	return keys{
		data:     store.Keyspace{Root: root, Service: "risk"},
		versions: store.Keyspace{Root: root, Service: "risk-versions"},
		requests: store.Keyspace{Root: root, Service: "risk-requests"},
	}
}

func (k keys) riskKey(org, id string) string     { return k.data.Key(org, "risks", id) }
func (k keys) campaignKey(org, id string) string { return k.data.Key(org, "campaigns", id) }
func (k keys) warningKey(org, warningID string) string {
	h := sha256.Sum256([]byte(warningID))
	return k.data.Key(org, "warnings", hex.EncodeToString(h[:16]))
}
func (k keys) versionKey(org, id string, version int32) string {
	return k.versionsOf(org, id) + fmt.Sprintf("%06d", version)
}
func (k keys) versionsOf(org, id string) string { return k.versions.OrgPrefix(org) + id + "/" }

// requestKey is the record of a request id. The caller's subject is part of the key: a
// request id is the caller's own, so nobody else can read a result by replaying it.
func (k keys) requestKey(org, caller, id string) string {
	h := sha256.Sum256([]byte(caller + "\x00" + id))
	return k.requests.OrgPrefix(org) + hex.EncodeToString(h[:16])
}

// requestRecord remembers a done request: a retry with the same id gets the same answer.
type requestRecord struct {
	Method string `json:"m"`
	Digest string `json:"d"`
	// The resource written (a risk point or a campaign): the answer is that resource as of
	// the record's mod revision (the same transaction wrote both).
	Name string `json:"n"`
}

func requestDigest(m proto.Message) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// warningRecord is what a recorded warning keeps: which risk points it was attributed to.
type warningRecord struct {
	Risks   []string `json:"r"`
	Regrade []string `json:"g"`
}

// leases hands out the lease request records live under: one per hour, expiring a day
// after (as the approval service does).
type leases struct {
	cli *clientv3.Client
	mu  sync.Mutex
	cur clientv3.LeaseID
	at  time.Time
}

func (l *leases) get(ctx context.Context, now time.Time) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != 0 && now.Sub(l.at) < time.Hour && now.Sub(l.at) >= 0 {
		return l.cur, nil
	}
	resp, err := l.cli.Grant(ctx, int64((25 * time.Hour).Seconds()))
	if err != nil {
		return 0, err
	}
	l.cur, l.at = resp.ID, now
	return l.cur, nil
}

// splitName splits "orgs/{org}/{coll}/{id}".
func splitName(name, coll string) (org, id string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "orgs" || parts[2] != coll || parts[1] == "" || parts[3] == "" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

func riskName(org, id string) string     { return "orgs/" + org + "/risks/" + id }
func campaignName(org, id string) string { return "orgs/" + org + "/campaigns/" + id }
func personName(org, id string) string   { return "orgs/" + org + "/people/" + id }

// idOf returns the last segment of a resource name.
func idOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func idOrEmpty(name string) string {
	if name == "" {
		return ""
	}
	return idOf(name)
}

var cst = time.FixedZone("CST", 8*3600)

// today is the CST date of t.
func today(t time.Time) string { return t.In(cst).Format("2006-01-02") }

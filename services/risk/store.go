package risk

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Keys (docs/RISK.md, "Keys"):
//
//	<root>/risk/<org>/risks/<id>                     RiskPoint, the current version (without name, etag)
//	<root>/risk/<org>/campaigns/<id>                 Campaign (without name, etag, risk_count)
//	<root>/risk/<org>/inforce/<id>                   RiskPoint, the version in force (the register in force)
//	<root>/risk/<org>/warnings/<sha256(id)[:16]>     warningRecord: a warning counted once
//	<root>/risk-versions/<org>/<id>/<%06d version>   RiskPoint, every version, never rewritten
//	<root>/risk-requests/<org>/<hash>                requests.Record, under a lease (25h)
//
// The watch-fed cache follows <root>/risk/ only: versions and request records are read
// from etcd when asked for.
type keys struct {
	data     store.Keyspace
	versions store.Keyspace
}

func newKeys(root string) keys {
	return keys{
		data:     store.Keyspace{Root: root, Service: "risk"},
		versions: store.Keyspace{Root: root, Service: "risk-versions"},
	}
}

func (k keys) riskKey(org, id string) string     { return k.data.Key(org, "risks", id) }
func (k keys) campaignKey(org, id string) string { return k.data.Key(org, "campaigns", id) }
func (k keys) inForceKey(org, id string) string  { return k.data.Key(org, "inforce", id) }
func (k keys) warningKey(org, warningID string) string {
	h := sha256.Sum256([]byte(warningID))
	return k.data.Key(org, "warnings", hex.EncodeToString(h[:16]))
}
func (k keys) versionKey(org, id string, version int32) string {
	return k.versionsOf(org, id) + fmt.Sprintf("%06d", version)
}
func (k keys) versionsOf(org, id string) string { return k.versions.OrgPrefix(org) + id + "/" }

// warningRecord is what a recorded warning keeps: which risk points it was attributed to.
type warningRecord struct {
	Risks   []string `json:"r"`
	Regrade []string `json:"g"`
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

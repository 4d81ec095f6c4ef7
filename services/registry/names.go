package registry

import (
	"fmt"
	"strconv"
	"strings"
)

// resource kinds, by the collection segment of their names and keys.
const (
	collOrgs           = "orgs"
	collUnits          = "units"
	collPosts          = "posts"
	collPeople         = "people"
	collAssignments    = "assignments"
	collConflicts      = "conflictDeclarations"
	collPowers         = "powers"
	collPowerRevisions = "powerRevisions"
	collFlows          = "flows"
	collFlowRevisions  = "flowRevisions"
	// bookkeeping, never served:
	collRefs   = "refs"   // refs/<target coll>/<target ids>/<source coll>/<source ids>: who refers to whom
	collUnique = "unique" // unique/<kind>/<field>/<value>: unique-value index (e.g. power codes)
	collGuards = "guards" // guards/<name>: version keys guarding sets (e.g. a post's assignments)
)

// rname is a parsed resource name: "orgs/{org}/{coll}/{id}[/{coll2}/{id2}]".
type rname struct {
	org  string
	coll string   // the collection of the last segment pair, as stored (flows, powerRevisions, ...)
	ids  []string // ids after the org, in order (power, flow, revision)
}

// parseName splits a resource name. It accepts only the shapes Fenquan's registry uses.
func parseName(name string) (rname, error) {
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[0] != "orgs" || parts[1] == "" {
		return rname{}, fmt.Errorf("%q is not a resource name of the form orgs/{org}/...", name)
	}
	org := parts[1]
	switch len(parts) {
	case 2:
		return rname{org: org, coll: collOrgs, ids: []string{org}}, nil
	case 4:
		switch parts[2] {
		case collUnits, collPosts, collPeople, collAssignments, collConflicts, collPowers:
			if parts[3] != "" {
				return rname{org: org, coll: parts[2], ids: []string{parts[3]}}, nil
			}
		}
	case 6:
		if parts[2] == collPowers && parts[3] != "" && parts[5] != "" {
			switch parts[4] {
			case "flows":
				return rname{org: org, coll: collFlows, ids: []string{parts[3], parts[5]}}, nil
			case "revisions":
				if n, err := strconv.Atoi(parts[5]); err == nil && n > 0 {
					return rname{org: org, coll: collPowerRevisions, ids: []string{parts[3], revID(n)}}, nil
				}
			}
		}
	case 8:
		if parts[2] == collPowers && parts[4] == "flows" && parts[6] == "revisions" {
			if n, err := strconv.Atoi(parts[7]); err == nil && n > 0 {
				return rname{org: org, coll: collFlowRevisions, ids: []string{parts[3], parts[5], revID(n)}}, nil
			}
		}
	}
	return rname{}, fmt.Errorf("%q is not a registry resource name", name)
}

// revID zero-pads revision numbers so key order is numeric order.
func revID(n int) string { return fmt.Sprintf("%09d", n) }

// String renders the name back.
func (n rname) String() string {
	switch n.coll {
	case collOrgs:
		return "orgs/" + n.org
	case collFlows:
		return "orgs/" + n.org + "/powers/" + n.ids[0] + "/flows/" + n.ids[1]
	case collPowerRevisions:
		r, _ := strconv.Atoi(n.ids[1])
		return fmt.Sprintf("orgs/%s/powers/%s/revisions/%d", n.org, n.ids[0], r)
	case collFlowRevisions:
		r, _ := strconv.Atoi(n.ids[2])
		return fmt.Sprintf("orgs/%s/powers/%s/flows/%s/revisions/%d", n.org, n.ids[0], n.ids[1], r)
	}
	return "orgs/" + n.org + "/" + n.coll + "/" + n.ids[0]
}

func orgName(org string) string             { return "orgs/" + org }
func childName(org, coll, id string) string { return "orgs/" + org + "/" + coll + "/" + id }
func flowName(org, power, flow string) string {
	return "orgs/" + org + "/powers/" + power + "/flows/" + flow
}

// sameOrg reports whether name is a resource of org.
func sameOrg(name, org string) bool {
	return strings.HasPrefix(name, "orgs/"+org+"/")
}

// orgOfName returns "orgs/{org}" for any resource name of an org.
func orgOfName(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

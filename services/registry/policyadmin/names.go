package policyadmin

import (
	"fmt"
	"strings"

	"github.com/fenquan/fenquan/services/shared/pdp"
)

// collection is the resource collection of policy sets.
const collection = "policySets/"

// maxID is the largest id that fits the 8 digits of a name.
const maxID = 99_999_999

// idOf returns the id of "policySets/{id}" (validated by the request's proto rules).
func idOf(name string) string { return strings.TrimPrefix(name, collection) }

// nameOf formats the name of the n-th set.
func nameOf(n int64) string { return fmt.Sprintf("%s%08d", collection, n) }

func (a *admin) setKey(name string) string { return a.setsPrefix() + idOf(name) }

func (a *admin) setsPrefix() string { return pdp.SetsPrefix(a.root) }

func (a *admin) activeKey() string { return pdp.ActiveKey(a.root) }

// seqKey holds the last id given; every proposal bumps it in its transaction.
func (a *admin) seqKey() string { return a.root + "/policy/seq" }

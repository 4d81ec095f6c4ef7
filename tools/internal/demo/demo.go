package demo

import (
	"bytes"
	_ "embed"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"

	"github.com/fenquan/fenquan/services/registry/catalogfile"
)

// OrgName is the demo org's resource name.
const OrgName = "orgs/czj"

// FileName is the name the demo catalogue goes by in errors and listings.
const FileName = "catalog.yaml"

//go:embed catalog.yaml
var catalog []byte

// Catalog returns the demo catalogue file, e.g. for `fenquan up --demo --print` or to apply
// with `fenquanctl apply -f -`. The caller owns the returned slice.
func Catalog() []byte { return bytes.Clone(catalog) }

// Objects returns the demo catalogue parsed, in file order (parents before children, powers
// before their flows), ready for an ApplyCatalogRequest.
func Objects() ([]*registryv1.CatalogObject, error) {
	f, err := catalogfile.Parse(FileName, catalog)
	if err != nil {
		return nil, err
	}
	return f.Objects, nil
}

// Package catalogfile reads and writes catalogue files, the input of
// `fenquanctl apply -f catalog.yaml` and the output of `fenquanctl get -o yaml`.
//
// A catalogue file is a kubectl-style stream of YAML documents, one resource each:
//
//	kind: Post                      # Org | Unit | Post | Person | Assignment | ConflictDeclaration | Power | Flow
//	name: orgs/czj/posts/gkc-zfsh   # the resource name
//	publish: true                   # Power and Flow only: publish a revision when the content changed
//	spec:                           # the resource's fields, as in protojson (lowerCamel or snake_case keys)
//	  displayName: 国库处支付审核岗
//	  unit: orgs/czj/units/gkc-zfk
//	  rank: HANDLER                 # an enum value by its full name (RANK_HANDLER) or without the prefix
//
// The people who write these files are 职权目录 administrators, not programmers, and a
// file of several thousand lines is rejected as a whole when one object is wrong. So the
// decoder walks the YAML node tree against the protobuf descriptors itself instead of
// going through JSON: every mistake it finds, and every field violation the server
// reports later (see File.Locate), points at a line and column of the file.
package catalogfile

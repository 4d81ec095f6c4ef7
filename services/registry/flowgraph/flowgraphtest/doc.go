// Package flowgraphtest holds a realistic flow and a matching org for tests of the code
// that validates, runs and draws flows: the Wuhan fund-disbursement chain (财政资金拨付) of
// a municipal finance bureau, and an Env answering from maps.
package flowgraphtest

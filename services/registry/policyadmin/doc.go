// Package policyadmin is the policy service (fenquan.policy.v1.PolicyService): policy
// officers propose policy sets, a second officer approves them, and every service's
// decision point (pdp.Follow) swaps the active set in (docs/POLICY.md, "Publishing a
// policy set"). It is served by the registry binary.
//
// Keys (the layout the decision points read, see pdp.SetsPrefix and pdp.ActiveKey):
//
//	<root>/policy/sets/<00000007>              policyv1.PolicySet without name and etag; etag = mod revision
//	<root>/policy/seq                          the last id given, decimal; bumped with every proposal
//	<root>/policy/active                       pdp.Activation (JSON): the active set
//	<root>/policy/status/<service>/<instance>  pdp.InstanceStatus (JSON), written by each decision point
//
// Every write is one etcd transaction (store.Store.Commit, so it needs the access
// decision the interceptor puts in the context) that compares the revisions it read: an
// approval writes the proposal (now ACTIVE), the set it replaces (now SUPERSEDED) and the
// active pointer together, or nothing.
//
// The publishing rules are in this code, not in a policy set, on purpose: the rules
// decide who may change the rules, so a policy set must not be able to switch them off.
//
//   - A proposal compiles in strict mode and its own Rego tests pass (pdp.Validate), and
//     it differs from the set that serves.
//   - Only a proposed set can be approved or rejected; its proposer can never approve it
//     (four eyes, reason FOUR_EYES); it is validated again before it is activated, since
//     the binary may have changed since the proposal.
//   - A rollback re-activates a set that was active before (SUPERSEDED): one officer may
//     do it, because that content already had its four eyes; the reason is recorded in the
//     active pointer.
//
// Who may call which method (policy.read, policy.propose, policy.approve) is the access
// interceptor's question, answered by the role table or the `api` policy.
//
// Reads go to etcd, not to a watch-fed cache: policy administration is rare, and every
// version of a set carries all its files, so caching the whole history would hold every
// version in memory for the few calls that need one.
package policyadmin

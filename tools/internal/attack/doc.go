// Package attack is Fenquan's attack suite (issue 7): the whole system started in one
// process (tools/internal/up, with the demo bureau 江城市财政局 loaded) and attacked from
// outside — through the REST gateway as an outsider or a staff member would, and through
// a service's gRPC port where the case is about the services themselves.
//
// Every case is named for the attack, asserts a clear refusal (the HTTP status or gRPC
// code and the error body: reason, policy rule ids, field violations; for token attacks a
// 401 that tells the attacker nothing), and asserts that nothing was written: the keys the
// attack would have written (the case, its events, the request record, the policy set,
// the active pointer) are read before and after. Decision records written for a denial
// are the audit of the refusal, not a breach, and are not counted. Each group has a
// positive control — the same request made legitimately succeeds — so the suite cannot
// pass because a route, a key layout or a person was wrong.
//
// The package holds only tests (and this comment); docs/SECURITY.md is the threat model
// and the table of cases.
package attack

// Package flowgraph is the meaning of a flow (权力运行流程图) as docs/FLOWS.md defines it,
// in one place so that the registry (which validates flows on every write), the approval
// service (which runs cases along them) and the diagram renderer (which draws them) cannot
// disagree about it.
//
//   - Validate checks a flow against the org it lives in and returns every violation,
//     each naming the step it concerns, with field paths relative to the Flow message.
//   - Build turns a flow into a Graph whose nodes are start, end, the steps outside
//     parallel groups and the groups themselves (a group is one node); Next picks the
//     transition a case takes, evaluating the CEL conditions.
//   - Emergency derives the emergency variant (应急流程): skipped steps contracted away,
//     limits in hours.
//   - DefaultPath lists the steps of the default path, the order of the public catalogue.
//
// Everything here is a pure function of its input: nothing mutates the Flow it is given.
package flowgraph

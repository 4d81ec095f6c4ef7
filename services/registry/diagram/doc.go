// Package diagram draws a flow (权力运行流程图) for people: as Mermaid text, for pages and
// documents that render it, and as a standalone SVG laid out here, for the catalogue,
// printouts and the public disclosure (晒权) of a power's flow.
//
// Both follow flowgraph's reading of a flow (a parallel group is one node, the emergency
// variant is the contracted flow), and both can hide what the public view must not show:
// posts, ranks, units, conditions, separations and 管/办 tags.
package diagram

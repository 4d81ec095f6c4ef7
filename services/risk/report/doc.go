// Package report writes the 廉政风险 register (台账) in the layouts of the users' forms, as
// XLSX and CSV, and draws the likelihood × impact heat map as SVG.
package report

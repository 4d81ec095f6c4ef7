package ctl

import (
	"fmt"
	"io"
	"strings"
)

// edit is one line of an edit script: ' ' kept, '-' deleted, '+' inserted.
type edit struct {
	op   byte
	line string // with its "\n", if it has one
}

// maxDiffCells bounds the LCS table (lines × lines after trimming the common prefix and
// suffix); larger changes are shown as a whole replacement.
const maxDiffCells = 4 << 20

// lineDiff returns an edit script turning a into b with the fewest changed lines.
func lineDiff(a, b []string) []edit {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a[:p] {
		out = append(out, edit{' ', l})
	}
	out = append(out, lcsDiff(a[p:len(a)-s], b[p:len(b)-s])...)
	for _, l := range a[len(a)-s:] {
		out = append(out, edit{' ', l})
	}
	return out
}

func lcsDiff(a, b []string) []edit {
	n, m := len(a), len(b)
	var out []edit
	if n*m > maxDiffCells {
		for _, l := range a {
			out = append(out, edit{'-', l})
		}
		for _, l := range b {
			out = append(out, edit{'+', l})
		}
		return out
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, edit{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, edit{'-', a[i]})
			i++
		default:
			out = append(out, edit{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, edit{'-', a[i]})
	}
	for ; j < m; j++ {
		out = append(out, edit{'+', b[j]})
	}
	return out
}

// splitLines splits after each "\n"; a last line without one is kept as it is.
func splitLines(b []byte) []string {
	ls := strings.SplitAfter(string(b), "\n")
	if len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// diffContext is how many unchanged lines surround each change.
const diffContext = 3

// unifiedDiff writes the difference of a and b in the unified format (diff -u).
func unifiedDiff(w io.Writer, aName, bName string, a, b []byte) {
	edits := lineDiff(splitLines(a), splitLines(b))
	// at[k], bt[k]: how many lines of a and of b precede edit k.
	at := make([]int, len(edits)+1)
	bt := make([]int, len(edits)+1)
	for k, e := range edits {
		at[k+1], bt[k+1] = at[k], bt[k]
		if e.op != '+' {
			at[k+1]++
		}
		if e.op != '-' {
			bt[k+1]++
		}
	}
	fmt.Fprintf(w, "--- %s\n+++ %s\n", aName, bName)
	k := 0
	for {
		for k < len(edits) && edits[k].op == ' ' {
			k++
		}
		if k == len(edits) {
			return
		}
		start := max(0, k-diffContext)
		end := k
		for {
			for end < len(edits) && edits[end].op != ' ' {
				end++
			}
			next := end
			for next < len(edits) && edits[next].op == ' ' {
				next++
			}
			// Changes closer than twice the context share a hunk.
			if next < len(edits) && next-end <= 2*diffContext {
				end = next
				continue
			}
			break
		}
		stop := min(len(edits), end+diffContext)
		fmt.Fprintf(w, "@@ -%s +%s @@\n", hunkRange(at[start], at[stop]-at[start]), hunkRange(bt[start], bt[stop]-bt[start]))
		for _, e := range edits[start:stop] {
			line, full := strings.CutSuffix(e.line, "\n")
			fmt.Fprintf(w, "%c%s\n", e.op, line)
			if !full {
				fmt.Fprintln(w, `\ No newline at end of file`)
			}
		}
		k = stop
	}
}

// hunkRange renders "start,count" as diff -u does: 1-based, an empty range names the
// line before it, a count of one is left out.
func hunkRange(before, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprint(before + 1)
	}
	return fmt.Sprintf("%d,%d", before+1, count)
}

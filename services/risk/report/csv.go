package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// bom makes Excel read the file as UTF-8 rather than the system's GBK code page.
const bom = "\uFEFF"

// WriteCSV writes the register as form f in CSV: UTF-8 with a byte-order mark, CRLF line
// ends, one heading row (Headings: a column under a group heading is written
// "防控措施（前期预防）"), then one row per risk point with the same columns and cells as
// the XLSX body. There is no title or meta row, so the file loads as a table.
//
// A text cell that Excel would take for a formula (it starts with = + - @ or a tab or
// carriage return) is written with a leading apostrophe, so opening an exported register
// cannot run one.
func WriteCSV(w io.Writer, form Form, m Meta, rows []Row) error {
	l := layoutOf(form)
	if l == nil {
		return fmt.Errorf("%w: %d", ErrUnknownForm, int(form))
	}
	_ = m // the CSV is the body only; the meta row belongs to the printed form
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(bom); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(Headings(form)); err != nil {
		return err
	}
	n := len(l.cols)
	cv := make([]cellValue, n)
	rec := make([]string, n)
	var b strings.Builder
	for ri := range rows {
		if err := l.values(cv, ri+1, &rows[ri], &b); err != nil {
			return err
		}
		for i, v := range cv {
			switch {
			case v.num && v.n != 0:
				rec[i] = strconv.Itoa(v.n)
			case v.num:
				rec[i] = ""
			default:
				rec[i] = csvText(v.text)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// csvText guards a text cell against being read as a formula and replaces bytes that are
// not UTF-8.
func csvText(s string) string {
	s = validUTF8(s)
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

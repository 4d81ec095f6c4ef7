package diagram

import (
	"bytes"
	"encoding/xml"
	"strings"
	"unicode"
)

// There is no font at hand to measure with, and the reader's font is one of several, so
// widths are estimated: CJK characters are square (1em), the rest average 0.6em.
func textWidth(s string, size float64) float64 {
	var w float64
	for _, r := range s {
		w += runeWidth(r)
	}
	return w * size
}

func runeWidth(r rune) float64 {
	if isWide(r) {
		return 1
	}
	return 0.6
}

func isWide(r rune) bool {
	switch {
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r), unicode.Is(unicode.Hangul, r):
		return true
	case r >= 0x2460 && r <= 0x24FF: // ① …
		return true
	case r >= 0x3000 && r <= 0x303F: // CJK punctuation: 、。「」…
		return true
	case r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6: // full-width forms: （），：
		return true
	}
	return false
}

// noLineStart are characters a line must not begin with (禁则): they stay with the
// character before them.
const noLineStart = "，。、；：？！）」』】〕》,.;:?!)]}"

// wrap breaks s into lines no wider than max (at size): between any two CJK characters,
// at spaces otherwise, and inside a word only when the word alone is too wide.
func wrap(s string, size, max float64) []string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return nil
	}
	var (
		lines []string
		line  strings.Builder
		lineW float64
	)
	flush := func() {
		if t := strings.TrimSpace(line.String()); t != "" {
			lines = append(lines, t)
		}
		line.Reset()
		lineW = 0
	}
	for _, tok := range tokens(s) {
		w := textWidth(tok, size)
		switch {
		case tok == " ":
			if lineW > 0 {
				line.WriteString(tok)
				lineW += w
			}
			continue
		case lineW+w <= max || lineW == 0 && w <= max:
		case strings.ContainsRune(noLineStart, []rune(tok)[0]) && lineW > 0:
			// Hang the punctuation rather than start a line with it.
		case w > max:
			// A word wider than a line: break it by characters.
			for _, r := range tok {
				rw := runeWidth(r) * size
				if lineW+rw > max && lineW > 0 {
					flush()
				}
				line.WriteRune(r)
				lineW += rw
			}
			continue
		default:
			flush()
		}
		line.WriteString(tok)
		lineW += w
	}
	flush()
	return lines
}

// tokens splits s into units that do not break: each wide character alone, runs of other
// non-space characters, and single spaces.
func tokens(s string) []string {
	var ts []string
	var word strings.Builder
	endWord := func() {
		if word.Len() > 0 {
			ts = append(ts, word.String())
			word.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == ' ':
			endWord()
			ts = append(ts, " ")
		case isWide(r):
			endWord()
			ts = append(ts, string(r))
		default:
			word.WriteRune(r)
		}
	}
	endWord()
	return ts
}

// xmlText escapes s for XML text and attribute values. Characters XML cannot carry at
// all are replaced (by encoding/xml) rather than passed through to break the document.
func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

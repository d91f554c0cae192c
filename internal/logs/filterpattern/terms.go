package filterpattern

import "strings"

// term is one word or quoted phrase of an unstructured-text pattern. It matches where it
// occurs in the message on word boundaries: "ERROR" matches "[ERROR 400]" but not
// "ERRORS" or "MYERROR", as CloudWatch Logs tokenises messages into words.
type term struct {
	text  string
	blank bool // `" "`: a quoted phrase of only spaces matches every event
}

// parseTerms parses `ERROR "exact phrase" ?alt1 ?alt2 -excluded`.
func (p *Pattern) parseTerms(s string) *Error {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		prefix := byte(0)
		if c == '?' || c == '-' {
			prefix = c
			i++
			if i >= len(s) || s[i] == ' ' || s[i] == '\t' {
				return errorf("'" + string(prefix) + "' must be followed by a term")
			}
		}
		var t term
		if s[i] == '"' {
			end := closingQuote(s, i)
			if end < 0 {
				return errorf("unterminated quoted term " + s[i:])
			}
			t.text = unescapeQuoted(s[i+1 : end])
			t.blank = strings.TrimSpace(t.text) == ""
			i = end + 1
			if i < len(s) && !isSpace(s[i]) {
				return errorf("quoted term " + s[:i] + " must be followed by a space")
			}
		} else {
			start := i
			for i < len(s) && !isSpace(s[i]) {
				if strings.IndexByte("\"{}[]()", s[i]) >= 0 {
					return errorf("invalid character(s) in term '" + s[start:strings.IndexAny(s[start:]+" ", " \t")+start] + "': enclose terms with non-alphanumeric characters in double quotes")
				}
				i++
			}
			t.text = s[start:i]
		}
		if t.text == "" && !t.blank {
			t.blank = true
		}
		switch prefix {
		case '?':
			p.anyOf = append(p.anyOf, t)
		case '-':
			if t.blank {
				return errorf("an excluded term must not be empty")
			}
			p.exclude = append(p.exclude, t)
		default:
			p.must = append(p.must, t)
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// closingQuote returns the index of the quote that closes the one at s[open], honouring
// backslash escapes, or -1.
func closingQuote(s string, open int) int {
	for j := open + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// unescapeQuoted removes the backslashes of `\"` and `\\` inside a quoted term.
func unescapeQuoted(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (p *Pattern) matchTerms(msg string) bool {
	for i := range p.exclude {
		if p.exclude[i].in(msg) {
			return false
		}
	}
	for i := range p.must {
		if !p.must[i].in(msg) {
			return false
		}
	}
	if len(p.anyOf) == 0 {
		return true
	}
	for i := range p.anyOf {
		if p.anyOf[i].in(msg) {
			return true
		}
	}
	return false
}

// in reports whether the term occurs in msg on word boundaries.
func (t *term) in(msg string) bool {
	if t.blank {
		return true
	}
	text := t.text
	wordStart, wordEnd := isWord(text[0]), isWord(text[len(text)-1])
	from := 0
	for from <= len(msg)-len(text) {
		k := strings.Index(msg[from:], text)
		if k < 0 {
			return false
		}
		k += from
		end := k + len(text)
		if (!wordStart || k == 0 || !isWord(msg[k-1])) && (!wordEnd || end == len(msg) || !isWord(msg[end])) {
			return true
		}
		from = k + 1
	}
	return false
}

// isWord reports whether c belongs to a word: letters, digits and underscore (bytes of
// multi-byte UTF-8 characters count as letters).
func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

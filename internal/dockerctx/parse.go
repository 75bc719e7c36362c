package dockerctx

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// utf8BOM is the byte-order mark BuildKit strips from the first line.
const utf8BOM = "\xef\xbb\xbf"

// wordSeparators are the bytes BuildKit splits an instruction's keyword and its
// whitespace-delimited arguments (FROM, shell-form COPY) on.
const wordSeparators = "\t\v\f\r "

var (
	// reDirective matches a parser directive line such as "# escape=`".
	reDirective = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)
	// reHeredoc matches a word that opens a here-document, such as "<<EOF" or "2<<-'END'".
	reHeredoc = regexp.MustCompile(`^(\d*)<<(-?)([^<]*)$`)
)

// span is a half-open byte range [start, end).
type span struct{ start, end int }

// physLine is one physical line: the byte range of its content, without the line ending.
type physLine span

// segment maps a piece of an instruction's logical text back to the Dockerfile.
type segment struct {
	logical int // offset in instruction.text
	orig    int // offset in the Dockerfile
	n       int // length in bytes
}

// flagWord is one "--name[=value]" word before an instruction's arguments.
type flagWord struct {
	span        // logical range of the word as written
	word string // the word with quotes and backslash escapes removed
}

// parts splits the decoded flag into its name and value.
func (f flagWord) parts() (name, value string, hasValue bool) {
	name, value, hasValue = strings.Cut(strings.TrimPrefix(f.word, "--"), "=")
	return name, value, hasValue
}

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line  int    // 1-based number of its first physical line
	text  string // logical line: continuation characters removed, comment lines skipped
	segs  []segment
	cmd   string     // lower-case keyword ("from", "copy", ...)
	flags []flagWord // leading --flags
	args  span       // logical range of what follows the flags, trimmed of white space
}

// source is a parsed Dockerfile that keeps every byte offset needed to edit it in place.
type source struct {
	text         string
	escape       byte
	instructions []*instruction
}

// parse splits a Dockerfile into instructions following BuildKit's parser: parser
// directives, the escape character, line continuations, comment and empty lines inside
// continuations, and here-document bodies (which are skipped).
func parse(text string) *source {
	s := &source{text: text, escape: '\\'}
	lines := splitLines(text)
	if len(lines) > 0 && strings.HasPrefix(text, utf8BOM) {
		lines[0].start += len(utf8BOM)
	}
	s.readDirectives(lines)
	for i := 0; i < len(lines); {
		l := lines[i]
		i++
		raw := text[l.start:l.end]
		body := strings.TrimLeftFunc(raw, unicode.IsSpace)
		if strings.HasPrefix(body, "#") {
			continue
		}
		seg, more := s.trimContinuation(body)
		if !more && seg == "" {
			continue
		}
		in := &instruction{line: i}
		in.add(seg, l.start+len(raw)-len(body))
		for more && i < len(lines) {
			l := lines[i]
			i++
			raw := text[l.start:l.end]
			if t := strings.TrimLeftFunc(raw, unicode.IsSpace); t == "" || t[0] == '#' {
				continue
			}
			seg, more = s.trimContinuation(raw)
			in.add(seg, l.start)
		}
		in.split()
		for _, h := range in.heredocs() {
			for i < len(lines) {
				l := lines[i]
				i++
				line := text[l.start:l.end]
				if h.chomp {
					line = strings.TrimLeft(line, "\t")
				}
				if line == h.name {
					break
				}
			}
		}
		s.instructions = append(s.instructions, in)
	}
	return s
}

// splitLines returns the physical lines of text; a line's content excludes "\n" and any "\r" before it.
func splitLines(text string) []physLine {
	var lines []physLine
	for start := 0; start < len(text); {
		end, next := len(text), len(text)
		if nl := strings.IndexByte(text[start:], '\n'); nl >= 0 {
			end, next = start+nl, start+nl+1
		}
		for end > start && text[end-1] == '\r' {
			end--
		}
		lines = append(lines, physLine{start, end})
		start = next
	}
	return lines
}

// readDirectives reads the parser directives at the top of the file and sets the escape character.
func (s *source) readDirectives(lines []physLine) {
	for _, l := range lines {
		m := reDirective.FindStringSubmatch(strings.TrimLeftFunc(s.text[l.start:l.end], unicode.IsSpace))
		if m == nil {
			return
		}
		switch strings.ToLower(m[1]) {
		case "escape":
			if m[2] == "`" || m[2] == `\` {
				s.escape = m[2][0]
			}
		case "syntax", "check":
		default:
			return
		}
	}
}

// trimContinuation removes a trailing escape character (and white space after it) that
// continues the instruction on the next line; an escaped escape character does not.
func (s *source) trimContinuation(line string) (string, bool) {
	t := strings.TrimRight(line, " \t")
	if t == "" || t[len(t)-1] != s.escape {
		return line, false
	}
	if len(t) >= 2 && t[len(t)-2] == s.escape {
		return line, false
	}
	return t[:len(t)-1], true
}

// add appends a piece of a physical line, starting at Dockerfile offset orig, to the logical line.
func (in *instruction) add(piece string, orig int) {
	if piece == "" {
		return
	}
	in.segs = append(in.segs, segment{logical: len(in.text), orig: orig, n: len(piece)})
	in.text += piece
}

// origAt maps a logical offset inside the instruction to its Dockerfile offset.
func (in *instruction) origAt(pos int) int {
	for _, sg := range in.segs {
		if pos >= sg.logical && pos < sg.logical+sg.n {
			return sg.orig + pos - sg.logical
		}
	}
	last := in.segs[len(in.segs)-1]
	return last.orig + last.n
}

// origSpan maps a non-empty logical range to the Dockerfile range from its first to its last byte.
func (in *instruction) origSpan(sp span) span {
	return span{in.origAt(sp.start), in.origAt(sp.end-1) + 1}
}

// split finds the keyword, the leading flags and the arguments of the instruction.
func (in *instruction) split() {
	t := in.text
	ts := len(t) - len(strings.TrimLeftFunc(t, unicode.IsSpace))
	te := len(strings.TrimRightFunc(t, unicode.IsSpace))
	if ts >= te {
		in.args = span{te, te}
		return
	}
	ws := strings.IndexAny(t[ts:te], wordSeparators)
	if ws < 0 {
		in.cmd = strings.ToLower(t[ts:te])
		in.args = span{te, te}
		return
	}
	in.cmd = strings.ToLower(t[ts : ts+ws])
	p := ts + ws
	for p < te && strings.IndexByte(wordSeparators, t[p]) >= 0 {
		p++
	}
	var rest int
	in.flags, rest = extractFlags(t, p, te)
	rs := rest + len(t[rest:te]) - len(strings.TrimLeftFunc(t[rest:te], unicode.IsSpace))
	in.args = span{rs, te}
}

// isSpaceByte reports whether BuildKit's flag scanner, which looks at single bytes, sees b as white space.
func isSpaceByte(b byte) bool { return unicode.IsSpace(rune(b)) }

// extractFlags reads the "--flag" words of t[p:end] the way BuildKit does and returns
// them with the offset where the arguments begin.
func extractFlags(t string, p, end int) ([]flagWord, int) {
	var flags []flagWord
	for {
		for p < end && isSpaceByte(t[p]) {
			p++
		}
		if p >= end {
			return flags, end
		}
		if t[p] != '-' || p+1 >= end || t[p+1] != '-' {
			return flags, p
		}
		start := p
		var w strings.Builder
		var quote byte
		for p < end {
			c := t[p]
			if quote == 0 && isSpaceByte(c) {
				break
			}
			p++
			switch {
			case quote != 0 && c == quote:
				quote = 0
				continue
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
				continue
			case c == '\\':
				if p == end {
					quote = 0
					continue
				}
				c = t[p]
				p++
			}
			w.WriteByte(c)
		}
		if w.String() == "--" {
			return flags, p
		}
		flags = append(flags, flagWord{span: span{start, p}, word: w.String()})
	}
}

// words splits the logical range sp of the instruction on BuildKit's word separators.
func (in *instruction) words(sp span) []span {
	var out []span
	for p := sp.start; p < sp.end; {
		for p < sp.end && strings.IndexByte(wordSeparators, in.text[p]) >= 0 {
			p++
		}
		start := p
		for p < sp.end && strings.IndexByte(wordSeparators, in.text[p]) < 0 {
			p++
		}
		if p > start {
			out = append(out, span{start, p})
		}
	}
	return out
}

// jsonArgs returns the arguments when they are written in JSON-array form.
func (in *instruction) jsonArgs() ([]string, bool) {
	rest := in.text[in.args.start:in.args.end]
	if !strings.HasPrefix(rest, "[") {
		return nil, false
	}
	var vals []any
	if err := json.Unmarshal([]byte(rest), &vals); err != nil {
		return nil, false
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			return nil, false
		}
		out = append(out, str)
	}
	return out, true
}

// heredoc is one here-document opened by an instruction.
type heredoc struct {
	name  string // terminator line
	chomp bool   // "<<-": leading tabs are ignored when looking for the terminator
}

// heredocs lists the here-documents the instruction opens, in order; only RUN, COPY and
// ADD in shell form can open them.
func (in *instruction) heredocs() []heredoc {
	switch in.cmd {
	case "run", "copy", "add":
	default:
		return nil
	}
	if _, isJSON := in.jsonArgs(); isJSON || !strings.Contains(in.text, "<<") {
		return nil
	}
	words, ok := shellWords(in.text, true)
	if !ok {
		return nil
	}
	var docs []heredoc
	for _, w := range words {
		if h, ok := parseHeredoc(w); ok {
			docs = append(docs, h)
		}
	}
	return docs
}

// parseHeredoc reports whether word opens a here-document, and its terminator.
func parseHeredoc(word string) (heredoc, bool) {
	m := reHeredoc.FindStringSubmatch(word)
	if m == nil || m[3] == "" {
		return heredoc{}, false
	}
	words, ok := shellWords(m[3], false)
	if !ok || len(words) != 1 {
		return heredoc{}, false
	}
	return heredoc{name: words[0], chomp: m[2] == "-"}, true
}

// shellWords splits s into shell words on white space outside quotes, the way BuildKit's
// lexer does for here-document detection (escape character "\", unset variables kept as
// written). With raw, quotes and escape characters are kept in the words. It reports
// false for an unterminated quote.
func shellWords(s string, raw bool) ([]string, bool) {
	var words []string
	var w strings.Builder
	inWord := false
	keep := func(b byte) {
		if raw {
			w.WriteByte(b)
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			i += size
			continue
		case r == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			keep('\'')
			w.WriteString(s[i+1 : i+1+end])
			keep('\'')
			i += end + 2
		case r == '"':
			j := i + 1
			keep('"')
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					keep('\\')
					j++
				}
				w.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, false
			}
			keep('"')
			i = j + 1
		case r == '\\':
			keep('\\')
			if i+1 < len(s) {
				w.WriteByte(s[i+1])
				i++
			}
			i++
		case r == '$' && strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				end = len(s) - i - 1
			}
			w.WriteString(s[i : i+end+1])
			i += end + 1
		default:
			w.WriteString(s[i : i+size])
			i += size
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, true
}

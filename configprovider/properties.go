package configprovider

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseProperties reads Java .properties text as java.util.Properties does:
// `#`/`!` comments, `key=value`, `key: value` or `key value`, backslash line
// continuations and escapes (\t \n \uXXXX …). Kafka's FileConfigProvider
// and the PropertyFileLoginModule credentials file both use this format.
func ParseProperties(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	var (
		logical   strings.Builder
		lineNo    int
		startLine int
	)
	flush := func() error {
		k, v, err := splitEntry(logical.String())
		logical.Reset()
		if err != nil {
			return fmt.Errorf("line %d: %w", startLine, err)
		}
		out[k] = v
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if logical.Len() == 0 {
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			startLine = lineNo
		}
		if continues(line) {
			logical.WriteString(line[:len(line)-1])
			continue
		}
		logical.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading properties: %w", err)
	}
	if logical.Len() > 0 { // a continuation on the last line
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// continues reports an odd number of trailing backslashes: an even number
// is escaped backslashes, not a continuation.
func continues(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// splitEntry splits at the first unescaped '=', ':' or whitespace; whitespace
// around a following '=' or ':' belongs to the separator.
func splitEntry(s string) (string, string, error) {
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ':' && !isSpace(s[i]) {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	i = min(i, len(s))
	keyRaw, rest := s[:i], s[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	key, err := unescape(keyRaw)
	if err != nil {
		return "", "", fmt.Errorf("key %q: %w", keyRaw, err)
	}
	val, err := unescape(rest)
	if err != nil {
		// The value may be a secret; name only the key.
		return "", "", fmt.Errorf("value of %q: %w", key, err)
	}
	return key, val, nil
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch c := s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 >= len(s) {
				return "", fmt.Errorf("malformed \\uXXXX escape")
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uXXXX escape")
			}
			i += 4
			r := rune(n)
			// Java writes characters beyond U+FFFF as a UTF-16 surrogate pair.
			if utf16.IsSurrogate(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if lo, err := strconv.ParseUint(s[i+3:i+7], 16, 16); err == nil {
					if pair := utf16.DecodeRune(r, rune(lo)); pair != utf8.RuneError {
						r = pair
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
